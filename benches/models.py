"""The classic networks end to end: pycnn beside PyTorch and ONNX Runtime (OpenVINO when installed).

    python benches/models.py [--models alexnet,resnet50] [--batch 1] [--threads 2] [--repeat 10] [--json PATH]
                             [--isolated [--rounds 3]]

The same as `pycnn bench` (pycnn/bench/ holds the models, the peers and the timer): torchvision's architecture
and random weights (non-trivial BatchNorm statistics) in every runtime, all in float32, timed alternately in one
process, or with --isolated each runtime in processes of its own, alternating round by round. Prints the CPU and
its caches, median ms (p10-p90), images/s, GFLOP/s, % of the FMA peak, pycnn's ratio to each peer, the first-call
cost (tracing, packing) and pycnn's max error relative to torch's logits.
"""

from __future__ import annotations

import sys

from pycnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
