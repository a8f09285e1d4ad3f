#!/usr/bin/env bash
# Set up BERT Playground on a fresh machine: a virtual environment in .venv with the pinned
# requirements; with --dev also the test requirements and Debian's Chromium for browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
reqs=requirements.txt
if [ "${1:-}" = --dev ]; then reqs="$reqs requirements-dev.txt"; fi
stamp=.venv/.installed-$(cat $reqs pyproject.toml | sha1sum | cut -c1-12)  # reinstall when the pins change
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q torch==2.13.0   # CPU build first (see requirements.txt)
  if [ "${1:-}" = --dev ]; then
    .venv/bin/python -m pip install -q -r requirements-dev.txt
  else
    .venv/bin/python -m pip install -q -r requirements.txt
  fi
  # the package itself, editable (imports work from anywhere; `bert-playground` on the venv's PATH)
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
  touch "$stamp"
fi
if [ "${1:-}" = --dev ] && [ ! -x /usr/bin/chromium ]; then
  echo "Installing Debian's chromium for the browser tests…"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  if command -v apt-get >/dev/null; then
    $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "No apt-get here: install Chromium at /usr/bin/chromium yourself (browser tests skip without it)." >&2
  fi
fi
