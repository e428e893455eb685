#!/usr/bin/env bash
# Creates the project virtual environment (.venv) with the pinned Python dependencies, and
# web/node_modules with the pinned browser libraries the room serves (npm ci, from the lock).
# Idempotent: a second run only re-installs when pyproject.toml or constraints.txt (or
# web/package-lock.json) changed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

python=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python="$candidate"; break
  fi
done
[ -n "$python" ] || { echo "bootstrap: Python 3.11 is required (python3.11 not found)" >&2; exit 1; }

for tool in java mvn go; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bootstrap: '$tool' is required to fetch and run Kafka/MinIO" >&2; exit 1; }
done
command -v npm >/dev/null 2>&1 || { echo "bootstrap: 'npm' is required to install the room's browser libraries (web/)" >&2; exit 1; }

# Browser libraries (Swagger UI for the room's /docs): exact versions from the lock file, no
# install scripts (one of them only reports analytics), never a CDN at run time.
web_stamp="web/node_modules/.vigie-installed"
web_want="$(sha256sum web/package-lock.json | cut -d' ' -f1)"
if [ ! -f "$web_stamp" ] || [ "$(cat "$web_stamp")" != "$web_want" ]; then
  (cd web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$web_want" > "$web_stamp"
  echo "bootstrap: web/node_modules ready"
fi

stamp=".venv/.vigie-installed"
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
echo "$want" > "$stamp"
echo "bootstrap: .venv ready"
