// An EIP-1559 transaction signed by viem, as an independent signer: the payout's raw transaction must be these bytes.
// Usage: node evm-sign.mjs <chain id> <private key> <to> <data> <nonce> <gas> <maxFeePerGas> <maxPriorityFeePerGas>
//   prints the signed serialized transaction (0x…)
import { privateKeyToAccount } from 'viem/accounts';

const [chainId, key, to, data, nonce, gas, maxFeePerGas, maxPriorityFeePerGas] = process.argv.slice(2);
const account = privateKeyToAccount(key);
const signed = await account.signTransaction({
  type: 'eip1559', chainId: Number(chainId), to, data, value: 0n, nonce: Number(nonce), gas: BigInt(gas),
  maxFeePerGas: BigInt(maxFeePerGas), maxPriorityFeePerGas: BigInt(maxPriorityFeePerGas), accessList: [],
});
process.stdout.write(signed);
