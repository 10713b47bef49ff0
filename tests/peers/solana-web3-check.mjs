// An independent client's check of the front end's answers: @solana/web3.js's Connection validates every response it
// reads against its schemas (superstruct) and throws on one that does not fit. Every method the watcher and a wallet use
// is asked once. Usage: node solana-web3-check.mjs <rpc url> <token account> <signature>   prints the checked methods.
import { Connection, PublicKey } from '@solana/web3.js';

const [url, tokenAccount, signature] = process.argv.slice(2);
const connection = new Connection(url, 'confirmed');
const account = new PublicKey(tokenAccount);
const checked = [];
const check = async (name, call) => {
  const result = await call();
  checked.push(name);
  return result;
};
await check('getVersion', () => connection.getVersion());
await check('getSlot', () => connection.getSlot('finalized'));
await check('getBlockHeight', () => connection.getBlockHeight('confirmed'));
await check('getEpochInfo', () => connection.getEpochInfo());
const latest = await check('getLatestBlockhash', () => connection.getLatestBlockhash('finalized'));
await check('isBlockhashValid', () => connection.isBlockhashValid(latest.blockhash));
await check('getMinimumBalanceForRentExemption', () => connection.getMinimumBalanceForRentExemption(165));
await check('getBalance', () => connection.getBalance(account));
await check('getAccountInfo', () => connection.getAccountInfo(account));
const balance = await check('getTokenAccountBalance', () => connection.getTokenAccountBalance(account));
const signatures = await check('getSignaturesForAddress', () => connection.getSignaturesForAddress(account, { limit: 10 }, 'finalized'));
const statuses = await check('getSignatureStatuses', () => connection.getSignatureStatuses([signature]));
const parsed = await check('getParsedTransaction', () => connection.getParsedTransaction(signature, { maxSupportedTransactionVersion: 0, commitment: 'finalized' }));
const plain = await check('getTransaction', () => connection.getTransaction(signature, { maxSupportedTransactionVersion: 0, commitment: 'finalized' }));
if (!parsed || !plain || !statuses.value[0] || !signatures.some(s => s.signature === signature) || balance.value.decimals !== 6) {
  throw new Error('the answers do not show the transaction');
}
console.log(JSON.stringify({ checked, parsedInstructions: parsed.transaction.message.instructions.length, signatures: signatures.length }));
