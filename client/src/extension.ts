/** Entry point: activation on Python files and Jupyter notebooks. */
import * as vscode from 'vscode';
import { extensionVersion, TorchmodeServer } from './server';

let server: TorchmodeServer | undefined;
const DEBUG_SCHEME = 'torchmode-debug';

export function activate(context: vscode.ExtensionContext): void {
  const activatedAt = Date.now();
  const log = vscode.window.createOutputChannel('torchmode', { log: true });
  context.subscriptions.push(log);
  log.info(`torchmode ${extensionVersion(context)} activating (VS Code ${vscode.version})`);
  const srv = new TorchmodeServer(context, log, activatedAt);
  const debugChanged = new vscode.EventEmitter<vscode.Uri>();
  server = srv;
  context.subscriptions.push(
    vscode.commands.registerCommand('torchmode.restart', () => srv.userRestart()),
    vscode.commands.registerCommand('torchmode.showLogs', () => log.show(true)),
    vscode.commands.registerCommand('torchmode.fixAllUnsafe', () => srv.fixAllUnsafe()),
    // a read-only document (never "unsaved"), refreshed each time the command runs
    vscode.workspace.registerTextDocumentContentProvider(DEBUG_SCHEME, {
      onDidChange: debugChanged.event,
      provideTextDocumentContent: () => srv.debugInfo(),
    }),
    debugChanged,
    vscode.commands.registerCommand('torchmode.showDebugInfo', async () => {
      log.info(srv.debugInfo());
      const uri = vscode.Uri.from({ scheme: DEBUG_SCHEME, path: 'torchmode-debug-information.txt' });
      debugChanged.fire(uri);
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(doc, { preview: true });
    }),
  );
  // Not awaited: activation returns at once; the status bar follows the start.
  void srv.start();
}

export async function deactivate(): Promise<void> {
  const s = server;
  server = undefined;
  if (s) await s.dispose();
}
