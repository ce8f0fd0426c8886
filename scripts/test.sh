#!/usr/bin/env bash
# The test command, defined once: `make test` runs it with .venv first on PATH, .ci/run with its
# fresh CI environment active. Extra arguments go to pytest (scripts/test.sh tests/test_docs.py).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python -m pytest -q "$@"
