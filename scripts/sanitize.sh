#!/usr/bin/env bash
# The C++ tests built with sanitizers, then run; any sanitizer report fails.
#
#   scripts/sanitize.sh address    AddressSanitizer + UndefinedBehaviorSanitizer, in build-asan/
#   scripts/sanitize.sh thread     ThreadSanitizer, in build-tsan/
#   scripts/sanitize.sh all        both, one after the other
#
# Only the GoogleTest executables are built and run: the kernel and the
# Python module run inside Debian's Python, which is not built with
# sanitizers. A first build takes a while (every source, with the
# instrumentation); later ones are incremental. Extra arguments go to ctest
# (for example -R Cpu to run some tests only).
#
# Environment: LOOPSCOPE_JOBS (default: nproc).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="${LOOPSCOPE_JOBS:-$(nproc)}"
say() { printf '\033[1m[loopscope]\033[0m %s\n' "$*"; }

kind="${1:-}"
shift || true
case "$kind" in
  address) dir="$ROOT/build-asan" ;;
  thread) dir="$ROOT/build-tsan" ;;
  all)
    "$0" address "$@"
    exec "$0" thread "$@"
    ;;
  *)
    echo "usage: scripts/sanitize.sh address|thread|all [ctest arguments]" >&2
    exit 2
    ;;
esac

"$ROOT/scripts/setup.sh" >/dev/null  # packages and the venv (NVRTC for the CUDA tests)

if [ ! -f "$dir/CMakeCache.txt" ]; then
  say "configuring $dir (LOOPSCOPE_SANITIZE=$kind)"
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOOPSCOPE_SANITIZE="$kind" >/dev/null
fi
say "building the C++ tests with the $kind sanitizer"
cmake --build "$dir" -j "$JOBS" --target test_analysis test_costmodel test_jit test_kernel

# halt_on_error and abort_on_error make every report a failed test.
# Leaks: the embedded CPython of the analysis tests keeps its objects until
# exit, and LLVM's ORC keeps its own until the process ends: leak checking
# would only list those, so it is off.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=0:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
# NVRTC opens its builtins library through its own $ORIGIN run path, which
# the sanitizers' dlopen interceptor does not resolve: name the directory.
for nvrtc in "$ROOT"/.venv/lib/python3*/site-packages/nvidia/cu13/lib; do
  [ -d "$nvrtc" ] && export LD_LIBRARY_PATH="$nvrtc${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
say "running the C++ tests ($kind)"
ctest --test-dir "$dir" --output-on-failure -j "$JOBS" "$@"
