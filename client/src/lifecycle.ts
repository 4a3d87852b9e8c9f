/**
 * Small pieces of the server's life cycle that need no editor: how often a crashed
 * server is restarted, debouncing restart requests, and the debug report.
 */

/**
 * A crashed server is restarted at most `max` times within `windowMs`; after that it
 * stays down (the status bar shows the error) until the user restarts it.
 */
export class RestartBudget {
  private crashes: number[] = [];

  constructor(
    readonly max = 4,
    readonly windowMs = 3 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Record a crash; true when another automatic restart is allowed. */
  recordCrash(): boolean {
    const t = this.now();
    this.crashes = this.crashes.filter((c) => t - c < this.windowMs);
    this.crashes.push(t);
    return this.crashes.length <= this.max;
  }

  get recentCrashes(): number {
    const t = this.now();
    return this.crashes.filter((c) => t - c < this.windowMs).length;
  }

  reset(): void {
    this.crashes = [];
  }
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Calls `fn` once, `ms` after the last `trigger()`; reasons are collected and passed on. */
export class Debouncer {
  private handle: unknown;
  private reasons: string[] = [];

  constructor(private readonly ms: number, private readonly fn: (reasons: string[]) => void,
    private readonly timers: Timers = realTimers) {}

  trigger(reason: string): void {
    if (!this.reasons.includes(reason)) this.reasons.push(reason);
    if (this.handle !== undefined) this.timers.clear(this.handle);
    this.handle = this.timers.set(() => {
      this.handle = undefined;
      const r = this.reasons;
      this.reasons = [];
      this.fn(r);
    }, this.ms);
  }

  get pending(): boolean {
    return this.handle !== undefined;
  }

  cancel(): void {
    if (this.handle !== undefined) this.timers.clear(this.handle);
    this.handle = undefined;
    this.reasons = [];
  }
}

export interface DebugInfo {
  extensionVersion: string;
  vscodeVersion: string;
  platform: string;
  state: string;
  interpreter: string[] | undefined;
  interpreterSource: string | undefined;
  python: string | undefined;
  importStrategy: string;
  serverVersion: string | undefined;
  serverLocation: string | undefined;
  serverCommand: string | undefined;
  pythonPath: string | undefined;
  trusted: boolean;
  ignoredUntrusted: string[];
  startupMs: number | undefined;
  restarts: number;
  serverSettings: unknown;
  serverInfo: { name: string; version?: string } | undefined;
  pythonExtension: boolean;
}

/** The text of "torchmode: Show Debug Information". */
export function formatDebugInfo(d: DebugInfo): string {
  const line = (k: string, v: string | number | undefined): string => `${k.padEnd(22)}${v === undefined || v === '' ? '(none)' : String(v)}`;
  return [
    'torchmode debug information',
    line('extension', d.extensionVersion),
    line('VS Code', d.vscodeVersion),
    line('platform', d.platform),
    line('server state', d.state),
    line('server', d.serverInfo ? `${d.serverInfo.name} ${d.serverInfo.version ?? ''}`.trim() : undefined),
    line('torchmode package', d.serverVersion && `${d.serverVersion} (${d.serverLocation ?? '?'})`),
    line('interpreter', d.interpreter?.join(' ')),
    line('interpreter from', d.interpreterSource),
    line('Python', d.python),
    line('import strategy', d.importStrategy),
    line('command', d.serverCommand),
    line('PYTHONPATH', d.pythonPath),
    line('Python extension', d.pythonExtension ? 'installed' : 'not installed'),
    line('workspace trusted', d.trusted ? 'yes' : `no (ignored: ${d.ignoredUntrusted.join(', ') || 'nothing'})`),
    line('activation to ready', d.startupMs === undefined ? undefined : `${d.startupMs} ms`),
    line('restarts after crash', d.restarts),
    'settings sent to the server:',
    JSON.stringify(d.serverSettings, null, 2),
  ].join('\n');
}
