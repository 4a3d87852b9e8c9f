#!/usr/bin/env node
// Package the extension as a platform-specific .vsix with @vscode/vsce.
// Expects `npm run build:prod` (dist/extension.js) and the Python bundle
// (bundled/libs, client/scripts/bundle-python.mjs) to be there.
//
// The extension is assembled in build/vsix/ so that the marketplace README
// (client/README.md) sits at the root beside its images/, as VS Code expects, and
// nothing but what runs is in the package (see .vscodeignore).
//
//   TORCHMODE_VSIX_TARGET=linux-x64 (default) | linux-arm64 | darwin-arm64 | win32-x64 | ...
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const target = process.env.TORCHMODE_VSIX_TARGET || 'linux-x64';
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const STAGE = path.join(ROOT, 'build', 'vsix');
const out = path.join(ROOT, `${pkg.name}-${target}-${pkg.version}.vsix`);

function need(rel, hint) {
  if (!fs.existsSync(path.join(ROOT, rel))) {
    console.error(`${rel} is missing: run ${hint} first`);
    process.exit(1);
  }
}
need('dist/extension.js', 'npm run build:prod');
need('bundled/libs/torchmode', 'npm run bundle:python');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'bundled', 'manifest.json'), 'utf8'));
if (manifest.target !== target) {
  console.error(`bundled/libs was made for ${manifest.target}, not ${target}: run TORCHMODE_VSIX_TARGET=${target} npm run bundle:python`);
  process.exit(1);
}

fs.rmSync(STAGE, { recursive: true, force: true });
fs.mkdirSync(STAGE, { recursive: true });
const copy = (from, to) => fs.cpSync(path.join(ROOT, from), path.join(STAGE, to), { recursive: true });
copy('package.json', 'package.json');
copy('.vscodeignore', '.vscodeignore');
copy('client/README.md', 'README.md');
copy('client/LICENSE', 'LICENSE');
copy('dist/extension.js', 'dist/extension.js');
copy('bundled', 'bundled');
if (fs.existsSync(path.join(ROOT, 'client', 'images'))) copy('client/images', 'images');

const vsce = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
const r = spawnSync(process.execPath, [vsce, 'package', '--target', target, '--no-dependencies',
  '--allow-missing-repository', '--no-rewrite-relative-links', '--out', out], { cwd: STAGE, encoding: 'utf8' });
process.stdout.write(r.stdout || '');
process.stderr.write(r.stderr || '');
if (r.status !== 0) {
  console.error('vsce package failed');
  process.exit(r.status || 1);
}
const mb = (fs.statSync(out).size / 1048576).toFixed(1);
const kb = (fs.statSync(path.join(ROOT, 'dist', 'extension.js')).size / 1024).toFixed(1);
console.log(`
torchmode ${pkg.version} for ${target}: ${out}
  size ${mb} MB (client bundle ${kb} KB; Python ${manifest.pythons.join(', ')})
Install it with:
  code --install-extension ${out}
(or in VS Code: Extensions view > ... > Install from VSIX...)`);
