// An independent decoder's view of a payout transaction: @solana/web3.js reads the wire bytes, checks every signature, and
// the SPL Token transferChecked is decoded from its instruction data as the token program lays it out.
// Usage: node solana-payout-check.mjs <transaction, base64>
//   prints {signaturesValid, feePayer, programs, transfer:{source, mint, destination, authority, authoritySigned, amount, decimals}, memo}
import { Transaction } from '@solana/web3.js';

const TOKEN_PROGRAM = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
const MEMO_PROGRAM = 'MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr';
const transaction = Transaction.from(Buffer.from(process.argv[2], 'base64'));
const transfers = transaction.instructions.filter(i => i.programId.toBase58() === TOKEN_PROGRAM && i.data[0] === 12);
if (transfers.length !== 1) throw new Error(`expected one transferChecked, found ${transfers.length}`);
const [transfer] = transfers;
const [source, mint, destination, authority] = transfer.keys;
const memo = transaction.instructions.find(i => i.programId.toBase58() === MEMO_PROGRAM);
process.stdout.write(JSON.stringify({
  signaturesValid: transaction.verifySignatures(),
  feePayer: transaction.feePayer.toBase58(),
  programs: transaction.instructions.map(i => i.programId.toBase58()),
  transfer: {
    source: source.pubkey.toBase58(), mint: mint.pubkey.toBase58(), destination: destination.pubkey.toBase58(), authority: authority.pubkey.toBase58(),
    authoritySigned: authority.isSigner, amount: transfer.data.readBigUInt64LE(1).toString(), decimals: transfer.data[9],
  },
  memo: memo ? memo.data.toString('utf8') : null,
}));
