#!/usr/bin/env bash
# Install what the end-to-end test needs, idempotently, from the package registries only:
#   - Debian: chromium (driven headless), and a C toolchain + krb5 headers + ripgrep for
#     code-server's native modules;
#   - npm: code-server (= VS Code; 4.100.3 is VS Code 1.100.3 and runs on Node 20),
#     installed into a cache outside the repository.
# playwright-core comes from the repository's own devDependencies (npm ci).
#
#   bash tests/e2e/setup.sh            # re-runs take ~1 s
# Cache: ${TORCHMODE_E2E_CACHE:-~/.cache/torchmode-e2e}; writes paths.json there for run.mjs.
set -euo pipefail

CACHE="${TORCHMODE_E2E_CACHE:-$HOME/.cache/torchmode-e2e}"
CS_VERSION="${CODE_SERVER_VERSION:-4.100.3}"
CS_DIR="$CACHE/code-server-$CS_VERSION"
start=$(date +%s)
mkdir -p "$CACHE"

# 1. Debian packages
need=()
for p in chromium build-essential pkg-config python3 libkrb5-dev ripgrep; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "== apt-get install ${need[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. code-server from npm. Its engines pin one Node major; 4.100.x wants Node 20.
want_node="$(cat "$CS_DIR/node-major" 2>/dev/null || npm view "code-server@$CS_VERSION" engines.node | tr -dc '0-9.' | cut -d. -f1)"
have_node="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$want_node" != "$have_node" ]; then
  echo "code-server $CS_VERSION needs Node $want_node, this is Node $have_node (set CODE_SERVER_VERSION)" >&2
  exit 1
fi
if ! node "$CS_DIR/node_modules/code-server/out/node/entry.js" --version >/dev/null 2>&1; then
  echo "== npm install code-server@$CS_VERSION (builds native modules, ~1-3 min)"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  ( cd "$tmp" && npm pack --silent "code-server@$CS_VERSION" >/dev/null \
      && tar xzf code-server-*.tgz package/lib/vscode/npm-shrinkwrap.json )
  # @vscode/ripgrep's postinstall downloads rg from GitHub (not reachable here), but first
  # looks for the archive in $TMPDIR/vscode-ripgrep-cache-<version>/: seed it with Debian's rg.
  rg_ver="$(node -p "(require('$tmp/package/lib/vscode/npm-shrinkwrap.json').packages['node_modules/@vscode/ripgrep']||{}).version||''")"
  if [ -n "$rg_ver" ]; then
    ( cd "$tmp" && npm pack --silent "@vscode/ripgrep@$rg_ver" >/dev/null && tar xzf vscode-ripgrep-*.tgz package/lib/postinstall.js )
    rg_tag="$(sed -n "s/^const VERSION = '\(.*\)';/\1/p" "$tmp/package/lib/postinstall.js")"
    case "$(uname -m)" in x86_64) rg_target=x86_64-unknown-linux-musl ;; aarch64) rg_target=aarch64-unknown-linux-musl ;; *) echo "unsupported arch" >&2; exit 1 ;; esac
    rg_cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-$rg_ver"
    mkdir -p "$rg_cache" "$tmp/rg"
    cp "$(command -v rg)" "$tmp/rg/rg"
    tar czf "$rg_cache/ripgrep-$rg_tag-$rg_target.tar.gz" -C "$tmp/rg" rg
  fi
  mkdir -p "$CS_DIR"
  echo "$want_node" > "$CS_DIR/node-major"
  [ -f "$CS_DIR/package.json" ] || echo '{"name":"torchmode-e2e-code-server","private":true}' > "$CS_DIR/package.json"
  # npm_config_unsafe_perm: code-server's postinstall refuses to run as root without it.
  # npm_config_yes: node-pty's postinstall runs `npx node-gyp` (an .npmrc may say yes=false).
  ( cd "$CS_DIR" && env npm_config_yes=true npm_config_unsafe_perm=true \
      npm install --no-audit --no-fund --loglevel=error --save-exact "code-server@$CS_VERSION" ) \
    > "$CACHE/code-server-$CS_VERSION-install.log" 2>&1 \
    || { tail -40 "$CACHE/code-server-$CS_VERSION-install.log"; echo "code-server install failed; log: $CACHE/code-server-$CS_VERSION-install.log" >&2; exit 1; }
fi

# 3. playwright-core from the repository's devDependencies
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
if [ ! -f "$ROOT/node_modules/playwright-core/package.json" ]; then
  echo "== npm ci (playwright-core is a devDependency)"
  ( cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error )
fi

cs_line="$(node "$CS_DIR/node_modules/code-server/out/node/entry.js" --version 2>/dev/null | tail -1)"
cat > "$CACHE/paths.json" <<EOF
{
  "codeServer": "$CS_DIR/node_modules/code-server/out/node/entry.js",
  "codeServerVersion": "$cs_line",
  "node": "$(command -v node)",
  "chromium": "$(command -v chromium)",
  "chromiumVersion": "$(chromium --version 2>/dev/null | head -1)"
}
EOF
echo "code-server  $cs_line"
echo "chromium     $(chromium --version 2>/dev/null | head -1)"
echo "node         $(node --version)"
echo "paths        $CACHE/paths.json ($(( $(date +%s) - start )) s)"
