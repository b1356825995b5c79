#!/usr/bin/env bash
# Installs Beck's build and test dependencies from Debian's packages.
# Idempotent: installs only what is missing, and runs `apt-get update` only
# when something must be installed. Run as root (or with sudo available).
# Ends with the npm packages of tests/integration/kafkajs (its setup.sh).
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libuv1-dev libyaml-dev libsqlite3-dev libpq-dev libcmocka-dev
  librdkafka-dev libjansson-dev zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev
  kcat python3 python3-confluent-kafka python3-kafka
  python3-snappy python3-lz4 python3-zstandard
  postgresql sqlite3
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# kafkajs (npm ci only when node_modules is missing or stale; node and npm come
# with the machine, not from apt); under sudo as the invoking user, so the
# checkout keeps its owner.
kafkajs_setup() {
  local setup
  setup="$(dirname "${BASH_SOURCE[0]}")/../tests/integration/kafkajs/setup.sh"
  if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    sudo -u "$SUDO_USER" -- "$setup"
  else
    "$setup"
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  kafkajs_setup
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done" >&2
kafkajs_setup
