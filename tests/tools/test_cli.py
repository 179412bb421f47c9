"""The `pycnn` command through subprocesses: help, tables, JSON, exit codes; and the bench's report in-process."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import pycnn
from pycnn.bench import BenchReport, BenchSettings, ModelResult, PeerResult, format_table, to_json
from pycnn.bench.progress import Progress

from reference import run_python

INSTALL_ROOT = Path(pycnn.__file__).resolve().parents[1]


def pycnn_command(*args: str, timeout: float = 300, **environment: str) -> subprocess.CompletedProcess[str]:
    """`python -m pycnn ARGS` from pycnn's install directory (from a checkout's root, -m would import the source
    tree, which has no compiled extension in CI), stderr a pipe: not a terminal; extra environment variables."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(INSTALL_ROOT), os.environ.get("PYTHONPATH")])),
           "MPLBACKEND": "Agg", **environment}
    return subprocess.run([sys.executable, "-m", "pycnn", *args], cwd=INSTALL_ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def table_rows(stdout: str) -> list[list[str]]:
    """The bench table from the header line ('model  median ms ...') to the footnote, cells split on 2+ spaces."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("model "))
    rows = []
    for line in lines[start:]:
        if line.startswith("GFLOP/s ="):
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


# --- help -------------------------------------------------------------------------------------------------------

def test_help_names_every_command_and_option() -> None:
    top = pycnn_command("--help")
    assert top.returncode == 0
    for word in ("bench", "summary", "plot", "--info", "examples:"):
        assert word in top.stdout, word
    bench = pycnn_command("bench", "--help")
    assert bench.returncode == 0
    for option in ("--models", "--batch", "--threads", "--repeat", "--device", "--json", "--peers", "pycnn.bench/2",
                   "percent_of_peak", "median ms", "resnet152"):
        assert option in bench.stdout, option
    summary = pycnn_command("summary", "--help")
    assert summary.returncode == 0 and "--input" in summary.stdout and "N,C,H,W" in summary.stdout
    plot = pycnn_command("plot", "complexity", "--help")
    assert plot.returncode == 0 and "--out" in plot.stdout and "IMAGENET1K_V1" in plot.stdout


def test_info_shows_the_configuration() -> None:
    result = pycnn_command("--info")
    assert result.returncode == 0
    assert f"pycnn {pycnn.__version__}" in result.stdout
    assert f"ISA used    {pycnn.isa()}" in result.stdout


# --- bench ------------------------------------------------------------------------------------------------------

def test_bench_table_and_json_with_peers(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = pycnn_command("bench", "--models", "resnet18", "--repeat", "2", "--threads", "2",
                           "--peers", "torch,onnxruntime", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr  # no progress bar when stderr is not a terminal
    header, *rows = table_rows(result.stdout)
    peak = "% peak" in header
    assert header == ["model", "median ms", "images/s", "GFLOP/s", *(["% peak"] if peak else []), "torch ms",
                      "pycnn/torch", "onnxruntime ms", "pycnn/onnxruntime", "1st call ms", "rel err"]
    assert len(rows) == 1 and len(rows[0]) == len(header) and rows[0][0] == "resnet18"
    cells = dict(zip(header, rows[0], strict=True))

    document = json.loads(out.read_text())
    assert set(document) == {"schema", "config", "settings", "peak_gflops", "results"}
    assert document["schema"] == "pycnn.bench/2"
    assert document["config"] == {**pycnn.config(), "threads": 2}
    assert document["settings"]["models"] == ["resnet18"]
    assert (document["settings"]["batch"], document["settings"]["threads"], document["settings"]["repeat"]) == (1, 2, 2)
    assert set(document["settings"]["peers"]) == {"torch", "onnxruntime"}
    assert (document["peak_gflops"] is not None) == peak
    [record] = document["results"]
    assert set(record) == {"model", "input_shape", "weights", "params", "macs", "pycnn", "peers", "max_rel_error"}
    assert record["input_shape"] == [1, 3, 224, 224]
    assert record["params"] == 11_689_512 and record["macs"] == 1_814_073_344
    numbers = record["pycnn"]
    assert len(numbers["times_ms"]) == 2 and numbers["median_ms"] == pytest.approx(sum(numbers["times_ms"]) / 2)
    assert numbers["images_per_s"] == pytest.approx(1e3 / numbers["median_ms"])
    assert numbers["gflops"] == pytest.approx(2 * record["macs"] / numbers["median_ms"] / 1e6)
    assert numbers["first_call_ms"] > 0
    for peer in ("torch", "onnxruntime"):
        timing = record["peers"][peer]
        assert len(timing["times_ms"]) == 2
        paired = sorted(a / b for a, b in zip(numbers["times_ms"], timing["times_ms"], strict=True))
        assert timing["ratio"] == pytest.approx(sum(paired) / 2)
        assert cells[f"{peer} ms"] == f"{timing['median_ms']:.2f}"
    assert record["max_rel_error"] < 1e-4  # same weights in both: the logits agree
    assert cells["median ms"] == f"{numbers['median_ms']:.2f}"
    assert cells["GFLOP/s"] == f"{numbers['gflops']:.1f}"


def test_no_command_runs_bench_and_pycnn_alone() -> None:
    result = pycnn_command("--models", "googlenet", "--repeat", "1", "--peers", "none")
    assert result.returncode == 0, result.stderr
    header, *rows = table_rows(result.stdout)
    assert header[:4] == ["model", "median ms", "images/s", "GFLOP/s"] and header[-1] == "1st call ms"
    assert not any("torch" in h for h in header)
    assert [row[0] for row in rows] == ["googlenet"] and len(rows[0]) == len(header)
    assert "peers: none" in result.stdout


ERRORS = [
    (["bench", "--models", "resnet19"], "unknown model 'resnet19' (did you mean resnet18?); known models: alexnet"),
    (["bench", "--models", ","], "no model named"),
    (["bench", "--repeat", "0"], "argument --repeat: expected a positive integer, got 0"),
    (["bench", "--batch", "two"], "argument --batch: expected a positive integer, got 'two'"),
    (["bench", "--threads", "-1"], "argument --threads"),
    (["bench", "--device", "tpu"], "argument --device: invalid choice"),
    (["bench", "--peers", "caffe"], "unknown peer 'caffe'"),
    (["--models", "vgg17"], "unknown model 'vgg17'"),
    (["summary"], "the following arguments are required: model"),
    (["summary", "resnet19"], "unknown model 'resnet19'"),
    (["summary", "resnet18", "--input", "1,3,224"], "expected N,C,H,W as four positive integers"),
    (["summary", "resnet18", "--input", "1,3,a,224"], "expected N,C,H,W"),
    (["summary", "resnet18", "--input", "1,4,224,224"], "resnet18 cannot take input (1, 4, 224, 224)"),
    (["summary", "googlenet", "--input", "1,3,8,8"], "googlenet cannot take input (1, 3, 8, 8): MaxPool2d"),
    (["plot", "complexity"], "the following arguments are required: --out"),
    (["plot", "scatter", "--out", "x.png"], "invalid choice: 'scatter'"),
    (["plot", "complexity", "--out", "x.png", "--models", "alexnet_original", "--no-latency"],
     "alexnet_original has no documented ImageNet accuracy"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize(("args", "message"), ERRORS, ids=[" ".join(a) for a, _ in ERRORS])
def test_bad_input_is_a_one_line_error_with_status_2(args: list[str], message: str) -> None:
    result = pycnn_command(*args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert re.match(r"pycnn( \w+)*: error: ", last), result.stderr
    assert message in last, result.stderr


def test_cuda_device_where_cuda_cannot_run_fails_clearly() -> None:
    result = pycnn_command("bench", "--device", "cuda", "--models", "resnet18", CUDA_VISIBLE_DEVICES="")
    assert result.returncode == 1 and result.stdout == ""
    expected = ("this pycnn was built without CUDA kernels" if not pycnn.cuda.is_built()
                else "this pycnn has CUDA kernels, but no usable CUDA device was found")
    assert expected in result.stderr and "Traceback" not in result.stderr


# --- summary and plot ---------------------------------------------------------------------------------------------

def test_summary_prints_the_per_layer_table() -> None:
    result = pycnn_command("summary", "resnet18", "--input", "2,3,64,64")
    assert result.returncode == 0, result.stderr
    expected = str(pycnn.summary(pycnn.models.resnet18(), (2, 3, 64, 64)))
    assert result.stdout == expected + "\n"
    assert "total parameters: 11,689,512" in result.stdout and "(2, 1000)" in result.stdout


def test_plot_complexity_writes_the_chart_with_measured_latency(tmp_path: Path) -> None:
    out = tmp_path / "complexity.png"
    result = pycnn_command("plot", "complexity", "--out", str(out), "--models", "googlenet,resnet18", "--repeat", "1")
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (1200, 800)


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path: Path) -> None:
    result = run_python(f"""
        import sys
        sys.modules["matplotlib"] = None  # as if it were not installed
        from pycnn.cli import main
        sys.exit(main(["plot", "complexity", "--out", {str(tmp_path / "x.png")!r}, "--models", "resnet18"]))
        """)
    assert result.returncode == 1, result.stderr
    assert 'pip install "pycnn[viz]"' in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.png").exists()


# --- the report and the progress bar, in-process ------------------------------------------------------------------

def synthetic_report(peak: float | None, peers: list[str]) -> BenchReport:
    settings = BenchSettings(models=["resnet18", "alexnet_original"], batch=2, threads=2, repeat=3, peers=peers)
    report = BenchReport(config=pycnn.config(), settings=settings, peak_gflops=peak,
                         peer_versions={p: "1.0" for p in peers})
    peer_results = {p: PeerResult(median_ms=40.0, ratio=0.5) for p in peers}
    report.results += [
        ModelResult("resnet18", (2, 3, 224, 224), "torchvision random init", 11_689_512, 3_628_146_688, 20.0,
                    [19.0, 20.0, 21.0], 150.0, peak, peer_results, 3e-7),
        ModelResult("alexnet_original", (2, 3, 224, 224), "pycnn random init", 1, 2_000_000_000, 10.0,
                    [10.0, 10.0, 10.0], 99.0, peak, {}, None),
    ]
    return report


def test_report_rows_without_peak_or_peers() -> None:
    report = synthetic_report(peak=None, peers=[])
    header, *rows = table_rows(format_table(report))
    assert header == ["model", "median ms", "images/s", "GFLOP/s", "1st call ms"]
    assert rows == [["resnet18", "20.00", "100.0", "362.8", "150.0"], ["alexnet_original", "10.00", "200.0", "400.0",
                                                                        "99.0"]]


def test_report_rows_with_peak_and_peers() -> None:
    report = synthetic_report(peak=1000.0, peers=["torch"])
    header, *rows = table_rows(format_table(report))
    assert header == ["model", "median ms", "images/s", "GFLOP/s", "% peak", "torch ms", "pycnn/torch",
                      "1st call ms", "rel err"]
    assert rows[0] == ["resnet18", "20.00", "100.0", "362.8", "36.3", "40.00", "0.50", "150.0", "3.0e-07"]
    assert rows[1] == ["alexnet_original", "10.00", "200.0", "400.0", "40.0", "-", "-", "99.0", "-"]
    document = json.loads(json.dumps(to_json(report)))
    assert document["results"][0]["pycnn"]["percent_of_peak"] == pytest.approx(36.28, abs=0.01)
    assert document["results"][1]["peers"] == {} and document["results"][1]["max_rel_error"] is None


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_only_on_a_terminal() -> None:
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = Progress(total=4, stream=stream, width=8)
        progress.advance("resnet18: timing")
        progress.advance("resnet18: timing", steps=3)
        progress.close()
    assert "\r[##......] 1/4 resnet18: timing" in terminal.getvalue()
    assert "\r[########] 4/4" in terminal.getvalue()
    assert pipe.getvalue() == ""
