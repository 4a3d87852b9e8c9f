#!/usr/bin/env node
// End-to-end test of the packaged extension in a real VS Code (code-server, shown in
// headless Chromium, driven with playwright-core by keyboard as a user would).
//
//   bash tests/e2e/setup.sh && npm run package && node tests/e2e/run.mjs [options]
//     --vsix FILE          the .vsix to install (default: the newest torchmode-*.vsix at the repo root)
//     --out DIR            report.json, screenshots, logs (default: tests/e2e/out)
//     --python FILE        set torchmode.interpreter (default: none, i.e. python3 on PATH)
//     --screenshots DIR    also copy the README screenshots there (e.g. client/images)
//     --keep               keep the temporary run folder
//     --strategy S         set torchmode.importStrategy (useBundled | fromEnvironment)
//     --python-extension PY  also install a stand-in for ms-python.python whose selected
//                          interpreter is PY, and check that torchmode runs with it
//     --untrusted          open the workspace in Restricted Mode with a .vscode/settings.json that
//                          points torchmode.interpreter at a program inside the workspace: it must
//                          never run, the user is told once, the bundled server still works
//     --expect-error TEXT  expect the server not to start, with one notification containing TEXT
//                          (e.g. --python /path/to/python3.9 --expect-error "needs Python 3.10")
//
// Checks, in order: the extension installs; opening train.py starts the server (status
// bar ready, activation-to-ready time from the extension's log); the Problems panel lists
// exactly the expected diagnostics with their ranges; a hover on the model names its mode;
// "Insert model.eval() before the loop" from the quick-fix menu gives the expected file
// and its diagnostic disappears; "Show Debug Information" works; a killed server is
// restarted and publishes again; the notebook's cells get their diagnostic; the complete
// fix of an evaluate() helper called between training epochs inserts model.eval() and
// model.train() and leaves no problem; on shutdown no server process is left. Exit
// status 0 only if every check passed.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const { values: A } = parseArgs({
  options: {
    vsix: { type: 'string' }, out: { type: 'string', default: path.join(HERE, 'out') },
    python: { type: 'string' }, screenshots: { type: 'string' }, keep: { type: 'boolean', default: false },
    strategy: { type: 'string' }, 'expect-error': { type: 'string' }, 'python-extension': { type: 'string' },
    untrusted: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '420' },
  },
});

// ---------- what the fixture must show (1-based lines/columns, as in VS Code) ----------
const FILE = 'train.py';
const NOTEBOOK = 'validate.ipynb';
const EXPECTED = [
  { code: 'TM002', severity: 'warning', range: '39:9-39:31', text: 'no torch.no_grad()' },
  { code: 'TM001', severity: 'warning', range: '40:25-40:33', text: 'may still be in training mode' },
  { code: 'TM004', severity: 'error', range: '43:5-43:15', text: 'model.eval is not called' },
];
const HOVER_AT = { line: 40, col: 26 }; // `model` in `model(x)` of the validation loop
const HOVER_EXPECT = [/model\s*:\s*train\s+mode here \(set on line 32\)/, /Gradients: recorded/];
const FIX_AT = { line: 40, col: 25 };
const FIX_TITLE = 'Insert model.eval() before the loop';
const LOOP_LINE = 39; // `for x, y in val_loader:`
// the common shape: an evaluate() helper without model.eval(), called between training epochs
const COMPLETE = 'complete.py';
const COMPLETE_FIX_AT = { line: 19, col: 19 }; // `model` in `out = model(x)`
const COMPLETE_FIX_TITLE = 'Insert model.eval() at the start of evaluate() and model.train() at line 33';
const AFTER_FIX_REMAINING = ['TM002', 'TM004'];
const READY_BUDGET_MS = 1500;

const OUT = path.resolve(A.out);
fs.rmSync(OUT, { recursive: true, force: true });
fs.mkdirSync(OUT, { recursive: true });
const CACHE = process.env.TORCHMODE_E2E_CACHE || path.join(os.homedir(), '.cache', 'torchmode-e2e');
const T0 = Date.now();
const report = { ok: false, checks: [], errors: [], timings: {}, versions: {}, diagnostics: [], hover: null, codeAction: null, screenshots: [] };
const log = (...m) => console.log(`[${((Date.now() - T0) / 1000).toFixed(1)}s]`, ...m);
const check = (name, ok, detail) => {
  report.checks.push({ name, ok: !!ok, detail: detail ?? null });
  log(ok ? 'PASS' : 'FAIL', name, detail ?? '');
  return !!ok;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(fn, timeoutMs, stepMs = 200) {
  const t = Date.now();
  while (Date.now() - t < timeoutMs) {
    const v = await fn();
    if (v) return v;
    await sleep(stepMs);
  }
  return null;
}

// ---------- inputs ----------
const pathsFile = path.join(CACHE, 'paths.json');
if (!fs.existsSync(pathsFile)) {
  console.error(`${pathsFile} missing: run bash tests/e2e/setup.sh first`);
  process.exit(2);
}
const P = JSON.parse(fs.readFileSync(pathsFile, 'utf8'));
report.versions = { codeServer: P.codeServerVersion, chromium: P.chromiumVersion, node: process.version };
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const EXT_ID = `${pkg.publisher}.${pkg.name}`;
let vsix = A.vsix && path.resolve(A.vsix);
if (!vsix) {
  const found = fs.readdirSync(ROOT).filter((f) => f.startsWith(`${pkg.name}-`) && f.endsWith('.vsix'))
    .map((f) => path.join(ROOT, f)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  vsix = found[0];
}
if (!vsix || !fs.existsSync(vsix)) {
  console.error('no .vsix found: run npm run package first (or pass --vsix)');
  process.exit(2);
}
report.vsix = { file: vsix, bytes: fs.statSync(vsix).size };

const RUN = fs.mkdtempSync(path.join(os.tmpdir(), 'torchmode-e2e-'));
const UD = path.join(RUN, 'user-data');
const EXTDIR = path.join(RUN, 'extensions');
const WS = path.join(RUN, 'workspace');
let server = null;
let ctx = null;
let page = null;
let shotN = 0;

async function shot(name) {
  if (!page) return null;
  const f = `${String(++shotN).padStart(2, '0')}-${name}.png`;
  try {
    await page.screenshot({ path: path.join(OUT, f) });
    report.screenshots.push(f);
    return f;
  } catch (e) {
    log('screenshot failed', String(e));
    return null;
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function httpOk(url) {
  return new Promise((resolve) => {
    const r = http.get(url, (res) => { res.resume(); resolve(res.statusCode < 500); });
    r.on('error', () => resolve(false));
    r.setTimeout(2000, () => { r.destroy(); resolve(false); });
  });
}

// ---------- processes ----------
function procs() {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.push({ pid: +d, state: f[0], ppid: +f[1], pgrp: +f[2], cmd });
    } catch { /* gone */ }
  }
  return out;
}
function cwdOf(pid) {
  try { return fs.readlinkSync(`/proc/${pid}/cwd`); } catch { return ''; }
}
/** torchmode server processes started by this run (they run in the installed extension's folder). */
function ourServers() {
  return procs().filter((p) => p.state !== 'Z' && /run_module\('torchmode'/.test(p.cmd) && cwdOf(p.pid).startsWith(EXTDIR))
    .map((p) => ({ ...p, cmd: p.cmd.replace(/ -c .*run_module\('torchmode'[^\n]*?\)/s, ' -c <boot>') }));
}

// ---------- logs ----------
function walk(d) {
  if (!fs.existsSync(d)) return [];
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((x) => (x.isDirectory() ? walk(path.join(d, x.name)) : [path.join(d, x.name)]));
}
function extensionLog() {
  const f = walk(path.join(UD, 'logs')).find((p) => p.includes(`${path.sep}${EXT_ID}${path.sep}`) && p.endsWith('torchmode.log'));
  return f ? fs.readFileSync(f, 'utf8') : '';
}
function exthostLog() {
  const f = walk(path.join(UD, 'logs')).find((p) => /exthost\d*[\\/](remoteexthost|exthost)\.log$/.test(p));
  return f ? fs.readFileSync(f, 'utf8') : '';
}
const stamp = (line) => {
  const m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})/.exec(line);
  return m ? Date.parse(m[1].replace(' ', 'T')) : null;
};

// ---------- workbench helpers ----------
const quickInput = () => page.locator('.quick-input-widget input').first();

async function focusEditor() {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+1');
  await sleep(150);
}

async function openFile(rel) {
  const base = path.basename(rel);
  for (let attempt = 0; attempt < 3; attempt++) {
    await page.keyboard.press('Control+P');
    await quickInput().waitFor({ state: 'visible', timeout: 10000 });
    await quickInput().fill(rel);
    await page.locator('.quick-input-list .monaco-list-row').filter({ hasText: base }).first().waitFor({ timeout: 15000 }).catch(() => {});
    await sleep(300);
    await page.keyboard.press('Enter');
    const tab = page.locator('.editor .tabs-container .tab.active').filter({ hasText: base });
    if (await tab.first().waitFor({ timeout: 10000 }).then(() => true, () => false)) return true;
    await page.keyboard.press('Escape');
  }
  return false;
}

async function gotoPos({ line, col }) {
  await focusEditor();
  await page.keyboard.press('Control+G');
  await quickInput().waitFor({ state: 'visible', timeout: 10000 });
  await quickInput().fill(`:${line}:${col}`);
  await sleep(150);
  await page.keyboard.press('Enter');
  const want = `Ln ${line}, Col ${col}`;
  const ok = await until(async () => (await page.locator('[id="status.editor.selection"]').innerText().catch(() => '')).trim().startsWith(want), 4000, 100);
  if (!ok) throw new Error(`cursor did not reach ${want}`);
}

async function runCommand(title) {
  await focusEditor();
  await page.keyboard.press('Control+Shift+P');
  await quickInput().waitFor({ state: 'visible', timeout: 10000 });
  await quickInput().fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row').filter({ hasText: title }).first().waitFor({ timeout: 10000 });
  await sleep(200);
  await page.keyboard.press('Enter');
}

async function statusItem() {
  return page.evaluate(() => {
    const el = [...document.querySelectorAll('.statusbar-item')].find((e) => /torchmode/.test(e.getAttribute('aria-label') || e.textContent || ''));
    if (!el) return null;
    const a = el.querySelector('a') || el;
    return { label: a.getAttribute('aria-label') || el.getAttribute('aria-label') || '', text: el.textContent.trim(), icon: !!el.querySelector('.codicon-check') };
  });
}

// Problems panel: each file row's aria-label reads "N problems in file F of folder D";
// Ctrl+C on the row copies the file's markers as JSON (1-based ranges).
async function showProblems() {
  if (await page.locator('.markers-panel').first().isVisible().catch(() => false)) return;
  await page.keyboard.press('Control+Shift+M');
  await page.locator('.markers-panel').first().waitFor({ state: 'visible', timeout: 10000 });
}
async function problemRows() {
  await showProblems();
  return page.locator('.markers-panel .monaco-list-row').evaluateAll((els) => els.map((e, i) => ({
    i, aria: e.getAttribute('aria-label') || '', isFile: !!e.querySelector('.resource-label-container'),
  })));
}
function problemCount(rows, base) {
  return rows.filter((r) => r.isFile && new RegExp(`in file ${base.replace('.', '\\.')} of folder`).test(r.aria))
    .reduce((n, r) => n + (parseInt(r.aria, 10) || 0), 0);
}
async function waitProblems(base, pred, timeoutMs, settleMs = 1500) {
  const t = Date.now();
  let last = -1;
  let since = Date.now();
  while (Date.now() - t < timeoutMs) {
    const n = problemCount(await problemRows(), base);
    if (n !== last) { last = n; since = Date.now(); }
    if (pred(n) && Date.now() - since >= settleMs) return { count: n, ms: Date.now() - t };
    await sleep(250);
  }
  return { count: last, ms: null };
}
async function collectProblems(base) {
  const rows = await problemRows();
  const out = [];
  for (const r of rows.filter((x) => x.isFile && x.aria.includes(`in file ${base} of folder`))) {
    const row = page.locator('.markers-panel .monaco-list-row').nth(r.i);
    await page.evaluate(() => navigator.clipboard.writeText('')).catch(() => {});
    await row.click();
    await sleep(150);
    await page.keyboard.press('Control+C');
    const txt = await until(async () => page.evaluate(() => navigator.clipboard.readText()).catch(() => ''), 2000, 100);
    if ((await row.getAttribute('aria-expanded')) === 'false') { await page.keyboard.press('ArrowRight'); await sleep(150); }
    let markers = [];
    try { markers = JSON.parse(txt || '[]'); } catch { /* keep empty */ }
    for (const m of markers) {
      out.push({
        resource: m.resource, code: typeof m.code === 'object' && m.code ? m.code.value : m.code, source: m.source,
        severity: { 1: 'hint', 2: 'info', 4: 'warning', 8: 'error' }[m.severity] || m.severity, message: m.message,
        range: `${m.startLineNumber}:${m.startColumn}-${m.endLineNumber}:${m.endColumn}`,
      });
    }
  }
  return out;
}

async function readHover() {
  return page.evaluate(() => {
    const h = [...document.querySelectorAll('.monaco-hover')].find((e) => e.offsetWidth || e.offsetHeight);
    if (!h) return null;
    return { text: h.innerText.trim(), loading: /Loading\.\.\./.test(h.innerText) };
  });
}

async function hoverAt(pos) {
  const t = Date.now();
  await gotoPos(pos);
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+I');
  let prev = '';
  let stable = Date.now();
  let h = null;
  while (Date.now() - t < 15000) {
    h = await readHover();
    const key = h ? h.text : '';
    if (key !== prev) { prev = key; stable = Date.now(); }
    if (h && h.text && !h.loading && Date.now() - stable > 700) break;
    await sleep(150);
  }
  return { ...(h || { text: null }), ms: Date.now() - t };
}

async function quickFix(pos, title, fileAbs) {
  const t = Date.now();
  const before = fs.readFileSync(fileAbs, 'utf8');
  await gotoPos(pos);
  await page.keyboard.press('Control+.');
  const widget = page.locator('.action-widget').first();
  await widget.waitFor({ state: 'visible', timeout: 15000 });
  await sleep(500);
  const offered = await page.evaluate(() => {
    const w = [...document.querySelectorAll('.action-widget')].find((e) => e.offsetWidth || e.offsetHeight);
    return w ? [...w.querySelectorAll('.monaco-list-row')].filter((r) => !r.classList.contains('group-header'))
      .map((r) => ({ title: (r.querySelector('.title')?.innerText || r.getAttribute('aria-label') || '').trim(), disabled: r.classList.contains('option-disabled') })) : [];
  });
  const menuShot = await shot('quickfix-menu');
  const pick = offered.find((o) => !o.disabled && o.title.includes(title));
  const res = { offered, chosen: pick ? pick.title : null, before, after: null, menuShot };
  if (!pick) {
    await page.keyboard.press('Escape');
    return { ...res, ms: Date.now() - t };
  }
  // a click is swallowed by the context view's pointer block in headless Chromium: use the keyboard
  const focused = () => page.locator('.action-widget .monaco-list-row.focused .title').first().innerText({ timeout: 2000 }).then((x) => x.trim(), () => null);
  for (let i = 0; i <= offered.length && (await focused()) !== pick.title; i++) {
    await page.keyboard.press('ArrowDown');
    await sleep(120);
  }
  await page.keyboard.press('Enter');
  const dirty = page.locator('.tabs-container .tab.dirty');
  await until(async () => (await dirty.count()) > 0, 10000);
  await focusEditor();
  await page.keyboard.press('Control+S');
  await until(async () => (await dirty.count()) === 0, 5000);
  res.after = fs.readFileSync(fileAbs, 'utf8');
  return { ...res, ms: Date.now() - t };
}

async function notifications() {
  try {
    const center = page.locator('.notifications-center.visible');
    if (!(await center.count())) {
      await page.locator('[id="status.notifications"]').first().click({ timeout: 5000 });
      await center.first().waitFor({ timeout: 3000 });
    }
    const items = await page.evaluate(() => [...document.querySelectorAll('.notifications-center .notification-list-item')]
      .map((e) => e.querySelector('.notification-list-item-message')?.innerText.trim() || ''));
    await page.keyboard.press('Escape');
    return items;
  } catch (e) {
    return [`(could not read notifications: ${String(e).split('\n')[0]})`];
  }
}

async function shutdown() {
  if (ctx) { await ctx.close().catch(() => {}); ctx = null; }
  if (server && server.exitCode === null) {
    const pid = server.pid;
    try { process.kill(-pid, 'SIGTERM'); } catch { /* gone */ }
    await until(() => server.exitCode !== null, 8000, 100);
    // the server leads its own process group: it goes when its stdin closes (the extension
    // host is gone) or when the client stops it. What is still there after 5 s is a failure;
    // clean it up anyway
    const inExt = () => procs().filter((p) => p.state !== 'Z' && cwdOf(p.pid).startsWith(EXTDIR));
    await until(() => inExt().length === 0, 5000, 100);
    const stragglers = inExt();
    report.serversAfterGracefulShutdown = stragglers.map((p) => p.pid);
    try { process.kill(-pid, 'SIGKILL'); } catch { /* all gone */ }
    for (const p of stragglers) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
  }
}

const watchdog = setTimeout(() => {
  report.errors.push(`gave up after ${A.timeout}s`);
  log('timeout');
  if (ctx) ctx.close().catch(() => {});
}, +A.timeout * 1000);
watchdog.unref();

/** The user's path: diagnostics, hover, quick fix, debug info, crash, settings, notebook. */
async function mainScenario(t0) {
  let t;
  const ready = await until(async () => {
    const s = await statusItem();
    return s && /ready/.test(s.label) ? s : null;
  }, 30000);
  report.timings.openToStatusReadyMs = Date.now() - t0;
  report.statusBar = ready || await statusItem();
  check('status bar shows the server ready', ready, report.statusBar && report.statusBar.label);
  if (ready) {
    await page.locator('.statusbar-item').filter({ hasText: 'torchmode' }).first().click();
    const logShown = await until(async () => {
      const txt = (await page.locator('.part.panel .monaco-editor .view-lines').allInnerTexts().catch(() => [])).join('\n');
      return /torchmode 0\.\d+\.\d+ activating/.test(txt.replace(/\u00a0/g, ' '));
    }, 8000);
    check('a click on the status bar item shows the torchmode log', logShown);
  }
  const extLog = await until(() => (/Server ready/.test(extensionLog()) ? extensionLog() : null), 10000);
  const m = extLog && /activation to ready (\d+) ms \(process start to ready (\d+) ms\)/.exec(extLog);
  if (m) {
    report.timings.activationToReadyMs = +m[1];
    report.timings.processStartToReadyMs = +m[2];
  }
  // cross-check with VS Code's own log: the extension host starts activating -> our "Server ready" line
  const hostLine = exthostLog().split('\n').find((l) => l.includes('ExtensionService#_doActivateExtension') && l.toLowerCase().includes(EXT_ID));
  const readyLine = (extLog || '').split('\n').find((l) => l.includes('Server ready'));
  if (hostLine && readyLine && stamp(hostLine) && stamp(readyLine)) report.timings.hostActivateToReadyMs = stamp(readyLine) - stamp(hostLine);
  check(`activation to server ready under ${READY_BUDGET_MS} ms`, m && +m[1] < READY_BUDGET_MS,
    `${m ? m[1] : '?'} ms (server process start to ready ${m ? m[2] : '?'} ms; from the extension host's activation log line ${report.timings.hostActivateToReadyMs ?? '?'} ms)`);
  report.serverProcesses = ourServers().map((p) => ({ pid: p.pid, cmd: p.cmd }));
  check('one torchmode server process runs', report.serverProcesses.length === 1, JSON.stringify(report.serverProcesses));
  if (A['python-extension']) {
    const want = path.resolve(A['python-extension']);
    check("the Python extension's selected interpreter runs the server",
      extensionLog().includes(`Interpreter: ${want} (from pythonExtension)`) && report.serverProcesses[0]?.cmd.startsWith(want),
      JSON.stringify(report.serverProcesses.map((p) => p.cmd)));
  }

  // ---------- diagnostics in the Problems panel ----------
  t = Date.now();
  const w = await waitProblems(FILE, (n) => n >= EXPECTED.length, 30000);
  report.timings.diagnosticsMs = Date.now() - t;
  report.diagnostics = await collectProblems(FILE);
  await gotoPos({ line: 36, col: 1 }); // scroll the buggy lines into view
  await sleep(400);
  const diagShot = await shot('diagnostics');
  const got = report.diagnostics.map((d) => `${d.code} ${d.severity} ${d.range}`).sort();
  const want = EXPECTED.map((d) => `${d.code} ${d.severity} ${d.range}`).sort();
  check('Problems panel lists exactly the expected diagnostics with their ranges', JSON.stringify(got) === JSON.stringify(want),
    `got ${JSON.stringify(got)} (${w.count} rows), want ${JSON.stringify(want)}`);
  for (const e of EXPECTED) {
    const d = report.diagnostics.find((x) => x.code === e.code);
    check(`${e.code} message and source`, d && d.message.includes(e.text) && d.source === 'torchmode', d && `${d.source}: ${d.message}`);
  }

  // ---------- hover ----------
  const h = await hoverAt(HOVER_AT);
  report.hover = h;
  const hoverShot = await shot('hover');
  await page.keyboard.press('Escape');
  check(`hover on the model at ${HOVER_AT.line}:${HOVER_AT.col} tells its mode`, h.text && HOVER_EXPECT.every((r) => r.test(h.text)), JSON.stringify(h.text));

  // ---------- quick fix ----------
  const fileAbs = path.join(WS, FILE);
  const q = await quickFix(FIX_AT, FIX_TITLE, fileAbs);
  report.codeAction = { ...q, before: undefined };
  report.timings.quickFixMs = q.ms;
  check(`quick-fix menu offers "${FIX_TITLE}"`, q.chosen, JSON.stringify(q.offered.map((o) => o.title)));
  const lines = q.before.split('\n');
  lines.splice(LOOP_LINE - 1, 0, '        model.eval()'); // same indentation, right before the loop
  const expectedAfter = lines.join('\n');
  check('the file after the fix and save is exactly the expected text', q.after === expectedAfter,
    q.after === expectedAfter ? 'model.eval() inserted before the validation loop' : `got:\n${q.after}`);
  fs.writeFileSync(path.join(OUT, 'train.after-fix.py'), q.after ?? '');
  const w2 = await waitProblems(FILE, (n) => n === AFTER_FIX_REMAINING.length, 20000);
  report.diagnosticsAfterFix = await collectProblems(FILE);
  await focusEditor();
  await shot('after-fix');
  const codesAfter = report.diagnosticsAfterFix.map((d) => d.code).sort();
  check('the TM001 diagnostic disappears, the others stay (ranges shifted by one line)',
    JSON.stringify(codesAfter) === JSON.stringify(AFTER_FIX_REMAINING)
      && report.diagnosticsAfterFix.some((d) => d.code === 'TM002' && d.range === '40:9-40:31'),
    `${JSON.stringify(report.diagnosticsAfterFix.map((d) => `${d.code} ${d.range}`))} after ${w2.ms} ms`);

  // ---------- debug information ----------
  await runCommand('torchmode: Show Debug Information');
  const dbg = await until(async () => {
    // monaco renders spaces as no-break spaces
    const txt = (await page.locator('.editor-instance .monaco-editor .view-lines').allInnerTexts().catch(() => [])).join('\n').replace(/\u00a0/g, ' ');
    return /torchmode debug information/.test(txt) ? txt : null;
  }, 8000);
  report.debugInfo = dbg;
  check('"torchmode: Show Debug Information" shows interpreter, strategy and settings', dbg && new RegExp(`import strategy\\s+${A.strategy || 'useBundled'}`).test(dbg) && /interpreter/.test(dbg),
    dbg ? dbg.split('\n').slice(0, 12).join(' | ') : null);
  await page.keyboard.press('Control+W');
  await sleep(300);

  // ---------- crash: the server is restarted and publishes again ----------
  const before = ourServers();
  if (before.length === 1) {
    process.kill(before[0].pid, 'SIGKILL');
    const again = await until(() => {
      const now = ourServers();
      return now.length === 1 && now[0].pid !== before[0].pid ? now : null;
    }, 20000);
    const relog = await until(() => (/restarting it \(1\//.test(extensionLog()) ? true : null), 5000);
    await until(async () => /ready/.test((await statusItem())?.label || ''), 15000);
    const w3 = await waitProblems(FILE, (n) => n === AFTER_FIX_REMAINING.length, 20000, 1000);
    check('a killed server is restarted (bounded) and publishes diagnostics again', again && relog && w3.count === AFTER_FIX_REMAINING.length,
      `new pid ${again ? again[0].pid : '-'}, ${w3.count} problems`);
  } else {
    check('a killed server is restarted (bounded) and publishes diagnostics again', false, `expected one server, found ${before.length}`);
  }

  // ---------- settings reach the running server; an interpreter change restarts it ----------
  // workspace settings (.vscode/settings.json), as a project would set them; VS Code
  // picks up the file change through its file watcher
  fs.mkdirSync(path.join(WS, '.vscode'), { recursive: true });
  const setUser = (extra) => fs.writeFileSync(path.join(WS, '.vscode', 'settings.json'), JSON.stringify(extra, null, 2));
  const pidBefore = ourServers().map((p) => p.pid);
  setUser({ 'torchmode.ignore': ['TM004'] });
  const w5 = await waitProblems(FILE, (n) => n === 1, 15000, 1000);
  report.diagnosticsIgnoreTM004 = await collectProblems(FILE);
  check('a settings change (torchmode.ignore) reaches the running server without a restart',
    w5.count === 1 && report.diagnosticsIgnoreTM004[0]?.code === 'TM002' && JSON.stringify(ourServers().map((p) => p.pid)) === JSON.stringify(pidBefore),
    `${JSON.stringify(report.diagnosticsIgnoreTM004.map((d) => d.code))} after ${w5.ms} ms; server pid ${JSON.stringify(ourServers().map((p) => p.pid))}`);
  const realPython = spawnSync(A.python || 'python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  setUser({ 'torchmode.ignore': ['TM004'], 'torchmode.interpreter': [realPython] });
  const restarted = await until(() => {
    const now = ourServers();
    return now.length === 1 && !pidBefore.includes(now[0].pid) && now[0].cmd.startsWith(realPython) ? now[0] : null;
  }, 20000);
  await until(async () => /ready/.test((await statusItem())?.label || ''), 15000);
  const w6 = await waitProblems(FILE, (n) => n === 1, 15000, 1000);
  check('changing torchmode.interpreter restarts the server with that interpreter (debounced: one restart)',
    restarted && w6.count === 1 && (extensionLog().match(/Restarting the server: interpreter or import strategy changed/g) || []).length === 1,
    restarted ? `${restarted.pid}: ${restarted.cmd}` : JSON.stringify(ourServers()));

  // ---------- "Fix All Issues (including unsafe)" (TM004 is ignored by now) ----------
  const beforeAll = fs.readFileSync(fileAbs, 'utf8');
  await runCommand('torchmode: Fix All Issues (including unsafe)');
  const dirtyTab = page.locator('.tabs-container .tab.dirty');
  await until(async () => (await dirtyTab.count()) > 0, 10000);
  await focusEditor();
  await page.keyboard.press('Control+S');
  await until(async () => (await dirtyTab.count()) === 0, 5000);
  const afterAll = fs.readFileSync(fileAbs, 'utf8');
  fs.writeFileSync(path.join(OUT, 'train.after-fix-all.py'), afterAll);
  const w7 = await waitProblems(FILE, (n) => n === 0, 15000, 1000);
  check('"torchmode: Fix All Issues (including unsafe)" applies the unsafe no_grad fix; no problem is left',
    afterAll !== beforeAll && /\n {8}with torch\.no_grad\(\):\n {12}for x, y in val_loader:\n {16}correct \+=/.test(afterAll)
      && /\n {4}model\.eval\n/.test(afterAll) && w7.count === 0,
    `${w7.count} problems; diff lines: ${afterAll.split('\n').filter((l) => !beforeAll.split('\n').includes(l)).join(' | ')}`);

  // ---------- notebook ----------
  if (fs.existsSync(path.join(WS, NOTEBOOK))) {
    const opened = await openFile(NOTEBOOK);
    const w4 = await waitProblems(NOTEBOOK, (n) => n >= 1, 20000, 1000);
    report.notebookDiagnostics = await collectProblems(NOTEBOOK);
    await shot('notebook');
    // cell 3, line 3: `model(x)` after model.train() in cell 2 (the panel lists cells under the notebook)
    check('the notebook opens and its cells get the TM001 diagnostic (cross-cell state)', opened
      && report.notebookDiagnostics.length === 1 && report.notebookDiagnostics.some((d) => d.code === 'TM001' && d.range === '3:16-3:24'),
    JSON.stringify(report.notebookDiagnostics.map((d) => `${d.code} ${d.range} ${d.resource}`)) + ` (${w4.count} rows)`);
    // fix all on the notebook: model.eval() goes into the cell of the loop
    const nbBefore = fs.readFileSync(path.join(WS, NOTEBOOK), 'utf8');
    await runCommand('torchmode: Fix All Issues (including unsafe)');
    const dirtyNb = page.locator('.tabs-container .tab.dirty');
    await until(async () => (await dirtyNb.count()) > 0, 10000);
    await page.keyboard.press('Control+S');
    await until(async () => (await dirtyNb.count()) === 0, 5000);
    const w8 = await waitProblems(NOTEBOOK, (n) => n === 0, 15000, 1000);
    let cells = [];
    try { cells = JSON.parse(fs.readFileSync(path.join(WS, NOTEBOOK), 'utf8')).cells.map((c) => [].concat(c.source).join('')); } catch { /* checked below */ }
    check('Fix All on the notebook puts model.eval() into the loop\'s cell; its problem goes away',
      fs.readFileSync(path.join(WS, NOTEBOOK), 'utf8') !== nbBefore && /model\.eval\(\)\n(with torch\.no_grad\(\):|for )/.test(cells[2] || '') && w8.count === 0,
      `cell 3: ${JSON.stringify(cells[2])}; ${w8.count} problems`);
  }

  // ---------- a complete fix: eval() in the helper comes with train() after its call ----------
  const completeAbs = path.join(WS, COMPLETE);
  const openedComplete = await openFile(COMPLETE);
  const wc = await waitProblems(COMPLETE, (n) => n === 1, 20000, 1000);
  const qc = await quickFix(COMPLETE_FIX_AT, COMPLETE_FIX_TITLE, completeAbs);
  check(`quick-fix menu offers "${COMPLETE_FIX_TITLE}"`, openedComplete && wc.count === 1 && qc.chosen,
    `${wc.count} problems; offered ${JSON.stringify(qc.offered.map((o) => o.title))}`);
  const completeWant = qc.before
    .replace('def evaluate(model, loader):\n', 'def evaluate(model, loader):\n    model.eval()\n')
    .replace('        evaluate(model, val_loader)\n', '        evaluate(model, val_loader)\n        model.train()\n');
  fs.writeFileSync(path.join(OUT, 'complete.after-fix.py'), qc.after ?? '');
  const wc2 = await waitProblems(COMPLETE, (n) => n === 0, 15000, 1000);
  check('the complete fix puts model.eval() in the helper and model.train() after its call; no problem is left',
    qc.after === completeWant && wc2.count === 0, qc.after === completeWant ? `${wc2.count} problems` : `got:\n${qc.after}`);

  report.notifications = await notifications();
  check('no error notification', !report.notifications.some((n) => /error|failed|couldn't/i.test(n)), JSON.stringify(report.notifications));

  // ---------- a server that keeps crashing is given up on, visibly ----------
  const kills = [];
  for (let i = 0; i < 6; i++) {
    const cur = ourServers();
    if (cur.length !== 1) break;
    process.kill(cur[0].pid, 'SIGKILL');
    kills.push(cur[0].pid);
    await until(async () => {
      const now = ourServers();
      return (now.length === 1 && now[0].pid !== cur[0].pid) || /error/.test((await statusItem())?.label || '');
    }, 15000);
    if (/error/.test((await statusItem())?.label || '')) break;
  }
  await sleep(1500);
  const gaveUp = await statusItem();
  const crashNote = (await notifications()).find((n) => /crashed \d+ times/.test(n));
  await shot('gave-up');
  check('after repeated crashes the server is not restarted again: error status, one notification, no process',
    /error/.test(gaveUp?.label || '') && crashNote && ourServers().length === 0 && kills.length >= 2 && kills.length <= 5,
    `${kills.length} kills; status: ${gaveUp?.label}; notification: ${crashNote}`);
  await runCommand('torchmode: Restart Server');
  const back = await until(async () => /ready/.test((await statusItem())?.label || '') && ourServers().length === 1, 20000);
  check('"torchmode: Restart Server" brings it back', back, JSON.stringify(ourServers().map((p) => p.pid)));

  // README screenshots
  if (A.screenshots) {
    const dest = path.resolve(A.screenshots);
    fs.mkdirSync(dest, { recursive: true });
    for (const [from, to] of [[diagShot, 'diagnostics.png'], [hoverShot, 'hover.png'], [q.menuShot, 'quick-fix.png']]) {
      if (from) fs.copyFileSync(path.join(OUT, from), path.join(dest, to));
    }
    log('screenshots copied to', dest);
  }
}

/** Restricted Mode: the workspace's interpreter/importStrategy are ignored, said once; torchmode still works. */
async function untrustedScenario(t0) {
  const ready = await until(async () => /ready/.test((await statusItem())?.label || ''), 30000);
  report.timings.openToStatusReadyMs = Date.now() - t0;
  check('status bar shows the server ready in Restricted Mode', ready, (await statusItem())?.label);
  const w = await waitProblems(FILE, (n) => n >= EXPECTED.length, 30000);
  check('diagnostics are published in Restricted Mode', w.count === EXPECTED.length, `${w.count} problems`);
  report.notifications = await notifications();
  await shot('untrusted');
  const said = report.notifications.filter((n) => /not trusted/.test(n));
  check('the user is told once that the workspace values are ignored',
    said.length === 1 && said[0].includes('torchmode.interpreter') && said[0].includes('torchmode.importStrategy'), JSON.stringify(report.notifications));
  const logText = extensionLog();
  check('the workspace interpreter never ran; the bundled server runs with python3 from PATH',
    !fs.existsSync(path.join(RUN, 'HOSTILE-RAN')) && /\(from path\); import strategy: useBundled/.test(logText) && !logText.includes('tools/python'),
    logText.split('\n').filter((l) => /Interpreter:|not trusted/.test(l)).join(' | '));
}

/** An unusable interpreter (too old, torchmode missing): one clear message, error status, no retry, no process. */
async function unusableInterpreterScenario(t0) {
  const status = await until(async () => {
    const s = await statusItem();
    return s && /error/.test(s.label) ? s : null;
  }, 30000);
  report.timings.openToStatusErrorMs = Date.now() - t0;
  report.statusBar = status || await statusItem();
  check('status bar shows the error', status, report.statusBar && report.statusBar.label);
  await sleep(3000); // time for any (wrong) restart
  report.notifications = await notifications();
  await shot('unusable-interpreter');
  check(`one notification, containing ${JSON.stringify(A['expect-error'])} and naming the interpreter`,
    report.notifications.length === 1 && report.notifications[0].includes(A['expect-error']) && report.notifications[0].includes(A.python),
    JSON.stringify(report.notifications));
  const logText = extensionLog();
  check('no traceback shown, no restart attempted, no server process running',
    !/Traceback/.test(logText) && !/restarting it/.test(logText) && ourServers().length === 0,
    `${ourServers().length} server processes; log: ${logText.split('\n').filter((l) => /error|warn/i.test(l)).slice(0, 3).join(' | ')}`);
}

try {
  // ---------- workspace, settings, install ----------
  fs.cpSync(path.join(HERE, 'workspace'), WS, { recursive: true });
  if (A.untrusted) {
    // a "hostile" interpreter inside the workspace: it would leave a marker if it ever ran
    fs.mkdirSync(path.join(WS, '.vscode'), { recursive: true });
    fs.mkdirSync(path.join(WS, 'tools'), { recursive: true });
    fs.writeFileSync(path.join(WS, 'tools', 'python'), `#!/bin/sh\ntouch "${path.join(RUN, 'HOSTILE-RAN')}"\nexec python3 "$@"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(WS, '.vscode', 'settings.json'), JSON.stringify({
      'torchmode.interpreter': ['${workspaceFolder}/tools/python'], 'torchmode.importStrategy': 'fromEnvironment',
    }, null, 2));
  }
  fs.mkdirSync(path.join(UD, 'User'), { recursive: true });
  fs.mkdirSync(EXTDIR, { recursive: true });
  fs.writeFileSync(path.join(RUN, 'config.yaml'), 'auth: none\n');
  const settings = {
    'security.workspace.trust.enabled': A.untrusted,
    'security.workspace.trust.startupPrompt': 'never',
    'security.workspace.trust.banner': 'never',
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'update.mode': 'none',
    'git.enabled': false,
    'files.autoSave': 'off',
    'editor.hover.delay': 300,
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'torchmode.showNotifications': 'always',
    ...(A.python ? { 'torchmode.interpreter': [path.resolve(A.python)] } : {}),
    ...(A.strategy ? { 'torchmode.importStrategy': A.strategy } : {}),
  };
  fs.writeFileSync(path.join(UD, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  const csBase = ['--config', path.join(RUN, 'config.yaml'), '--user-data-dir', UD, '--extensions-dir', EXTDIR];
  const csEnv = { ...process.env, ...(A['python-extension'] ? { TORCHMODE_E2E_SELECTED_PYTHON: path.resolve(A['python-extension']) } : {}) };
  if (A['python-extension']) {
    // a .vsix is a zip whose extension/ folder holds the extension
    const fake = path.join(RUN, 'fake-python.vsix');
    const zip = spawnSync('python3', ['-c', `import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, 'w') as z:
    for f in os.listdir(src):
        z.write(os.path.join(src, f), 'extension/' + f)`, path.join(HERE, 'fake-python-extension'), fake], { encoding: 'utf8' });
    const r = spawnSync(P.node, [P.codeServer, ...csBase, '--force', '--install-extension', fake], { encoding: 'utf8', timeout: 120000 });
    check('the stand-in Python extension installs', zip.status === 0 && r.status === 0, `${zip.stderr}${r.stdout}${r.stderr}`.trim().split('\n').pop());
  }
  let t = Date.now();
  const inst = spawnSync(P.node, [P.codeServer, ...csBase, '--force', '--install-extension', vsix], { encoding: 'utf8', timeout: 180000 });
  const instOut = `${inst.stdout || ''}${inst.stderr || ''}`;
  report.timings.installMs = Date.now() - t;
  if (!check('the .vsix installs into code-server', inst.status === 0 && /successfully installed/i.test(instOut), instOut.trim().split('\n').pop())) {
    throw new Error('install failed');
  }

  // ---------- code-server + browser ----------
  t = Date.now();
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const logFd = fs.openSync(path.join(OUT, 'code-server.log'), 'w');
  server = spawn(P.node, [P.codeServer, ...csBase, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry',
    '--disable-update-check', ...(A.untrusted ? [] : ['--disable-workspace-trust']), '--disable-getting-started-override', '--ignore-last-opened', WS],
  { detached: true, stdio: ['ignore', logFd, logFd], env: csEnv });
  fs.closeSync(logFd);
  if (!(await until(() => httpOk(`${origin}/healthz`), 60000))) throw new Error('code-server did not come up');
  report.timings.codeServerMs = Date.now() - t;
  t = Date.now();
  ctx = await chromium.launchPersistentContext(path.join(RUN, 'browser'), {
    executablePath: P.chromium, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
  });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  page = ctx.pages()[0] || await ctx.newPage();
  await page.goto(`${origin}/?folder=${encodeURIComponent(WS)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
  await page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: 30000 }).catch(() => {});
  await sleep(800);
  report.timings.workbenchMs = Date.now() - t;
  check('the extension is not active before a Python file is opened', ourServers().length === 0, `${ourServers().length} server processes`);

  // ---------- open train.py: activation, server ready ----------
  t = Date.now();
  check(`${FILE} opens in an editor`, await openFile(FILE));
  if (A['expect-error']) await unusableInterpreterScenario(t);
  else if (A.untrusted) await untrustedScenario(t);
  else await mainScenario(t);
} catch (e) {
  report.errors.push(String((e && e.stack) || e));
  log('ERROR', String((e && e.message) || e));
  await shot('error');
} finally {
  const t = Date.now();
  await shutdown();
  report.timings.shutdownMs = Date.now() - t;
  await sleep(300);
  // the servers and anything they started (analysis workers) run in the extension's folder
  const left = procs().filter((p) => p.state !== 'Z' && cwdOf(p.pid).startsWith(EXTDIR));
  report.leftoverProcesses = left.map((p) => ({ pid: p.pid, cmd: p.cmd.slice(0, 200) }));
  const zombies = procs().filter((p) => p.state === 'Z' && /torchmode/.test(p.cmd));
  check('no server process is left after VS Code exits (none needed SIGKILL)',
    left.length === 0 && zombies.length === 0 && (report.serversAfterGracefulShutdown || []).length === 0,
    `left ${left.length}, zombies ${zombies.length}, after graceful shutdown ${(report.serversAfterGracefulShutdown || []).length}`);
  try {
    fs.cpSync(path.join(UD, 'logs'), path.join(OUT, 'logs'), { recursive: true });
    fs.writeFileSync(path.join(OUT, 'torchmode.log'), extensionLog());
  } catch { /* no logs */ }
  report.timings.totalMs = Date.now() - T0;
  report.ok = report.errors.length === 0 && report.checks.length > 0 && report.checks.every((c) => c.ok);
  fs.writeFileSync(path.join(OUT, 'report.json'), JSON.stringify(report, null, 2));
  if (!A.keep) fs.rmSync(RUN, { recursive: true, force: true });
  const failed = report.checks.filter((c) => !c.ok).length;
  log(report.ok ? 'E2E OK' : 'E2E FAILED', `${report.checks.length - failed}/${report.checks.length} checks passed;`,
    `activation to ready ${report.timings.activationToReadyMs ?? '?'} ms; report ${path.join(OUT, 'report.json')}`);
  process.exit(report.ok ? 0 : 1);
}
