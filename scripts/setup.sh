#!/usr/bin/env bash
# Set up BERT Playground on a fresh machine: a virtual environment in .venv with the pinned
# requirements; with --dev also the test requirements, Debian's Chromium for browser tests and nginx for the
# lecture-hall test; with --nginx only nginx on top (`make classroom`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
dev=0 nginx=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 nginx=1 ;;
    --nginx) nginx=1 ;;
    *) echo "setup.sh: unknown option $arg (--dev, --nginx)" >&2; exit 2 ;;
  esac
done
[ -x .venv/bin/python ] || "$PY" -m venv .venv
reqs=requirements.txt
if [ $dev = 1 ]; then reqs="$reqs requirements-dev.txt"; fi
stamp=.venv/.installed-$(cat $reqs pyproject.toml | sha1sum | cut -c1-12)  # reinstall when the pins change
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q torch==2.13.0   # CPU build first (see requirements.txt)
  if [ $dev = 1 ]; then
    .venv/bin/python -m pip install -q -r requirements-dev.txt
  else
    .venv/bin/python -m pip install -q -r requirements.txt
  fi
  # the package itself, editable (imports work from anywhere; `bert-playground` on the venv's PATH)
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
  touch "$stamp"
fi
# Debian packages: chromium (browser tests) and nginx (the lecture hall: scripts/classroom.sh and its test).
# nginx is only installed, never started as a service: classroom.sh runs it as the current user.
debs=()
if [ $dev = 1 ] && [ ! -x /usr/bin/chromium ]; then debs+=(chromium); fi
if [ $nginx = 1 ] && ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then debs+=(nginx); fi
if [ ${#debs[@]} -gt 0 ]; then
  echo "Installing Debian's ${debs[*]} (browser tests, lecture hall)…"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  if command -v apt-get >/dev/null; then
    $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}" >/dev/null
  else
    echo "No apt-get here: install ${debs[*]} yourself (Chromium at /usr/bin/chromium; the tests that need them skip)." >&2
  fi
fi
