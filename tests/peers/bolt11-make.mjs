// BOLT11 invoices encoded and signed by the bolt11 package (an independent implementation), for a decoder to agree with.
// Usage: node bolt11-make.mjs <count> <seed>   prints JSON lines {invoice, network, msat, hash, secret, expiry, timestamp, payee, namesPayee, description}
import bolt11 from 'bolt11';
import { createECDH, randomBytes } from 'node:crypto';

const [countText, seedText] = process.argv.slice(2);
const count = Number(countText);
let state = BigInt(seedText ?? 1);
const next = () => (state = (state * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n);
const pick = list => list[Number(next() % BigInt(list.length))];
const networks = {
  mainnet: undefined,
  testnet: { bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] },
  signet: { bech32: 'tbs', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] },
  regtest: { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] },
};
for (let i = 0; i < count; i++) {
  const name = pick(Object.keys(networks));
  const key = randomBytes(32).toString('hex');
  const hash = randomBytes(32).toString('hex');
  const secret = randomBytes(32).toString('hex');
  // Amounts that need each multiplier: whole msat from 1 msat to 0.1 BTC, and sometimes none (any amount).
  const msat = i % 10 === 9 ? null : (next() % 10_000_000_000n) + 1n;
  const expiry = pick([60, 900, 3600, 86400]);
  const description = `aisa top-up ${i}`;
  const tags = [
    { tagName: 'payment_hash', data: hash },
    { tagName: 'payment_secret', data: secret },
    { tagName: 'description', data: description },
    { tagName: 'expire_time', data: expiry },
  ];
  if (i % 3 === 0) {
    // Every third names its payee (field n), which the signature must then recover to.
    const ecdh = createECDH('secp256k1');
    ecdh.setPrivateKey(Buffer.from(key, 'hex'));
    tags.push({ tagName: 'payee_node_key', data: ecdh.getPublicKey('hex', 'compressed') });
  }
  const timestamp = 1_735_689_600 + i * 37;
  const encoded = bolt11.encode({ network: networks[name], ...(msat === null ? {} : { millisatoshis: msat.toString() }), timestamp, tags });
  const signed = bolt11.sign(encoded, key);
  const decoded = bolt11.decode(signed.paymentRequest, networks[name]);
  console.log(JSON.stringify({
    invoice: signed.paymentRequest,
    network: name,
    msat: decoded.millisatoshis ?? null,
    hash,
    secret,
    expiry,
    timestamp: decoded.timestamp,
    payee: decoded.payeeNodeKey,
    namesPayee: i % 3 === 0,
    description,
  }));
}
