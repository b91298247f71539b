#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages, from Debian's packages: PostgreSQL 15 binaries
# (the tests start their own throwaway cluster, never a shared one, so the package's cluster is stopped)
# and Chromium (the dashboard's end-to-end tests drive /usr/bin/chromium with playwright-core; no
# browser is ever downloaded), and Debian's Python with pytest and setuptools for the Python SDK's tests
# (they run /usr/bin/python3, never a pyenv or virtualenv shim; setuptools builds its package offline).
set -euo pipefail
missing=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/python3 ] || missing+=(python3)
/usr/bin/python3 -c 'import pytest' >/dev/null 2>&1 || missing+=(python3-pytest)
/usr/bin/python3 -c 'import setuptools' >/dev/null 2>&1 || missing+=(python3-setuptools)
# pip (with wheel) for the packaging tests: `pip install --no-build-isolation` and the wheel build.
/usr/bin/python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: run 'sudo apt-get install -y ${missing[*]}' and try again" >&2
    exit 1
  fi
  echo "installing from Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
fi
