#!/usr/bin/env bash
# Install the editors the editor tests drive, from Debian's packages, idempotently:
# Neovim 0.7 (built-in LSP client) and Emacs 28 with eglot 1.9 (batch mode).
#   bash tests/editors/setup.sh
set -euo pipefail
need=()
for p in neovim emacs-nox elpa-eglot; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "== apt-get install ${need[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
printf 'nvim: %s\nemacs: %s\n' "$(nvim --version | head -1)" "$(emacs --version | head -1)"
