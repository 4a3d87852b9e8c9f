/**
 * Which Python runs the server: `torchmode.interpreter`, else the interpreter selected
 * in the Python extension, else `python3` / `python` on PATH. Pure: the file system
 * and the environment come in as arguments.
 */
import * as path from 'node:path';

export type InterpreterSource = 'setting' | 'pythonExtension' | 'path';

export interface InterpreterChoice {
  /** argv prefix: the executable, then any extra arguments from the setting. */
  argv: string[];
  source: InterpreterSource;
  /** Why an earlier candidate was passed over (said once in the log). */
  notes: string[];
}

export interface VariableContext {
  /** Folders of the workspace, first one is `${workspaceFolder}`. */
  workspaceFolders: { name: string; fsPath: string }[];
  userHome: string;
  env: Record<string, string | undefined>;
}

export interface ResolveInput {
  /** `torchmode.interpreter`, after trust filtering. */
  setting: string[];
  /** The Python extension's selected interpreter (argv), when it is installed. */
  pythonExtension?: string[] | undefined;
  trusted: boolean;
  vars: VariableContext;
  platform: NodeJS.Platform;
  /** `PATH` search, e.g. `findOnPath(name, env.PATH, ...)` bound to the real fs. */
  which: (name: string) => string | undefined;
}

export type ResolveResult = InterpreterChoice | { error: string; notes: string[] };

/**
 * Expand `${workspaceFolder}`, `${workspaceFolder:name}`, `${userHome}`, `${env:NAME}`
 * and a leading `~`. Unknown variables are left as they are so the error shows them.
 */
export function resolveVariables(value: string, ctx: VariableContext): string {
  let out = value.replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
    if (name === 'workspaceFolder') return ctx.workspaceFolders[0]?.fsPath ?? whole;
    if (name.startsWith('workspaceFolder:')) {
      const want = name.slice('workspaceFolder:'.length);
      return ctx.workspaceFolders.find((f) => f.name === want)?.fsPath ?? whole;
    }
    if (name === 'userHome') return ctx.userHome;
    if (name.startsWith('env:')) return ctx.env[name.slice(4)] ?? '';
    return whole;
  });
  if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) out = ctx.userHome + out.slice(1);
  return out;
}

/** Is `file` inside one of `folders`? (Used to refuse workspace binaries when untrusted.) */
export function isInside(file: string, folders: string[], platform: NodeJS.Platform): boolean {
  const p = platform === 'win32' ? path.win32 : path.posix;
  const norm = (s: string): string => (platform === 'win32' ? p.resolve(s).toLowerCase() : p.resolve(s));
  const f = norm(file);
  return folders.some((dir) => {
    const rel = p.relative(norm(dir), f);
    return rel === '' || (!rel.startsWith('..') && !p.isAbsolute(rel));
  });
}

/** Names tried on PATH when nothing else chose an interpreter. */
export function pathCandidates(platform: NodeJS.Platform): string[] {
  return platform === 'win32' ? ['python.exe', 'python3.exe', 'py.exe'] : ['python3', 'python'];
}

/** Search `pathVar` for an executable `name`; `isExecutable` is the file system check. */
export function findOnPath(name: string, pathVar: string | undefined, platform: NodeJS.Platform,
  isExecutable: (file: string) => boolean): string | undefined {
  if (!pathVar) return undefined;
  const p = platform === 'win32' ? path.win32 : path.posix;
  const sep = platform === 'win32' ? ';' : ':';
  for (const dir of pathVar.split(sep)) {
    if (!dir) continue;
    const file = p.join(dir, name);
    if (isExecutable(file)) return file;
  }
  return undefined;
}

export function resolveInterpreter(input: ResolveInput): ResolveResult {
  const notes: string[] = [];
  const folders = input.vars.workspaceFolders.map((f) => f.fsPath);
  const acceptable = (argv: string[], what: string): boolean => {
    const exe = argv[0];
    if (exe === undefined || exe === '') return false;
    if (!input.trusted && path.isAbsolute(exe) && isInside(exe, folders, input.platform)) {
      notes.push(`${what} ${exe} is inside this untrusted workspace; not running it`);
      return false;
    }
    return true;
  };
  if (input.setting.length > 0) {
    const argv = input.setting.map((a) => resolveVariables(a, input.vars));
    if (argv.some((a) => /\$\{[^}]+\}/.test(a))) {
      notes.push(`torchmode.interpreter has an unknown variable: ${argv.join(' ')}`);
    } else if (acceptable(argv, 'torchmode.interpreter')) {
      return { argv, source: 'setting', notes };
    }
  }
  if (input.pythonExtension && input.pythonExtension.length > 0) {
    if (acceptable(input.pythonExtension, "The Python extension's interpreter")) {
      return { argv: [...input.pythonExtension], source: 'pythonExtension', notes };
    }
  }
  for (const name of pathCandidates(input.platform)) {
    const found = input.which(name);
    if (found) {
      const argv = name === 'py.exe' ? [found, '-3'] : [found];
      return { argv, source: 'path', notes };
    }
  }
  return {
    error: 'No Python interpreter found. Install Python 3.10 or newer, select an interpreter in the Python '
      + 'extension, or set "torchmode.interpreter" to the path of a Python executable.',
    notes,
  };
}
