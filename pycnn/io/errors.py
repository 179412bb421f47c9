"""The errors every reader raises: WeightsFileError for a malformed or unsupported file, UnsafeCheckpointError
for a pickle that names a global outside the allow-list."""

from __future__ import annotations

import pickle


class WeightsFileError(ValueError):
    """A weights file is malformed, truncated, inconsistent or in an unsupported format."""


class UnsafeCheckpointError(WeightsFileError, pickle.UnpicklingError):
    """A checkpoint's pickle names a global outside the allow-list; `global_name` is 'module.name'."""

    def __init__(self, path: str, global_name: str) -> None:
        hint = (
            " (a TorchScript archive: load it with torch.jit.load and save its state_dict())"
            if global_name.startswith("__torch__")
            else ""
        )
        super().__init__(
            f"{path}: refused to unpickle global '{global_name}'{hint}. pycnn only rebuilds tensors and plain "
            "containers and never calls code a checkpoint names; if you trust the file, re-save just its "
            "tensors with torch: torch.save(model.state_dict(), path)"
        )
        self.global_name = global_name


def fail(path: str, problem: str) -> WeightsFileError:
    return WeightsFileError(f"{path}: {problem}")
