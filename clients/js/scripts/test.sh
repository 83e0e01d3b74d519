#!/usr/bin/env bash
# Everything for the TypeScript client, from a fresh clone, given a built server binary
# (cargo build -p authfort-server, or AUTHFORT_BIN=/path/to/authfort) and /usr/bin/chromium
# (or CHROMIUM_PATH):
#   npm ci → typecheck → build (ESM + CJS + .d.ts) → unit tests → integration tests against
#   the real binary → example app: npm ci, build, browser test in headless Chromium.
set -euo pipefail
JS="$(cd "$(dirname "$0")/.." && pwd)"
ROOT="$(cd "$JS/../.." && pwd)"
EXAMPLE="$ROOT/examples/magic-link-vanilla"

export AUTHFORT_BIN="${AUTHFORT_BIN:-$ROOT/target/debug/authfort}"
if [ ! -x "$AUTHFORT_BIN" ]; then
  echo "authfort binary not found at $AUTHFORT_BIN (cargo build -p authfort-server)" >&2
  exit 1
fi

npm_ci() { (cd "$1" && npm ci --no-audit --no-fund --loglevel=error); }

echo "== authfort-client: install, typecheck, build"
npm_ci "$JS"
(cd "$JS" && npx tsc --noEmit && npx tsup --silent)

echo "== authfort-client: unit tests"
(cd "$JS" && npx vitest run --project unit)

echo "== authfort-client: integration tests (real server)"
(cd "$JS" && npx vitest run --project integration)

echo "== example: install, build, browser test"
npm_ci "$EXAMPLE"
(cd "$EXAMPLE" && npx vite build --logLevel warn && node --test test/)
