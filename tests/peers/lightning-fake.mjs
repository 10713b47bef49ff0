// A FAKE Lightning backend for the tests (no Lightning node or BTCPay Server runs here): it answers the wire shapes of
// BTCPay Server's Greenfield API and of LND's REST API as reference/lightning-wire.md gives them from their source —
// camelCase with decimal strings and unix seconds for BTCPay, protojson for LND (every field, int64 as strings, bytes as
// base64), each with its error bodies — and its invoices are real BOLT11 strings encoded and signed by the bolt11 package
// with a node key. BTCPay's webhooks are sent signed (BTCPay-Sig: sha256=HMAC), as often and as concurrently as a test asks.
// LND's invoice subscription replays the settlements after a settle_index, then streams what happens, one JSON line each.
// A BTC/USD rate for LND (which has none) at GET /rate. Paying: LND's /v2/router/send and /v2/router/track (with a macaroon
// that may pay), BTCPay's lightning invoices/pay, payments/{hash} and store rates, each paying a hash at most once; and a
// recipient's LNURL-pay server for Lightning addresses (LUD-16/LUD-06: description hash of the metadata). Test controls at
// POST /control; the same API over TLS with a certificate the test makes (control "tls"), for the pinning of LND's
// self-signed certificate.
// Usage: node lightning-fake.mjs <port>   prints "listening <url>"
import http from 'node:http';
import https from 'node:https';
import { createHmac, randomBytes, createHash } from 'node:crypto';
import bolt11 from 'bolt11';

const NODE_KEY = 'e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734';
const NETWORKS = {
  mainnet: undefined,
  testnet: { bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] },
  signet: { bech32: 'tbs', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] },
  regtest: { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, validWitnessVersions: [0, 1] },
};

let config = { network: 'mainnet', apiKey: 'btcpay-test-key', storeId: 'StoreTest1', webhookSecret: 'whsec', webhookUrl: null, macaroon: 'ab'.repeat(32), payoutMacaroon: 'cd'.repeat(32), btcUsd: 100000 };
let fault = 'none';
let nextAddIndex = 1;
let nextSettleIndex = 1;
let nextIdSeed = 1;
const invoices = new Map(); // payment hash (hex) -> invoice
const byBtcPayId = new Map();
const requests = [];
const subscribers = new Set(); // open LND invoice subscriptions

const now = () => Math.floor(Date.now() / 1000);
const hex = bytes => Buffer.from(bytes).toString('hex');
const b64 = hexText => Buffer.from(hexText, 'hex').toString('base64');
const btcString = msat => (Number(BigInt(msat)) / 1e11).toFixed(8);
const newBtcPayId = () => `Inv${(nextIdSeed++).toString(36)}${randomBytes(8).toString('hex')}`;

function makeInvoice({ amountMsat, expiry, description, usd, currency, metadata, descriptionHash }) {
  const preimage = randomBytes(32);
  const paymentHash = createHash('sha256').update(preimage).digest('hex');
  const created = now();
  const encoded = bolt11.encode({
    network: NETWORKS[config.network],
    millisatoshis: String(amountMsat),
    timestamp: created,
    tags: [
      { tagName: 'payment_hash', data: paymentHash },
      { tagName: 'payment_secret', data: hex(randomBytes(32)) },
      descriptionHash ? { tagName: 'purpose_commit_hash', data: descriptionHash } : { tagName: 'description', data: description },
      { tagName: 'expire_time', data: expiry },
    ],
  });
  const { paymentRequest } = bolt11.sign(encoded, NODE_KEY);
  const invoice = {
    paymentHash, preimage: hex(preimage), bolt11: paymentRequest, amountMsat: BigInt(amountMsat), expiry, created, description,
    // BTCPay's view
    id: newBtcPayId(), usd, currency, metadata: metadata ?? {}, status: 'New', additionalStatus: 'None', paidMsat: 0n, paidAt: null,
    // LND's view
    addIndex: nextAddIndex++, settleIndex: 0, state: 'OPEN',
  };
  invoices.set(paymentHash, invoice);
  byBtcPayId.set(invoice.id, invoice);
  return invoice;
}

// ---------------------------------------------------------------- BTCPay Greenfield

function btcpayInvoice(i) {
  return {
    id: i.id, storeId: config.storeId, amount: i.usd, paidAmount: i.status === 'Settled' ? i.usd : '0', currency: i.currency, type: 'Standard',
    checkoutLink: `https://btcpay.example/i/${i.id}`, createdTime: i.created, expirationTime: i.created + i.expiry, monitoringExpiration: i.created + i.expiry + 86400,
    status: i.status, additionalStatus: i.additionalStatus, availableStatusesForManualMarking: ['Settled', 'Invalid'], archived: false, metadata: i.metadata,
    checkout: { speedPolicy: 'HighSpeed', paymentMethods: ['BTC-LN'], defaultPaymentMethod: null, lazyPaymentMethods: false, expirationMinutes: Math.round(i.expiry / 60),
      monitoringMinutes: 1440, paymentTolerance: 0.0, redirectURL: null, redirectAutomatically: false, defaultLanguage: null },
    receipt: { enabled: null, showQR: null, showPayments: null },
  };
}

function btcpayPaymentMethods(i) {
  const paid = i.paidMsat > 0n;
  return [{
    paymentMethodId: 'BTC-LN', currency: 'BTC', destination: i.bolt11, paymentLink: `lightning:${i.bolt11}`, rate: config.btcUsd.toFixed(2),
    paymentMethodPaid: btcString(i.paidMsat), totalPaid: btcString(i.paidMsat), due: btcString(i.amountMsat - i.paidMsat > 0n ? i.amountMsat - i.paidMsat : 0n),
    amount: btcString(i.amountMsat), paymentMethodFee: '0.00000000', activated: true,
    additionalData: { paymentHash: i.paymentHash, preimage: paid ? i.preimage : null, invoiceId: i.paymentHash, nodeInfo: `03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad@127.0.0.1:9735` },
    payments: paid ? [{ id: i.paymentHash, receivedDate: i.paidAt, value: btcString(i.paidMsat), fee: '0.00000000', status: 'Settled', destination: i.bolt11 }] : [],
  }];
}

function btcpay(method, path, headers, body) {
  if (headers.authorization !== `token ${config.apiKey}`) {
    return [401, { code: 'unauthenticated', message: 'Authentication is required for accessing this endpoint' }];
  }
  const paying = btcpayPay(method, path, body);
  if (paying) return paying;
  const store = path.match(/^\/api\/v1\/stores\/([^/]+)\/invoices(?:\/([^/]+))?(\/payment-methods)?$/);
  if (!store) return [404, { code: 'not-found', message: 'Not found' }];
  if (store[1] !== config.storeId) return [404, { code: 'store-not-found', message: 'The store was not found' }];
  if (method === 'POST' && !store[2]) {
    const usd = Number(body?.amount);
    if (!(usd > 0) || body?.currency !== 'USD') return [422, [{ path: 'amount', message: 'Amount should be a positive number' }]];
    const minutes = body?.checkout?.expirationMinutes ?? 15;
    // BTCPay states BTC with 8 decimals: its Lightning invoices ask whole satoshis.
    // In integers (floating point makes $4 at $100,000 4,001 sat): micro-dollars × 10^8 / price, rounded up.
    const micros = BigInt(Math.round(usd * 1e6));
    const price = BigInt(Math.round(config.btcUsd * 1e6));
    const amountMsat = ((micros * 100_000_000n + price - 1n) / price) * 1000n;
    const invoice = makeInvoice({ amountMsat, expiry: minutes * 60, description: body?.metadata?.itemDesc ?? 'aisa top-up', usd: body.amount, currency: 'USD', metadata: body.metadata });
    return [200, btcpayInvoice(invoice)];
  }
  const invoice = byBtcPayId.get(store[2]);
  if (!invoice) return [404, { code: 'invoice-not-found', message: 'The invoice was not found' }];
  if (method === 'GET' && store[3]) return [200, btcpayPaymentMethods(invoice)];
  if (method === 'GET') return [200, btcpayInvoice(invoice)];
  return [405, { code: 'method-not-allowed', message: 'Method not allowed' }];
}

function webhookBody(invoice, type, redelivery) {
  const deliveryId = randomBytes(8).toString('hex');
  const event = {
    manuallyMarked: false,
    overPaid: false,
    deliveryId,
    webhookId: 'WkTest1',
    originalDeliveryId: deliveryId,
    isRedelivery: redelivery,
    type,
    timestamp: now(),
    storeId: config.storeId,
    invoiceId: invoice.id,
    metadata: invoice.metadata,
  };
  if (type === 'InvoiceExpired') event.partiallyPaid = invoice.paidMsat > 0n;
  // BTCPay writes the event with Newtonsoft, indented.
  return JSON.stringify(event, null, 2);
}

async function deliver(invoice, type, redelivery, tamper) {
  const body = webhookBody(invoice, type, redelivery);
  const secret = tamper ? config.webhookSecret + 'x' : config.webhookSecret;
  const signature = 'sha256=' + createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(body, 'utf8')).digest('hex');
  const response = await fetch(config.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'BTCPay-Sig': signature }, body });
  return response.status;
}

// ---------------------------------------------------------------- LND REST

function lndInvoice(i) {
  const settled = i.state === 'SETTLED';
  return {
    memo: i.description, r_preimage: settled ? b64(i.preimage) : null, r_hash: b64(i.paymentHash), value: String(i.amountMsat / 1000n), value_msat: String(i.amountMsat),
    settled, creation_date: String(i.created), settle_date: settled ? String(i.paidAt) : '0', payment_request: i.bolt11, description_hash: '', expiry: String(i.expiry),
    fallback_addr: '', cltv_expiry: '80', route_hints: [], private: false, add_index: String(i.addIndex), settle_index: String(i.settleIndex),
    amt_paid: String(i.paidMsat), amt_paid_sat: String(i.paidMsat / 1000n), amt_paid_msat: String(i.paidMsat), state: i.state,
    htlcs: settled ? [{ chan_id: '123456789', htlc_index: '0', amt_msat: String(i.paidMsat), accept_height: 812, accept_time: String(i.paidAt), resolve_time: String(i.paidAt),
      expiry_height: 892, state: 'SETTLED', custom_records: {}, mpp_total_amt_msat: String(i.paidMsat), amp: null, custom_channel_data: '' }] : [],
    features: { 9: { name: 'tlv-onion', is_required: false, is_known: true } }, is_keysend: false, payment_addr: b64('11'.repeat(32)), is_amp: false,
    amp_invoice_state: {}, is_blinded: false, blinded_path_config: null,
  };
}

function publish(invoice) {
  for (const subscriber of subscribers) subscriber(invoice);
}

// GET /v1/invoices/subscribe: the settlements after settle_index first (in settle order), then every add and settlement as it
// happens, each as {"result": Invoice} on its own line; the connection stays open until the client leaves.
function subscribe(request, response, query) {
  if (request.headers['grpc-metadata-macaroon'] !== config.macaroon) {
    response.writeHead(500, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ code: 2, message: 'verification failed: signature mismatch after caveat verification', details: [] }));
    return;
  }
  const after = BigInt(query.get('settle_index') ?? '0');
  response.writeHead(200, { 'content-type': 'application/json' });
  const write = invoice => response.write(JSON.stringify({ result: lndInvoice(invoice) }) + '\n');
  if (after > 0n) {
    [...invoices.values()].filter(i => i.settleIndex > 0 && BigInt(i.settleIndex) > after).sort((a, b) => a.settleIndex - b.settleIndex).forEach(write);
  }
  subscribers.add(write);
  request.socket.on('close', () => subscribers.delete(write));
}

function lnd(method, path, headers, body, query) {
  if (path.startsWith('/v2/router/')) {
    // Paying needs a macaroon that may pay (admin or router): the invoice macaroon is refused.
    if (headers['grpc-metadata-macaroon'] !== config.payoutMacaroon) {
      return [500, { code: 2, message: 'verification failed: permission denied', details: [] }];
    }
    return lndPay(method, path, body) ?? [404, { code: 5, message: 'Not Found', details: [] }];
  }
  if (headers['grpc-metadata-macaroon'] !== config.macaroon) {
    return [500, { code: 2, message: headers['grpc-metadata-macaroon'] ? 'verification failed: signature mismatch after caveat verification' : 'expected 1 macaroon, got 0', details: [] }];
  }
  if (method === 'POST' && path === '/v1/invoices') {
    const msat = BigInt(body?.value_msat ?? 0) || BigInt(body?.value ?? 0) * 1000n;
    if (msat <= 0n) return [400, { code: 3, message: 'payment amount must be positive', details: [] }];
    const invoice = makeInvoice({ amountMsat: msat, expiry: Number(body?.expiry ?? 86400), description: body?.memo ?? '', usd: null, currency: null });
    publish(invoice);
    return [200, { r_hash: b64(invoice.paymentHash), payment_request: invoice.bolt11, add_index: String(invoice.addIndex), payment_addr: b64('11'.repeat(32)) }];
  }
  const lookup = path.match(/^\/v1\/invoice\/([0-9a-f]{64})$/);
  if (method === 'GET' && (lookup || path === '/v1/invoice')) {
    const hash = lookup ? lookup[1] : Buffer.from(query.get('r_hash') ?? '', 'base64').toString('hex');
    const invoice = invoices.get(hash);
    return invoice ? [200, lndInvoice(invoice)] : [404, { code: 5, message: 'unable to locate invoice', details: [] }];
  }
  return [404, { code: 5, message: 'Not Found', details: [] }];
}

// ---------------------------------------------------------------- paying (the node pays a publisher's invoice)

// Lightning addresses (LUD-16) served here as a recipient's LNURL-pay server would: GET /.well-known/lnurlp/<name>, then
// its callback with ?amount=<msat> answers a fresh invoice whose description hash commits to the metadata (LUD-06).
const payments = new Map(); // payment hash (hex) -> payment
let nextPaymentIndex = 1;
let payOutcome = 'succeed';
const lnurlMetadata = (name, host) => JSON.stringify([['text/plain', `Payout to ${name}`], ['text/identifier', `${name}@${host}`]]);

function lnurlp(path, query, host) {
  const pay = path.match(/^\/\.well-known\/lnurlp\/([a-z0-9._+-]+)$/);
  if (pay) {
    if (pay[1].startsWith('nobody')) return [404, { status: 'ERROR', reason: 'no such user' }];
    return [200, { tag: 'payRequest', callback: `http://${host}/lnurlp/${pay[1]}/callback`, minSendable: 1000, maxSendable: 100_000_000_000, metadata: lnurlMetadata(pay[1], host), commentAllowed: 0 }];
  }
  const callback = path.match(/^\/lnurlp\/([a-z0-9._+-]+)\/callback$/);
  if (callback) {
    const amount = BigInt(query.get('amount') ?? '0');
    if (amount < 1000n) return [200, { status: 'ERROR', reason: 'amount below minSendable' }];
    const descriptionHash = createHash('sha256').update(lnurlMetadata(callback[1], host), 'utf8').digest('hex');
    const invoice = makeInvoice({ amountMsat: amount, expiry: 600, descriptionHash, usd: null, currency: null });
    invoice.recipient = callback[1];
    return [200, { pr: invoice.bolt11, routes: [] }];
  }
  return null;
}

function lndPayment(p) {
  return {
    payment_hash: p.paymentHash, value: String(p.amountMsat / 1000n), creation_date: String(p.created), fee: String(p.feeMsat / 1000n),
    payment_preimage: p.status === 'SUCCEEDED' ? p.preimage : '0'.repeat(64), value_sat: String(p.amountMsat / 1000n), value_msat: String(p.amountMsat),
    payment_request: p.bolt11, status: p.status, fee_sat: String(p.feeMsat / 1000n), fee_msat: String(p.feeMsat), creation_time_ns: String(BigInt(p.created) * 1_000_000_000n),
    htlcs: [], payment_index: String(p.index), failure_reason: p.status === 'FAILED' ? 'FAILURE_REASON_NO_ROUTE' : 'FAILURE_REASON_NONE', first_hop_custom_records: {},
  };
}

function btcpayPayment(p) {
  const status = { SUCCEEDED: 'Complete', IN_FLIGHT: 'Pending', FAILED: 'Failed' }[p.status] ?? 'Unknown';
  const answer = { id: p.paymentHash, status, BOLT11: p.bolt11, paymentHash: p.paymentHash, createdAt: p.created, totalAmount: String(p.amountMsat + p.feeMsat), feeAmount: String(p.feeMsat) };
  if (p.status === 'SUCCEEDED') answer.preimage = p.preimage;
  return answer;
}

// The node pays an invoice once: a second attempt on the same hash is refused as LND refuses it.
function pay(bolt11Text) {
  const invoice = [...invoices.values()].find(i => i.bolt11 === bolt11Text);
  if (!invoice) return { error: 'invoice not found on the network' };
  const existing = payments.get(invoice.paymentHash);
  if (existing?.status === 'SUCCEEDED') return { error: 'invoice is already paid' };
  if (existing?.status === 'IN_FLIGHT') return { error: 'payment is in transition' };
  const payment = { paymentHash: invoice.paymentHash, preimage: invoice.preimage, bolt11: invoice.bolt11, amountMsat: invoice.amountMsat, feeMsat: 1000n,
    created: now(), index: nextPaymentIndex++, status: 'IN_FLIGHT', recipient: invoice.recipient };
  payments.set(invoice.paymentHash, payment);
  if (payOutcome === 'succeed') settlePayment(payment);
  if (payOutcome === 'fail') payment.status = 'FAILED';
  return { payment };
}

function settlePayment(payment) {
  payment.status = 'SUCCEEDED';
  const invoice = invoices.get(payment.paymentHash);
  invoice.paidMsat = invoice.amountMsat;
  invoice.paidAt = now();
  invoice.state = 'SETTLED';
}

function lndPay(method, path, body) {
  if (method === 'POST' && path === '/v2/router/send') {
    const { payment, error } = pay(body?.payment_request);
    // A stream: one {"result": Payment} line (no_inflight_updates), or an {"error": …} line.
    return error ? [200, { error: { code: 2, message: error, details: [] } }] : [200, { result: lndPayment(payment) }];
  }
  const track = path.match(/^\/v2\/router\/track\/([A-Za-z0-9_-]+={0,2})$/);
  if (method === 'GET' && track) {
    const hash = Buffer.from(track[1], 'base64url').toString('hex');
    const payment = payments.get(hash);
    return payment ? [200, { result: lndPayment(payment) }] : [200, { error: { code: 5, message: "payment isn't initiated", details: [] } }];
  }
  return null;
}

function btcpayPay(method, path, body) {
  const lightning = path.match(/^\/api\/v1\/stores\/([^/]+)\/lightning\/BTC\/(invoices\/pay|payments\/([0-9a-f]{64}))$/);
  const rates = path.match(/^\/api\/v1\/stores\/([^/]+)\/rates$/);
  if (rates) return [200, [{ currencyPair: 'BTC_USD', errors: [], rate: config.btcUsd.toFixed(2) }]];
  if (!lightning) return null;
  if (method === 'POST' && lightning[2] === 'invoices/pay') {
    const { payment, error } = pay(body?.BOLT11);
    if (error) return [400, { code: 'generic-error', message: error }];
    return [payment.status === 'SUCCEEDED' ? 200 : 202, btcpayPayment(payment)];
  }
  if (method === 'GET' && lightning[3]) {
    const payment = payments.get(lightning[3]);
    return payment ? [200, btcpayPayment(payment)] : [404, { code: 'payment-not-found', message: 'The payment was not found' }];
  }
  return null;
}

// ---------------------------------------------------------------- controls

const find = hash => invoices.get(hash) ?? byBtcPayId.get(hash) ?? [...invoices.values()].find(i => i.bolt11 === hash)
  ?? (() => { throw new Error(`no invoice ${hash}`); })();

const controls = {
  setup(body) {
    config = { ...config, ...body };
    return config;
  },
  // A payer pays the invoice (all of it, or a part): BTCPay settles it (or marks it partly paid), LND settles it.
  pay({ invoice: id, amountMsat }) {
    const invoice = find(id);
    invoice.paidMsat = BigInt(amountMsat ?? invoice.amountMsat);
    invoice.paidAt = now();
    if (invoice.paidMsat >= invoice.amountMsat) {
      invoice.status = 'Settled';
    } else {
      invoice.additionalStatus = 'PaidPartial';
    }
    invoice.state = 'SETTLED';
    invoice.settleIndex = nextSettleIndex++;
    publish(invoice);
    // The payer's node learns the preimage when the payee takes the whole payment (its proof of payment, L402's too).
    return { paymentHash: invoice.paymentHash, settleIndex: invoice.settleIndex, preimage: invoice.paidMsat >= invoice.amountMsat ? invoice.preimage : null };
  },
  // An invoice on the node that is none of the service's (another app's), paid: it shows in the subscription.
  foreign({ amountMsat = 1000000 }) {
    const invoice = makeInvoice({ amountMsat, expiry: 3600, description: 'someone else', usd: null, currency: null });
    return controls.pay({ invoice: invoice.paymentHash });
  },
  // What a BTCPay operator does by hand: mark an invoice settled (no payment needed) or invalid.
  mark({ invoice: id, status }) {
    const invoice = find(id);
    invoice.status = status;
    invoice.additionalStatus = 'Marked';
    return { status };
  },
  // The same API over TLS with the given certificate (PEM), on a port of its own.
  async tls({ cert, key }) {
    const secure = https.createServer({ cert, key }, handle);
    await new Promise(resolve => secure.listen(0, '127.0.0.1', resolve));
    return { url: `https://127.0.0.1:${secure.address().port}/` };
  },
  // Unpaid past its expiry: BTCPay expires it, LND's expiry watcher cancels it.
  expire({ invoice: id }) {
    const invoice = find(id);
    invoice.status = 'Expired';
    invoice.state = 'CANCELED';
    return { paymentHash: invoice.paymentHash };
  },
  forget({ invoice: id }) {
    const invoice = find(id);
    invoices.delete(invoice.paymentHash);
    byBtcPayId.delete(invoice.id);
    return { forgotten: invoice.paymentHash };
  },
  fault({ mode }) {
    fault = mode;
    return { fault };
  },
  async webhook({ invoice: id, type = 'InvoiceSettled', times = 1, concurrent = false, tamper = false }) {
    const invoice = find(id);
    const send = index => deliver(invoice, type, index > 0, tamper);
    const statuses = concurrent
      ? await Promise.all(Array.from({ length: times }, (_, index) => send(index)))
      : await Array.from({ length: times }).reduce(async (all, _, index) => [...(await all), await send(index)], Promise.resolve([]));
    return { statuses };
  },
  invoice({ invoice: id }) {
    const invoice = find(id);
    return { id: invoice.id, paymentHash: invoice.paymentHash, bolt11: invoice.bolt11, amountMsat: String(invoice.amountMsat), status: invoice.status, state: invoice.state };
  },
  requests() {
    return { requests };
  },
  // How the node's next payments end: succeed (default), fail (no route), or stay in flight until resolved.
  payOutcome({ mode }) {
    payOutcome = mode;
    return { payOutcome };
  },
  resolvePayment({ paymentHash, status }) {
    const payment = payments.get(paymentHash);
    if (status === 'SUCCEEDED') settlePayment(payment); else payment.status = status;
    return { status: payment.status };
  },
  // What reached a Lightning address's recipient: every payment attempt to it, and the msat of those that succeeded.
  received({ name }) {
    const toName = [...payments.values()].filter(p => p.recipient === name);
    return { attempts: toName.length, succeeded: toName.filter(p => p.status === 'SUCCEEDED').length,
      msat: String(toName.filter(p => p.status === 'SUCCEEDED').reduce((sum, p) => sum + p.amountMsat, 0n)) };
  },
};

// ---------------------------------------------------------------- HTTP

async function handle(request, response) {
  let text = '';
  for await (const chunk of request) text += chunk;
  const url = new URL(request.url, 'http://fake');
  const send = (status, body, type = 'application/json') => {
    response.writeHead(status, { 'content-type': type });
    response.end(typeof body === 'string' ? body : JSON.stringify(body, (k, v) => (typeof v === 'bigint' ? String(v) : v)));
  };
  try {
    if (url.pathname === '/control') {
      const body = JSON.parse(text);
      const control = controls[body.op];
      return control ? send(200, await control(body)) : send(404, { error: `no control ${body.op}` });
    }
    requests.push(`${request.method} ${url.pathname}`);
    if (fault === 'down' && !url.pathname.includes('lnurlp')) {
      request.socket.destroy();
      return;
    }
    if (fault === '500') return send(500, 'upstream error', 'text/plain');
    if (fault === 'garbage') return send(200, '{"id":"Inv', 'application/json');
    if (url.pathname === '/rate') return send(200, { bitcoin: { usd: config.btcUsd } });
    const lnurl = lnurlp(url.pathname, url.searchParams, request.headers.host);
    if (lnurl) return send(lnurl[0], lnurl[1]);
    if (request.method === 'GET' && url.pathname === '/v1/invoices/subscribe') return subscribe(request, response, url.searchParams);
    const body = text ? JSON.parse(text) : null;
    const paying = url.pathname === '/v2/router/send' || url.pathname.endsWith('/lightning/BTC/invoices/pay');
    const [status, answer] = url.pathname.startsWith('/api/v1/')
      ? btcpay(request.method, url.pathname, request.headers, body)
      : lnd(request.method, url.pathname, request.headers, body, url.searchParams);
    if (paying && fault === 'lose-pay-answer') {
      // The payment was made; its answer never arrives.
      request.socket.destroy();
      return;
    }
    send(status, answer);
  } catch (error) {
    send(500, { error: String(error?.stack ?? error) });
  }
}

const server = http.createServer(handle);
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening http://127.0.0.1:${server.address().port}/`));
