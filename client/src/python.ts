/**
 * The interpreter selected in the Python extension, when that extension is installed.
 * Everything here degrades to "nothing selected": torchmode works without it.
 */
import { PVSC_EXTENSION_ID, PythonExtension } from '@vscode/python-extension';
import * as vscode from 'vscode';

const API_TIMEOUT_MS = 5_000;

export function pythonExtensionInstalled(): boolean {
  return vscode.extensions.getExtension(PVSC_EXTENSION_ID) !== undefined;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))]);
}

/** argv of the Python extension's active interpreter for `resource`, or undefined. */
export async function getPythonExtensionInterpreter(resource: vscode.Uri | undefined,
  log: vscode.LogOutputChannel): Promise<string[] | undefined> {
  if (!pythonExtensionInstalled()) return undefined;
  try {
    const api = await withTimeout(PythonExtension.api(), API_TIMEOUT_MS);
    if (!api) {
      log.warn('The Python extension did not answer in time; looking for Python on PATH instead.');
      return undefined;
    }
    const envPath = api.environments.getActiveEnvironmentPath(resource);
    const env = await withTimeout(api.environments.resolveEnvironment(envPath), API_TIMEOUT_MS);
    const exe = env?.executable.uri?.fsPath;
    if (!exe) return undefined;
    return [exe];
  } catch (err) {
    log.warn(`Could not ask the Python extension for its interpreter: ${String(err)}`);
    return undefined;
  }
}

let subscribed = false;

/** Calls `fn` when the user selects another interpreter in the Python extension. */
export function onPythonInterpreterChange(fn: () => void): vscode.Disposable | undefined {
  if (!pythonExtensionInstalled() || subscribed) return undefined;
  subscribed = true;
  let disposable: vscode.Disposable | undefined;
  let cancelled = false;
  // Subscribing needs the API, which activates the Python extension: do it in the
  // background so our own start is not delayed by it.
  void PythonExtension.api().then((api) => {
    if (!cancelled) disposable = api.environments.onDidChangeActiveEnvironmentPath(() => fn());
  }, () => undefined);
  return new vscode.Disposable(() => {
    cancelled = true;
    subscribed = false;
    disposable?.dispose();
  });
}
