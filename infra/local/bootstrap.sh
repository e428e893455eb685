#!/usr/bin/env bash
# Creates the project virtual environment (.venv) with the pinned Python dependencies.
# Idempotent: a second run only re-installs when pyproject.toml or constraints.txt changed.
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
