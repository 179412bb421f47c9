"""The README a newcomer follows: its two set-up commands (which CI runs literally, .ci/run), what they cost, an
example that runs, links that resolve, a layout that matches the tree, and no words about how the project is run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from reference import run_python

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EXTRACTOR = ROOT / ".ci" / "readme_commands.py"


def setup_commands(readme: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXTRACTOR), str(readme)], capture_output=True, text=True, timeout=60)


def test_ci_runs_the_readmes_two_setup_commands() -> None:
    result = setup_commands(README)
    assert result.returncode == 0, result.stderr
    install, test = result.stdout.split("\0")[:2]
    assert result.stdout.count("\0") == 2
    assert install.startswith("python3 -m pip install . &&") and install.endswith("python3 -m pycnn bench")
    assert test.startswith('python3 -m pip install ".[test]" &&') and test.endswith("pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert '.ci/readme_commands.py" "$repo/README.md"' in ci
    assert 'git clone -q "$repo"' in ci and 'python3 -m venv "$work/venv$i"' in ci


def test_the_extractor_refuses_a_readme_without_the_two_commands(tmp_path: Path) -> None:
    text = README.read_text()
    one_command = tmp_path / "README.md"
    one_command.write_text(text.replace('```bash\npython3 -m pip install ".[test]" && pytest\n```', ""))
    result = setup_commands(one_command)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "readme_commands.py: error: 1 ```bash blocks under '## Set up and run', expected 2\n"
    one_command.write_text(text.replace("## Set up and run", "## Installing"))
    assert setup_commands(one_command).stderr == "readme_commands.py: error: no '## Set up and run' heading\n"


def test_the_test_command_says_what_it_costs() -> None:
    section = README.read_text().split("## Set up and run", 1)[1].split("\n## ", 1)[0]
    before_test_command = section.split('```bash\npython3 -m pip install ".[test]"', 1)[0]
    assert "CUDA build" in before_test_command and "6 GB" in before_test_command
    assert "6–11 minutes on 2 cores" in before_test_command


def test_the_readme_is_short_and_its_first_example_runs() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    for moved in ("## How convolutions are computed", "## Numbers at the edges", "## CUDA"):
        assert moved not in text, moved
    example = re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)[0]
    result = run_python(example)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "(1, 64, 112, 112) float32\n"


def test_every_relative_link_resolves() -> None:
    for page in (README, *sorted((ROOT / "docs").glob("*.md"))):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_the_layout_names_every_test_tier() -> None:
    layout = README.read_text().split("## Layout", 1)[1]
    tiers = sorted(p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and any(p.glob("test_*.py")))
    assert tiers, "no test tiers found"
    for tier in tiers:
        assert f"{tier}/" in layout, tier


def test_no_words_about_how_the_project_is_run() -> None:
    """Tracker vocabulary (numbered tickets, targets of the work) stays out of the product; so does "session"."""
    this_file = Path(__file__).resolve()
    product = [README, *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "benches").rglob("*.py")),
               *sorted((ROOT / "tests").rglob("*.py")), *sorted((ROOT / "pycnn").rglob("*.py"))]
    tracker = re.compile(r"\bissues? #?\d+|\bgoals?\b", re.I)
    prose = [README, ROOT / "docs" / "tutorial.md", ROOT / "docs" / "algorithms.md", ROOT / "docs" / "cuda.md",
             *sorted((ROOT / "benches").rglob("*.py"))]
    found = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in product if p != this_file
             for m in tracker.finditer(p.read_text())]
    found += [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in prose
              for m in re.finditer(r"\b(?:this|one|a|the) session\b", p.read_text(), flags=re.I)]
    assert found == []
