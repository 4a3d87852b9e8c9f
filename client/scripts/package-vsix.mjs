#!/usr/bin/env node
// Package the extension as a .vsix with @vscode/vsce: platform-specific (with the Python
// bundle of client/scripts/bundle-python.mjs) or universal (no bundled libraries).
// Expects `npm run build:prod` (dist/extension.js) to be there.
//
// The extension is assembled in build/vsix/ so that the marketplace README
// (client/README.md) sits at the root beside its images/ and CHANGELOG.md, as VS Code
// expects, and nothing but what runs is in the package (see .vscodeignore).
//
//   node client/scripts/package-vsix.mjs                       # this machine's target
//   TORCHMODE_VSIX_TARGET=win32-x64 node client/scripts/package-vsix.mjs
//   TORCHMODE_VSIX_TARGET=universal node client/scripts/package-vsix.mjs
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostTarget } from './targets.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const STAGE = path.join(ROOT, 'build', 'vsix');
export const UNIVERSAL = 'universal';

/** Where the .vsix for `target` is written. */
export function vsixPath(target, pkg = readPackageJson()) {
  return path.join(ROOT, target === UNIVERSAL ? `${pkg.name}-${pkg.version}.vsix` : `${pkg.name}-${target}-${pkg.version}.vsix`);
}

function readPackageJson() {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
}

function need(rel, hint) {
  if (!fs.existsSync(path.join(ROOT, rel))) throw new Error(`${rel} is missing: run ${hint} first`);
}

/**
 * The universal package has no Python libraries, so its server must come from the
 * interpreter: its manifest says so in the setting's default (the client also falls back
 * to fromEnvironment whenever bundled/libs is absent).
 */
function universalManifest(pkg) {
  const props = pkg.contributes.configuration.properties;
  props['torchmode.importStrategy'] = {
    ...props['torchmode.importStrategy'],
    default: 'fromEnvironment',
    markdownDescription: `${props['torchmode.importStrategy'].markdownDescription} This package has no bundled server `
      + '(it is the universal build for platforms without their own package): install torchmode into the interpreter '
      + 'with `pip install torchmode`.',
  };
  return pkg;
}

/**
 * The marketplace page cannot show files from the package: vsce rewrites the README's
 * relative links and images to the repository's copies (client/ holds the README).
 */
function readmeBase(pkg) {
  const repo = pkg.repository.url.replace(/\.git$/, '');
  return ['--baseContentUrl', `${repo}/blob/HEAD/client`, '--baseImagesUrl', `${repo}/raw/HEAD/client`];
}

/** Fill build/vsix/ with what the package holds. */
export function stage(target, pkg = readPackageJson()) {
  need('dist/extension.js', 'npm run build:prod');
  fs.rmSync(STAGE, { recursive: true, force: true });
  fs.mkdirSync(STAGE, { recursive: true });
  const copy = (from, to) => fs.cpSync(path.join(ROOT, from), path.join(STAGE, to), { recursive: true });
  const manifest = target === UNIVERSAL ? universalManifest(structuredClone(pkg)) : pkg;
  fs.writeFileSync(path.join(STAGE, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  copy('.vscodeignore', '.vscodeignore');
  copy('client/README.md', 'README.md');
  copy('CHANGELOG.md', 'CHANGELOG.md');
  copy('client/LICENSE', 'LICENSE');
  copy('dist/extension.js', 'dist/extension.js');
  copy('client/images', 'images');
  if (target !== UNIVERSAL) {
    need('bundled/libs/torchmode', 'npm run bundle:python');
    const bundle = JSON.parse(fs.readFileSync(path.join(ROOT, 'bundled', 'manifest.json'), 'utf8'));
    if (bundle.target !== target) {
      throw new Error(`bundled/libs was made for ${bundle.target}, not ${target}: run TORCHMODE_VSIX_TARGET=${target} npm run bundle:python`);
    }
    copy('bundled', 'bundled');
  }
  return STAGE;
}

/** vsce's secret scan over the server sources bundled into a platform package. */
function scanServerForSecrets() {
  const dir = path.join(STAGE, 'bundled', 'libs', 'torchmode');
  const files = fs.readdirSync(dir, { recursive: true }).filter((f) => /\.(py|md|txt|json)$/.test(f)).map((f) => path.join(dir, f));
  const script = `const { lintFiles, prettyPrintLintResult } = require(${JSON.stringify(path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'out', 'secretLint.js'))});
lintFiles(${JSON.stringify(files)}, true, false).then((r) => {
  if (r.ok) return;
  for (const res of r.results) console.error(prettyPrintLintResult(res));
  process.exit(1);
});`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`secrets found in the bundled server sources:\n${r.stdout}${r.stderr}`);
}

/** vsce in build/vsix/ (after `stage`). */
export function vsce(args) {
  const bin = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
  return spawnSync(process.execPath, [bin, ...args], { cwd: STAGE, encoding: 'utf8', maxBuffer: 64 << 20 });
}

/**
 * Build the .vsix for `target` (or UNIVERSAL); returns its path.
 *
 * vsce scans every packaged file for secrets; its scanner (secretlint 10) is quadratic in
 * the number of files and spends ~1-2 min on a platform package's 2,000 files of
 * registry wheels. Those are skipped (--allow-package-all-secrets); the universal
 * package, which holds every other file, and the torchmode server sources are scanned.
 */
export function packageVsix(target, { quiet = false } = {}) {
  const pkg = readPackageJson();
  stage(target, pkg);
  const out = vsixPath(target, pkg);
  const platform = target === UNIVERSAL ? [] : ['--target', target, '--allow-package-all-secrets'];
  if (platform.length > 0) scanServerForSecrets();
  const r = vsce(['package', ...platform, '--no-dependencies', ...readmeBase(pkg), '--out', out]);
  if (!quiet || r.status !== 0) {
    process.stdout.write(r.stdout || '');
    process.stderr.write(r.stderr || '');
  }
  if (r.status !== 0) throw new Error(`vsce package failed for ${target}`);
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const target = process.env.TORCHMODE_VSIX_TARGET || hostTarget();
  try {
    const out = packageVsix(target);
    const pkg = readPackageJson();
    console.log(`
torchmode ${pkg.version} for ${target}: ${out}
  size ${(fs.statSync(out).size / 1048576).toFixed(1)} MB
Install it with:
  code --install-extension ${out}
(or in VS Code: Extensions view > ... > Install from VSIX...)`);
  } catch (err) {
    console.error(String(err.message || err));
    process.exit(1);
  }
}
