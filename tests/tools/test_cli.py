"""The `pycnn` command through subprocesses: help, tables, JSON, exit codes; and the bench's report in-process."""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pycnn
from pycnn.bench import BenchReport, BenchSettings, ModelResult, PeerResult, format_table, to_json
from pycnn.bench.machine import cpu_caches, cpu_model
from pycnn.bench.progress import Progress
from pycnn.bench.report import timing_cell

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
    for option in ("--models", "--batch", "--threads", "--repeat", "--device", "--json", "--peers", "--isolated",
                   "--rounds", "pycnn.bench/3", "percent_of_peak", "p10_ms", "median ms", "OpenVINO pinned to f32",
                   "resnet152"):
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
    result = pycnn_command("bench", "--models", "resnet18", "--repeat", "3", "--threads", "2",
                           "--peers", "torch,openvino", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr  # no progress bar when stderr is not a terminal, one line per stage
    assert result.stderr.splitlines() == ["pycnn bench: resnet18: building", "pycnn bench: resnet18: timing"]
    header, *rows = table_rows(result.stdout)
    peak = "% peak" in header
    assert header == ["model", "pycnn fp32 ms", "images/s", "GFLOP/s", *(["% peak"] if peak else []),
                      "torch fp32 ms", "pycnn/torch", "openvino fp32 ms", "pycnn/openvino", "1st call ms", "rel err"]
    assert len(rows) == 1 and len(rows[0]) == len(header) and rows[0][0] == "resnet18"
    cells = dict(zip(header, rows[0], strict=True))
    assert f"CPU: {cpu_model()}" in result.stdout
    assert "openvino " in result.stdout and "(fp32, pinned: INFERENCE_PRECISION_HINT=f32)" in result.stdout

    document = json.loads(out.read_text())
    assert set(document) == {"schema", "config", "machine", "settings", "peak_gflops", "results"}
    assert document["schema"] == "pycnn.bench/3"
    assert document["config"] == {**pycnn.config(), "threads": 2, "threads_from": "set_num_threads"}
    assert document["machine"] == {"cpu": cpu_model(), "caches": cpu_caches()}
    settings = document["settings"]
    assert settings["models"] == ["resnet18"]
    assert (settings["batch"], settings["threads"], settings["repeat"]) == (1, 2, 3)
    assert (settings["mode"], settings["rounds"], settings["precision"]) == ("one process", 1, "fp32")
    assert set(settings["peers"]) == {"torch", "openvino"}
    assert all(peer["precision"] == "fp32" for peer in settings["peers"].values())
    assert settings["peers"]["openvino"]["version"] == importlib.metadata.version("openvino")
    assert (document["peak_gflops"] is not None) == peak
    [record] = document["results"]
    assert set(record) == {"model", "input_shape", "weights", "params", "macs", "pycnn", "peers", "max_rel_error"}
    assert record["input_shape"] == [1, 3, 224, 224]
    assert record["params"] == 11_689_512 and record["macs"] == 1_814_073_344
    numbers = record["pycnn"]
    assert len(numbers["times_ms"]) == 3 and numbers["median_ms"] == sorted(numbers["times_ms"])[1]
    assert [numbers["p10_ms"], numbers["p90_ms"]] == pytest.approx(np.percentile(numbers["times_ms"], [10, 90]))
    assert numbers["images_per_s"] == pytest.approx(1e3 / numbers["median_ms"])
    assert numbers["gflops"] == pytest.approx(2 * record["macs"] / numbers["median_ms"] / 1e6)
    assert numbers["first_call_ms"] > 0
    assert cells["pycnn fp32 ms"] == timing_cell(numbers["median_ms"], (numbers["p10_ms"], numbers["p90_ms"]))
    for peer in ("torch", "openvino"):
        timing = record["peers"][peer]
        assert len(timing["times_ms"]) == 3
        paired = sorted(a / b for a, b in zip(numbers["times_ms"], timing["times_ms"], strict=True))
        assert timing["ratio"] == pytest.approx(paired[1])
        assert [timing["p10_ms"], timing["p90_ms"]] == pytest.approx(np.percentile(timing["times_ms"], [10, 90]))
        assert cells[f"{peer} fp32 ms"] == timing_cell(timing["median_ms"], (timing["p10_ms"], timing["p90_ms"]))
    assert record["max_rel_error"] < 1e-4  # same weights in both: the logits agree
    assert cells["GFLOP/s"] == f"{numbers['gflops']:.1f}"


def test_no_command_runs_bench_and_pycnn_alone() -> None:
    result = pycnn_command("--models", "googlenet", "--repeat", "1", "--peers", "none")
    assert result.returncode == 0, result.stderr
    header, *rows = table_rows(result.stdout)
    assert header[:4] == ["model", "pycnn fp32 ms", "images/s", "GFLOP/s"] and header[-1] == "1st call ms"
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


def output_errors(tmp: Path) -> list[tuple[list[str], str]]:
    a_file = tmp / "notes.txt"
    a_file.write_text("")
    return [
        (["bench", "--json", str(tmp / "missing" / "b.json")],
         f"pycnn bench: error: --json: folder {tmp / 'missing'} does not exist; create it first or choose another "
         "path"),
        (["bench", "--json", str(tmp)],
         f"pycnn bench: error: --json: {tmp} is a folder; give a file name in it, such as {tmp / 'out.json'}"),
        (["bench", "--json", str(a_file / "b.json")],
         f"pycnn bench: error: --json: {a_file} is not a folder, so {a_file / 'b.json'} cannot be written"),
        (["bench", "--rounds", "2"],
         "pycnn bench: error: --rounds counts the processes of an --isolated run; add --isolated, or drop --rounds"),
        (["plot", "complexity", "--out", str(tmp / "chart.jpg")],
         f"pycnn plot complexity: error: --out: {tmp / 'chart.jpg'} does not end in .png (the file is written as PNG); "
         f"give a name such as {tmp / 'chart.png'}"),
        (["plot", "complexity", "--out", str(tmp / "missing" / "c.png")],
         f"pycnn plot complexity: error: --out: folder {tmp / 'missing'} does not exist; create it first or choose "
         "another path"),
    ]


def test_unwritable_outputs_fail_in_one_line_before_any_work(tmp_path: Path) -> None:
    for args, message in output_errors(tmp_path):
        result = pycnn_command(*args, "--models", "resnet18")
        assert result.returncode == 2, (args, result.stderr)
        assert result.stdout == ""
        assert result.stderr.splitlines() == [message], args  # one line: no usage, no traceback, no progress
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing written on the way


def test_checking_an_output_file_leaves_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = pycnn_command("bench", "--device", "cuda", "--models", "alexnet", "--json", str(out),
                           CUDA_VISIBLE_DEVICES="")
    assert result.returncode == 1 and "CUDA" in result.stderr  # failed after the path was checked writable
    assert not out.exists()


def test_threads_beyond_the_cores_warn(tmp_path: Path) -> None:
    cores = pycnn._threads.usable_cpus()
    result = pycnn_command("bench", "--threads", str(cores + 3), "--models", "alexnet", "--repeat", "1",
                           "--peers", "none")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == (
        f"pycnn bench: warning: --threads {cores + 3} is more than the {cores} cores this process may use; the extra "
        f"threads share cores, which slows every runtime (use --threads {cores} or fewer)")
    assert f"{cores + 3} threads" in result.stdout


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
    assert result.stderr.splitlines() == ["pycnn plot: measuring googlenet", "pycnn plot: measuring resnet18"]
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
                         peer_versions={p: "1.0" for p in peers},
                         precisions={"pycnn": "fp32", **dict.fromkeys(peers, "fp32")}, cpu="Test CPU",
                         caches={"L1d": "48K", "L2": "2048K"})
    peer_results = {p: PeerResult(median_ms=40.0, ratio=0.5, times_ms=[38.0, 40.0, 60.0]) for p in peers}
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
    assert header == ["model", "pycnn fp32 ms", "images/s", "GFLOP/s", "1st call ms"]
    assert rows == [["resnet18", "20.00 (19.2-20.8)", "100.0", "362.8", "150.0"],
                    ["alexnet_original", "10.00 (10.0-10.0)", "200.0", "400.0", "99.0"]]
    assert "CPU: Test CPU (L1d 48K, L2 2048K)" in format_table(report)


def test_report_rows_with_peak_and_peers() -> None:
    report = synthetic_report(peak=1000.0, peers=["torch"])
    header, *rows = table_rows(format_table(report))
    assert header == ["model", "pycnn fp32 ms", "images/s", "GFLOP/s", "% peak", "torch fp32 ms", "pycnn/torch",
                      "1st call ms", "rel err"]
    assert rows[0] == ["resnet18", "20.00 (19.2-20.8)", "100.0", "362.8", "36.3", "40.00 (38.4-56.0)", "0.50",
                       "150.0", "3.0e-07"]
    assert rows[1] == ["alexnet_original", "10.00 (10.0-10.0)", "200.0", "400.0", "40.0", "-", "-", "99.0", "-"]
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
    assert pipe.getvalue() == "resnet18: timing\n"  # elsewhere, one line per stage
