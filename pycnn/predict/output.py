"""The results file of `pycnn predict`: CSV or JSON Lines (by its suffix), one record per input file, written as
each batch finishes so that an interrupted run keeps what it had; `--resume` reads back the files it holds.

A record is a file's top-k classes (label, class index, probability; best first) or the error that kept it from
being classified. CSV columns: path, error, then label_i, index_i, probability_i for i = 1..k.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .._output_file import OutputFileError, check_output_file

SUFFIXES = (".csv", ".jsonl")


class OutputError(ValueError):
    """An output file that cannot be written or resumed; the message names it and what to do."""


@dataclass(frozen=True)
class Record:
    path: str
    top: tuple[tuple[str, int, float], ...] = ()  # (label, class index, probability), best first
    error: str = ""

    def as_json(self) -> dict[str, object]:
        if self.error:
            return {"path": self.path, "error": self.error}
        return {"path": self.path, "top": [{"label": label, "index": index, "probability": probability}
                                           for label, index, probability in self.top]}


def csv_header(top_k: int) -> list[str]:
    return ["path", "error"] + [f"{field}_{i}" for i in range(1, top_k + 1)
                                for field in ("label", "index", "probability")]


def check_results_file(path: Path, resume: bool) -> None:
    """OutputError unless `path` can take results: a .csv or .jsonl name, in a folder that exists, and not holding
    results already unless `resume`."""
    if path.suffix.lower() not in SUFFIXES:
        raise OutputError(f"--output: {path} must end in .csv or .jsonl (the format follows the suffix)")
    if path.exists() and path.is_file() and path.stat().st_size > 0 and not resume:
        raise OutputError(f"--output: {path} already holds results; pass --resume to classify only the files "
                          "it lacks, or choose another file")
    try:
        check_output_file(path, "--output")
    except OutputFileError as error:
        raise OutputError(str(error)) from None


class ResultsFile:
    """Appends records to `path`; with `resume`, first reads the paths it already holds (a line cut short by an
    interruption is dropped). Without `resume`, a non-empty file is refused: it holds someone's results."""

    def __init__(self, path: Path, top_k: int, resume: bool):
        check_results_file(path, resume)
        self.path, self.top_k, self.is_csv = path, top_k, path.suffix.lower() == ".csv"
        self.done: set[str] = set()
        exists = path.stat().st_size > 0 if path.exists() else False
        if exists:
            self.done = self._read_done()
        self._file: TextIO = open(path, "a", newline="", encoding="utf-8")
        if self.is_csv and not exists:
            csv.writer(self._file).writerow(csv_header(top_k))
            self._file.flush()

    def _read_done(self) -> set[str]:
        data = self.path.read_bytes()
        complete = data[:data.rfind(b"\n") + 1]  # a last line without its newline was cut short
        if len(complete) != len(data):
            with open(self.path, "r+b") as file:
                file.truncate(len(complete))
        text = complete.decode("utf-8", errors="replace")
        try:
            if self.is_csv:
                rows = list(csv.reader(io.StringIO(text)))
                if rows and rows[0] != csv_header(self.top_k):
                    raise OutputError(f"--resume: {self.path} has other columns than {self.top_k} classes per file "
                                      f"give; pass the --top-k it was written with")
                return {row[0] for row in rows[1:] if row}
            return {json.loads(line)["path"] for line in text.splitlines() if line.strip()}
        except (ValueError, KeyError, TypeError, IndexError) as error:
            if isinstance(error, OutputError):
                raise
            raise OutputError(f"--resume: {self.path} is not a results file of pycnn predict ({error})") from None

    def write(self, records: list[Record]) -> None:
        if self.is_csv:
            writer, width = csv.writer(self._file), len(csv_header(self.top_k))
            for r in records:
                row = [r.path, r.error] + [value for label, index, probability in r.top
                                           for value in (label, index, f"{probability:.6g}")]
                writer.writerow(row + [""] * (width - len(row)))
        else:
            for r in records:
                self._file.write(json.dumps(r.as_json()) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.done.update(r.path for r in records)

    def close(self) -> None:
        self._file.close()
