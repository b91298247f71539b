#!/usr/bin/env bash
# Installs what the test suite needs beyond npm packages: PostgreSQL 15 binaries from Debian.
# The tests start their own throwaway cluster (never a shared one), so the package's cluster is stopped.
set -euo pipefail
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL 15 is missing: run 'sudo apt-get install -y postgresql' and try again" >&2
    exit 1
  fi
  echo "installing PostgreSQL 15 from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
fi
