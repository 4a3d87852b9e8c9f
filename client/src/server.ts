/**
 * Owns the language client: chooses the interpreter, starts the server in it over stdio
 * (`python -c <boot script> server`, which first reports what the interpreter is), keeps
 * the status bar in step, restarts after crashes (a bounded number of times) and when the
 * interpreter or the import strategy changes, and forwards every other settings change to
 * the running server.
 */
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  type CloseHandlerResult,
  type ErrorHandlerResult,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { findOnPath, resolveInterpreter, type InterpreterChoice } from './interpreter';
import {
  BOOT_LABEL, BOOT_SCRIPT, buildLaunch, classifyLogLine, effectiveStrategy, judgeProbe, parseProbe, PROBE_PREFIX,
  type LaunchPlan, type ProbeResult, type ProbeVerdict,
} from './launch';
import { Debouncer, formatDebugInfo, RestartBudget } from './lifecycle';
import { getPythonExtensionInterpreter, onPythonInterpreterChange, pythonExtensionInstalled } from './python';
import {
  changeImpact, readSettings, serverSettings, shouldNotify,
  type ExtensionSettings, type ReadResult, type SettingsSource,
} from './settings';
import { StatusItem } from './status';

/** The server package version this extension needs when importStrategy is fromEnvironment. */
export const REQUIRED_SERVER_VERSION = '0.1.0';
/** The server command that fixes a whole document (see torchmode/lsp). */
export const SERVER_FIX_ALL_COMMAND = 'torchmode.fixAll';
/** How long to wait for the boot script's report once the process has started or died. */
const PROBE_WAIT_MS = 3_000;
const RESTART_DEBOUNCE_MS = 500;

export const DOCUMENT_SELECTOR = [
  { scheme: 'file', language: 'python' },
  { scheme: 'untitled', language: 'python' },
  { scheme: 'vscode-notebook-cell', language: 'python' },
];

function settingsSource(scope: vscode.ConfigurationScope | undefined): SettingsSource {
  const cfg = vscode.workspace.getConfiguration('torchmode', scope);
  return { get: (k) => cfg.get(k), inspect: (k) => cfg.inspect(k) };
}

/**
 * The server's settings as the user wrote them (VS Code's defaults included): the
 * server validates them and answers `workspace/configuration` requests itself from
 * VS Code's raw values, per workspace folder.
 */
function rawServerSettings(scope: vscode.ConfigurationScope | undefined): Record<string, unknown> {
  return serverSettings(vscode.workspace.getConfiguration(undefined, scope).get('torchmode'));
}

function firstFolder(): vscode.WorkspaceFolder | undefined {
  return vscode.workspace.workspaceFolders?.[0];
}

interface Spawned {
  child: cp.ChildProcess;
  probe: ProbeWatch;
}

interface ProbeOutcome {
  probe: ProbeResult | undefined;
  verdict: ProbeVerdict;
  ms: number;
}

interface StartInfo {
  choice?: InterpreterChoice;
  probe?: ProbeResult;
  plan?: LaunchPlan;
  settings?: ExtensionSettings;
  ignoredUntrusted: string[];
  startupMs?: number;
}

export class TorchmodeServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private readonly status = new StatusItem();
  private readonly budget = new RestartBudget();
  private readonly restartDebouncer: Debouncer;
  private readonly disposables: vscode.Disposable[] = [];
  private queue: Promise<void> = Promise.resolve();
  private stopping = false;
  private disposed = false;
  private info: StartInfo = { ignoredUntrusted: [] };
  private saidUntrusted = false;
  private crashes = 0;
  private stderrTail: string[] = [];
  private probe: ProbeWatch | undefined;
  private proc: cp.ChildProcess | undefined;
  private everReady = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly log: vscode.LogOutputChannel,
    private readonly activatedAt: number,
  ) {
    this.restartDebouncer = new Debouncer(RESTART_DEBOUNCE_MS, (reasons) => void this.restart(reasons.join(', ')));
    this.disposables.push(
      this.status,
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfigurationChanged(e)),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.restartDebouncer.trigger('workspace trusted')),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.restartDebouncer.trigger('workspace folders changed')),
    );
    const sub = onPythonInterpreterChange(() => {
      if (this.info.choice?.source !== 'setting') this.restartDebouncer.trigger('Python extension interpreter changed');
    });
    if (sub) this.disposables.push(sub);
  }

  get state(): string {
    return this.client ? State[this.client.state] ?? String(this.client.state) : this.status.state;
  }

  /** Start (or restart) the server; calls are serialised so two never overlap. */
  start(): Promise<void> {
    this.queue = this.queue.then(() => this.doStart(), () => this.doStart());
    return this.queue;
  }

  restart(reason: string): Promise<void> {
    this.log.info(`Restarting the server: ${reason}`);
    this.queue = this.queue.then(() => this.doStop()).then(() => this.doStart(), () => this.doStart());
    return this.queue;
  }

  stop(): Promise<void> {
    this.queue = this.queue.then(() => this.doStop(), () => this.doStop());
    return this.queue;
  }

  private readSettings(): ReadResult {
    const r = readSettings(settingsSource(firstFolder()?.uri), vscode.workspace.isTrusted);
    for (const p of r.problems) this.log.warn(`Setting ignored: ${p}`);
    return r;
  }

  private notify(level: 'error' | 'warning' | 'info', message: string, pref: ExtensionSettings['showNotifications']): void {
    if (!shouldNotify(pref, level)) return;
    const show = level === 'error' ? vscode.window.showErrorMessage
      : level === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(`torchmode: ${message}`, 'Show Logs').then((pick) => {
      if (pick === 'Show Logs') this.log.show(true);
    });
  }

  private fail(message: string, pref: ExtensionSettings['showNotifications']): void {
    this.log.error(message);
    this.status.set('error', message);
    this.notify('error', message, pref);
  }

  private async doStart(): Promise<void> {
    if (this.disposed) return;
    const t0 = Date.now();
    this.status.set('starting', 'Starting the torchmode server');
    const read = this.readSettings();
    const { settings } = read;
    this.info = { settings, ignoredUntrusted: read.ignoredUntrusted };
    if (read.ignoredUntrusted.length > 0 && !this.saidUntrusted) {
      this.saidUntrusted = true;
      const msg = `This workspace is not trusted: its values of ${read.ignoredUntrusted.join(' and ')} are ignored `
        + '(your user settings apply instead). Trust the workspace to use them.';
      this.log.warn(msg);
      if (settings.showNotifications !== 'off') void vscode.window.showWarningMessage(`torchmode: ${msg}`);
    }

    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => ({ name: f.name, fsPath: f.uri.fsPath }));
    const trusted = vscode.workspace.isTrusted;
    const pythonExtension = settings.interpreter.length === 0 && trusted
      ? await getPythonExtensionInterpreter(firstFolder()?.uri, this.log) : undefined;
    const resolved = resolveInterpreter({
      setting: settings.interpreter,
      pythonExtension,
      trusted,
      vars: { workspaceFolders: folders, userHome: os.homedir(), env: process.env },
      platform: process.platform,
      which: (name) => findOnPath(name, process.env.PATH, process.platform, isExecutable),
    });
    for (const n of resolved.notes) this.log.warn(n);
    if ('error' in resolved) {
      this.fail(resolved.error, settings.showNotifications);
      return;
    }
    this.info.choice = resolved;
    this.log.info(`Interpreter: ${resolved.argv.join(' ')} (from ${resolved.source}); import strategy: ${settings.importStrategy}`);

    const bundledLibs = this.context.asAbsolutePath(path.join('bundled', 'libs'));
    const hasBundle = fs.existsSync(path.join(bundledLibs, 'torchmode'));
    const strategy = effectiveStrategy(settings.importStrategy, hasBundle);
    if (strategy !== settings.importStrategy) {
      this.log.info('This package has no bundled server (universal build): using the torchmode installed in the interpreter.');
    }
    const plan = buildLaunch({
      interpreter: resolved.argv, strategy, bundledLibs, cwd: this.context.extensionPath,
      baseEnv: process.env, platform: process.platform,
    });
    this.info.plan = plan;
    this.log.info(`Server command: ${commandLine(plan)}`);

    // The boot script reports the interpreter (version, torchmode, native suffixes) on
    // stderr first thing, then goes on importing the server in the same process. The
    // report is judged before the language client exists, so an unusable interpreter
    // gives one clear message (no "couldn't create connection" from the client, no retry),
    // and a good one costs nothing: the server keeps loading meanwhile.
    const judge = (p: ProbeResult | undefined): ProbeVerdict => judgeProbe({
      probe: p,
      output: this.stderrTail.join('\n'),
      interpreter: resolved.argv.join(' '),
      strategy,
      requiredServer: REQUIRED_SERVER_VERSION,
      bundledLibcstFiles: listDir(path.join(bundledLibs, 'libcst')),
      hasBundle,
    });
    const tStart = Date.now();
    this.stderrTail = [];
    const first = this.spawnServer(plan, judge);
    const outcome = await first.probe.outcome(PROBE_WAIT_MS);
    if (this.disposed) {
      killQuietly(first.child);
      return;
    }
    if (outcome && !outcome.verdict.ok) {
      killQuietly(first.child);
      this.fail(outcome.verdict.message, settings.showNotifications);
      return;
    }
    const python = outcome?.verdict.ok ? outcome.verdict.python : '?';
    this.info.probe = outcome?.probe;
    if (outcome) {
      this.log.info(`Python ${python} (${outcome.probe?.executable ?? '?'}), torchmode ${outcome.probe?.torchmode ?? '?'} from ${outcome.probe?.location ?? '?'}`);
    }
    let prespawned: Spawned | undefined = first;
    const serverOptions: ServerOptions = () => {
      // the first start takes the process spawned above; restarts after a crash spawn anew
      const spawned = prespawned ?? this.spawnServer(plan, judge);
      prespawned = undefined;
      return Promise.resolve(spawned.child);
    };
    const client = this.createClient(serverOptions, settings);
    this.client = client;
    this.stopping = false;
    client.onDidChangeState((e) => {
      if (this.client !== client) return;
      if (e.newState === State.Running) this.status.set('ready', `Server ready (Python ${python}, ${strategy})`);
      else if (e.newState === State.Starting) this.status.set('starting', 'Starting the torchmode server');
      else if (e.newState === State.Stopped && !this.stopping && this.status.state !== 'error') this.status.set('stopped', 'Server stopped');
    });
    const err = await client.start().then(() => undefined, (e: unknown) => e ?? new Error('start failed'));
    if (err === undefined) {
      const now = Date.now();
      const firstReady = !this.everReady;
      this.everReady = true;
      this.info.startupMs = now - (firstReady ? this.activatedAt : t0);
      const si = client.initializeResult?.serverInfo;
      this.log.info(`Server ready: ${si ? `${si.name} ${si.version ?? ''}`.trim() : 'torchmode'}; `
        + `${firstReady ? 'activation' : 'restart'} to ready ${this.info.startupMs} ms (process start to ready ${now - tStart} ms)`);
      this.status.set('ready', `Server ready (Python ${python}, ${strategy})`);
    } else {
      if (this.client === client) this.client = undefined;
      const late = await this.probe?.outcome(PROBE_WAIT_MS);
      const tail = this.stderrTail.slice(-5).join('\n');
      this.fail(late && !late.verdict.ok ? late.verdict.message
        : `The server failed to start: ${errorText(err)}${tail ? `\n${tail}` : ''}`, settings.showNotifications);
      await client.dispose(2000).catch(() => undefined);
      if (this.proc) killQuietly(this.proc);
    }
  }

  /** Start `python -c BOOT server`; its stderr goes to the log, its report to a ProbeWatch. */
  private spawnServer(plan: LaunchPlan, judge: (p: ProbeResult | undefined) => ProbeVerdict): Spawned {
    const probe = new ProbeWatch(judge);
    this.probe = probe;
    // its own process group (POSIX), so that ending it also ends anything it started
    const child = cp.spawn(plan.command, plan.args, {
      cwd: plan.cwd, env: plan.env, stdio: 'pipe', windowsHide: true, detached: process.platform !== 'win32',
    });
    this.proc = child;
    child.on('error', (err) => {
      this.stderrTail.push(err.message);
      this.log.error(`Could not run ${plan.command}: ${err.message}`);
      probe.exited();
    });
    child.on('exit', (code, signal) => {
      probe.exited();
      if (!this.stopping) this.log.info(`Server process ${child.pid ?? '?'} exited (${signal ?? `code ${code ?? '?'}`})`);
    });
    forwardLines(child.stderr, (l) => {
      if (l.startsWith(PROBE_PREFIX)) {
        probe.report(l);
        return;
      }
      this.stderrTail.push(l);
      if (this.stderrTail.length > 40) this.stderrTail.shift();
      this.log[classifyLogLine(l)](l);
    });
    return { child, probe };
  }

  private createClient(serverOptions: ServerOptions, settings: ExtensionSettings): LanguageClient {
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      diagnosticCollectionName: 'torchmode',
      outputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: { settings: rawServerSettings(firstFolder()?.uri) },
      markdown: { isTrusted: false, supportHtml: false },
      errorHandler: {
        error: (_error, _message, count): ErrorHandlerResult =>
          ({ action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown }),
        closed: (): Promise<CloseHandlerResult> => this.onClosed(settings),
      },
      initializationFailedHandler: () => false,
      // stderr is read from the process directly (spawnServer)
      stdioOptions: { stdout: () => undefined, stderr: () => undefined },
    };
    return new LanguageClient('torchmode', 'torchmode', serverOptions, clientOptions);
  }

  private async onClosed(settings: ExtensionSettings): Promise<CloseHandlerResult> {
    if (this.stopping || this.disposed) return { action: CloseAction.DoNotRestart, handled: true };
    // a server that cannot run in this interpreter: the probe says why; never retry
    const outcome = await this.probe?.outcome(PROBE_WAIT_MS);
    if (outcome && !outcome.verdict.ok) return { action: CloseAction.DoNotRestart, handled: true };
    this.crashes += 1;
    if (this.proc) killGroupLeftovers(this.proc); // workers of the dead server
    const tail = this.stderrTail.slice(-3).join(' | ');
    if (this.budget.recordCrash()) {
      this.log.error(`The server stopped unexpectedly${tail ? ` (${tail})` : ''}; restarting it (${this.budget.recentCrashes}/${this.budget.max} in ${this.budget.windowMs / 60000} min).`);
      this.status.set('starting', 'Restarting the server after a crash');
      return { action: CloseAction.Restart, handled: true };
    }
    const msg = `The server crashed ${this.budget.recentCrashes} times in ${this.budget.windowMs / 60000} minutes and will not be restarted. `
      + 'Fix the cause shown in the logs, then run "torchmode: Restart Server".';
    this.fail(msg, settings.showNotifications);
    return { action: CloseAction.DoNotRestart, handled: true };
  }

  private async doStop(markStopped = true): Promise<void> {
    this.restartDebouncer.cancel();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    this.stopping = true;
    const proc = this.proc;
    try {
      if (client.needsStop()) await client.stop(2000);
    } catch (err) {
      this.log.warn(`Stopping the server: ${String(err)}`);
    } finally {
      await client.dispose(2000).catch(() => undefined);
      // the client started the process through a function, so it does not reap it:
      // after shutdown/exit it should be gone; if not, end it
      if (proc) {
        await ensureExited(proc, 2000);
        killGroupLeftovers(proc);
      }
      if (markStopped) this.status.set('stopped', 'Server stopped');
    }
  }

  private onConfigurationChanged(e: vscode.ConfigurationChangeEvent): void {
    const impact = changeImpact((s) => e.affectsConfiguration(s));
    if (impact === 'restart') {
      this.restartDebouncer.trigger('interpreter or import strategy changed');
    } else if (impact === 'notify') {
      const client = this.client;
      if (client?.isRunning()) {
        const settings = this.readSettings().settings;
        this.info.settings = settings;
        void client.sendNotification(DidChangeConfigurationNotification.type, { settings: { torchmode: rawServerSettings(firstFolder()?.uri) } })
          .catch((err: unknown) => this.log.warn(`Sending settings to the server: ${String(err)}`));
      }
    }
    if (e.affectsConfiguration('python.defaultInterpreterPath') && this.info.choice?.source === 'pythonExtension') {
      this.restartDebouncer.trigger('python.defaultInterpreterPath changed');
    }
  }

  /** "torchmode: Restart Server": a fresh crash budget and a new process. */
  async userRestart(): Promise<void> {
    this.budget.reset();
    await this.restart('requested by the user');
  }

  /** "torchmode: Fix All Issues (including unsafe)" on the active editor or notebook. */
  async fixAllUnsafe(): Promise<void> {
    const notebook = vscode.window.activeNotebookEditor?.notebook;
    const doc = vscode.window.activeTextEditor?.document;
    const uri = doc && doc.uri.scheme !== 'vscode-notebook-cell' ? doc.uri : notebook?.uri ?? doc?.uri;
    if (!uri) {
      void vscode.window.showInformationMessage('torchmode: open a Python file or notebook to fix.');
      return;
    }
    const client = this.client;
    if (!client?.isRunning()) {
      void vscode.window.showErrorMessage('torchmode: the server is not running.', 'Show Logs').then((p) => {
        if (p) this.log.show(true);
      });
      return;
    }
    const commands = client.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
    if (!commands.includes(SERVER_FIX_ALL_COMMAND)) {
      void vscode.window.showErrorMessage(`torchmode: this server version has no ${SERVER_FIX_ALL_COMMAND} command.`);
      return;
    }
    try {
      const result: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
        command: SERVER_FIX_ALL_COMMAND,
        arguments: [{ uri: uri.toString(), unsafe: true }],
      });
      const r = (result ?? {}) as { fixed?: unknown; remaining?: unknown };
      if (typeof r.fixed === 'number' && typeof r.remaining === 'number') {
        const text = `torchmode: fixed ${r.fixed} issue${r.fixed === 1 ? '' : 's'}, ${r.remaining} left`;
        this.log.info(`Fix all on ${uri.toString()}: ${text.slice('torchmode: '.length)}`);
        vscode.window.setStatusBarMessage(text, 5000);
      }
    } catch (err) {
      this.log.error(`Fix all failed: ${String(err)}`);
      void vscode.window.showErrorMessage(`torchmode: fix all failed: ${errorText(err)}`);
    }
  }

  debugInfo(): string {
    const s = this.info.settings ?? this.readSettings().settings;
    return formatDebugInfo({
      extensionVersion: extensionVersion(this.context),
      vscodeVersion: vscode.version,
      platform: `${process.platform}-${process.arch}, extension host Node ${process.versions.node}`,
      state: `${this.status.state} (client: ${this.state})`,
      interpreter: this.info.choice?.argv,
      interpreterSource: this.info.choice?.source,
      python: this.info.probe ? `${this.info.probe.python.join('.')} (${this.info.probe.executable})` : undefined,
      importStrategy: s.importStrategy,
      serverVersion: this.info.probe?.torchmode ?? undefined,
      serverLocation: this.info.probe?.location ?? undefined,
      serverCommand: this.info.plan ? commandLine(this.info.plan) : undefined,
      pythonPath: this.info.plan?.env.PYTHONPATH,
      trusted: vscode.workspace.isTrusted,
      ignoredUntrusted: this.info.ignoredUntrusted,
      startupMs: this.info.startupMs,
      restarts: this.crashes,
      serverSettings: rawServerSettings(firstFolder()?.uri),
      serverInfo: this.client?.initializeResult?.serverInfo,
      pythonExtension: pythonExtensionInstalled(),
    });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.stop();
    for (const d of this.disposables) d.dispose();
  }
}

/** The extension's version from its manifest. */
export function extensionVersion(context: vscode.ExtensionContext): string {
  const v = (context.extension.packageJSON as { version?: unknown }).version;
  return typeof v === 'string' ? v : '?';
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function listDir(dir: string): string[] | undefined {
  try {
    return fs.readdirSync(dir);
  } catch {
    return undefined;
  }
}

function forwardLines(input: Readable, sink: (line: string) => void): void {
  readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', (l) => {
    if (l.trim()) sink(l);
  });
}

/** The server command for logs, with the boot script abbreviated. */
function commandLine(plan: LaunchPlan): string {
  return [plan.command, ...plan.args.map((a) => (a === BOOT_SCRIPT ? BOOT_LABEL.replace(/^-c /, '') : a))].join(' ');
}

/**
 * Collects the boot script's report of one server process. A process that exits (or
 * cannot be started) without reporting gets the verdict on "no report".
 */
class ProbeWatch {
  private readonly t0 = Date.now();
  private result: ProbeOutcome | undefined;
  private waiters: ((o: ProbeOutcome) => void)[] = [];

  constructor(private readonly judge: (p: ProbeResult | undefined) => ProbeVerdict) {}

  report(line: string): void {
    this.settle(parseProbe(line));
  }

  exited(): void {
    this.settle(undefined);
  }

  private settle(probe: ProbeResult | undefined): void {
    if (this.result) return;
    this.result = { probe, ms: Date.now() - this.t0, verdict: this.judge(probe) };
    for (const w of this.waiters) w(this.result);
    this.waiters = [];
  }

  /** The judged report, or undefined when none came within `waitMs` (the process still runs). */
  outcome(waitMs: number): Promise<ProbeOutcome | undefined> {
    if (this.result) return Promise.resolve(this.result);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.result), waitMs);
      this.waiters.push((o) => {
        clearTimeout(timer);
        resolve(o);
      });
    });
  }
}

/** Signal the server's process group (it leads one on POSIX), or just the process. */
function signal(child: cp.ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (process.platform !== 'win32' && child.pid !== undefined) process.kill(-child.pid, sig);
    else child.kill(sig);
  } catch {
    child.kill(sig);
  }
}

/** After the server itself exited: end what is left in its process group (POSIX). */
function killGroupLeftovers(child: cp.ChildProcess): void {
  if (process.platform === 'win32' || child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // nothing left
  }
}

function killQuietly(child: cp.ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) signal(child, 'SIGKILL');
}

/** Wait for `child` to exit; SIGTERM, then SIGKILL, if it takes longer than `ms`. */
async function ensureExited(child: cp.ChildProcess, ms: number): Promise<void> {
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const wait = (t: number): Promise<void> => new Promise((resolve) => {
    if (gone()) {
      resolve();
      return;
    }
    const timer = setTimeout(resolve, t);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  await wait(ms);
  if (!gone()) {
    signal(child, 'SIGTERM');
    await wait(1000);
  }
  if (!gone()) signal(child, 'SIGKILL');
}
