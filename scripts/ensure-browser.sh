#!/usr/bin/env bash
# The browser the end-to-end tests drive: Debian's Chromium at /usr/bin/chromium (Playwright
# for Python drives it; nothing downloads a browser). Installs it with apt-get when absent.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
command -v apt-get >/dev/null || { echo "ensure-browser: error: install Chromium at /usr/bin/chromium" >&2; exit 1; }
if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
echo "ensure-browser: + apt-get install chromium"
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq chromium >/dev/null
