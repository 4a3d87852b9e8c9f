/**
 * How the server process is started for an import strategy, and the probe that runs
 * first in the chosen interpreter so that a Python that is too old, or a missing or
 * outdated torchmode, gives a clear message instead of a traceback. Pure.
 */
import type { ImportStrategy } from './settings';

/** Oldest Python the server supports (pyproject: requires-python >= 3.10). */
export const MIN_PYTHON: readonly [number, number] = [3, 10];

export interface LaunchPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

export interface LaunchInput {
  /** Interpreter argv (the executable, then extra arguments). */
  interpreter: string[];
  strategy: ImportStrategy;
  /** `<extension>/bundled/libs`. */
  bundledLibs: string;
  /** Working directory (the extension's folder; the boot script keeps it off sys.path anyway). */
  cwd: string;
  baseEnv: Record<string, string | undefined>;
  platform: NodeJS.Platform;
}

function cleanEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Environment of the probe and of the server for a strategy. */
export function serverEnv(strategy: ImportStrategy, bundledLibs: string,
  baseEnv: Record<string, string | undefined>, platform: NodeJS.Platform): Record<string, string> {
  const env = cleanEnv(baseEnv);
  if (strategy === 'useBundled') {
    const sep = platform === 'win32' ? ';' : ':';
    env.PYTHONPATH = env.PYTHONPATH ? `${bundledLibs}${sep}${env.PYTHONPATH}` : bundledLibs;
  }
  // stdio carries LSP: never let a PYTHONSTARTUP or -i style setting print to stdout
  delete env.PYTHONSTARTUP;
  delete env.PYTHONINSPECT;
  env.PYTHONIOENCODING = 'utf-8';
  return env;
}

export function buildLaunch(input: LaunchInput): LaunchPlan {
  const [command, ...extra] = input.interpreter;
  if (command === undefined) throw new Error('empty interpreter');
  return {
    command,
    args: [...extra, '-c', BOOT_SCRIPT, 'server'],
    env: serverEnv(input.strategy, input.bundledLibs, input.baseEnv, input.platform),
    cwd: input.cwd,
  };
}

/**
 * The server is started as `python -c BOOT_SCRIPT server`: one process, so a slow
 * interpreter shim (pyenv, asdf) is paid once. It first reports on stderr, as one
 * `TORCHMODE_PROBE {json}` line, what the client needs to judge the interpreter (Python
 * version, which torchmode, extension suffixes for the native parser); then, on Python
 * 3.10+, runs `torchmode server` in the same process. Older interpreters exit with
 * status 3 right after the report, so the client shows a clear message, never a
 * traceback. Valid Python 2 and 3. The working directory is dropped from sys.path so that
 * a folder named torchmode cannot stand in for the package.
 */
export const BOOT_SCRIPT = [
  'import sys, json',
  "sys.path[:] = [p for p in sys.path if p not in ('', '.')]",
  "r = {'python': list(sys.version_info[:3]), 'executable': sys.executable, 'torchmode': None, 'location': None, 'suffixes': []}",
  'try:',
  '    import importlib.machinery as m',
  "    r['suffixes'] = list(m.EXTENSION_SUFFIXES)",
  '    import importlib.util as u',
  "    s = u.find_spec('torchmode')",
  '    if s is not None:',
  "        r['location'] = s.origin",
  '        if sys.version_info >= (3, 10):',
  '            import torchmode',
  "            r['torchmode'] = getattr(torchmode, '__version__', 'unknown')",
  'except Exception as e:',
  "    r['error'] = str(e)",
  "sys.stderr.write('TORCHMODE_PROBE ' + json.dumps(r) + '\\n')",
  'sys.stderr.flush()',
  'if sys.version_info < (3, 10) or r.get("location") is None:',
  '    sys.exit(3)',
  'import runpy',
  "sys.argv = ['torchmode'] + sys.argv[1:]",
  "runpy.run_module('torchmode', run_name='__main__', alter_sys=True)",
].join('\n');

/** How the boot script is shown in logs and debug information. */
export const BOOT_LABEL = '-c <torchmode boot>';

export interface ProbeResult {
  python: [number, number, number];
  executable: string;
  torchmode: string | null;
  location: string | null;
  suffixes: string[];
  error?: string;
}

export const PROBE_PREFIX = 'TORCHMODE_PROBE ';

/** The boot script's report out of whatever the interpreter printed. */
export function parseProbe(output: string): ProbeResult | undefined {
  const line = output.split(/\r?\n/).find((l) => l.startsWith(PROBE_PREFIX));
  if (!line) return undefined;
  try {
    const r = JSON.parse(line.slice(PROBE_PREFIX.length)) as Partial<ProbeResult>;
    if (!Array.isArray(r.python) || r.python.length < 2 || typeof r.executable !== 'string') return undefined;
    const [a, b, c] = r.python.map(Number);
    return {
      python: [a ?? 0, b ?? 0, c ?? 0],
      executable: r.executable,
      torchmode: typeof r.torchmode === 'string' ? r.torchmode : null,
      location: typeof r.location === 'string' ? r.location : null,
      suffixes: Array.isArray(r.suffixes) ? r.suffixes.filter((s): s is string => typeof s === 'string') : [],
      ...(typeof r.error === 'string' ? { error: r.error } : {}),
    };
  } catch {
    return undefined;
  }
}

/** Compare release numbers of two versions ("0.1.0", "0.2.0.dev3", "1.0"); pre-release tags are ignored. */
export function compareVersions(a: string, b: string): number {
  const nums = (v: string): number[] => (v.match(/^\d+(\.\d+)*/)?.[0] ?? '0').split('.').map(Number);
  const x = nums(a);
  const y = nums(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * The strategy that can work. The universal .vsix carries no libraries, so whatever the
 * setting says, its server must come from the interpreter's environment.
 */
export function effectiveStrategy(setting: ImportStrategy, hasBundle: boolean): ImportStrategy {
  return hasBundle ? setting : 'fromEnvironment';
}

/** CPython versions ("3.10", ...) the bundled libcst native modules are built for. */
export function bundledPythons(libcstFiles: readonly string[]): string[] {
  const out = new Set<string>();
  for (const f of libcstFiles) {
    const m = /^native\.(?:cpython-|cp)3(\d+)/.exec(f);
    if (m) out.add(`3.${m[1]}`);
  }
  return [...out].sort((a, b) => compareVersions(a, b));
}

export type ProbeVerdict =
  | { ok: true; python: string }
  | { ok: false; kind: 'no-answer' | 'python-too-old' | 'missing' | 'too-old' | 'bundle-unsupported'; message: string };

export interface VerdictInput {
  probe: ProbeResult | undefined;
  /** What the interpreter printed (stderr), for the message when it did not answer. */
  output: string;
  interpreter: string;
  strategy: ImportStrategy;
  requiredServer: string;
  /** File names in `bundled/libs/libcst` (to see whether the native parser exists for this Python). */
  bundledLibcstFiles: string[] | undefined;
  /** False for the universal package, which has no bundled server (default true). */
  hasBundle?: boolean;
}

const pyVersion = (p: [number, number, number]): string => p.join('.');

/** Can the server start with this interpreter and strategy? If not, say why and what to do. */
export function judgeProbe(v: VerdictInput): ProbeVerdict {
  const p = v.probe;
  if (!p) {
    const tail = v.output.trim().split(/\r?\n/).slice(-3).join(' | ');
    return {
      ok: false, kind: 'no-answer',
      message: `${v.interpreter} could not be run as a Python interpreter${tail ? `: ${tail}` : ''}. `
        + 'Set "torchmode.interpreter" to a Python 3.10+ executable.',
    };
  }
  const ver = pyVersion(p.python);
  if (p.python[0] < MIN_PYTHON[0] || (p.python[0] === MIN_PYTHON[0] && p.python[1] < MIN_PYTHON[1])) {
    return {
      ok: false, kind: 'python-too-old',
      message: `torchmode needs Python ${MIN_PYTHON.join('.')} or newer, but ${p.executable || v.interpreter} is Python ${ver}. `
        + 'Select a newer interpreter in the Python extension or set "torchmode.interpreter".',
    };
  }
  if (v.strategy === 'useBundled') {
    // libcst's native parser is built per Python version; without it fixes cannot run.
    const files = v.bundledLibcstFiles;
    if (files && !files.some((f) => p.suffixes.some((s) => f === `native${s}`))) {
      const covered = bundledPythons(files);
      return {
        ok: false, kind: 'bundle-unsupported',
        message: `The torchmode server bundled with this extension does not support Python ${ver} on this platform`
          + `${covered.length > 0 ? ` (it covers CPython ${covered.join(', ')})` : ''}. `
          + 'Install torchmode into that interpreter (pip install torchmode) and set "torchmode.importStrategy" '
          + 'to "fromEnvironment", or select another interpreter.',
      };
    }
    return { ok: true, python: ver };
  }
  if (p.torchmode === null) {
    const install = `${p.executable} -m pip install "torchmode>=${v.requiredServer}"`;
    return {
      ok: false, kind: 'missing',
      message: v.hasBundle === false
        ? `This build of the extension (the universal package) has no bundled server: it runs the torchmode installed in the `
          + `Python interpreter, and ${p.executable} has none. Run: ${install}, or install the torchmode package for your platform `
          + '(win32-x64, win32-arm64, darwin-x64, darwin-arm64, linux-x64, linux-arm64, alpine-x64), which bundles the server.'
        : `"torchmode.importStrategy" is "fromEnvironment" but torchmode is not installed in ${p.executable}. `
          + `Run: ${install}, or set "torchmode.importStrategy" to "useBundled".`,
    };
  }
  if (p.torchmode !== 'unknown' && compareVersions(p.torchmode, v.requiredServer) < 0) {
    return {
      ok: false, kind: 'too-old',
      message: `torchmode ${p.torchmode} in ${p.executable} is older than this extension needs (${v.requiredServer}). `
        + `Run: ${p.executable} -m pip install -U "torchmode>=${v.requiredServer}", or set "torchmode.importStrategy" to "useBundled".`,
    };
  }
  return { ok: true, python: ver };
}

/** Level of a line the server wrote to stderr (Python logging / tracebacks). */
export function classifyLogLine(line: string): 'error' | 'warn' | 'info' | 'debug' {
  if (/^(Traceback|\s+File "|\w*(Error|Exception)\b)/.test(line) || /\b(ERROR|CRITICAL)\b/.test(line)) return 'error';
  if (/\bWARN(ING)?\b/.test(line)) return 'warn';
  if (/\bDEBUG\b/.test(line)) return 'debug';
  return 'info';
}
