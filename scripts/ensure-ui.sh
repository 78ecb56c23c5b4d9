#!/usr/bin/env bash
# Build the web app (ui/) into ui/dist, which `pytake serve` serves at /.
#   scripts/ensure-ui.sh          install (npm ci) when the lock file changed, then build
#   scripts/ensure-ui.sh --check  also lint, type-check and run the unit tests (make test)
# Needs Node.js 20 or newer; says so plainly when it is missing or too old.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../ui"

say() { echo "ensure-ui: $*"; }
die() { echo "ensure-ui: error: $*" >&2; exit 1; }

command -v node >/dev/null || die "Node.js 20 or newer is needed to build the web app \
(https://nodejs.org, or your system's package, e.g. 'apt-get install nodejs npm'); \
then run this again"
# Vite 8 needs Node.js 20.19 or newer.
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
    || die "Node.js $(node --version) is too old: the web app needs 20.19 or newer"

# node_modules/.package-lock.json is npm's record of what it installed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing the web app's packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
fi
if [ "${1:-}" = --check ]; then
    npm run --silent lint
    npm run --silent typecheck
    npm run --silent check:api
    npm run --silent test
fi
say "building the web app"
npm run --silent build
