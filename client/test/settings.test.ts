import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  changeImpact, DEFAULTS, interpreterList, readSettings, shouldNotify, sourceFromObject, toServerSettings,
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

  it('reads nested VS Code values', () => {
    const r = readSettings(sourceFromObject({
      enable: false, select: ['tm001', 'TM002'], ignore: ['TM005'], severity: { TM001: 'error', TM002: 'Information' },
      fixAll: { unsafe: true }, codeAction: { disableRuleComment: { enable: false } }, hover: { enable: false },
      inlayHints: { enable: true }, debounceMs: 50, configurationPreference: 'filesystemFirst',
      interpreter: ['/usr/bin/python3.12', '-X', 'utf8'], importStrategy: 'fromEnvironment', showNotifications: 'always',
    }), true);
    assert.deepEqual(r.problems, []);
    assert.equal(r.settings.enable, false);
    assert.deepEqual(r.settings.select, ['TM001', 'TM002']);
    assert.deepEqual(r.settings.severity, { TM001: 'error', TM002: 'info' });
    assert.equal(r.settings.fixAllUnsafe, true);
    assert.equal(r.settings.disableRuleComment, false);
    assert.equal(r.settings.hoverEnable, false);
    assert.equal(r.settings.inlayHintsEnable, true);
    assert.equal(r.settings.debounceMs, 50);
    assert.equal(r.settings.configurationPreference, 'filesystemFirst');
    assert.deepEqual(r.settings.interpreter, ['/usr/bin/python3.12', '-X', 'utf8']);
    assert.equal(r.settings.importStrategy, 'fromEnvironment');
    assert.equal(r.settings.showNotifications, 'always');
  });

  it('replaces invalid values by defaults and names each problem', () => {
    const r = readSettings(sourceFromObject({
      enable: 'yes', select: 'TM001, XX9', severity: { TM001: 'fatal' }, debounceMs: -5,
      configurationPreference: 'editorOnly', importStrategy: 'whatever',
    }), true);
    assert.equal(r.settings.enable, true);
    assert.deepEqual(r.settings.select, ['TM001']);
    assert.deepEqual(r.settings.severity, {});
    assert.equal(r.settings.debounceMs, 200);
    assert.equal(r.settings.configurationPreference, 'editorFirst');
    assert.equal(r.settings.importStrategy, 'useBundled');
    const text = r.problems.join('\n');
    for (const key of ['enable', 'select', 'severity', 'debounceMs', 'configurationPreference', 'importStrategy']) {
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
    select: { defaultValue: [], workspaceValue: ['TM001'] },
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
    assert.deepEqual(r.settings.select, ['TM001']);
  });

  it('reports nothing when an untrusted workspace sets no restricted value', () => {
    const r = readSettings(scoped({ interpreter: { defaultValue: [], globalValue: ['/x/python'] } }), false);
    assert.deepEqual(r.ignoredUntrusted, []);
    assert.deepEqual(r.settings.interpreter, ['/x/python']);
  });
});

describe('toServerSettings', () => {
  it('matches the nested shape the server parses, without an empty select', () => {
    const s = toServerSettings(DEFAULTS);
    assert.deepEqual(s, {
      enable: true, ignore: [], severity: {}, fixAll: { unsafe: false },
      codeAction: { disableRuleComment: { enable: true } }, debounceMs: 200, hover: { enable: true },
      inlayHints: { enable: false }, configurationPreference: 'editorFirst',
    });
    assert.equal('select' in s, false);
    assert.equal('interpreter' in s, false);
  });

  it('keeps a non-empty select and copies lists', () => {
    const src = { ...DEFAULTS, select: ['TM001'], fixAllUnsafe: true };
    const s = toServerSettings(src);
    assert.deepEqual(s.select, ['TM001']);
    assert.equal(s.fixAll.unsafe, true);
    s.select?.push('TM002');
    assert.deepEqual(src.select, ['TM001']);
  });

  it('round-trips through a workspace/configuration style object', () => {
    const s = toServerSettings({ ...DEFAULTS, select: ['TM002'], severity: { TM002: 'hint' }, debounceMs: 0 });
    assert.deepEqual(toServerSettings(readSettings(sourceFromObject(s), true).settings), s);
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
