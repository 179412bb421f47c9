#!/usr/bin/env bash
# The long fuzz run: every random sweep (tests marked `fuzz`) with N fresh cases each instead of the default
# run's few dozen seeded ones, plus N randomly damaged weights files. The last line of the report counts the
# cases per operator. Any pytest arguments follow N.
#
#   tests/run_fuzz.sh            # N = 2000: about 90,000 cases, 5 minutes on 2 cores
#   tests/run_fuzz.sh 200 -x     # a quick one that stops at the first failure
#
# A failure prints the falsifying example and a @reproduce_failure blob that replays it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
examples=${1:-2000}
shift || true
cd "$root"
PYCNN_FUZZ_EXAMPLES=$examples exec pytest -m fuzz -q -p no:cacheprovider "$@" tests
