"""Progress of long work on stderr: a one-line bar on a terminal, one line per new stage elsewhere (logs, pipes)."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    """`total` steps; advance(label) after each, draw(label) to name the stage under way.

    On a terminal, a bar redrawn in place. Elsewhere, `prefix` + label on a line of its own whenever the label
    changes (labels name stages, "resnet18: timing", so a log gets a few lines per model, not one per step).
    """

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30, prefix: str = "") -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total, self.done, self.width, self.prefix = max(total, 1), 0, width, prefix
        self._last_label: str | None = None

    def advance(self, label: str = "", steps: int = 1) -> None:
        self.done = min(self.done + steps, self.total)
        self.draw(label)

    def draw(self, label: str = "") -> None:
        if not self.terminal:
            if label and label != self._last_label:
                self.stream.write(f"{self.prefix}{label}\n")
                self.stream.flush()
            self._last_label = label or self._last_label
            return
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {label}"[:100].ljust(100))
        self.stream.flush()

    def close(self) -> None:
        if self.terminal:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()
