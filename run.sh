#!/usr/bin/env bash
# The whole product from a fresh clone: builds the admin console and the H5 client (when Node
# is installed), then the server, which carries both, and runs it on the embedded default
# (SQLite under ./data, the sandbox standing in for WeChat and the provider).
# Arguments go to `topup serve` (e.g. --listen 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")"
if command -v npm >/dev/null 2>&1; then
  (cd admin-web && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build)
  (cd client && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build:h5)
else
  echo "Node.js is not installed: the API runs, and / says how to build the console." >&2
fi
exec cargo run --release -p topup-server -- serve "$@"
