#!/usr/bin/env bash
# `npm run bench [-- --quick | --full]`: builds berth when needed, then runs the benchmark
# (dist/bench/main.js). Needs root: it creates network namespaces and starts daemons in them.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_nodedir=/usr
if [ "$(id -u)" != 0 ]; then
  echo "bench: needs root (network namespaces, netlink, runc, the peers' daemons)" >&2
  exit 1
fi
if [ ! -d node_modules ] || [ ! -f build/Release/berth_native.node ] || [ ! -x dist/bin/berth-shim ]; then
  echo "bench: first build (scripts/setup.sh)" >&2
  bash scripts/setup.sh --quiet
elif [ ! -f dist/bench/main.js ] || [ -n "$(find src bench test -name '*.ts' -newer dist/bench/main.js -print -quit)" ]; then
  echo "bench: compiling TypeScript" >&2
  # Emits even when another part of the tree has type errors; the benchmark runs what was emitted.
  npx --no-install tsc -p tsconfig.json >&2 || echo "bench: tsc reported errors (above); running what was emitted" >&2
fi
exec node dist/bench/main.js "$@"
