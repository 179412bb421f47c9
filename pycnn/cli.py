"""The `pycnn` command (also `python -m pycnn`): benchmark, summarise and chart the classic CNNs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import _zoo
from .bench import report as bench_report
from .bench.peers import CPU_BF16_PEERS, PEER_NAMES, available_peers, peer_available

DESCRIPTION = """\
pycnn: a convolution engine for Python (hand-written SIMD C++ kernels behind a numpy API).

commands:
  bench      time the classic CNNs in pycnn beside PyTorch, ONNX Runtime and OpenVINO (the default command)
  summary    a model's layers: output shapes, parameters, multiply-accumulates
  plot       charts (complexity: ImageNet accuracy vs operations, with pycnn's latency here)
  predict    classify image files with a classic network and its weights file, to CSV or JSON Lines

`pycnn` with no command runs `pycnn bench`; `pycnn COMMAND --help` explains each command."""

EXAMPLES = """\
examples:
  pycnn                                   # bench: alexnet, vgg16, googlenet, resnet18, resnet50 at batch 1
  pycnn bench --models resnet50 --batch 8 --threads 2 --json resnet50.json
  pycnn summary vgg16 --input 1,3,224,224
  pycnn plot complexity --out complexity.png
  pycnn predict --weights resnet50-0676ba61.pth photos/ --output labels.csv
  pycnn --info                            # build, CPU and caches, ISA and threads, for bug reports"""

BENCH_DESCRIPTION = f"""\
Times the classic CNNs at random weights (no download): pycnn, and beside it PyTorch, ONNX Runtime and
OpenVINO when importable, with the same weights and input, all in float32 (OpenVINO pinned to f32: its default
is bf16 on CPUs with AVX512-BF16 or AMX), in alternation in one process (each runtime once the previous one's
threads have stopped spinning, after 50 ms of untimed calls of its own). Prints the CPU and its caches, then one
row per model: median ms (p10-p90), images/s, GFLOP/s (2 x MACs / time), % of this machine's FMA peak, each
peer's median ms (p10-p90) and pycnn's ratio to it (the median over rounds of pycnn ms / peer ms in the same
round: below 1, pycnn is faster), pycnn's first-call cost and its max error relative to torch's logits.

--isolated times each runtime in a process of its own instead, runtimes alternating round by round (--rounds
processes each): no runtime's threads can then disturb another's. Use it for figures to publish or compare
across machines; it takes a few times longer (each process imports its runtime and builds its model).

--json PATH writes every number as JSON:
{bench_report.__doc__.split("JSON schema", 1)[1].split(chr(10), 1)[1]}"""


class CommandError(Exception):
    """A failure to report as `pycnn CMD: error: ...` with exit status 1 (the request was valid)."""


class UsageError(Exception):
    """A request that cannot be carried out as given (an output path that cannot be written, options that do not
    go together): reported as one line, `pycnn CMD: error: ...`, exit status 2, before any work."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _model_list(text: str) -> list[str]:
    try:
        return _zoo.parse_model_list(text)
    except _zoo.UnknownModelError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _charted_model_list(text: str) -> list[str]:
    from .viz.imagenet_accuracy import TOP1_PERCENT

    names = _model_list(text)
    for name in names:
        if name not in TOP1_PERCENT:
            raise argparse.ArgumentTypeError(f"{name} has no documented ImageNet accuracy to chart; charted models: "
                                             f"{', '.join(TOP1_PERCENT)}")
    return names


def _model_name(text: str) -> str:
    try:
        return _zoo.check_model_name(text.strip())
    except _zoo.UnknownModelError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _input_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(d) for d in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 4 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected N,C,H,W as four positive integers (like 1,3,224,224), "
                                         f"got {text!r}")
    return shape


def _peer_list(text: str) -> list[str] | None:
    """The peers named, [] for 'none', None for 'auto' (every importable one that computes in the precision)."""
    if text == "auto":
        return None
    if text == "none":
        return []
    peers = [p.strip() for p in text.split(",") if p.strip()]
    for peer in peers:
        if peer not in PEER_NAMES:
            raise argparse.ArgumentTypeError(f"unknown peer {peer!r}; peers: {', '.join(PEER_NAMES)}, "
                                             "or auto (every importable one) or none")
        if not peer_available(peer):
            raise argparse.ArgumentTypeError(f"{peer} is not importable here (it needs torch and torchvision, "
                                             "and the ONNX runtimes need onnx too)")
    return [p for p in PEER_NAMES if p in peers]


def _add_bench_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from . import get_num_threads, get_precision

    bench = commands.add_parser("bench", help="time the classic CNNs beside PyTorch, ONNX Runtime and OpenVINO",
                                description=BENCH_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_argument("model", nargs="?", type=_model_name, metavar="MODEL",
                       help="one model to time: an .onnx file (beside ONNX Runtime and OpenVINO running the same "
                            "file) or a name; the same as --models MODEL")
    bench.add_argument("--models", type=_model_list, default=list(_zoo.DEFAULT_BENCH_MODELS), metavar="LIST",
                       help=f"comma-separated models (default: {','.join(_zoo.DEFAULT_BENCH_MODELS)}; "
                            f"known: {', '.join(_zoo.MODEL_NAMES)}, or .onnx files)")
    bench.add_argument("--input", type=_input_shape, metavar="N,C,H,W",
                       help="for .onnx files: the input shape (default: the graph's, with --batch for an open batch "
                            "dimension)")
    bench.add_argument("--batch", type=_positive_int, default=1, help="images per call (default 1)")
    bench.add_argument("--threads", type=_positive_int, default=get_num_threads(),
                       help=f"threads of pycnn and of each peer (default {get_num_threads()}: this process's cores)")
    bench.add_argument("--repeat", type=_positive_int, default=10,
                       help="timed runs per runtime and model; the median is reported (default 10)")
    bench.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                       help="where pycnn runs (default cpu); on cuda, beside torch on the same GPU")
    bench.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default=get_precision(),
                       help=f"what convolutions and linear layers multiply in (default {get_precision()}: "
                            "pycnn.get_precision(), PYCNN_PRECISION); the peers follow: in bf16 on the CPU, torch "
                            "under bf16 autocast and OpenVINO in its default precision (ONNX Runtime has no bf16); "
                            "tf32 on CUDA only")
    bench.add_argument("--peers", type=_peer_list, default="auto", metavar="LIST",
                       help=f"runtimes to compare with: a comma list of {', '.join(PEER_NAMES)}, 'auto' (default: "
                            "every importable one) or 'none' (pycnn alone, on its own random weights)")
    bench.add_argument("--isolated", action="store_true",
                       help="time each runtime in a process of its own, runtimes alternating round by round "
                            "(slower; immune to one runtime's threads disturbing another's)")
    bench.add_argument("--rounds", type=_positive_int, metavar="N",
                       help="with --isolated: processes per runtime and model, one per round (default 3)")
    bench.add_argument("--json", type=Path, metavar="PATH",
                       help="also write every number to PATH as JSON (checked before timing starts)")
    bench.set_defaults(run=_bench)


def _add_summary_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    summary = commands.add_parser(
        "summary", help="a model's layers: output shapes, parameters, MACs",
        description="Prints the per-layer table of pycnn.summary: each layer's output shape, parameters, "
                    "multiply-accumulates and activation size, and the totals. Nothing is computed: the model is "
                    "traced on an input of the given shape.")
    summary.add_argument("model", type=_model_name, help=f"an .onnx file, or one of: {', '.join(_zoo.MODEL_NAMES)}")
    summary.add_argument("--input", type=_input_shape, metavar="N,C,H,W",
                         help="input shape (default 1,3,224,224; for an .onnx file, the graph's)")
    summary.set_defaults(run=_summary)


def _add_plot_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    plot = commands.add_parser("plot", help="charts of the classic CNNs (needs matplotlib)",
                               description='Charts, written as PNG. Needs matplotlib: pip install "pycnn[viz]".')
    charts = plot.add_subparsers(dest="chart", metavar="CHART", required=True)
    complexity = charts.add_parser(
        "complexity", help="ImageNet top-1 accuracy vs G-MACs, bubble area = parameters",
        description="The classic chart of CNN architectures: x = G-MACs per 224x224 image (from pycnn.summary), "
                    "y = ImageNet top-1 accuracy that torchvision documents for each model's IMAGENET1K_V1 weights, "
                    "bubble area proportional to the parameters, each bubble labelled with pycnn's median batch-1 "
                    "latency measured now on this machine (random weights).")
    complexity.add_argument("--out", type=Path, required=True, metavar="FILE.png",
                            help="where to write the PNG (checked before measuring starts)")
    complexity.add_argument("--models", type=_charted_model_list, metavar="LIST",
                            help="comma-separated models (default: every model with torchvision weights)")
    complexity.add_argument("--repeat", type=_positive_int, default=3, help="timed runs per model (default 3)")
    complexity.add_argument("--no-latency", action="store_true", help="do not measure: label bubbles by name only")
    complexity.set_defaults(run=_plot_complexity)


def _add_predict_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    predict = commands.add_parser(
        "predict", help="classify image files with a classic network and its weights, to CSV or JSON Lines",
        description="Classifies image files (JPEG, PNG, ...; Pillow decodes them) with a classic network and its "
                    "weights file, with torchvision's ImageNet preprocessing (shorter side resized to 256, centre "
                    "224x224 crop, normalised), and writes each file's top-k ImageNet classes and probabilities, "
                    "or why it could not be read, to --output (.csv or .jsonl) as batches finish. Files are "
                    "decoded by threads while the model runs. An interrupted run continues with --resume.")
    predict.add_argument("inputs", nargs="+", metavar="INPUT",
                         help="image files, folders (their images), glob patterns ('photos/**/*.jpg', quoted) or "
                              ".txt/.lst files listing one path per line")
    predict.add_argument("--weights", required=True, metavar="FILE",
                         help="the checkpoint: a torchvision .pth file (e.g. resnet50-0676ba61.pth), .safetensors "
                              "or .npz; or an .onnx file, model and weights in one")
    predict.add_argument("--model", type=_model_name, metavar="NAME",
                         help="the architecture (default: the one the weights file's name names, as torchvision's "
                              f"files do; known: {', '.join(_zoo.MODEL_NAMES)})")
    predict.add_argument("--output", type=Path, required=True, metavar="FILE",
                         help="results file, .csv or .jsonl; refused if it holds results, unless --resume")
    predict.add_argument("--resume", action="store_true", help="skip the files already in --output, append the rest")
    predict.add_argument("--batch", type=_positive_int, default=8, help="images per model call (default 8)")
    predict.add_argument("--top-k", type=_positive_int, default=5, help="classes per file (default 5)")
    predict.add_argument("--resize", type=_positive_int, default=256, help="shorter side before the crop (256)")
    predict.add_argument("--crop", type=_positive_int, default=224, help="centre crop size (224)")
    predict.add_argument("--decode-threads", type=_positive_int, default=2,
                         help="threads decoding files while the model runs (default 2; in this process only)")
    predict.add_argument("--cluster", choices=["ray", "dask"],
                         help="classify on a Ray (Ray Data) or Dask (distributed) cluster: one copy of the model "
                              "per worker process, each with cores / workers threads (needs pycnn[cluster])")
    predict.add_argument("--address", metavar="ADDR",
                         help="with --cluster: the running cluster's address (Ray: 'auto' or host:port; Dask: "
                              "the scheduler's tcp://host:port); default: a local cluster started for the run")
    predict.add_argument("--workers", type=_positive_int, metavar="N",
                         help="with --cluster: worker processes (default: one per CPU; Dask: a local cluster's "
                              "only)")
    predict.set_defaults(run=_predict)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pycnn", description=DESCRIPTION, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--info", action="store_true",
                        help="print pycnn's build, the CPU and its caches, ISA, threads and CUDA support")
    parser.add_argument("--version", action="version", version=f"pycnn {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_bench_parser(commands)
    _add_summary_parser(commands)
    _add_plot_parser(commands)
    _add_predict_parser(commands)
    return parser


def _version() -> str:
    from ._version import __version__

    return __version__


def _with_default_command(argv: list[str]) -> list[str]:
    """`pycnn` and `pycnn --models x` mean `pycnn bench ...`; --help, --info and --version stay top-level."""
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--info", "--version")):
        return ["bench", *argv]
    return argv


def _peers_in(precision: str, device: str, asked: list[str] | None) -> list[str]:
    """The peers to compare with in `precision`: those asked for, or every importable one that computes in it
    (None: --peers auto); UsageError for a peer asked for that cannot."""
    if device != "cpu" or precision == "fp32":
        return available_peers() if asked is None else asked
    if asked is None:
        return [p for p in available_peers() if p in CPU_BF16_PEERS]
    missing = [p for p in asked if p not in CPU_BF16_PEERS]
    if missing:
        raise UsageError(f"--precision {precision}: {', '.join(missing)} cannot compute in {precision} on the CPU; "
                         f"compare with {' or '.join(CPU_BF16_PEERS)}")
    return asked


def _check_device(device: str, peers: list[str]) -> list[str]:
    """The peers that run on `device` (on CUDA: torch alone); CommandError when CUDA cannot run here."""
    if device == "cpu":
        return peers
    from . import cuda

    if not cuda.is_built():
        raise CommandError("--device cuda: this pycnn was built without CUDA kernels (pycnn --info shows the build)")
    if not cuda.is_available():
        raise CommandError(f"--device cuda: this pycnn has CUDA kernels, but no usable CUDA device was found "
                           f"({cuda.status()})")
    return [p for p in peers if p == "torch"]


def _checked_output(path: Path, option: str, suffix: str | None = None) -> Path:
    from ._output_file import OutputFileError, check_output_file

    try:
        return check_output_file(path, option, suffix)
    except OutputFileError as error:
        raise UsageError(str(error)) from None


def _warn_about_threads(threads: int) -> None:
    """A warning on stderr when `threads` is more than the cores this process may run on."""
    from ._threads import usable_cpus

    cores = usable_cpus()
    if threads > cores:
        print(f"pycnn bench: warning: --threads {threads} is more than the {cores} cores this process may use; "
              f"the extra threads share cores, which slows every runtime (use --threads {cores} or fewer)",
              file=sys.stderr)


def _bench(args: argparse.Namespace) -> None:
    from .bench import BenchReport, BenchSettings, ModelResult, run_benchmark
    from .bench.isolated import WorkerError
    from .bench.progress import Progress
    from .bench.runner import progress_steps

    if args.json is not None:
        _checked_output(args.json, "--json")
    if args.rounds is not None and not args.isolated:
        raise UsageError("--rounds counts the processes of an --isolated run; add --isolated, or drop --rounds")
    if args.isolated and args.device != "cpu":
        raise UsageError("--isolated times CPU runtimes; drop it with --device cuda")
    if args.device == "cpu" and args.precision == "tf32":
        raise UsageError("--precision tf32: the CPU has no TF32 arithmetic (tf32 is for --device cuda); "
                         "use fp32 or bf16")
    models = [args.model] if args.model else args.models
    _warn_about_threads(args.threads)
    peers = _check_device(args.device, _peers_in(args.precision, args.device, args.peers))
    settings = BenchSettings(models=models, batch=args.batch, threads=args.threads, repeat=args.repeat,
                             peers=peers, device=args.device, isolated=args.isolated,
                             rounds=(args.rounds or 3) if args.isolated else 1, input_shape=args.input,
                             precision=args.precision)
    progress = Progress(total=progress_steps(settings), prefix="pycnn bench: ")

    def print_row(report: BenchReport, result: ModelResult) -> None:
        progress.close()
        if len(report.results) == 1:
            print(bench_report.title(report), bench_report.header_line(report), sep="\n")
        print(bench_report.row_line(report, result), flush=True)

    try:
        report = run_benchmark(settings, progress, on_result=print_row)
    except WorkerError as error:
        progress.close()
        raise CommandError(str(error)) from None
    progress.close()
    print(bench_report.footnote(report))
    if args.json is not None:
        args.json.write_text(json.dumps(bench_report.to_json(report), indent=2) + "\n")
        print(f"wrote {args.json}")


def _summary(args: argparse.Namespace) -> None:
    from .summary import summary

    model = _zoo.build_model(args.model)
    if args.input is None:
        args.input = _zoo.input_shape_for(args.model) if not _zoo.is_onnx_file(args.model) else \
            model.input_shape()
    try:
        table = summary(model, args.input)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"argument --input: {args.model} cannot take input {args.input}: "
                                         f"{str(error).splitlines()[0]}") from None
    print(table)


def _plot_complexity(args: argparse.Namespace) -> None:
    from . import get_num_threads, isa
    from .bench.progress import Progress
    from .viz import TOP1_PERCENT, VizUnavailable, complexity_points, plot_complexity
    from .viz._figure import new_figure

    _checked_output(args.out, "--out", ".png")
    try:
        new_figure((100, 100))  # fail before minutes of measuring when matplotlib is missing
    except VizUnavailable as error:
        raise CommandError(str(error)) from None
    measure = not args.no_latency
    models = list(TOP1_PERCENT) if args.models is None else args.models
    progress = Progress(total=len(models), prefix="pycnn plot: ")
    verb = "measuring" if measure else "counting"

    points = complexity_points(models, measure_latency=measure, repeat=args.repeat,
                               on_model=lambda name: progress.advance(f"{verb} {name}"))
    progress.close()
    note = (f"latency: pycnn {_version()}, batch 1, {get_num_threads()} threads, {isa()}, median of {args.repeat} "
            "runs on this machine" if measure else "")
    print(f"wrote {plot_complexity(points, args.out, note=note)}")


def _predict(args: argparse.Namespace) -> None:
    from .predict import Cluster, ExtraMissingError, InputsError, OutputError, Preprocessing, predict
    from .predict.extras import require
    from .predict.images import list_images
    from .predict.output import check_results_file

    onnx_file = _zoo.is_onnx_file(args.weights)
    if onnx_file and args.model:
        raise UsageError(f"--weights {args.weights}: an ONNX file is a whole model; drop --model")
    name = args.weights if onnx_file else args.model or _zoo.model_for_weights_file(args.weights)
    if name is None:
        raise UsageError(f"--weights {args.weights}: its name names no model; say which with --model "
                         f"(one of: {', '.join(_zoo.MODEL_NAMES)})")
    if args.crop > args.resize:
        raise UsageError(f"--crop {args.crop} is larger than --resize {args.resize}")
    if args.cluster is None and (args.address or args.workers):
        raise UsageError("--address and --workers go with --cluster ray or --cluster dask")
    if not Path(args.weights).is_file():
        raise UsageError(f"--weights {args.weights}: no such file")
    try:
        require("pillow")
        if args.cluster is not None:
            require(args.cluster)
        list_images(args.inputs)
        check_results_file(args.output, args.resume)
    except (InputsError, OutputError) as error:
        raise UsageError(str(error)) from None
    except ExtraMissingError as error:
        raise CommandError(str(error)) from None
    try:
        model = _zoo.build_model(name) if onnx_file else _zoo.build_model(name, weights=args.weights)
    except ValueError as error:  # WeightsFileError, StateDictError, UnsupportedOnnxError: not a model pycnn runs
        raise CommandError(f"--weights {args.weights}: {error}") from None
    summary = predict(model, args.inputs, args.output, batch_size=args.batch, top_k=args.top_k, resume=args.resume,
                      preprocessing=Preprocessing(args.resize, args.crop), decode_threads=args.decode_threads,
                      cluster=None if args.cluster is None else Cluster(args.cluster, args.address, args.workers))
    print(f"pycnn predict: {name}: {summary.line()}; results in {args.output}")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line `argv` (default: sys.argv[1:]); returns the exit status (0, 1 or 2)."""
    parser = build_parser()
    args = parser.parse_args(_with_default_command(list(sys.argv[1:] if argv is None else argv)))
    if args.info:
        from ._config import show_config

        show_config()
        return 0
    command_parser = parser if args.command is None else _subparser(parser, args)
    try:
        args.run(args)
    except argparse.ArgumentTypeError as error:
        command_parser.error(str(error))
    except UsageError as error:
        print(f"{command_parser.prog}: error: {error}", file=sys.stderr)
        return 2
    except CommandError as error:
        print(f"{command_parser.prog}: error: {error}", file=sys.stderr)
        return 1
    return 0


def _subparser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the command (and chart) that args came from, for its error messages."""
    found = parser
    for name in (args.command, getattr(args, "chart", None)):
        actions = [a for a in found._actions if isinstance(a, argparse._SubParsersAction)]
        if name is None or not actions:
            break
        found = actions[0].choices[name]
    return found
