#!/usr/bin/env bash
# Installs whatever is missing for Loopscope and builds it. Idempotent: when
# everything is in place it only runs an incremental build (a few seconds).
#
#   scripts/setup.sh           Debian packages, .venv, build, kernelspec
#
# Environment: LOOPSCOPE_BUILD_DIR (default: build), LOOPSCOPE_JOBS (default: nproc).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${LOOPSCOPE_BUILD_DIR:-$ROOT/build}"
VENV="$ROOT/.venv"
JOBS="${LOOPSCOPE_JOBS:-$(nproc)}"
say() { printf '\033[1m[loopscope]\033[0m %s\n' "$*"; }

# 1. Debian packages ----------------------------------------------------------
mapfile -t PACKAGES < <(grep -v '^\s*#' "$ROOT/scripts/debian-packages.txt" | sed '/^\s*$/d')
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# 2. The virtual environment, from Debian's Python ------------------------------
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
  say "creating $VENV from /usr/bin/python3"
  rm -rf "$VENV"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
REQ_HASH="$(sha256sum "$ROOT/scripts/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$VENV/.loopscope-requirements" 2>/dev/null)" != "$REQ_HASH" ]; then
  say "installing PyPI packages into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/scripts/requirements.txt"
  echo "$REQ_HASH" > "$VENV/.loopscope-requirements"
fi
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
# The loopscope package (pure Python, from the source tree) and the _loopscope
# extension (from the build tree) are importable in the venv.
printf '%s\n%s\n' "$ROOT/kernel/python" "$BUILD/python" > "$SITE/loopscope-dev.pth"

# 3. The build ------------------------------------------------------------------
# No CUDA toolkit is needed: the engine loads NVRTC at run time, from the
# nvidia-cuda-nvrtc package installed above (or a toolkit, when there is one),
# and the CUDA driver from the NVIDIA driver, when there is one.
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  say "configuring $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
say "building"
cmake --build "$BUILD" -j "$JOBS"

# 4. The kernelspec, inside the venv (found by the venv's jupyter) -------------
KDIR="$VENV/share/jupyter/kernels/loopscope"
mkdir -p "$KDIR"
cp "$ROOT/share/kernelspec/"logo-* "$KDIR/"
"$VENV/bin/python" - "$KDIR/kernel.json" "$BUILD/xloopscope" "$VENV/bin/python3" <<'PY'
import json, sys
path, exe, python = sys.argv[1:]
spec = {
    "display_name": "Python 3 (Loopscope)",
    "argv": [exe, "--python", python, "-f", "{connection_file}"],
    "language": "python",
    "interrupt_mode": "signal",
    "env": {"PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    "metadata": {"debugger": True},
}
with open(path, "w") as f:
    json.dump(spec, f, indent=2)
PY
say "ready: kernelspec 'loopscope' -> $KDIR"
