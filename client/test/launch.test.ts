import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  BOOT_SCRIPT, buildLaunch, bundledPythons, classifyLogLine, compareVersions, effectiveStrategy, judgeProbe, parseProbe, serverEnv,
  type ProbeResult, type VerdictInput,
} from '../src/launch';

const probe = (over: Partial<ProbeResult> = {}): ProbeResult => ({
  python: [3, 11, 7], executable: '/usr/bin/python3.11', torchmode: '0.1.0', location: '/ext/bundled/libs/torchmode/__init__.py',
  suffixes: ['.cpython-311-x86_64-linux-gnu.so', '.abi3.so', '.so'], ...over,
});
const verdict = (over: Partial<VerdictInput>): VerdictInput => ({
  probe: probe(), output: '', interpreter: '/usr/bin/python3', strategy: 'useBundled', requiredServer: '0.1.0',
  bundledLibcstFiles: ['__init__.py', 'native.cpython-310-x86_64-linux-gnu.so', 'native.cpython-311-x86_64-linux-gnu.so'],
  ...over,
});

describe('server launch', () => {
  it('useBundled puts bundled/libs first on PYTHONPATH', () => {
    const plan = buildLaunch({
      interpreter: ['/usr/bin/python3', '-X', 'utf8'], strategy: 'useBundled', bundledLibs: '/ext/bundled/libs',
      cwd: '/ext', baseEnv: { PATH: '/usr/bin', PYTHONPATH: '/user/lib', PYTHONSTARTUP: '/x.py', GONE: undefined }, platform: 'linux',
    });
    assert.equal(plan.command, '/usr/bin/python3');
    assert.deepEqual(plan.args, ['-X', 'utf8', '-c', BOOT_SCRIPT, 'server']);
    assert.equal(plan.env.PYTHONPATH, '/ext/bundled/libs:/user/lib');
    assert.equal(plan.env.PATH, '/usr/bin');
    assert.equal('PYTHONSTARTUP' in plan.env, false);
    assert.equal('GONE' in plan.env, false);
    assert.equal(plan.cwd, '/ext');
  });
  it('fromEnvironment leaves PYTHONPATH alone', () => {
    assert.equal(serverEnv('fromEnvironment', '/ext/bundled/libs', { PYTHONPATH: '/u' }, 'linux').PYTHONPATH, '/u');
    assert.equal('PYTHONPATH' in serverEnv('fromEnvironment', '/ext/bundled/libs', {}, 'linux'), false);
  });
  it('uses ; on Windows', () => {
    assert.equal(serverEnv('useBundled', 'C:\\e\\libs', { PYTHONPATH: 'D:\\x' }, 'win32').PYTHONPATH, 'C:\\e\\libs;D:\\x');
  });
});

describe('probe output', () => {
  it('finds the JSON line among other output', () => {
    const p = parseProbe('noise\nTORCHMODE_PROBE {"python":[3,12,1],"executable":"/p","torchmode":null,"location":null,"suffixes":[".so"]}\n');
    assert.deepEqual(p, { python: [3, 12, 1], executable: '/p', torchmode: null, location: null, suffixes: ['.so'] });
  });
  it('rejects garbage', () => {
    assert.equal(parseProbe(''), undefined);
    assert.equal(parseProbe('TORCHMODE_PROBE {not json'), undefined);
    assert.equal(parseProbe('TORCHMODE_PROBE {"executable":"/p"}'), undefined);
  });
});

function pythonVersion(exe: string): number[] | undefined {
  try {
    const out = execFileSync(exe, ['-c', 'import sys; print("%d %d" % sys.version_info[:2])'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.trim().split(' ').map(Number);
  } catch {
    return undefined;
  }
}

/** An interpreter older than 3.10 on this machine, if any (TORCHMODE_TEST_OLD_PYTHON, pyenv, PATH). */
function oldPython(): string | undefined {
  const pyenv = path.join(os.homedir(), '.pyenv', 'versions');
  const candidates = [process.env.TORCHMODE_TEST_OLD_PYTHON, 'python3.9', 'python3.8', 'python2',
    ...(fs.existsSync(pyenv) ? fs.readdirSync(pyenv).map((v) => path.join(pyenv, v, 'bin', 'python')) : [])];
  return candidates.find((c): c is string => {
    const v = c ? pythonVersion(c) : undefined;
    return v !== undefined && ((v[0] ?? 0) < 3 || (v[0] === 3 && (v[1] ?? 0) < 10));
  });
}

const PY3 = pythonVersion('python3') ? 'python3' : undefined;

describe('boot script in a real interpreter', { skip: PY3 === undefined ? 'no python3' : false }, () => {
  // a fake torchmode package whose __main__ prints its argv, and a decoy torchmode folder in the cwd
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'torchmode-boot-'));
  fs.mkdirSync(path.join(tmp, 'libs', 'torchmode'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'libs', 'torchmode', '__init__.py'), '__version__ = "9.9.9"\n');
  fs.writeFileSync(path.join(tmp, 'libs', 'torchmode', '__main__.py'), 'import sys, json\nprint(json.dumps(sys.argv[1:]))\n');
  fs.mkdirSync(path.join(tmp, 'cwd', 'torchmode'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'cwd', 'torchmode', '__init__.py'), 'raise SystemExit("decoy imported")\n');
  const boot = (exe: string, libs: string) => spawnSync(exe, ['-c', BOOT_SCRIPT, 'server', '--stdio'], {
    encoding: 'utf8', cwd: path.join(tmp, 'cwd'), env: serverEnv('useBundled', libs, { PATH: process.env.PATH, HOME: process.env.HOME }, 'linux'),
  });

  it('reports on stderr, then runs `torchmode server` with the arguments', () => {
    const r = boot(PY3 ?? 'python3', path.join(tmp, 'libs'));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), ['server', '--stdio']);
    const p = parseProbe(r.stderr);
    assert.ok(p);
    assert.equal(p.torchmode, '9.9.9');
    assert.equal(p.location, path.join(tmp, 'libs', 'torchmode', '__init__.py'));
    assert.ok(p.python[0] === 3 && p.python[1] >= 10);
    assert.ok(p.suffixes.some((x) => x.endsWith('.so') || x.endsWith('.pyd')));
  });

  it('exits with status 3 and a report when torchmode is not importable', () => {
    const r = boot(PY3 ?? 'python3', path.join(tmp, 'nowhere'));
    assert.equal(r.status, 3);
    const p = parseProbe(r.stderr);
    assert.ok(p);
    assert.equal(p.location, null);
    assert.ok(!judgeProbe({ probe: p, output: r.stderr, interpreter: 'python3', strategy: 'fromEnvironment',
      requiredServer: '0.1.0', bundledLibcstFiles: undefined }).ok);
  });

  const old = oldPython();
  it('an interpreter older than 3.10 reports and exits 3 without a traceback', { skip: old === undefined ? 'no Python < 3.10 here' : false }, () => {
    const r = boot(old ?? '', path.join(tmp, 'libs'));
    assert.equal(r.status, 3);
    assert.doesNotMatch(r.stderr, /Traceback/);
    const v = judgeProbe({ probe: parseProbe(r.stderr), output: r.stderr, interpreter: old ?? '', strategy: 'useBundled',
      requiredServer: '0.1.0', bundledLibcstFiles: undefined });
    assert.ok(!v.ok && v.kind === 'python-too-old', JSON.stringify(v));
  });
});

describe('judgeProbe', () => {
  it('accepts a supported Python with the bundled server', () => {
    assert.deepEqual(judgeProbe(verdict({})), { ok: true, python: '3.11.7' });
  });
  it('gives a clear message for Python older than 3.10', () => {
    const v = judgeProbe(verdict({ probe: probe({ python: [3, 9, 18], executable: '/usr/bin/python3.9' }) }));
    assert.equal(v.ok, false);
    assert.ok(!v.ok && v.kind === 'python-too-old');
    assert.ok(!v.ok && /needs Python 3\.10 or newer.*Python 3\.9\.18/.test(v.message));
    const v2 = judgeProbe(verdict({ probe: probe({ python: [2, 7, 18] }) }));
    assert.ok(!v2.ok && v2.kind === 'python-too-old');
  });
  it('says when the interpreter did not answer at all', () => {
    const v = judgeProbe(verdict({ probe: undefined, output: 'spawn /nope ENOENT', interpreter: '/nope' }));
    assert.ok(!v.ok && v.kind === 'no-answer' && v.message.includes('/nope') && v.message.includes('ENOENT'));
  });
  it('refuses a Python the bundled native parser was not built for', () => {
    const v = judgeProbe(verdict({ probe: probe({ python: [3, 15, 0], suffixes: ['.cpython-315-x86_64-linux-gnu.so', '.abi3.so', '.so'] }) }));
    assert.ok(!v.ok && v.kind === 'bundle-unsupported' && v.message.includes('fromEnvironment'));
  });
  it('skips the native check when there is no bundle (development)', () => {
    assert.equal(judgeProbe(verdict({ bundledLibcstFiles: undefined })).ok, true);
  });
  it('fromEnvironment: missing torchmode', () => {
    const v = judgeProbe(verdict({ strategy: 'fromEnvironment', probe: probe({ torchmode: null, location: null }) }));
    assert.ok(!v.ok && v.kind === 'missing' && v.message.includes('pip install'));
  });
  it('fromEnvironment: torchmode too old', () => {
    const v = judgeProbe(verdict({ strategy: 'fromEnvironment', requiredServer: '0.2.0', probe: probe({ torchmode: '0.1.5' }) }));
    assert.ok(!v.ok && v.kind === 'too-old' && v.message.includes('0.1.5') && v.message.includes('0.2.0'));
  });
  it('fromEnvironment: new enough', () => {
    assert.equal(judgeProbe(verdict({ strategy: 'fromEnvironment', probe: probe({ torchmode: '0.1.0' }) })).ok, true);
    assert.equal(judgeProbe(verdict({ strategy: 'fromEnvironment', probe: probe({ torchmode: '1.0.0.dev1' }) })).ok, true);
  });
});

describe('helpers', () => {
  it('compareVersions', () => {
    assert.equal(compareVersions('0.1.0', '0.1.0'), 0);
    assert.equal(compareVersions('0.1', '0.1.0'), 0);
    assert.equal(compareVersions('0.1.0', '0.2.0'), -1);
    assert.equal(compareVersions('0.10.0', '0.9.9'), 1);
    assert.equal(compareVersions('0.2.0rc1', '0.2.0'), 0);
  });
  it('classifyLogLine', () => {
    assert.equal(classifyLogLine('Traceback (most recent call last):'), 'error');
    assert.equal(classifyLogLine('  File "x.py", line 3, in <module>'), 'error');
    assert.equal(classifyLogLine('ModuleNotFoundError: No module named pygls'), 'error');
    assert.equal(classifyLogLine('2026-01-01 ERROR torchmode.lsp: boom'), 'error');
    assert.equal(classifyLogLine('WARNING:pygls:bad'), 'warn');
    assert.equal(classifyLogLine('INFO:torchmode: started'), 'info');
    assert.equal(classifyLogLine('DEBUG:x'), 'debug');
  });
});

describe('packages without a bundled server (universal .vsix)', () => {
  it('always take the server from the environment', () => {
    assert.equal(effectiveStrategy('useBundled', false), 'fromEnvironment');
    assert.equal(effectiveStrategy('fromEnvironment', false), 'fromEnvironment');
    assert.equal(effectiveStrategy('useBundled', true), 'useBundled');
  });
  it('say so when torchmode is missing, with the install command', () => {
    const v = judgeProbe(verdict({ strategy: 'fromEnvironment', hasBundle: false, probe: probe({ torchmode: null, location: null }) }));
    assert.ok(!v.ok && v.kind === 'missing');
    assert.match(v.message, /universal package\) has no bundled server/);
    assert.match(v.message, /\/usr\/bin\/python3\.11 -m pip install "torchmode>=0\.1\.0"/);
    assert.doesNotMatch(v.message, /set "torchmode.importStrategy" to "useBundled"/);
  });
});

describe('bundledPythons', () => {
  it('reads the CPython versions of every platform naming scheme', () => {
    assert.deepEqual(bundledPythons(['__init__.py', 'native.cpython-314-x86_64-linux-gnu.so', 'native.cpython-310-darwin.so',
      'native.cp312-win_arm64.pyd', 'native.cpython-311-x86_64-linux-musl.so']), ['3.10', '3.11', '3.12', '3.14']);
  });
  it('are named in the message for an uncovered Python', () => {
    const v = judgeProbe(verdict({ probe: probe({ python: [3, 9, 1], suffixes: ['.cpython-39-x86_64-linux-gnu.so'] }) }));
    assert.ok(!v.ok && v.kind === 'python-too-old');
    const w = judgeProbe(verdict({ probe: probe({ python: [3, 15, 0], suffixes: ['.cpython-315-x86_64-linux-gnu.so'] }) }));
    assert.ok(!w.ok && w.message.includes('(it covers CPython 3.10, 3.11)'));
  });
});
