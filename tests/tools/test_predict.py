"""`pycnn predict` and pycnn.predict.predict: torchvision's preprocessing exactly, torch's top-k on the same
weights, bad files reported in place, results never lost (refused overwrite, --resume after an interruption)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from test_cli import pycnn_command

import pycnn
from pycnn.predict import IMAGENET_LABELS_COUNT, OutputError, Preprocessing, imagenet_labels, list_images, predict

SIZES = [(500, 375), (375, 500), (300, 300), (257, 1000), (224, 224), (201, 150)]


def save_image(path: Path, size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).convert(mode).save(path)
    return path


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P"])
def test_preprocessing_is_torchvisions_exactly(tmp_path: Path, mode: str) -> None:
    reference = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.transforms()
    for i, size in enumerate(SIZES):
        path = save_image(tmp_path / f"{i}.png", size, mode, seed=i)
        with Image.open(path) as image:
            expected = reference(image.convert("RGB")).numpy()
        np.testing.assert_array_equal(Preprocessing().load(str(path)), expected)


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(0)
    net = torchvision.models.resnet18().eval()
    path = tmp_path_factory.mktemp("weights") / "resnet18-f37072fd.pth"  # torchvision's file name
    torch.save(net.state_dict(), path)
    return path, net


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, size in enumerate(SIZES[:5]):
        save_image(folder / f"img{i}.jpg" if i % 2 else folder / f"img{i}.png", size, seed=10 + i)
    (folder / "corrupt.jpg").write_bytes(b"not an image at all")
    whole = (folder / "img1.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(whole[:len(whole) // 2])
    (folder / "notes.txt").write_text("not listed: folders give their images by extension")
    return folder


def torch_top5(net: torch.nn.Module, path: Path) -> tuple[list[int], np.ndarray]:
    transform = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.transforms()
    with Image.open(path) as image, torch.no_grad():
        probabilities = net(transform(image.convert("RGB"))[None]).softmax(1)[0].double().numpy()
    order = np.argsort(-probabilities)[:5]
    return [int(i) for i in order], probabilities[order]


def test_labels_are_imagenets() -> None:
    labels = imagenet_labels()
    assert len(labels) == IMAGENET_LABELS_COUNT == 1000
    assert labels == torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]


def test_predict_gives_torchs_top5_and_reports_bad_files(tmp_path: Path, photos: Path,
                                                         resnet18_file: tuple[Path, torch.nn.Module]) -> None:
    path, net = resnet18_file
    model = pycnn.models.resnet18(weights=str(path))
    out = tmp_path / "out.jsonl"
    summary = predict(model, [str(photos)], out, batch_size=2, progress=False)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [Path(r["path"]).name for r in records] == (
        ["corrupt.jpg"] + [f"img{i}.{'jpg' if i % 2 else 'png'}" for i in range(5)] + ["truncated.jpg"])
    assert records[0]["error"].startswith("UnidentifiedImageError: cannot identify image file")
    assert records[-1]["error"].startswith("OSError: image file is truncated")
    assert (summary.classified, summary.errors, summary.skipped) == (5, 2, 0)
    assert list(summary.threads_by_worker.values()) == [pycnn.get_num_threads()]
    labels = imagenet_labels()
    for record in records[1:-1]:
        indices, probabilities = torch_top5(net, Path(record["path"]))
        assert [t["index"] for t in record["top"]] == indices
        assert [t["label"] for t in record["top"]] == [labels[i] for i in indices]
        np.testing.assert_allclose([t["probability"] for t in record["top"]], probabilities, rtol=1e-4, atol=1e-6)


def test_an_interrupted_run_resumes_without_loss_or_duplicates(tmp_path: Path, photos: Path,
                                                                resnet18_file: tuple[Path, torch.nn.Module]) -> None:
    model = pycnn.models.resnet18(weights=str(resnet18_file[0]))
    whole = tmp_path / "whole.csv"
    predict(model, [str(photos)], whole, batch_size=2, progress=False)
    out = tmp_path / "out.csv"

    def interrupt(records: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        predict(model, [str(photos)], out, batch_size=2, progress=False, on_batch=interrupt)
    with open(out, "a") as file:
        file.write(str(photos / "img4.png") + ",,tench")  # a row cut short by the interruption: done again
    with pytest.raises(OutputError, match="already holds results; pass --resume"):
        predict(model, [str(photos)], out, progress=False)
    summary = predict(model, [str(photos)], out, batch_size=2, resume=True, progress=False)
    assert summary.skipped == 2 and summary.classified + summary.errors == 5  # the first batch: corrupt.jpg, img0
    rows, expected = list(csv.reader(out.open())), list(csv.reader(whole.open()))
    assert sorted(row[0] for row in rows) == sorted(row[0] for row in expected)  # each file once
    by_path = {row[0]: row for row in expected}
    for row in rows[1:]:
        assert row[:2] == by_path[row[0]][:2] and row[2::3] == by_path[row[0]][2::3]  # error, labels


def test_list_images_reads_folders_patterns_and_list_files(tmp_path: Path, photos: Path) -> None:
    listing = tmp_path / "files.txt"
    listing.write_text("# a comment\nphotos/img1.jpg\n\nphotos/notes.txt\n")
    found = list_images([str(listing), str(photos / "img0.png"), str(tmp_path / "photos" / "*.jpg")])
    assert found == [str(photos / "img1.jpg"), str(photos / "notes.txt"), str(photos / "img0.png"),
                     str(photos / "corrupt.jpg"), str(photos / "img3.jpg"), str(photos / "truncated.jpg")]


def test_the_command_infers_the_model_and_writes_csv(tmp_path: Path, photos: Path,
                                                     resnet18_file: tuple[Path, torch.nn.Module]) -> None:
    out = tmp_path / "labels.csv"
    result = pycnn_command("predict", "--weights", str(resnet18_file[0]), str(photos), "--output", str(out),
                           "--top-k", "3")
    assert result.returncode == 0, result.stderr
    assert "pycnn predict: resnet18: 5 classified, 2 errors, 0 already done;" in result.stdout
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["path", "error"] + [f"{f}_{i}" for i in (1, 2, 3) for f in ("label", "index", "probability")]
    assert len(rows) == 8 and all(len(row) == 11 for row in rows)


def test_the_command_runs_an_onnx_file(tmp_path: Path, photos: Path,
                                       resnet18_file: tuple[Path, torch.nn.Module]) -> None:
    net = resnet18_file[1]
    path = tmp_path / "classifier.onnx"
    with torch.no_grad():
        torch.onnx.export(net, (torch.zeros(1, 3, 224, 224),), str(path), dynamo=False, input_names=["x"],
                          dynamic_axes={"x": {0: "N"}})
    out = tmp_path / "labels.jsonl"
    result = pycnn_command("predict", "--weights", str(path), str(photos), "--output", str(out), "--batch", "2")
    assert result.returncode == 0, result.stderr
    assert f"pycnn predict: {path}: 5 classified, 2 errors" in result.stdout
    classified = [r for r in map(json.loads, out.read_text().splitlines()) if "top" in r]
    assert len(classified) == 5
    for record in classified:
        indices, probabilities = torch_top5(net, Path(record["path"]))
        assert [c["index"] for c in record["top"]] == indices
        np.testing.assert_allclose([c["probability"] for c in record["top"]], probabilities, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("args, message", [
    (["--weights", "{weights}", "{photos}", "--output", "{tmp}/x.txt"], "must end in .csv or .jsonl"),
    (["--weights", "{tmp}/mine.pth", "{photos}", "--output", "{tmp}/x.csv"], "its name names no model; say which"),
    (["--weights", "{tmp}/resnet18-none.pth", "{photos}", "--output", "{tmp}/x.csv"], "no such file"),
    (["--weights", "{weights}", "{tmp}/nothing/*.jpg", "--output", "{tmp}/x.csv"], "the pattern matches no file"),
    (["--weights", "{weights}", "{photos}", "--output", "{tmp}/no/x.csv"], "does not exist"),
    (["--weights", "{weights}", "{photos}", "--output", "{tmp}/x.csv", "--crop", "300"], "larger than --resize"),
])
def test_the_command_refuses_what_it_cannot_do(tmp_path: Path, photos: Path, args: list[str], message: str,
                                               resnet18_file: tuple[Path, torch.nn.Module]) -> None:
    (tmp_path / "mine.pth").write_bytes(b"")
    filled = [a.format(weights=resnet18_file[0], photos=photos, tmp=tmp_path) for a in args]
    result = pycnn_command("predict", *filled)
    assert result.returncode == 2 and message in result.stderr, result.stderr
