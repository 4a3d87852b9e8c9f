import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  findOnPath, isInside, resolveInterpreter, resolveVariables, type ResolveInput, type VariableContext,
} from '../src/interpreter';

const vars: VariableContext = {
  workspaceFolders: [{ name: 'proj', fsPath: '/home/u/proj' }, { name: 'lib', fsPath: '/home/u/lib' }],
  userHome: '/home/u',
  env: { VENV: '/opt/venv' },
};

function input(over: Partial<ResolveInput>): ResolveInput {
  return {
    setting: [], trusted: true, vars, platform: 'linux',
    which: (name) => ({ python3: '/usr/bin/python3', python: '/usr/bin/python' } as Record<string, string>)[name],
    ...over,
  };
}

describe('resolveVariables', () => {
  it('expands workspace, home and env variables', () => {
    assert.equal(resolveVariables('${workspaceFolder}/.venv/bin/python', vars), '/home/u/proj/.venv/bin/python');
    assert.equal(resolveVariables('${workspaceFolder:lib}/py', vars), '/home/u/lib/py');
    assert.equal(resolveVariables('${userHome}/py', vars), '/home/u/py');
    assert.equal(resolveVariables('${env:VENV}/bin/python', vars), '/opt/venv/bin/python');
    assert.equal(resolveVariables('~/venv/bin/python', vars), '/home/u/venv/bin/python');
  });
  it('leaves unknown variables visible', () => {
    assert.equal(resolveVariables('${workspaceFolder:nope}/py', vars), '${workspaceFolder:nope}/py');
    assert.equal(resolveVariables('${command:python.interpreterPath}', vars), '${command:python.interpreterPath}');
  });
});

describe('resolveInterpreter: precedence', () => {
  it('torchmode.interpreter wins, with its extra arguments', () => {
    const r = resolveInterpreter(input({ setting: ['${workspaceFolder}/.venv/bin/python', '-X', 'utf8'], pythonExtension: ['/pyext/python'] }));
    assert.ok(!('error' in r));
    assert.deepEqual(r.argv, ['/home/u/proj/.venv/bin/python', '-X', 'utf8']);
    assert.equal(r.source, 'setting');
  });
  it('then the Python extension', () => {
    const r = resolveInterpreter(input({ pythonExtension: ['/pyext/python'] }));
    assert.ok(!('error' in r));
    assert.deepEqual(r.argv, ['/pyext/python']);
    assert.equal(r.source, 'pythonExtension');
  });
  it('then python3, then python on PATH (works without the Python extension)', () => {
    const r = resolveInterpreter(input({}));
    assert.ok(!('error' in r));
    assert.deepEqual(r.argv, ['/usr/bin/python3']);
    assert.equal(r.source, 'path');
    const r2 = resolveInterpreter(input({ which: (n) => (n === 'python' ? '/bin/python' : undefined) }));
    assert.ok(!('error' in r2));
    assert.deepEqual(r2.argv, ['/bin/python']);
  });
  it('says what to do when nothing is found', () => {
    const r = resolveInterpreter(input({ which: () => undefined }));
    assert.ok('error' in r);
    assert.match(r.error, /torchmode\.interpreter/);
    assert.match(r.error, /3\.10/);
  });
  it('skips a setting with an unknown variable and says so', () => {
    const r = resolveInterpreter(input({ setting: ['${command:python.interpreterPath}'] }));
    assert.ok(!('error' in r));
    assert.equal(r.source, 'path');
    assert.match(r.notes.join(), /unknown variable/);
  });
  it('uses the py launcher on Windows when only it is on PATH', () => {
    const r = resolveInterpreter(input({ platform: 'win32', which: (n) => (n === 'py.exe' ? 'C:\\Windows\\py.exe' : undefined) }));
    assert.ok(!('error' in r));
    assert.deepEqual(r.argv, ['C:\\Windows\\py.exe', '-3']);
  });
});

describe('resolveInterpreter: untrusted workspace', () => {
  it('refuses an interpreter inside the workspace and falls back to PATH', () => {
    const r = resolveInterpreter(input({ trusted: false, setting: ['${workspaceFolder}/.venv/bin/python'] }));
    assert.ok(!('error' in r));
    assert.deepEqual(r.argv, ['/usr/bin/python3']);
    assert.match(r.notes.join(), /untrusted/);
  });
  it('refuses a Python extension interpreter inside the workspace', () => {
    const r = resolveInterpreter(input({ trusted: false, pythonExtension: ['/home/u/lib/venv/bin/python'] }));
    assert.ok(!('error' in r));
    assert.equal(r.source, 'path');
  });
  it('accepts an interpreter outside the workspace', () => {
    const r = resolveInterpreter(input({ trusted: false, setting: ['/opt/python3.12/bin/python3'] }));
    assert.ok(!('error' in r));
    assert.equal(r.source, 'setting');
  });
});

describe('path helpers', () => {
  it('isInside handles prefixes and Windows case', () => {
    assert.equal(isInside('/home/u/proj/.venv/bin/python', ['/home/u/proj'], 'linux'), true);
    assert.equal(isInside('/home/u/project2/python', ['/home/u/proj'], 'linux'), false);
    assert.equal(isInside('/home/u/proj/../other/python', ['/home/u/proj'], 'linux'), false);
    assert.equal(isInside('C:\\Work\\Proj\\venv\\python.exe', ['c:\\work\\proj'], 'win32'), true);
  });
  it('findOnPath walks PATH in order', () => {
    const exists = new Set(['/b/python3', '/c/python3']);
    assert.equal(findOnPath('python3', '/a::/b:/c', 'linux', (f) => exists.has(f)), '/b/python3');
    assert.equal(findOnPath('python3', undefined, 'linux', () => true), undefined);
    assert.equal(findOnPath('python.exe', 'C:\\A;C:\\B', 'win32', (f) => f === 'C:\\B\\python.exe'), 'C:\\B\\python.exe');
  });
});
