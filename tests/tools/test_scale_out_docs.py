"""docs/scale-out.md's Ray and Dask examples run as written (as scripts, in a folder with photos and torchvision's
ResNet-18 file name) and label every photo as torch does with the same weights."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

import pycnn
from pycnn.predict import IMAGENET, imagenet_labels

DOC = Path(__file__).resolve().parents[2] / "docs" / "scale-out.md"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A folder with photos/ and resnet18-f37072fd.pth (random weights), and torch's label for each photo."""
    root = tmp_path_factory.mktemp("scale-out")
    (root / "photos").mkdir()
    rng = np.random.default_rng(2)
    for i in range(10):
        Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)).save(root / "photos" / f"{i}.jpg")
    torch.manual_seed(1)
    net = torchvision.models.resnet18().eval()
    torch.save(net.state_dict(), root / "resnet18-f37072fd.pth")
    labels = imagenet_labels()
    expected = {}
    with torch.no_grad():
        for path in sorted((root / "photos").iterdir()):
            best = int(net(torch.from_numpy(IMAGENET.load(str(path)))[None]).argmax())
            expected[f"photos/{path.name}"] = labels[best]
    return root, expected


@pytest.mark.parametrize("engine", ["ray", "dask"])
def test_the_example_runs_and_labels_like_torch(engine: str, folder: tuple[Path, dict[str, str]]) -> None:
    blocks = re.findall(r"^```python\n(.*?)^```$", DOC.read_text(), flags=re.S | re.M)
    block = next(b for b in blocks if ("import ray\n" if engine == "ray" else "from distributed import") in b)
    root, expected = folder
    script = root / f"example_{engine}.py"
    script.write_text(block)
    installed = str(Path(pycnn.__file__).resolve().parents[1])
    result = subprocess.run([sys.executable, str(script)], cwd=root, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": installed})
    assert result.returncode == 0, result.stderr[-3000:]
    got = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert got == expected
