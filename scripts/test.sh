#!/usr/bin/env bash
# Runs the whole test suite, installing what the tests need first (Python packages, Debian's Chromium and
# PostgreSQL server: the tests start their own throwaway PostgreSQL cluster from its binaries).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# One worker more than the two cores: many tests spend their time waiting on servers and subprocesses they
# started (measured 220 s against 255 s with two). Pass -n 0 to run in one process.
exec .venv/bin/python -m pytest -n 3 "$@"
