#!/usr/bin/env node
// Put the torchmode server package and its dependencies (pygls, lsprotocol, libcst,
// jedi, ...) into bundled/libs, for one VS Code target platform (client/scripts/targets.mjs).
//
// libcst ships a native parser built per CPython version, so the dependencies are
// installed once per covered Python and merged: the pure-Python files are identical, and
// the native modules have version-tagged names (native.cpython-311-x86_64-linux-gnu.so)
// that sit side by side.
//
//   node client/scripts/bundle-python.mjs                    # this machine's target
//   TORCHMODE_VSIX_TARGET=darwin-arm64 node client/scripts/bundle-python.mjs
//   PYTHON=/path/to/python3 ...                              # the Python whose pip does the work
//
// Only the package registry is used (wheels for the target platform; nothing is built).
// pip evaluates environment markers against the Python running it, not the target, so
// every wheel is installed with --no-deps and the dependencies are resolved in the
// target's marker environment by closure.py.
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXCLUDED, hostTarget, TARGETS } from './targets.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
export const BUNDLED = path.join(ROOT, 'bundled');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) {
    console.error(`$ ${cmd} ${args.join(' ')}\n${r.stdout || ''}${r.stderr || ''}`);
    throw new Error(`${cmd} failed with status ${r.status}`);
  }
  return r.stdout;
}

/** `run`, without blocking: the per-Python installs wait on the registry, so they overlap. */
function runAsync(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, PIP_NO_WARN_SCRIPT_LOCATION: '1' } },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        console.error(`$ ${cmd} ${args.join(' ')}\n${stdout || ''}${stderr || ''}`);
        return reject(new Error(`${cmd} failed: ${err.message.split('\n')[0]}`));
      });
  });
}

const pip = (py, args) => run(py, ['-m', 'pip', '--disable-pip-version-check', '--no-input', ...args], {
  env: { ...process.env, PIP_NO_WARN_SCRIPT_LOCATION: '1' },
});

/** The torchmode wheel of this checkout, built into `dir`. */
function buildWheel(py, dir) {
  pip(py, ['wheel', '--no-deps', '--quiet', '--wheel-dir', dir, ROOT]);
  const wheel = fs.readdirSync(dir).find((f) => f.startsWith('torchmode-') && f.endsWith('.whl'));
  if (!wheel) throw new Error('no torchmode wheel was built');
  return path.join(dir, wheel);
}

/** torchmode and its dependencies for CPython `version` on `spec`'s platform, into `dest`. */
async function installFor(py, spec, version, wheel, dest) {
  const abi = `cp${version.replace('.', '')}`;
  const install = (reqs) => runAsync(py, ['-m', 'pip', '--disable-pip-version-check', '--no-input', 'install', '--quiet', '--no-compile', '--no-deps', '--upgrade', '--target', dest,
    '--only-binary=:all:', '--platform', spec.platformTag, '--python-version', version, '--implementation', 'cp',
    '--abi', abi, ...reqs]);
  await install([wheel]);
  const env = JSON.stringify({ ...spec.env, python_version: version });
  for (let round = 0; round < 20; round++) {
    const closure = [path.join(HERE, 'closure.py'), dest, env, JSON.stringify({ pins: spec.pins, exclude: EXCLUDED })];
    const reqs = (await runAsync(py, closure)).split('\n').filter(Boolean);
    if (reqs.length === 0) return;
    await install(reqs);
  }
  throw new Error(`the dependencies for Python ${version} did not settle`);
}

/**
 * Console scripts and caches are not needed by `python -m torchmode server`; jedi's Django stubs
 * and typeshed's third-party stubs (4,300 files; jedi skips a missing stubs folder, the
 * stdlib stubs stay) are dead weight for a PyTorch linter and make the .vsix slow to
 * package and install.
 */
function tidy(out) {
  for (const junk of ['bin', 'Scripts', 'jedi/third_party/django-stubs', 'jedi/third_party/typeshed/stubs']) {
    fs.rmSync(path.join(out, junk), { recursive: true, force: true });
  }
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name === '__pycache__') fs.rmSync(p, { recursive: true, force: true });
        else walk(p);
      }
    }
  };
  walk(out);
}

/**
 * Byte-code for the Pythons at hand (the build's own and TORCHMODE_PRECOMPILE_PYTHONS):
 * importing lsprotocol & co. from source costs ~0.5 s more on every server start, and the
 * server may not be allowed to write __pycache__ (read-only extension folder,
 * PYTHONDONTWRITEBYTECODE). "unchecked-hash" .pyc files stay valid whatever the file
 * times are after VS Code unpacks the .vsix; the sources never change.
 */
function precompile(py, out, pythons) {
  const compiled = [];
  for (const p of [py, ...(process.env.TORCHMODE_PRECOMPILE_PYTHONS || '').split(/[\s,]+/).filter(Boolean)]) {
    const ver = run(p, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']).trim();
    if (!pythons.includes(ver) || compiled.includes(ver)) continue;
    const r = spawnSync(p, ['-m', 'compileall', '-q', '-j', '0', '--invalidation-mode', 'unchecked-hash', out], { encoding: 'utf8' });
    if (r.status !== 0) console.warn(`compileall with Python ${ver} reported errors (those files stay source-only):\n${r.stdout}${r.stderr}`);
    compiled.push(ver);
  }
  return compiled;
}

/** Fill bundled/ for `target`; returns its manifest (also written to bundled/manifest.json). */
export async function bundlePython(target, { py = process.env.PYTHON || (process.platform === 'win32' ? 'python' : 'python3'), quiet = false } = {}) {
  const spec = TARGETS[target];
  if (!spec) throw new Error(`unknown target ${target}; one of: ${Object.keys(TARGETS).join(', ')}`);
  const log = quiet ? () => undefined : (m) => console.log(m);
  const pythons = (process.env.TORCHMODE_BUNDLE_PYTHONS || spec.pythons.join(',')).split(',').map((s) => s.trim())
    .filter((v) => spec.pythons.includes(v));
  const out = path.join(BUNDLED, 'libs');
  const t0 = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchmode-bundle-'));
  try {
    log(`== building the torchmode wheel from ${ROOT}`);
    const wheel = buildWheel(py, path.join(tmp, 'wheel'));
    fs.rmSync(BUNDLED, { recursive: true, force: true });
    fs.mkdirSync(out, { recursive: true });
    log(`== dependencies for Python ${pythons.join(', ')} on ${target} (${spec.platformTag})`);
    const dest = (v) => path.join(tmp, `py${v}`);
    await Promise.all(pythons.map((v) => installFor(py, spec, v, wheel, dest(v))));
    // the pure-Python files are the same for every version: only the first copy writes them
    for (const v of pythons) fs.cpSync(dest(v), out, { recursive: true, force: false });
    tidy(out);
    const compiled = precompile(py, out, pythons);
    log(`== byte-code compiled for Python ${compiled.join(', ') || '(none)'}`);
    const dists = fs.readdirSync(out).filter((f) => f.endsWith('.dist-info')).map((f) => f.replace(/\.dist-info$/, '')).sort();
    const natives = fs.readdirSync(path.join(out, 'libcst')).filter((f) => f.startsWith('native')).sort();
    const manifest = {
      target, platformTag: spec.platformTag, pythons, pins: spec.pins, excluded: EXCLUDED, precompiled: compiled,
      distributions: dists, libcstNative: natives,
    };
    fs.writeFileSync(path.join(BUNDLED, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const size = Number(run('du', ['-sk', out]).split(/\s+/)[0]) * 1024;
    log(`bundled/libs for ${target}: ${dists.length} distributions, ${natives.length} libcst native modules, `
      + `${(size / 1048576).toFixed(1)} MB (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    log(dists.join(' '));
    return manifest;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await bundlePython(process.env.TORCHMODE_VSIX_TARGET || hostTarget());
  } catch (err) {
    console.error(String(err.message || err));
    process.exit(2);
  }
}
