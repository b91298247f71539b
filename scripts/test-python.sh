#!/usr/bin/env bash
# The Python SDK's tests (packages/python/tests) with Debian's interpreter and pytest: /usr/bin/python3,
# never a pyenv or virtualenv shim, so CI and a developer run the same Python. No bytecode or pytest cache
# is written into the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=/usr/bin/python3
if [ ! -x "$PYTHON" ]; then
  echo "test:python: $PYTHON is missing: run 'bash scripts/install-test-deps.sh' (Debian's python3) and try again" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import pytest' 2>/dev/null; then
  echo "test:python: pytest is missing for $PYTHON: run 'bash scripts/install-test-deps.sh' (or 'apt-get install -y python3-pytest') and try again" >&2
  exit 1
fi
export PYTHONDONTWRITEBYTECODE=1
exec "$PYTHON" -m pytest -q -p no:cacheprovider packages/python/tests "$@"
