/** The status bar item: server starting, ready, stopped or failed; a click shows the logs. */
import * as vscode from 'vscode';

export type ServerState = 'starting' | 'ready' | 'error' | 'stopped';

export class StatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private current: ServerState = 'stopped';

  constructor() {
    this.item = vscode.window.createStatusBarItem('torchmode.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'torchmode';
    this.item.command = 'torchmode.showLogs';
    this.set('starting', 'Starting the torchmode server');
    this.item.show();
  }

  get state(): ServerState {
    return this.current;
  }

  set(state: ServerState, detail: string): void {
    this.current = state;
    const icon = { starting: '$(loading~spin)', ready: '$(check)', error: '$(error)', stopped: '$(circle-slash)' }[state];
    this.item.text = `${icon} torchmode`;
    this.item.tooltip = `torchmode: ${detail}\nClick to show the logs.`;
    this.item.accessibilityInformation = { label: `torchmode ${state}: ${detail}` };
    this.item.backgroundColor = state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
