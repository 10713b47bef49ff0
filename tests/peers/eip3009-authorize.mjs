// An EIP-3009 transferWithAuthorization signed with viem and sent straight to the chain, as a payer (or anyone holding
// its signature) can do without any facilitator: what a front-run of an x402 payment with the same nonce looks like.
// Usage: node eip3009-authorize.mjs <rpc url> <chain id> <token> <payer private key> <to> <value> <nonce 0x…32 bytes> <validBefore>
//   prints the transaction hash once it is mined
import { createWalletClient, createPublicClient, defineChain, http, parseAbi } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

const [rpc, chainIdText, token, key, to, value, nonce, validBefore] = process.argv.slice(2);
const chain = defineChain({ id: Number(chainIdText), name: 'local', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpc] } } });
const account = privateKeyToAccount(key);
const message = { from: account.address, to, value: BigInt(value), validAfter: 0n, validBefore: BigInt(validBefore), nonce };
const signature = await account.signTypedData({
  domain: { name: 'USD Coin', version: '2', chainId: chain.id, verifyingContract: token },
  types: {
    TransferWithAuthorization: [
      { name: 'from', type: 'address' }, { name: 'to', type: 'address' }, { name: 'value', type: 'uint256' },
      { name: 'validAfter', type: 'uint256' }, { name: 'validBefore', type: 'uint256' }, { name: 'nonce', type: 'bytes32' },
    ],
  },
  primaryType: 'TransferWithAuthorization',
  message,
});
const wallet = createWalletClient({ chain, transport: http(rpc), account });
const abi = parseAbi(['function transferWithAuthorization(address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce, bytes signature)']);
const hash = await wallet.writeContract({ address: token, abi, functionName: 'transferWithAuthorization',
  args: [message.from, message.to, message.value, message.validAfter, message.validBefore, message.nonce, signature] });
const receipt = await createPublicClient({ chain, transport: http(rpc) }).waitForTransactionReceipt({ hash });
if (receipt.status !== 'success') throw new Error(`transferWithAuthorization ${hash} reverted`);
process.stdout.write(hash);
