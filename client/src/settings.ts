/**
 * Reading the extension's own settings, applying workspace trust, and passing the
 * server's settings on as they are. Pure: VS Code's configuration is passed in as two small
 * functions, so the rules are unit-tested without an editor.
 */

export type ImportStrategy = 'useBundled' | 'fromEnvironment';
export type ShowNotifications = 'off' | 'onError' | 'onWarning' | 'always';

/**
 * The settings the extension itself reads (how to start the server, what to show),
 * validated, with defaults filled in. Every other `torchmode.*` setting belongs to the
 * server: it is passed on raw (`serverSettings`) and the server owns its defaults and
 * validation (`torchmode/lsp/settings.py`).
 */
export interface ExtensionSettings {
  interpreter: string[];
  importStrategy: ImportStrategy;
  showNotifications: ShowNotifications;
}

/** The part of `WorkspaceConfiguration.inspect()` that trust handling needs. */
export interface Inspected {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

export interface SettingsSource {
  /** `config.get(key)` of section `torchmode` (all scopes merged). */
  get(key: string): unknown;
  /** `config.inspect(key)` of section `torchmode`. */
  inspect(key: string): Inspected | undefined;
}

/**
 * Settings that can make the extension run a program: in an untrusted workspace only
 * their user (global) value counts. `interpreter` is the only path setting.
 */
export const RESTRICTED_SETTINGS = ['interpreter', 'importStrategy'] as const;

/** Settings whose change needs a new server process (the others are sent to it). */
export const RESTART_SETTINGS = ['interpreter', 'importStrategy'] as const;

export const DEFAULTS: ExtensionSettings = {
  interpreter: [],
  importStrategy: 'useBundled',
  showNotifications: 'onError',
};

/** Settings of the extension only: never sent to the server. */
export const CLIENT_SETTINGS = ['interpreter', 'importStrategy', 'showNotifications', 'trace'] as const;

export interface ReadResult {
  settings: ExtensionSettings;
  /** Restricted settings whose workspace value was ignored (untrusted workspace). */
  ignoredUntrusted: string[];
  /** Human-readable problems with values that were replaced by their default. */
  problems: string[];
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], d: T, key: string, problems: string[]): T {
  if (v === undefined || v === null) return d;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  problems.push(`torchmode.${key}: expected one of ${allowed.join(', ')}`);
  return d;
}

/** `torchmode.interpreter` as an argv list; a plain string is accepted too. */
export function interpreterList(v: unknown): string[] {
  if (typeof v === 'string') return v.trim() ? [v.trim()] : [];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x.trim() !== '').map((x) => x.trim());
  return [];
}

function hasWorkspaceValue(i: Inspected | undefined): boolean {
  return i !== undefined && (i.workspaceValue !== undefined || i.workspaceFolderValue !== undefined);
}

/**
 * Read and validate the extension's own settings. In an untrusted workspace the restricted ones take
 * their user value (or the default) and the ones that had a workspace value are listed.
 */
export function readSettings(src: SettingsSource, trusted: boolean): ReadResult {
  const problems: string[] = [];
  const ignoredUntrusted: string[] = [];
  const restricted = (key: (typeof RESTRICTED_SETTINGS)[number]): unknown => {
    if (trusted) return src.get(key);
    const i = src.inspect(key);
    if (hasWorkspaceValue(i)) ignoredUntrusted.push(`torchmode.${key}`);
    return i?.globalValue !== undefined ? i.globalValue : i?.defaultValue;
  };
  const settings: ExtensionSettings = {
    interpreter: interpreterList(restricted('interpreter')),
    importStrategy: oneOf(restricted('importStrategy'), ['useBundled', 'fromEnvironment'] as const,
      DEFAULTS.importStrategy, 'importStrategy', problems),
    showNotifications: oneOf(src.get('showNotifications'), ['off', 'onError', 'onWarning', 'always'] as const,
      DEFAULTS.showNotifications, 'showNotifications', problems),
  };
  return { settings, ignoredUntrusted, problems };
}

/**
 * What the server receives (initializationOptions.settings, didChangeConfiguration):
 * the raw `torchmode` section (`getConfiguration().get('torchmode')`) without the
 * extension's own settings. Not validated here: the server checks each value, falls
 * back to its default and says which were invalid; an empty list means "not set".
 */
export function serverSettings(section: unknown): Record<string, unknown> {
  if (section === null || typeof section !== 'object' || Array.isArray(section)) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(section as Record<string, unknown>)) {
    if (!(CLIENT_SETTINGS as readonly string[]).includes(key)) out[key] = value === undefined ? value : JSON.parse(JSON.stringify(value)) as unknown;
  }
  return out;
}

/** A `SettingsSource` over a nested plain object (e.g. a `workspace/configuration` result). */
export function sourceFromObject(obj: unknown): SettingsSource {
  const get = (key: string): unknown => {
    let node: unknown = obj;
    for (const part of key.split('.')) {
      if (node === null || typeof node !== 'object') return undefined;
      node = (node as Record<string, unknown>)[part];
    }
    return node;
  };
  return { get, inspect: (key) => ({ globalValue: get(key) }) };
}

/** Which kind of reaction a configuration change needs. */
export function changeImpact(affects: (setting: string) => boolean): 'restart' | 'notify' | 'none' {
  if (RESTART_SETTINGS.some((k) => affects(`torchmode.${k}`))) return 'restart';
  return affects('torchmode') ? 'notify' : 'none';
}

/** Should a message of this level be shown as a notification (not only logged)? */
export function shouldNotify(pref: ShowNotifications, level: 'error' | 'warning' | 'info'): boolean {
  switch (pref) {
    case 'off': return false;
    case 'onError': return level === 'error';
    case 'onWarning': return level !== 'info';
    case 'always': return true;
  }
}
