"""Prints the README's set-up commands, each followed by a NUL byte: the ```bash blocks under its set-up heading.

    python3 .ci/readme_commands.py README.md     # .ci/run runs each one, literally, in a fresh clone and venv

Exits with status 2 and a one-line error when the heading or its two commands are missing, so that CI cannot
quietly run nothing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HEADING = "## Set up and run"
COMMANDS = 2  # install and bench; install the test extras and test


def setup_commands(markdown: str) -> list[str]:
    """The contents of the ```bash blocks between HEADING and the next level-2 heading, in order."""
    start = markdown.find(f"\n{HEADING}\n")
    if start < 0:
        raise ValueError(f"no {HEADING!r} heading")
    section = markdown[start + len(HEADING) + 2:]
    end = re.search(r"^## ", section, flags=re.M)
    section = section if end is None else section[:end.start()]
    blocks = [block.strip() for block in re.findall(r"^```bash\n(.*?)^```$", section, flags=re.S | re.M)]
    if len(blocks) != COMMANDS:
        raise ValueError(f"{len(blocks)} ```bash blocks under {HEADING!r}, expected {COMMANDS}")
    return blocks


def main(argv: list[str]) -> int:
    try:
        commands = setup_commands(Path(argv[1]).read_text())
    except (IndexError, OSError, ValueError) as error:
        print(f"readme_commands.py: error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write("".join(f"{command}\0" for command in commands))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
