// The independent implementation for the BIP32 test: ethers derives 0/k under an account xpub.
// Usage: node bip32-addresses.mjs <xpub> <count>   prints one EIP-55 address per line, k = 0 … count-1.
import { HDNodeWallet } from 'ethers';

const [xpub, count] = process.argv.slice(2);
const external = HDNodeWallet.fromExtendedKey(xpub).deriveChild(0);
const lines = [];
for (let k = 0; k < Number(count); k++) {
  lines.push(external.deriveChild(k).address);
}
process.stdout.write(lines.join('\n') + '\n');
