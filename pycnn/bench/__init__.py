"""pycnn's benchmark: the classic models in pycnn beside PyTorch, ONNX Runtime and OpenVINO (when importable),
same weights, all in float32, timed in alternation in one process or (isolated.py) each runtime in processes of
its own. ``pycnn bench`` is its command line."""

from .peers import available_peers
from .report import format_table, to_json
from .results import BenchReport, BenchSettings, ModelResult, PeerResult
from .runner import run_benchmark
from .timing import alternating_times, medians

__all__ = ["run_benchmark", "BenchSettings", "BenchReport", "ModelResult", "PeerResult", "available_peers",
           "format_table", "to_json", "alternating_times", "medians"]
