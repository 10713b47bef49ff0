// A client generated from the service's own OpenAPI document by independent tools, built and run: openapi-typescript
// 7.13.0 turns the document into types, the TypeScript 5.9.3 compiler checks openapi/flow.ts (which calls the API through
// openapi-fetch 0.17.0 with those types) in strict mode and emits it, and node runs it against the service.
// Usage: node openapi-client.mjs <openapi.json> <service base url> <publisher domain>
//   prints {"status":"ok", "result": {...}} or {"status":"type-errors", "errors":[...]} as one JSON line
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';

const [documentPath, baseUrl, domain] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
// Inside tests/peers, so the emitted module finds openapi-fetch in its node_modules.
const work = path.join(here, '.generated', randomUUID());
fs.mkdirSync(work, { recursive: true });
try {
  const document = JSON.parse(fs.readFileSync(documentPath, 'utf8'));
  fs.writeFileSync(path.join(work, 'schema.d.ts'), astToString(await openapiTS(document)));
  fs.copyFileSync(path.join(here, 'openapi', 'flow.ts'), path.join(work, 'flow.ts'));
  // An ES module, so TypeScript (NodeNext) emits one and node loads it as such.
  fs.writeFileSync(path.join(work, 'package.json'), JSON.stringify({ type: 'module' }));
  const program = ts.createProgram([path.join(work, 'flow.ts')], {
    strict: true, noEmitOnError: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, outDir: work, types: [],
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  });
  const emitted = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  if (diagnostics.length > 0 || emitted.emitSkipped) {
    console.log(JSON.stringify({ status: 'type-errors', errors: diagnostics.map(d => ts.flattenDiagnosticMessageText(d.messageText, ' ')) }));
  } else {
    const flow = await import(pathToFileURL(path.join(work, 'flow.js')).href);
    console.log(JSON.stringify({ status: 'ok', result: await flow.run(baseUrl, domain) }));
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
