#!/usr/bin/env node
// Put the torchmode server package and its dependencies (pygls, lsprotocol, libcst,
// jedi, ...) into bundled/libs, for one VS Code target platform.
//
// libcst ships a native parser built per CPython version, so the dependencies are
// installed once per supported Python (3.10-3.14) and merged: the pure-Python files
// are identical, and the native modules have version-tagged names
// (native.cpython-311-x86_64-linux-gnu.so) that sit side by side.
//
//   node client/scripts/bundle-python.mjs                    # linux-x64 (default)
//   TORCHMODE_VSIX_TARGET=darwin-arm64 node client/scripts/bundle-python.mjs
//   PYTHON=/path/to/python3 ...                              # the Python whose pip does the work
//
// Only PyPI is used (pip downloads wheels for the target platform; nothing is built).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TARGETS = {
  'linux-x64': 'manylinux_2_28_x86_64',
  'linux-arm64': 'manylinux_2_28_aarch64',
  'alpine-x64': 'musllinux_1_2_x86_64',
  'darwin-x64': 'macosx_11_0_x86_64',
  'darwin-arm64': 'macosx_11_0_arm64',
  'win32-x64': 'win_amd64',
  'win32-arm64': 'win_arm64',
};
const PYTHONS = (process.env.TORCHMODE_BUNDLE_PYTHONS || '3.10,3.11,3.12,3.13,3.14').split(',').map((s) => s.trim());
const target = process.env.TORCHMODE_VSIX_TARGET || 'linux-x64';
const platformTag = TARGETS[target];
if (!platformTag) {
  console.error(`unknown target ${target}; one of: ${Object.keys(TARGETS).join(', ')}`);
  process.exit(2);
}
const PY = process.env.PYTHON || (process.platform === 'win32' ? 'python' : 'python3');
const OUT = path.join(ROOT, 'bundled', 'libs');
const t0 = Date.now();

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) {
    console.error(`$ ${cmd} ${args.join(' ')}\n${r.stdout || ''}${r.stderr || ''}`);
    throw new Error(`${cmd} failed with status ${r.status}`);
  }
  return r.stdout;
}

function pip(args) {
  return run(PY, ['-m', 'pip', '--disable-pip-version-check', '--no-input', ...args], {
    env: { ...process.env, PIP_NO_WARN_SCRIPT_LOCATION: '1' },
  });
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchmode-bundle-'));
try {
  // 1. the server package itself, as a wheel built from this checkout
  console.log(`== building the torchmode wheel from ${ROOT}`);
  const wheelDir = path.join(tmp, 'wheel');
  pip(['wheel', '--no-deps', '--quiet', '--wheel-dir', wheelDir, ROOT]);
  const wheel = fs.readdirSync(wheelDir).find((f) => f.startsWith('torchmode-') && f.endsWith('.whl'));
  if (!wheel) throw new Error('no torchmode wheel was built');

  // 2. it and its pinned dependencies for each Python version of the target platform
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  for (const v of PYTHONS) {
    const abi = `cp${v.replace('.', '')}`;
    const dest = path.join(tmp, `py${v}`);
    console.log(`== dependencies for Python ${v} on ${target} (${platformTag})`);
    pip(['install', '--quiet', '--no-compile', '--target', dest, '--only-binary=:all:', '--platform', platformTag,
      '--python-version', v, '--implementation', 'cp', '--abi', abi, path.join(wheelDir, wheel)]);
    fs.cpSync(dest, OUT, { recursive: true, force: true });
  }

  // 3. tidy: console scripts and caches are not needed by `python -m torchmode server`;
  //    PyYAML's optional C accelerator (libcst only reads codemod configs with it),
  //    jedi's Django stubs and typeshed's third-party stubs (4,300 files; jedi skips a
  //    missing stubs folder, the stdlib stubs stay) are dead weight for a PyTorch linter
  //    and make the .vsix slow to package and install.
  for (const junk of ['bin', 'Scripts', 'jedi/third_party/django-stubs', 'jedi/third_party/typeshed/stubs']) {
    fs.rmSync(path.join(OUT, junk), { recursive: true, force: true });
  }
  for (const f of fs.readdirSync(path.join(OUT, 'yaml'))) {
    if (/^_yaml\..*\.(so|pyd)$/.test(f)) fs.rmSync(path.join(OUT, 'yaml', f));
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
  walk(OUT);

  // 4. byte-code for the Pythons at hand (the build's own and TORCHMODE_PRECOMPILE_PYTHONS):
  //    importing lsprotocol & co. from source costs ~0.5 s more on every server start, and
  //    the server may not be allowed to write __pycache__ (read-only extension folder,
  //    PYTHONDONTWRITEBYTECODE). "unchecked-hash" .pyc files stay valid whatever the file
  //    times are after VS Code unpacks the .vsix; the sources never change.
  const compiled = [];
  for (const py of [PY, ...(process.env.TORCHMODE_PRECOMPILE_PYTHONS || '').split(/[\s,]+/).filter(Boolean)]) {
    const ver = run(py, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']).trim();
    if (!PYTHONS.includes(ver) || compiled.includes(ver)) continue;
    const r = spawnSync(py, ['-m', 'compileall', '-q', '-j', '0', '--invalidation-mode', 'unchecked-hash', OUT], { encoding: 'utf8' });
    if (r.status !== 0) console.warn(`compileall with Python ${ver} reported errors (those files stay source-only):\n${r.stdout}${r.stderr}`);
    compiled.push(ver);
  }
  console.log(`== byte-code compiled for Python ${compiled.join(', ') || '(none)'}`);

  // 5. a manifest of what went in (shown by "torchmode: Show Debug Information" via the probe)
  const dists = fs.readdirSync(OUT).filter((f) => f.endsWith('.dist-info')).map((f) => f.replace(/\.dist-info$/, '')).sort();
  const natives = fs.readdirSync(path.join(OUT, 'libcst')).filter((f) => f.startsWith('native'));
  fs.writeFileSync(path.join(ROOT, 'bundled', 'manifest.json'), `${JSON.stringify({
    target, platformTag, pythons: PYTHONS, precompiled: compiled, distributions: dists, libcstNative: natives,
  }, null, 2)}\n`);
  const size = Number(run('du', ['-sk', OUT]).split(/\s+/)[0]) * 1024;
  console.log(`bundled/libs: ${dists.length} distributions, ${natives.length} libcst native modules, ${(size / 1048576).toFixed(1)} MB (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  console.log(dists.join(' '));
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
