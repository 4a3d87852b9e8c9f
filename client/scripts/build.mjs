#!/usr/bin/env node
// Bundle the client with esbuild.
//   node client/scripts/build.mjs                -> dist/extension.js (+ source map)
//   node client/scripts/build.mjs --production   -> dist/extension.js, minified, no source map
//   node client/scripts/build.mjs --tests        -> client/out/test/*.test.js (unit tests, no vscode)
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = new Set(process.argv.slice(2));
const production = args.has('--production');
const MAX_BYTES = 500 * 1024;

if (args.has('--tests')) {
  const dir = path.join(ROOT, 'client', 'test');
  const entries = fs.readdirSync(dir).filter((f) => f.endsWith('.test.ts')).map((f) => path.join(dir, f));
  const outdir = path.join(ROOT, 'client', 'out', 'test');
  fs.rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: entries, outdir, bundle: true, platform: 'node', format: 'cjs', target: 'node20',
    sourcemap: 'inline', logLevel: 'warning',
    // the unit tests cover the pure modules; importing vscode from one of them is a bug
    plugins: [{ name: 'no-vscode', setup(b) { b.onResolve({ filter: /^vscode$/ }, (a) => ({ errors: [{ text: `pure module imports vscode: ${a.importer}` }] })); } }],
  });
  console.log(`built ${entries.length} test files into ${path.relative(ROOT, outdir)}`);
} else {
  const outfile = path.join(ROOT, 'dist', 'extension.js');
  fs.rmSync(path.join(ROOT, 'dist'), { recursive: true, force: true });
  const result = await build({
    entryPoints: [path.join(ROOT, 'client', 'src', 'extension.ts')],
    outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20',
    external: ['vscode'], minify: production, sourcemap: !production, metafile: true, logLevel: 'warning',
  });
  const size = fs.statSync(outfile).size;
  const inputs = Object.keys(result.metafile.inputs).length;
  console.log(`dist/extension.js: ${(size / 1024).toFixed(1)} KB from ${inputs} modules${production ? ' (minified)' : ''}`);
  if (production && size > MAX_BYTES) {
    console.error(`dist/extension.js is ${size} bytes, over the ${MAX_BYTES} byte budget`);
    process.exit(1);
  }
}
