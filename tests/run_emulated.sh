#!/usr/bin/env bash
# The CUDA tests without a GPU: pycnn._cuda built for the CPU emulator (-DPYCNN_CUDA_EMULATOR=ON, see
# CONTRIBUTING.md), which runs the CUDA kernels' indexing, epilogues and barriers, and the CUDA model plans.
# It runs every test marked `cuda`: the CUDA run of each device-parametrised test (conftest.py's `device`
# fixture) and tests/cuda/.
#
#   tests/run_emulated.sh                    # about 5 minutes on 2 cores, most of it the build
#   tests/run_emulated.sh -k pool            # any pytest arguments
#   tests/run_emulated.sh tests/ops -q       # paths (relative to the checkout) narrow the run
#
# Builds into build/emulated (needs cmake, ninja or make, pybind11; tests/build_package.sh), puts the Python
# sources beside the extensions in build/emulated/pkg and runs pytest there.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${PYCNN_EMULATED_BUILD:-$root/build/emulated}
python=$(python3 -c 'import sys; print(sys.executable)')
source "$root/tests/build_package.sh"
build_package -DPYCNN_CUDA_EMULATOR=ON
cp "$build"/_core.*.so "$build"/_cuda.*.so "$pkg/pycnn/"

export PYTHONPATH=$pkg:$root/tests
cd "$pkg"  # not the checkout: its pycnn/ has no emulated extension
"$python" -c 'import pycnn.cuda, sys; sys.exit(not pycnn.cuda.is_available())' || {
  echo "run_emulated.sh: the emulated build reports no device" >&2
  exit 2
}
paths=() options=()
for arg in "$@"; do
  if [[ $arg != -* && -e $root/${arg%%::*} ]]; then paths+=("$root/$arg"); else options+=("$arg"); fi
done
((${#paths[@]})) || paths=("$root/tests")
exec "$python" -m pytest -p no:cacheprovider --rootdir "$root" -m cuda "${options[@]}" "${paths[@]}"
