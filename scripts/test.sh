#!/usr/bin/env bash
# Runs the whole test suite, installing what the tests need first (Python packages, Debian's Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
if [ ! -x /usr/bin/chromium ]; then
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
# Two workers on the two cores; pass -n 0 to run in one process.
exec .venv/bin/python -m pytest -n auto "$@"
