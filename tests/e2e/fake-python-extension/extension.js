// The part of the Python extension's API (@vscode/python-extension) that torchmode uses:
// environments.getActiveEnvironmentPath / resolveEnvironment / onDidChangeActiveEnvironmentPath.
const vscode = require('vscode');

exports.activate = () => {
  const exe = process.env.TORCHMODE_E2E_SELECTED_PYTHON || '';
  const changed = new vscode.EventEmitter();
  const env = { id: exe, path: exe };
  return {
    environments: {
      getActiveEnvironmentPath: () => env,
      resolveEnvironment: async () => ({
        id: exe,
        path: exe,
        executable: { uri: vscode.Uri.file(exe), bitness: '64-bit', sysPrefix: '' },
        version: undefined,
        environment: undefined,
        tools: [],
      }),
      onDidChangeActiveEnvironmentPath: changed.event,
      known: [env],
    },
  };
};
exports.deactivate = () => undefined;
