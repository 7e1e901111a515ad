#!/usr/bin/env bash
# prepare.sh [--tests] -- what `npm run demo` and `npm test` need on a fresh clone of a fresh machine:
# the npm packages (Node 24 among them), Debian's postgresql and redis-server, and for the tests Ceph's
# radosgw, Go with sprig (the Helm chart's render test) and Debian's kubectl 1.20. Idempotent and quiet
# when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "prepare: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
bash scripts/ensure-system.sh "$@"
if [ "${1:-}" = --tests ]; then
  bash scripts/ensure-kubectl.sh >/dev/null
fi
