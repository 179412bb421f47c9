#!/usr/bin/env bash
# The CUDA path checked on any machine with an NVIDIA GPU, a CUDA toolkit and torch, in one call (under 10
# minutes): build and install pycnn with its CUDA kernels, run every CUDA test (`-m cuda` over tests/: the
# device-parametrised op, layer and model tests and tests/cuda) against the installed package, then
# benches/cuda_models.py (models beside torch + cuDNN) and benches/cuda_layers.py (every conv layer). No network
# needed. Logs and JSON go to $OUT
# (default ./cuda-check-out); $OUT/summary.txt has each stage's exit status and the result lines.
#
#   bash .ci/gpu-check.sh                          # on the GPU machine, from anywhere
#   python3 .ci/gpu_test_deps.py build/gpu-deps    # beforehand, on a machine with pytest and hypothesis:
#                                                     # carry build/gpu-deps if the GPU machine may lack them
# Stage time limits in seconds (environment): BUILD_S=180, TESTS_S=150, MODELS_S=150, LAYERS_S=80; a stage that
# runs out is stopped and the next one starts, so the whole script stays within one 600 s device command.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
OUT=${OUT:-$REPO/cuda-check-out}
INSTALL=${INSTALL:-/tmp/pycnn}
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
JOBS=${JOBS:-$(nproc)}

stage() {  # stage NAME SECONDS COMMAND...: runs COMMAND with a time limit, output to $OUT/NAME.log
  local name=$1 seconds=$2
  shift 2
  local start=$SECONDS
  timeout --kill-after=10 "$seconds" "$@" > "$OUT/$name.log" 2>&1
  local status=$?
  echo "$name: exit $status after $((SECONDS - start)) s (limit $seconds s)" | tee -a "$SUMMARY"
  return $status
}

{
  echo "== machine"; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  echo "== nvcc"; nvcc --version 2>&1 | tail -2
  echo "== cmake"; cmake --version 2>&1 | head -1
  echo "== python"; python3 - <<'EOF' 2>&1
import importlib, sys
print(sys.version.split()[0])
for name in ("numpy", "torch", "torchvision", "pybind11", "scikit_build_core", "pytest", "hypothesis"):
    try:
        module = importlib.import_module(name)
        print(f"{name} {getattr(module, '__version__', '?')}")
    except Exception as e:
        print(f"{name}: {type(e).__name__}: {e}")
import torch
print("torch.cuda", torch.cuda.is_available(), torch.version.cuda, "cuDNN", torch.backends.cudnn.version())
EOF
} > "$OUT/environment.log" 2>&1
cat "$OUT/environment.log" >> "$SUMMARY"

# 1. Build: every default architecture (sm_80, sm_90, compute_90 PTX), CUDA required, warnings are errors.
rm -rf "$INSTALL"
stage build "${BUILD_S:-180}" env CMAKE_BUILD_PARALLEL_LEVEL="$JOBS" python3 -m pip install -v --no-build-isolation \
  --no-deps --target "$INSTALL" -Ccmake.define.PYCNN_CUDA=ON -Ccmake.define.PYCNN_CUDA_WERROR=ON "$REPO"
grep -E "pycnn: CUDA|warning|error" "$OUT/build.log" | grep -v -- "-Werror\|-Wall" | head -20 >> "$SUMMARY"

export PYTHONPATH=$INSTALL
if ! python3 -c "import pytest, hypothesis" 2>/dev/null && [ -d "$REPO/build/gpu-deps" ]; then
  export PYTHONPATH=$INSTALL:$REPO/build/gpu-deps
  echo "pytest/hypothesis taken from build/gpu-deps" >> "$SUMMARY"
fi
ELSEWHERE=$(mktemp -d)  # neither the checkout (its pycnn/ has no compiled modules) nor the install's parent
(cd "$ELSEWHERE" && python3 -c "import pycnn; pycnn.show_config()") >> "$SUMMARY" 2>&1

# 2. Tests, against the installed package.
(cd "$ELSEWHERE" && stage tests "${TESTS_S:-150}" python3 -m pytest "$REPO/tests" -m cuda -c "$REPO/pyproject.toml" \
  --rootdir "$REPO" -q -rs -p no:cacheprovider --durations=15 --junitxml="$OUT/test_cuda.xml")
tail -25 "$OUT/tests.log" >> "$SUMMARY"

# 3. Benchmarks: the models at batch 1 and 64 in each precision, then every conv layer at batch 64.
stage models "${MODELS_S:-150}" python3 benches/cuda_models.py --repeat 10 --json "$OUT/cuda_models.json"
tail -12 "$OUT/models.log" >> "$SUMMARY"
stage layers "${LAYERS_S:-80}" python3 benches/cuda_layers.py --batch 64 --repeat 5
tail -3 "$OUT/layers.log" >> "$SUMMARY"

echo "== done in $SECONDS s" >> "$SUMMARY"
cat "$SUMMARY"
