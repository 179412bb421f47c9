"""Memory: where each value of a plan lives, in buffers reused across steps and calls."""

from __future__ import annotations

import math

from ..trace import Value
from .fuse import Step


class Memory:
    """Where each value lives: a value written in place into another's memory (a concatenation's output) or a
    view lies in its root's slot; a slot holds one root at a time, from the first step that writes into it to the
    last that reads from it, and is then reused. The graph's output is copied out of its slot at the end."""

    def __init__(self, steps: list[Step], graph_output: Value, placements: dict[int, tuple[Value, int]]):
        parent: dict[int, int] = {}  # value → the value whose memory it lies in
        placed_at: dict[int, int] = {}  # a placed value → its element offset in its container
        sizes: dict[int, int] = {}
        for step in steps:
            out = id(step.output)
            if step.is_view:
                parent[out] = id(step.inputs[0])
                continue
            sizes[out] = math.prod(step.output.shape)
            if out in placements:
                container, at = placements[out]
                parent[out], placed_at[out] = id(container), at

        def root(v: int) -> int:
            while v in parent:
                v = parent[v]
            return v

        def offset(v: int) -> int:
            return placed_at[v] + offset(parent[v]) if v in placed_at else 0

        self.root = {v: root(v) for v in [*parent, *sizes]}
        self.offset = {v: offset(v) for v in sizes}  # a written value → its element offset in its root's slot
        first_write: dict[int, int] = {}
        last_read = {self.root.get(id(graph_output), id(graph_output)): len(steps)}  # read when the run ends
        for i, step in enumerate(steps):
            if not step.is_view:
                first_write.setdefault(self.root[id(step.output)], i)
            for v in step.inputs:
                r = self.root.get(id(v), id(v))
                last_read[r] = max(last_read.get(r, i), i)
        releases: dict[int, list[int]] = {}
        for r, i in last_read.items():
            releases.setdefault(i, []).append(r)
        self.slot_of: dict[int, int] = {}
        self.slot_sizes: list[int] = []
        free: list[int] = []
        starts: dict[int, list[int]] = {}
        for r, i in first_write.items():
            starts.setdefault(i, []).append(r)
        for i in range(len(steps)):
            for r in starts.get(i, []):
                size = sizes[r]
                fits = [s for s in free if self.slot_sizes[s] >= size]
                slot = min(fits, key=lambda s: self.slot_sizes[s]) if fits else \
                    (max(free, key=lambda s: self.slot_sizes[s]) if free else None)
                if slot is None:
                    slot = len(self.slot_sizes)
                    self.slot_sizes.append(size)
                else:
                    free.remove(slot)
                    self.slot_sizes[slot] = max(self.slot_sizes[slot], size)
                self.slot_of[r] = slot
            for r in releases.get(i, []):
                if r in self.slot_of:
                    free.append(self.slot_of[r])

    def place(self, value: Value) -> tuple[int, int]:
        """The slot a written value lies in, and its element offset there."""
        v = id(value)
        return self.slot_of[self.root[v]], self.offset[v]
