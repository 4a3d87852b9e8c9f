#!/usr/bin/env node
// Every end-to-end scenario, one code-server session each (tests/e2e/run.mjs):
//   1. bundled server, python3 from PATH: the user's path (diagnostics, hover, quick fix,
//      fix all, debug info, crashes, settings, notebook); its screenshots go to out/main
//   2. Restricted Mode: a workspace whose settings point torchmode.interpreter at a program
//      inside it; that program never runs, the user is told once, the bundled server works
//   3. a stand-in for the Python extension selecting an interpreter: the server runs with it
//   4. importStrategy fromEnvironment with $PYTHON (an environment that has torchmode
//      installed), when PYTHON is set
//   5. fromEnvironment in a fresh venv without torchmode: one clear "not installed" message
//   6. an interpreter older than 3.10 ($TORCHMODE_E2E_OLD_PYTHON, python3.9/3.8, python2,
//      pyenv versions), when one exists: one clear "needs Python 3.10" message
// Exit status 0 when every scenario that ran passed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(HERE, 'out');
const extra = process.argv.slice(2); // e.g. --vsix FILE

function pyVersion(exe) {
  const r = spawnSync(exe, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}
function hasTorchmode(exe) {
  return spawnSync(exe, ['-c', 'import torchmode'], { stdio: 'ignore' }).status === 0;
}
function oldPython() {
  const pyenv = path.join(os.homedir(), '.pyenv', 'versions');
  const candidates = [process.env.TORCHMODE_E2E_OLD_PYTHON, 'python3.9', 'python3.8', 'python2',
    ...(fs.existsSync(pyenv) ? fs.readdirSync(pyenv).sort().reverse().map((v) => path.join(pyenv, v, 'bin', 'python')) : [])];
  for (const c of candidates.filter(Boolean)) {
    const v = pyVersion(c);
    if (v && (+v.split('.')[0] < 3 || (+v.split('.')[0] === 3 && +v.split('.')[1] < 10))) {
      const r = spawnSync(c, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
      return r.stdout.trim() || c;
    }
  }
  return null;
}

const realPython = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
const scenarios = [
  { name: 'main', args: ['--out', path.join(OUT, 'main')] },
  { name: 'Restricted Mode', args: ['--out', path.join(OUT, 'untrusted'), '--untrusted'] },
  { name: 'Python extension selection', args: ['--out', path.join(OUT, 'python-extension'), '--python-extension', realPython] },
];
const py = process.env.PYTHON && path.resolve(process.env.PYTHON);
if (py && hasTorchmode(py)) {
  scenarios.push({ name: 'fromEnvironment', args: ['--out', path.join(OUT, 'from-environment'), '--python', py, '--strategy', 'fromEnvironment'] });
} else {
  console.log(`skip fromEnvironment: ${py ? `torchmode is not importable in ${py}` : 'PYTHON is not set'}`);
}
const venv = fs.mkdtempSync(path.join(os.tmpdir(), 'torchmode-e2e-venv-'));
const made = spawnSync('python3', ['-m', 'venv', '--without-pip', venv], { encoding: 'utf8' });
if (made.status === 0) {
  scenarios.push({ name: 'torchmode missing', args: ['--out', path.join(OUT, 'missing'), '--python', path.join(venv, 'bin', 'python'), '--strategy', 'fromEnvironment', '--expect-error', 'is not installed in'] });
} else {
  console.log(`skip "torchmode missing": python3 -m venv failed: ${made.stderr}`);
}
const old = oldPython();
if (old) scenarios.push({ name: `old Python (${old})`, args: ['--out', path.join(OUT, 'old-python'), '--python', old, '--expect-error', 'needs Python 3.10 or newer'] });
else console.log('skip old Python: no interpreter older than 3.10 found (set TORCHMODE_E2E_OLD_PYTHON)');

const results = [];
for (const s of scenarios) {
  console.log(`\n==== e2e: ${s.name}`);
  const t = Date.now();
  const r = spawnSync(process.execPath, [path.join(HERE, 'run.mjs'), ...s.args, ...extra], { stdio: 'inherit' });
  results.push({ name: s.name, ok: r.status === 0, s: ((Date.now() - t) / 1000).toFixed(0) });
}
fs.rmSync(venv, { recursive: true, force: true });
console.log('\n==== e2e summary');
for (const r of results) console.log(`${r.ok ? 'OK    ' : 'FAILED'} ${r.name} (${r.s} s)`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
