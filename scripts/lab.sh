#!/usr/bin/env bash
# The main job: sets up whatever is missing (scripts/setup.sh), then starts
# JupyterLab on notebooks/ with the Loopscope kernel.
#
#   scripts/lab.sh [--headless] [--port N] [extra jupyter lab arguments]
#
# --headless: no browser, listen on all interfaces, print the URL with its token.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"

args=()
for a in "$@"; do
  case "$a" in
    --headless) args+=(--no-browser --ip=0.0.0.0) ;;
    *) args+=("$a") ;;
  esac
done
if [ "$(id -u)" -eq 0 ]; then args+=(--allow-root); fi

export PYDEVD_DISABLE_FILE_VALIDATION=1
cd "$ROOT/notebooks"
exec "$ROOT/.venv/bin/jupyter" lab --notebook-dir="$ROOT/notebooks" \
  --MultiKernelManager.default_kernel_name=loopscope "${args[@]}"
