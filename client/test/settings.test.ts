import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  changeImpact, DEFAULTS, interpreterList, readSettings, serverSettings, shouldNotify, sourceFromObject,
  type Inspected, type SettingsSource,
} from '../src/settings';

/** A configuration with per-scope values, like VS Code's inspect(). */
function scoped(values: Record<string, Inspected>): SettingsSource {
  return {
    get: (k) => {
      const i = values[k];
      if (!i) return undefined;
      return i.workspaceFolderValue ?? i.workspaceValue ?? i.globalValue ?? i.defaultValue;
    },
    inspect: (k) => values[k],
  };
}

describe('readSettings', () => {
  it('fills defaults when nothing is set', () => {
    const r = readSettings(sourceFromObject({}), true);
    assert.deepEqual(r.settings, DEFAULTS);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.ignoredUntrusted, []);
  });

  it('reads the extension\'s own settings', () => {
    const r = readSettings(sourceFromObject({
      interpreter: ['/usr/bin/python3.12', '-X', 'utf8'], importStrategy: 'fromEnvironment', showNotifications: 'always',
      select: ['tm001'], debounceMs: -5,
    }), true);
    assert.deepEqual(r.problems, []);  // server settings are the server's to check
    assert.deepEqual(r.settings, {
      interpreter: ['/usr/bin/python3.12', '-X', 'utf8'], importStrategy: 'fromEnvironment', showNotifications: 'always',
    });
  });

  it('replaces invalid values by defaults and names each problem', () => {
    const r = readSettings(sourceFromObject({ importStrategy: 'whatever', showNotifications: 'loud' }), true);
    assert.deepEqual(r.settings, DEFAULTS);
    const text = r.problems.join('\n');
    for (const key of ['importStrategy', 'showNotifications']) {
      assert.match(text, new RegExp(`torchmode\\.${key}`), key);
    }
  });

  it('accepts the interpreter as a plain string', () => {
    assert.deepEqual(interpreterList(' /opt/py/bin/python '), ['/opt/py/bin/python']);
    assert.deepEqual(interpreterList(''), []);
    assert.deepEqual(interpreterList(['', 'python3', 4]), ['python3']);
  });
});

describe('workspace trust', () => {
  const values: Record<string, Inspected> = {
    interpreter: { defaultValue: [], globalValue: ['/usr/bin/python3'], workspaceValue: ['./evil/python'] },
    importStrategy: { defaultValue: 'useBundled', workspaceFolderValue: 'fromEnvironment' },
    showNotifications: { defaultValue: 'onError', workspaceValue: 'always' },
  };

  it('uses workspace values when trusted', () => {
    const r = readSettings(scoped(values), true);
    assert.deepEqual(r.settings.interpreter, ['./evil/python']);
    assert.equal(r.settings.importStrategy, 'fromEnvironment');
    assert.deepEqual(r.ignoredUntrusted, []);
  });

  it('ignores workspace values of interpreter and importStrategy when untrusted, and lists them', () => {
    const r = readSettings(scoped(values), false);
    assert.deepEqual(r.settings.interpreter, ['/usr/bin/python3']);
    assert.equal(r.settings.importStrategy, 'useBundled');
    assert.deepEqual(r.ignoredUntrusted, ['torchmode.interpreter', 'torchmode.importStrategy']);
    // harmless settings keep their workspace value
    assert.equal(r.settings.showNotifications, 'always');
  });

  it('reports nothing when an untrusted workspace sets no restricted value', () => {
    const r = readSettings(scoped({ interpreter: { defaultValue: [], globalValue: ['/x/python'] } }), false);
    assert.deepEqual(r.ignoredUntrusted, []);
    assert.deepEqual(r.settings.interpreter, ['/x/python']);
  });
});

describe('serverSettings', () => {
  const section = {
    enable: true, select: [], ignore: ['tm005'], severity: { TM001: 'error' }, fixAll: { unsafe: false },
    codeAction: { disableRuleComment: { enable: true } }, debounceMs: 'fast',
    interpreter: ['/usr/bin/python3'], importStrategy: 'useBundled', showNotifications: 'onError', trace: { server: 'off' },
  };

  it('passes the server\'s settings on raw, empty lists and invalid values included', () => {
    assert.deepEqual(serverSettings(section), {
      enable: true, select: [], ignore: ['tm005'], severity: { TM001: 'error' }, fixAll: { unsafe: false },
      codeAction: { disableRuleComment: { enable: true } }, debounceMs: 'fast',
    });
  });

  it('never sends the extension\'s own settings', () => {
    const s = serverSettings(section);
    for (const key of ['interpreter', 'importStrategy', 'showNotifications', 'trace']) {
      assert.equal(key in s, false, key);
    }
  });

  it('copies values and accepts a missing section', () => {
    const s = serverSettings(section);
    (s.ignore as string[]).push('TM001');
    assert.deepEqual(section.ignore, ['tm005']);
    assert.deepEqual(serverSettings(undefined), {});
    assert.deepEqual(serverSettings(['TM001']), {});
  });
});

describe('changeImpact and notifications', () => {
  const affects = (changed: string[]) => (s: string): boolean => changed.some((c) => c === s || c.startsWith(`${s}.`));
  it('restarts for interpreter and import strategy only', () => {
    assert.equal(changeImpact(affects(['torchmode.interpreter'])), 'restart');
    assert.equal(changeImpact(affects(['torchmode.importStrategy'])), 'restart');
    assert.equal(changeImpact(affects(['torchmode.select'])), 'notify');
    assert.equal(changeImpact(affects(['torchmode.fixAll.unsafe'])), 'notify');
    assert.equal(changeImpact(affects(['editor.fontSize'])), 'none');
  });

  it('maps showNotifications to levels', () => {
    assert.equal(shouldNotify('off', 'error'), false);
    assert.equal(shouldNotify('onError', 'error'), true);
    assert.equal(shouldNotify('onError', 'warning'), false);
    assert.equal(shouldNotify('onWarning', 'warning'), true);
    assert.equal(shouldNotify('onWarning', 'info'), false);
    assert.equal(shouldNotify('always', 'info'), true);
  });
});
