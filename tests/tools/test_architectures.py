"""docs/architectures.md runs, and says only what its code prints.

Its Python blocks run in order in one fresh interpreter, in an empty directory. A ```text block right after a
Python block shows that block's output: its lines must be printed by that block, in that order (lines it
leaves out, such as measured times, may vary). Every number in a section's prose must be printed by that
section's code, and no measured time is quoted anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from reference import run_python

PAGE = Path(__file__).resolve().parents[2] / "docs" / "architectures.md"

# A number in prose: not part of a name (float32, conv5_3, resnet50) nor a decimal's tail, but the second side of
# 7x7 counts; commas group digits.
PROSE_NUMBER = re.compile(r"(?<![A-Za-wyz_\d.,])\d+(?:,\d{3})*(?:\.\d+)?")
# In printed output any run of digits counts (a printed resnet50 makes the prose's ResNet-50 true).
PRINTED_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
QUOTED_TIME = re.compile(r"\d\s*(?:ms|µs|s)\b")


@dataclass
class Block:
    code: str
    shown: list[str] = field(default_factory=list)  # the lines of the ```text block that follows, if any


@dataclass
class Section:
    title: str
    prose: str = ""
    blocks: list[Block] = field(default_factory=list)


def sections(markdown: str) -> list[Section]:
    """The page split at its '## ' headings (the part above the first is a section too), each with its prose
    (headings, code blocks and link targets removed) and its Python blocks with the text blocks shown after them."""
    result = [Section("")]
    pieces = re.split(r"^(```\w*\n.*?^```)$", markdown, flags=re.S | re.M)
    for piece in pieces:
        fence = re.match(r"```(\w*)\n(.*)```", piece, flags=re.S)
        if fence is None:
            for part in re.split(r"^(## .*)$", piece, flags=re.M):
                if part.startswith("## "):
                    result.append(Section(part[3:].strip()))
                else:
                    result[-1].prose += re.sub(r"\]\([^)]*\)", "]", part)
        elif fence.group(1) == "python":
            result[-1].blocks.append(Block(fence.group(2)))
        elif fence.group(1) == "text":
            assert result[-1].blocks and not result[-1].blocks[-1].shown, "a text block must follow a Python block"
            result[-1].blocks[-1].shown = fence.group(2).rstrip("\n").splitlines()
    return result


def numbers(text: str, pattern: re.Pattern[str]) -> set[str]:
    return {m.replace(",", "") for m in pattern.findall(text)}


def unprinted_numbers(section: Section, outputs: list[str]) -> set[str]:
    """The numbers that the section's prose quotes and its blocks' outputs do not contain."""
    return numbers(section.prose, PROSE_NUMBER) - numbers("\n".join(outputs), PRINTED_NUMBER)


def missing_lines(shown: list[str], output: str) -> list[str]:
    """The lines of `shown` that `output` does not print, in order (each after the previous one found)."""
    printed = [line.rstrip() for line in output.splitlines()]
    missing, at = [], 0
    for line in shown:
        try:
            at = printed.index(line.rstrip(), at) + 1
        except ValueError:
            missing.append(line)
    return missing


def run_page(directory: Path) -> list[str]:
    """Runs every Python block of the page in order in one interpreter; returns each block's output."""
    blocks = [b for s in sections(PAGE.read_text()) for b in s.blocks]
    script = "import os, sys\nos.chdir(sys.argv[1])\n" + "".join(
        f"{b.code}\nprint('--- block {i} done ---', flush=True)\n" for i, b in enumerate(blocks))
    result = run_python(script, str(directory), timeout=300, MPLBACKEND="Agg")
    done = re.findall(r"--- block (\d+) done ---", result.stdout)
    assert result.returncode == 0, f"blocks done: {done}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert done == [str(i) for i in range(len(blocks))]
    return re.split(r"^--- block \d+ done ---\n", result.stdout, flags=re.M)[:-1]


def test_the_checks_catch_what_they_should() -> None:
    page = ("Intro.\n## A\nThe 7x5 window sees 196 pixels in float32 via conv5_3, 1,234 times.\n"
            "```python\nprint(196)\n```\n```text\n196\n```\n")
    (intro, a) = sections(page)
    assert intro.prose == "Intro.\n" and a.title == "A" and a.blocks[0].shown == ["196"]
    assert unprinted_numbers(a, ["196 7 5"]) == {"1234"}
    assert unprinted_numbers(a, ["196 7"]) == {"1234", "5"}
    assert unprinted_numbers(a, ["196 7x5x1,234"]) == set()
    assert missing_lines(["a", "c"], "a\nb\nc\n") == [] and missing_lines(["c", "a"], "a\nb\nc\n") == ["a"]
    assert QUOTED_TIME.search("took 4.2 ms") and not QUOTED_TIME.search("3 stacked layers")


def test_the_page_covers_each_design_argument() -> None:
    titles = [s.title for s in sections(PAGE.read_text())]
    for topic in ("output size", "two towers", "3×3", "bottleneck", "residual", "complexity"):
        assert any(topic in t.lower() for t in titles), (topic, titles)
    text = PAGE.read_text()
    for call in ("conv_output_size", "strict=True", "alexnet_original", "groups=2", "LocalResponseNorm",
                 "pycnn.summary", "receptive_field", "nn.cat", "plot_complexity"):
        assert call in text, call


def test_the_page_runs_and_quotes_only_what_it_prints(tmp_path: Path) -> None:
    page = sections(PAGE.read_text())
    outputs = run_page(tmp_path)
    problems, at = [], 0
    for section in page:
        section_outputs = outputs[at:at + len(section.blocks)]
        at += len(section.blocks)
        if QUOTED_TIME.search(section.prose):
            problems.append(f"{section.title}: quotes a measured time: {QUOTED_TIME.search(section.prose)}")
        if unprinted := unprinted_numbers(section, section_outputs):
            problems.append(f"{section.title}: quotes numbers its code does not print: {sorted(unprinted)}")
        for block, output in zip(section.blocks, section_outputs, strict=True):
            if any(QUOTED_TIME.search(line) for line in block.shown):
                problems.append(f"{section.title}: shows a measured time")
            if missing := missing_lines(block.shown, output):
                problems.append(f"{section.title}: shows lines not printed (in order): {missing}\nprinted:\n{output}")
    assert at == len(outputs)
    assert not problems, "\n\n".join(problems)
    # The blocks that show nothing are few: most of the page is checked line by line.
    assert sum(1 for s in page for b in s.blocks if b.shown) >= 10
    with Image.open(tmp_path / "complexity.png") as image:
        assert image.format == "PNG" and image.size == (1200, 800)
