#!/usr/bin/env bash
# Installs kafkajs for test_kafkajs.mjs from package-lock.json (`npm ci`),
# only when node_modules is missing or was installed from another
# package.json / package-lock.json (a stamp in node_modules records their
# hash). Quiet when there is nothing to do. Needs node and npm on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "kafkajs setup: node and npm are needed on PATH (tests/integration/kafkajs)" >&2
  exit 1
fi

stamp=node_modules/.beck-setup-stamp
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f node_modules/kafkajs/package.json ]; then
  exit 0
fi

echo "kafkajs setup: npm ci in tests/integration/kafkajs" >&2
npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" >"$stamp"
