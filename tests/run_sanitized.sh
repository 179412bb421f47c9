#!/usr/bin/env bash
# The test suite against a core built with AddressSanitizer and UndefinedBehaviorSanitizer (-DPYCNN_SANITIZE=ON).
#
#   tests/run_sanitized.sh                                   # the whole suite: about 15 minutes on 2 cores
#   tests/run_sanitized.sh -x tests/ops/test_conv2d.py -k depthwise   # any pytest arguments
#
# Builds into build/sanitize (GCC; needs cmake, ninja or make, pybind11), puts the Python sources beside the
# sanitized extension in build/sanitize/pkg, and runs pytest there with libasan preloaded into Python (which
# is not itself built with ASan). Any ASan report or UBSan finding ends the process with an error, so a
# finding fails its test, or the run.
#
# Leak checking is off: LeakSanitizer stops the world with ptrace, which containers often forbid, and at exit
# it would report the interpreter's own never-freed allocations. tests/kernels/test_memory.py checks pycnn for leaks.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${PYCNN_SANITIZE_BUILD:-$root/build/sanitize}
python=$(python3 -c 'import sys; print(sys.executable)')  # the interpreter itself, not a wrapper script
source "$root/tests/build_package.sh"
build_package -DPYCNN_SANITIZE=ON -DPYCNN_CUDA=OFF
cp "$build"/_core.*.so "$pkg/pycnn/"

compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
libasan=$("$compiler" -print-file-name=libasan.so)
if [[ ! -f $libasan ]]; then
  echo "run_sanitized.sh: $compiler has no libasan.so (GCC is needed)" >&2
  exit 2
fi

# libstdc++ is preloaded too: ASan resolves its __cxa_throw interceptor at start-up, and Python itself does not
# link libstdc++, so an exception thrown by a C++ extension would otherwise abort. hard_rss_limit_mb stands in
# for the RLIMIT_AS that sandboxed tests cannot set next to ASan's shadow memory.
export LD_PRELOAD="$libasan $("$compiler" -print-file-name=libstdc++.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:hard_rss_limit_mb=12288:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export PYTHONPATH=$pkg:$root/tests
export PYCNN_SANITIZED=1
args=()
paths=0
for arg in "$@"; do  # paths made absolute, since pytest runs from another directory
  file=${arg%%::*}
  if [[ -e $file ]]; then
    arg="$(cd "$(dirname "$file")" && pwd)/$(basename "$file")${arg:${#file}}"
    paths=$((paths + 1))
  fi
  args+=("$arg")
done
if [[ $paths -eq 0 ]]; then args+=("$root/tests"); fi
cd "$pkg"  # not the checkout: its pycnn/ has no sanitized extension
exec "$python" -m pytest -p no:cacheprovider --rootdir "$root" "${args[@]}"
