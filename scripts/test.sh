#!/usr/bin/env bash
# Runs every test: sets up whatever is missing (scripts/setup.sh), then the
# GoogleTest suites through ctest and the Python suites through pytest.
#
#   scripts/test.sh [extra pytest arguments]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${LOOPSCOPE_BUILD_DIR:-$ROOT/build}"
"$ROOT/scripts/setup.sh"

export PYDEVD_DISABLE_FILE_VALIDATION=1
export JUPYTER_PLATFORM_DIRS=1
# Tests get their own kernel cache and calibration, never the user's.
export XDG_CACHE_HOME="${LOOPSCOPE_TEST_CACHE:-$BUILD/test-cache}"
mkdir -p "$XDG_CACHE_HOME"

status=0
echo "== ctest =="
ctest --test-dir "$BUILD" --output-on-failure -j 2 || status=1
echo "== pytest =="
"$ROOT/.venv/bin/python" -m pytest "$ROOT/tests/python" -ra "$@" || status=1
exit $status
