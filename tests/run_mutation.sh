#!/usr/bin/env bash
# Mutation testing of the Python layer with mutmut (pip install mutmut==3.8.1): each mutant of
# pycnn/functional.py, shapes.py, nn/, backends/ and io/ must fail the quick tier (the op, layer, plan and
# weights-file tests), or be listed in tests/mutation/equivalent/<module>.txt with the reason it computes the same.
# Two passes, each in a staging folder of its own (build/mutation-*/pkg):
#   host: the modules of pyproject.toml's [tool.mutmut], on a CPU-only build;
#   cuda: the CUDA backend and what only a device calls (tests/mutation/cuda.toml), against the quick tier's
#         CUDA runs on the CPU emulator's build.
# Then tests/mutation/score.py joins the two, prints the score and fails on any surviving mutant not listed.
#
#   tests/run_mutation.sh            # results in build/mutation-results/; over an hour on 2 cores at present
#   MUTMUT_JOBS=4 tests/run_mutation.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=$(python3 -c 'import sys; print(sys.executable)')
results=$root/build/mutation-results
mkdir -p "$results"
source "$root/tests/build_package.sh"

run_pass() {  # name, config file, CMake options...
  local name=$1 config=$2
  shift 2
  build=$root/build/mutation-$name
  build_package "$@"
  cp "$build"/*.so "$pkg/pycnn/"
  cp -r "$root/tests" "$pkg/"
  cp "$config" "$pkg/pyproject.toml"
  echo "run_mutation.sh: the $name pass" >&2
  (cd "$pkg" && PYTHONPATH=$pkg/tests mutmut run --max-children "${MUTMUT_JOBS:-2}" > "$results/$name.log" 2>&1 &&
     mutmut results --all true > "$results/$name.txt")
}

run_pass host "$root/pyproject.toml" -DPYCNN_CUDA=OFF
run_pass cuda "$root/tests/mutation/cuda.toml" -DPYCNN_CUDA_EMULATOR=ON
"$python" "$root/tests/mutation/score.py" "$results/host.txt" "$results/cuda.txt" "$root/tests/mutation/equivalent"
