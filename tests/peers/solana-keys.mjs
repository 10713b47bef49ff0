// @solana/kit's answers for keys the service derives on its own: associated token accounts (findAssociatedTokenPda), program
// addresses with their bump (getProgramDerivedAddress) and the curve test (isOffCurveAddress), for a second implementation
// to agree with. Usage: node solana-keys.mjs <mint> <count>   prints JSON lines {owner, ata, offCurve, seed, pda, bump}.
import * as kit from '@solana/kit';
import { findAssociatedTokenPda, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';

const [mint, countText] = process.argv.slice(2);
const count = Number(countText);
for (let i = 0; i < count; i++) {
  const owner = (await kit.generateKeyPairSigner()).address;
  const [ata] = await findAssociatedTokenPda({ owner, mint, tokenProgram: TOKEN_PROGRAM_ADDRESS });
  const seed = `aisa-${i}`;
  const [pda, bump] = await kit.getProgramDerivedAddress({ programAddress: TOKEN_PROGRAM_ADDRESS, seeds: [seed, kit.getAddressEncoder().encode(owner)] });
  console.log(JSON.stringify({ owner, ata, ownerOffCurve: kit.isOffCurveAddress(owner), ataOffCurve: kit.isOffCurveAddress(ata), seed, pda, bump }));
}
