"""docs/tutorial.md runs: its Python blocks, in order, in one fresh interpreter, in an empty directory."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

from reference import run_python

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", markdown, flags=re.S | re.M)


def test_tutorial_has_the_steps_the_issue_asks_for() -> None:
    text = TUTORIAL.read_text()
    for topic in ("skimage.data", "stride", "padding", "max_pool2d", "relu", "conv_output_size",
                  "resnet50", ".pth", "summary", "pycnn bench"):
        assert topic in text, topic
    assert len(python_blocks(text)) >= 10


# A print whose trailing comment shows its output: "print(x.shape)  # (1, 8, 150, 225)"; "..." stands for any text.
PRINT_WITH_OUTPUT = re.compile(r"^(\s*)print\(.*\)\s+#\s+((?:\(|\[|\.\.\.|\d).*)$")


def with_expectations(block: str) -> str:
    """The block with, before each print that shows its output in a comment, a line printing '@@expect COMMENT'."""
    lines = []
    for line in block.splitlines():
        match = PRINT_WITH_OUTPUT.match(line)
        if match:
            lines.append(f"{match.group(1)}print({'@@expect ' + match.group(2)!r}, flush=True)")
        lines.append(line)
    return "\n".join(lines) + "\n"


def unmet_expectations(stdout: str) -> tuple[int, list[str]]:
    """(how many comments were checked, those the next printed line does not match)."""
    lines = stdout.splitlines()
    checked, unmet = 0, []
    for i, line in enumerate(lines[:-1]):
        if line.startswith("@@expect "):
            expected = line.removeprefix("@@expect ")
            pattern = ".*".join(re.escape(part.strip()) for part in expected.split("..."))
            checked += 1
            if not re.fullmatch(pattern, lines[i + 1].strip()):
                unmet.append(f"{expected!r} printed {lines[i + 1]!r}")
    return checked, unmet


def test_tutorial_runs_twice_in_one_folder_and_prints_what_it_says(tmp_path: Path) -> None:
    """Every block, in order, in one interpreter, run twice in the same folder (files of the first run must not
    change the second: the untrained checkpoint is not saved under the real weights' name)."""
    blocks = python_blocks(TUTORIAL.read_text())
    # One script: each block followed by a marker, so a failure names the block that did not finish.
    script = "import os, sys\nos.chdir(sys.argv[1])\n" + "".join(
        f"{with_expectations(block)}print('--- block {i} done ---', flush=True)\n" for i, block in enumerate(blocks))
    shown = sum(bool(PRINT_WITH_OUTPUT.match(line)) for block in blocks for line in block.splitlines())
    for run in (1, 2):
        result = run_python(script, str(tmp_path), timeout=600, MPLBACKEND="Agg")
        done = re.findall(r"--- block (\d+) done ---", result.stdout)
        assert result.returncode == 0, \
            f"run {run}, blocks done: {done}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        assert done == [str(i) for i in range(len(blocks))]
        checked, unmet = unmet_expectations(result.stdout)
        assert checked == shown >= 5 and unmet == [], unmet
        for line in ("stride 1, padding 0: output (298, 449), formula (298, 449)",
                     "stride 1, padding 1: output (300, 451), formula (300, 451)",
                     "stride 2, padding 1: output (150, 226), formula (150, 226)",
                     "stride 3, padding 0: output (100, 150), formula (100, 150)",
                     "25,557,032 parameters, 4.09 G-MACs per 224 × 224 image"):
            assert line in result.stdout.splitlines(), line
        assert "29,224,800" in result.stdout  # the MACs the text computes for step 4's convolution
    assert not (tmp_path / "resnet50-0676ba61.pth").exists()  # only the real weights go by that name
    for picture in ("chelsea_edges.png", "resnet50_conv1_filters.png", "resnet50_layer1.png"):
        with Image.open(tmp_path / picture) as image:
            assert image.format == "PNG" and min(image.size) > 100, picture
    with Image.open(tmp_path / "chelsea_edges.png") as image:
        assert image.size == (449, 298)  # the valid convolution's output, one pixel per value
