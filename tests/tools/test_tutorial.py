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


def test_tutorial_code_runs_in_order(tmp_path: Path) -> None:
    blocks = python_blocks(TUTORIAL.read_text())
    # One script: each block followed by a marker, so a failure names the block that did not finish.
    script = "import os, sys\nos.chdir(sys.argv[1])\n" + "".join(
        f"{block}\nprint('--- block {i} done ---', flush=True)\n" for i, block in enumerate(blocks))
    result = run_python(script, str(tmp_path), timeout=600, MPLBACKEND="Agg")
    done = re.findall(r"--- block (\d+) done ---", result.stdout)
    assert result.returncode == 0, f"blocks done: {done}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert done == [str(i) for i in range(len(blocks))]
    assert "stride 3, padding 0: output (100, 150), formula (100, 150)" in result.stdout
    assert "25,557,032 parameters, 4.09 G-MACs" in result.stdout
    for picture in ("chelsea_edges.png", "resnet50_conv1_filters.png", "resnet50_layer1.png"):
        with Image.open(tmp_path / picture) as image:
            assert image.format == "PNG" and min(image.size) > 100, picture
    with Image.open(tmp_path / "chelsea_edges.png") as image:
        assert image.size == (449, 298)  # the valid convolution's output, one pixel per value
