import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Debouncer, formatDebugInfo, RestartBudget, type Timers } from '../src/lifecycle';

describe('RestartBudget', () => {
  it('allows max restarts within the window, then refuses', () => {
    let now = 0;
    const b = new RestartBudget(3, 60_000, () => now);
    assert.equal(b.recordCrash(), true);
    now += 1000;
    assert.equal(b.recordCrash(), true);
    now += 1000;
    assert.equal(b.recordCrash(), true);
    now += 1000;
    assert.equal(b.recordCrash(), false);
    assert.equal(b.recentCrashes, 4);
  });
  it('forgets crashes older than the window', () => {
    let now = 0;
    const b = new RestartBudget(2, 10_000, () => now);
    b.recordCrash();
    b.recordCrash();
    now = 20_000;
    assert.equal(b.recordCrash(), true);
    assert.equal(b.recentCrashes, 1);
  });
  it('reset gives a fresh budget', () => {
    const b = new RestartBudget(1, 10_000, () => 0);
    b.recordCrash();
    assert.equal(b.recordCrash(), false);
    b.reset();
    assert.equal(b.recordCrash(), true);
  });
});

/** Fake clock for the debouncer. */
function fakeTimers(): Timers & { advance(ms: number): void } {
  let now = 0;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  return {
    set(fn, ms) {
      seq += 1;
      pending.set(seq, { at: now + ms, fn });
      return seq;
    },
    clear(h) {
      pending.delete(h as number);
    },
    advance(ms) {
      now += ms;
      for (const [id, t] of [...pending]) {
        if (t.at <= now) {
          pending.delete(id);
          t.fn();
        }
      }
    },
  };
}

describe('Debouncer', () => {
  it('coalesces a burst into one call with every reason once', () => {
    const timers = fakeTimers();
    const calls: string[][] = [];
    const d = new Debouncer(500, (r) => calls.push(r), timers);
    d.trigger('interpreter');
    timers.advance(300);
    d.trigger('strategy');
    d.trigger('interpreter');
    timers.advance(300);
    assert.equal(calls.length, 0);
    assert.equal(d.pending, true);
    timers.advance(300);
    assert.deepEqual(calls, [['interpreter', 'strategy']]);
    assert.equal(d.pending, false);
  });
  it('cancel drops a pending call', () => {
    const timers = fakeTimers();
    let n = 0;
    const d = new Debouncer(100, () => { n += 1; }, timers);
    d.trigger('x');
    d.cancel();
    timers.advance(1000);
    assert.equal(n, 0);
  });
});

describe('formatDebugInfo', () => {
  it('lists versions, interpreter, strategy, trust and the settings sent', () => {
    const text = formatDebugInfo({
      extensionVersion: '0.1.0', vscodeVersion: '1.100.3', platform: 'linux-x64', state: 'ready',
      interpreter: ['/usr/bin/python3'], interpreterSource: 'path', python: '3.11.7 (/usr/bin/python3.11)',
      importStrategy: 'useBundled', serverVersion: '0.1.0', serverLocation: '/ext/bundled/libs/torchmode/__init__.py',
      serverCommand: '/usr/bin/python3.11 -m torchmode server', pythonPath: '/ext/bundled/libs', trusted: false,
      ignoredUntrusted: ['torchmode.interpreter'], startupMs: 640, restarts: 0,
      serverSettings: { enable: true, fixAll: { unsafe: false } }, serverInfo: { name: 'torchmode', version: '0.1.0' },
      pythonExtension: false,
    });
    for (const s of ['1.100.3', '/usr/bin/python3', 'useBundled', '3.11.7', 'ignored: torchmode.interpreter',
      '640 ms', '"unsafe": false', 'not installed', 'torchmode 0.1.0']) {
      assert.ok(text.includes(s), s);
    }
  });
});
