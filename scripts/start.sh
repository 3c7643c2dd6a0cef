#!/usr/bin/env bash
# Quick start: install, migrate, seed demo data on an empty database, then serve on http://127.0.0.1:5000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export FLASK_APP=wsgi
.venv/bin/flask db upgrade
if [ "$(.venv/bin/flask users list --json | .venv/bin/python -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0 ]; then
  .venv/bin/flask demo seed
fi
# The dev server runs one job-worker thread so grades and rosters sync without a second process.
export COURSEPORT_JOBS_INLINE=${COURSEPORT_JOBS_INLINE:-1}
exec .venv/bin/flask run --host 127.0.0.1 --port 5000
