/**
 * Reading the extension's settings, applying workspace trust, and turning them into
 * what the server expects. Pure: VS Code's configuration is passed in as two small
 * functions, so the rules are unit-tested without an editor.
 */

export type ImportStrategy = 'useBundled' | 'fromEnvironment';
export type ShowNotifications = 'off' | 'onError' | 'onWarning' | 'always';
export type ConfigurationPreference = 'editorFirst' | 'filesystemFirst';
export type SeverityLabel = 'error' | 'warning' | 'info' | 'hint';

/** Every setting the extension reads, validated, with defaults filled in. */
export interface ExtensionSettings {
  enable: boolean;
  select: string[];
  ignore: string[];
  severity: Record<string, SeverityLabel>;
  fixAllUnsafe: boolean;
  disableRuleComment: boolean;
  hoverEnable: boolean;
  inlayHintsEnable: boolean;
  debounceMs: number;
  configurationPreference: ConfigurationPreference;
  interpreter: string[];
  importStrategy: ImportStrategy;
  showNotifications: ShowNotifications;
}

/** The settings object the server parses (`torchmode/lsp/settings.py`): nested like VS Code's. */
export interface ServerSettings {
  enable: boolean;
  select?: string[];
  ignore: string[];
  severity: Record<string, SeverityLabel>;
  fixAll: { unsafe: boolean };
  codeAction: { disableRuleComment: { enable: boolean } };
  debounceMs: number;
  hover: { enable: boolean };
  inlayHints: { enable: boolean };
  configurationPreference: ConfigurationPreference;
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
  enable: true,
  select: [],
  ignore: [],
  severity: {},
  fixAllUnsafe: false,
  disableRuleComment: true,
  hoverEnable: true,
  inlayHintsEnable: false,
  debounceMs: 200,
  configurationPreference: 'editorFirst',
  interpreter: [],
  importStrategy: 'useBundled',
  showNotifications: 'onError',
};

const SEVERITIES: readonly string[] = ['error', 'warning', 'info', 'hint'];
const RULE_CODE = /^TM\d{0,3}$/;

export interface ReadResult {
  settings: ExtensionSettings;
  /** Restricted settings whose workspace value was ignored (untrusted workspace). */
  ignoredUntrusted: string[];
  /** Human-readable problems with values that were replaced by their default. */
  problems: string[];
}

function bool(v: unknown, d: boolean, key: string, problems: string[]): boolean {
  if (v === undefined || v === null) return d;
  if (typeof v === 'boolean') return v;
  problems.push(`torchmode.${key}: expected true or false`);
  return d;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], d: T, key: string, problems: string[]): T {
  if (v === undefined || v === null) return d;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  problems.push(`torchmode.${key}: expected one of ${allowed.join(', ')}`);
  return d;
}

function codes(v: unknown, key: string, problems: string[]): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? v.split(',') : v;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    problems.push(`torchmode.${key}: expected a list of rule codes`);
    return [];
  }
  const out = list.map((x: string) => x.trim().toUpperCase()).filter((x) => x.length > 0);
  const bad = out.filter((x) => !RULE_CODE.test(x));
  if (bad.length > 0) {
    problems.push(`torchmode.${key}: unknown rule code ${bad.join(', ')}`);
    return out.filter((x) => RULE_CODE.test(x));
  }
  return out;
}

function severity(v: unknown, problems: string[]): Record<string, SeverityLabel> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) {
    problems.push('torchmode.severity: expected an object like {"TM002": "hint"}');
    return {};
  }
  const out: Record<string, SeverityLabel> = {};
  for (const [code, label] of Object.entries(v as Record<string, unknown>)) {
    const norm = typeof label === 'string' ? label.toLowerCase() : '';
    const lab = norm === 'information' ? 'info' : norm;
    if (!RULE_CODE.test(code) || !SEVERITIES.includes(lab)) {
      problems.push(`torchmode.severity: ignoring ${code}: ${String(label)}`);
      continue;
    }
    out[code] = lab as SeverityLabel;
  }
  return out;
}

function integer(v: unknown, d: number, min: number, max: number, key: string, problems: string[]): number {
  if (v === undefined || v === null) return d;
  if (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max) return Math.round(v);
  problems.push(`torchmode.${key}: expected a number from ${min} to ${max}`);
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
 * Read and validate every setting. In an untrusted workspace the restricted ones take
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
    enable: bool(src.get('enable'), DEFAULTS.enable, 'enable', problems),
    select: codes(src.get('select'), 'select', problems),
    ignore: codes(src.get('ignore'), 'ignore', problems),
    severity: severity(src.get('severity'), problems),
    fixAllUnsafe: bool(src.get('fixAll.unsafe'), DEFAULTS.fixAllUnsafe, 'fixAll.unsafe', problems),
    disableRuleComment: bool(src.get('codeAction.disableRuleComment.enable'), DEFAULTS.disableRuleComment,
      'codeAction.disableRuleComment.enable', problems),
    hoverEnable: bool(src.get('hover.enable'), DEFAULTS.hoverEnable, 'hover.enable', problems),
    inlayHintsEnable: bool(src.get('inlayHints.enable'), DEFAULTS.inlayHintsEnable, 'inlayHints.enable', problems),
    debounceMs: integer(src.get('debounceMs'), DEFAULTS.debounceMs, 0, 10000, 'debounceMs', problems),
    configurationPreference: oneOf(src.get('configurationPreference'), ['editorFirst', 'filesystemFirst'] as const,
      DEFAULTS.configurationPreference, 'configurationPreference', problems),
    interpreter: interpreterList(restricted('interpreter')),
    importStrategy: oneOf(restricted('importStrategy'), ['useBundled', 'fromEnvironment'] as const,
      DEFAULTS.importStrategy, 'importStrategy', problems),
    showNotifications: oneOf(src.get('showNotifications'), ['off', 'onError', 'onWarning', 'always'] as const,
      DEFAULTS.showNotifications, 'showNotifications', problems),
  };
  return { settings, ignoredUntrusted, problems };
}

/**
 * What the server receives (initializationOptions.settings, workspace/configuration,
 * didChangeConfiguration). An empty `select` is left out: the server reads a present
 * empty list as "no rules", while the user meant "not set".
 */
export function toServerSettings(s: ExtensionSettings): ServerSettings {
  return {
    enable: s.enable,
    ...(s.select.length > 0 ? { select: [...s.select] } : {}),
    ignore: [...s.ignore],
    severity: { ...s.severity },
    fixAll: { unsafe: s.fixAllUnsafe },
    codeAction: { disableRuleComment: { enable: s.disableRuleComment } },
    debounceMs: s.debounceMs,
    hover: { enable: s.hoverEnable },
    inlayHints: { enable: s.inlayHintsEnable },
    configurationPreference: s.configurationPreference,
  };
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
