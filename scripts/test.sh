#!/usr/bin/env bash
# Sets everything up (idempotently) and runs all of berth's tests: unit tests (no root needed),
# then integration tests that start berthd in throwaway network namespaces (root).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh" --quiet
cd "$here"
npm test
