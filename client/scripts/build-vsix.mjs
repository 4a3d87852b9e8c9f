#!/usr/bin/env node
// Build .vsix packages and print what each one covers.
//
//   npm run build:vsix                           # this machine's target
//   npm run build:vsix -- --target win32-x64     # one or more (comma-separated) targets
//   npm run build:vsix -- --universal            # the universal package (no bundled libraries)
//   npm run build:vsix -- --all-targets          # every target in targets.mjs, then the universal one
//
// Each target downloads its wheels from the package registry (see bundle-python.mjs).
// The machine's own target is built last, so bundled/ is left holding it. A JSON copy
// of the table goes to build/vsix-table.json.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { bundlePython } from './bundle-python.mjs';
import { packageVsix, UNIVERSAL } from './package-vsix.mjs';
import { hostTarget, TARGETS } from './targets.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');

function chosenTargets(values) {
  if (values['all-targets']) {
    let host;
    try {
      host = hostTarget();
    } catch {
      host = undefined;
    }
    return [...Object.keys(TARGETS).filter((t) => t !== host), ...(host ? [host] : []), UNIVERSAL];
  }
  const named = (values.target ?? []).flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  const list = named.length > 0 || values.universal ? named : [hostTarget()];
  for (const t of list) if (!TARGETS[t]) throw new Error(`unknown target ${t}; one of: ${Object.keys(TARGETS).join(', ')}`);
  return values.universal ? [...list, UNIVERSAL] : list;
}

/** Native modules as "cp310..cp314 <kind>" would hide a gap: list the CPython tags found. */
function nativeSummary(names) {
  if (names.length === 0) return '-';
  const tags = names.map((n) => /(?:cpython-|cp)(\d)(\d+)/.exec(n)).filter(Boolean).map((m) => `${m[1]}.${m[2]}`);
  const kinds = [...new Set(names.map((n) => n.replace(/^native\./, '').replace(/(cpython-|cp)\d+/, '*')))];
  return `${names.length} (${tags.join(' ')}; ${kinds.join(', ')})`;
}

function printTable(rows) {
  const head = ['target', 'size', 'CPython', 'libcst', 'libcst native modules'];
  const body = rows.map((r) => [r.target, `${(r.bytes / 1048576).toFixed(1)} MB`, r.pythons.join(' ') || 'from the environment',
    r.libcst ?? '-', nativeSummary(r.natives)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  console.log(`\n${line(head)}\n${line(widths.map((w) => '-'.repeat(w)))}`);
  for (const b of body) console.log(line(b));
}

async function main() {
  const { values } = parseArgs({
    options: { target: { type: 'string', multiple: true }, universal: { type: 'boolean' }, 'all-targets': { type: 'boolean' } },
  });
  const targets = chosenTargets(values);
  const t0 = Date.now();
  const built = spawnSync(process.execPath, [path.join(HERE, 'build.mjs'), '--production'], { stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
  const rows = [];
  for (const target of targets) {
    const t1 = Date.now();
    const manifest = target === UNIVERSAL ? undefined : await bundlePython(target, { quiet: targets.length > 1 });
    const file = packageVsix(target, { quiet: targets.length > 1 });
    const libcst = manifest?.distributions.find((d) => d.startsWith('libcst-'))?.slice('libcst-'.length);
    rows.push({
      target, file: path.relative(ROOT, file), bytes: fs.statSync(file).size, pythons: manifest?.pythons ?? [],
      libcst, natives: manifest?.libcstNative ?? [], seconds: Math.round((Date.now() - t1) / 100) / 10,
    });
    console.log(`built ${path.relative(ROOT, file)} (${rows.at(-1).seconds} s)`);
  }
  printTable(rows);
  fs.mkdirSync(path.join(ROOT, 'build'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'build', 'vsix-table.json'), `${JSON.stringify(rows, null, 2)}\n`);
  console.log(`\n${rows.length} package(s) in ${((Date.now() - t0) / 1000).toFixed(0)} s; install one with: code --install-extension <file>`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(String(err.message || err));
    process.exit(1);
  });
}
