#!/usr/bin/env bash
# Mutation testing of the Python layer with mutmut (pip install mutmut==3.8.1): each mutant of
# pycnn/functional.py, shapes.py, nn/, backends/ and io/ must fail the quick tier (the op, layer, plan and
# weights-file tests), or be explained by a list in tests/mutation/ (equivalent/<module>.txt: why it computes the same).
# Two passes, each in a staging folder of its own (build/mutation-*/pkg):
#   host: the modules of pyproject.toml's [tool.mutmut], on a CPU-only build;
#   cuda: the CUDA backend's mutants and those the host pass left alive that no list explains
#         (tests/mutation/cuda.toml), against the quick tier's CUDA runs on the CPU emulator's build.
# Then tests/mutation/score.py joins the two, prints the score and fails on any surviving mutant not listed.
#
#   tests/run_mutation.sh            # both passes and the score; results in build/mutation-results/
#                                    # (2-core Xeon: host pass 23 min, CUDA pass 9)
#   tests/run_mutation.sh cuda       # one pass again (the cuda pass reads the host pass's results)
#   MUTMUT_JOBS=4 tests/run_mutation.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=$(python3 -c 'import sys; print(sys.executable)')
results=$root/build/mutation-results
lists=$root/tests/mutation
mkdir -p "$results"
source "$root/tests/build_package.sh"

stage() {  # name, config file, CMake options...: builds and stages a pass in $pkg
  local name=$1 config=$2
  shift 2
  build=$root/build/mutation-$name
  build_package "$@"
  cp "$build"/*.so "$pkg/pycnn/"
  cp -r "$root/tests" "$pkg/"
  cp "$config" "$pkg/pyproject.toml"
}

mutate() {  # name, mutant names or patterns...: runs mutmut in $pkg and writes the pass's results
  local name=$1
  shift
  echo "run_mutation.sh: the $name pass" >&2
  (cd "$pkg" && PYTHONPATH=$pkg/tests mutmut run --max-children "${MUTMUT_JOBS:-2}" "$@" > "$results/$name.log" 2>&1 &&
     mutmut results --all true > "$results/$name.txt")
}

host_pass() {
  stage host "$root/pyproject.toml" -DPYCNN_CUDA=OFF
  mutate host
}

# A mutant the host pass killed stays killed, and a listed one is explained; the CUDA runs judge the CUDA backend
# and the rest of what the host pass left alive.
cuda_pass() {
  local alive
  stage cuda "$root/tests/mutation/cuda.toml" -DPYCNN_CUDA_EMULATOR=ON
  alive=$("$python" "$lists/score.py" --unexplained "$results/host.txt")
  # shellcheck disable=SC2086  # one mutant name per word
  mutate cuda 'pycnn.backends.cuda.*' $alive
}

passes=("$@")
[ ${#passes[@]} -gt 0 ] || passes=(host cuda)
for pass in "${passes[@]}"; do
  case $pass in
    host) host_pass ;;
    cuda) cuda_pass ;;
    *) echo "run_mutation.sh: no pass named $pass (host, cuda)" >&2; exit 2 ;;
  esac
done
"$python" "$lists/score.py" "$results/host.txt" "$results/cuda.txt"
