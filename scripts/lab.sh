#!/usr/bin/env bash
# The main job: sets up whatever is missing (scripts/setup.sh), then starts
# JupyterLab with the Loopscope kernel as the default kernel.
#
#   scripts/lab.sh [--headless] [FOLDER] [any jupyter lab option]
#
# FOLDER (or --notebook-dir=..., --ServerApp.root_dir=...): what to serve;
# the tutorial notebooks/ by default.
# --headless: no browser, listen on all interfaces (unless --ip is given),
# print the URL with its token.
# Every other option goes to `jupyter lab` unchanged (--port, --ip, ...).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"

args=()
folder=""
headless=0
has_ip=0
has_dir=0
for a in "$@"; do
  case "$a" in
    --headless) headless=1 ;;
    --ip|--ip=*|--ServerApp.ip|--ServerApp.ip=*) has_ip=1; args+=("$a") ;;
    --notebook-dir|--notebook-dir=*|--ServerApp.root_dir|--ServerApp.root_dir=*|--ServerApp.notebook_dir|--ServerApp.notebook_dir=*)
      has_dir=1; args+=("$a") ;;
    -*) args+=("$a") ;;
    *)
      # A bare word is the folder to serve, unless it is the value of the
      # option before it (`--port 8890`).
      prev="${args[${#args[@]}-1]:-}"
      if [ -z "$folder" ] && [ -d "$a" ] && [[ "$prev" != -* || "$prev" == *=* ]]; then
        folder="$a"
      else
        args+=("$a")
      fi
      ;;
  esac
done
if [ "$headless" -eq 1 ]; then
  args+=(--no-browser)
  if [ "$has_ip" -eq 0 ]; then args+=(--ip=0.0.0.0); fi
fi
if [ "$has_dir" -eq 0 ]; then
  if [ -n "$folder" ]; then
    args+=("--notebook-dir=$(cd "$folder" && pwd)")
  else
    args+=("--notebook-dir=$ROOT/notebooks")
  fi
fi
if [ "$(id -u)" -eq 0 ]; then args+=(--allow-root); fi

export PYDEVD_DISABLE_FILE_VALIDATION=1
exec "$ROOT/.venv/bin/jupyter" lab --MultiKernelManager.default_kernel_name=loopscope "${args[@]}"
