#!/usr/bin/env bash
# Set up a machine for stabgraph: system packages (Chromium for export and browser tests,
# fonts, poppler for PDF checks, Redis for the scale-out tests) and a virtualenv in .venv.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
APT_PACKAGES=(chromium chromium-headless-shell fonts-dejavu-core fonts-liberation poppler-utils redis-server)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${missing[*]}" >&2
    echo "setup: run:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.stabgraph-installed"
want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages into $VENV"
  log="$VENV/pip-install.log"
  pip() { "$VENV/bin/python" -m pip --disable-pip-version-check "$@" >>"$log" 2>&1 \
    || { cat "$log" >&2; echo "setup: pip install failed (log: $log)" >&2; exit 1; }; }
  : >"$log"
  pip install --upgrade pip
  pip install -r requirements-dev.txt
  pip install --no-deps -e .
  echo "$want" > "$stamp"
fi
# Bytecode for the project's own modules (the editable install leaves it to the first
# import, which cannot write it where PYTHONDONTWRITEBYTECODE is set: every command would
# then compile them again, a tenth of a second each time). Only changed files are redone.
"$VENV/bin/python" -m compileall -q stabgraph_core app >/dev/null
echo "setup: ready"
