// Compiles a contract of contracts/ with solc-js (offline: the compiler is bundled) for ganache's shanghai EVM.
// Usage: node compile.mjs TestToken   prints {"abi": [...], "bytecode": "0x..."}
import { readFileSync } from 'node:fs';
import solc from 'solc';

const name = process.argv[2];
const input = {
  language: 'Solidity',
  sources: { [`${name}.sol`]: { content: readFileSync(new URL(`./contracts/${name}.sol`, import.meta.url), 'utf8') } },
  settings: { evmVersion: 'shanghai', optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
};
// Imports are other files of contracts/.
const findImports = path => ({ contents: readFileSync(new URL(`./contracts/${path.replace(/^\.\//, '')}`, import.meta.url), 'utf8') });
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors ?? []).filter(e => e.severity === 'error');
if (errors.length > 0) {
  process.stderr.write(errors.map(e => e.formattedMessage).join('\n'));
  process.exit(1);
}
const contract = output.contracts[`${name}.sol`][name];
process.stdout.write(JSON.stringify({ abi: contract.abi, bytecode: '0x' + contract.evm.bytecode.object }));
