"""Devices as plug-ins: each module of this folder (base.py aside) is one device, named after its module.

A device module defines ``Backend``, a subclass of base.Backend. Devices are found by listing this folder and
imported by name on first use, so adding a device is adding its module; nothing above this package names one.
The host device, 'cpu', runs numpy arrays; any other device's arrays are recognised by its ``Backend.owns``.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import Any

from .base import Backend, ConvSpec, Execute, Op

__all__ = ["Backend", "ConvSpec", "Execute", "Op", "HOST", "names", "backend_class", "get", "parse_device",
           "for_arrays"]

HOST = "cpu"


@functools.cache
def names() -> tuple[str, ...]:
    """The devices pycnn has a backend for, the host first."""
    found = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base" and not m.name.startswith("_"))
    return (HOST, *(name for name in found if name != HOST))


@functools.cache
def backend_class(device: str) -> type[Backend]:
    """The Backend class of a device name (as names() gives it)."""
    if device not in names():
        raise ValueError(f"device must be {' or '.join(map(repr, names()))}, got {device!r}")
    cls: type[Backend] = importlib.import_module(f"{__name__}.{device}").Backend
    return cls


def get(device: str, precision: str | None = None) -> Backend:
    """A new backend for `device`, with the process's current settings (ISA; precision, unless given)."""
    return backend_class(device)(precision)


def parse_device(device: Any) -> str:
    """The device name in 'cpu', 'cuda', 'cuda:0' or a torch.device; ValueError for anything else."""
    text = str(device)
    name, _, index = text.partition(":")
    if name not in names():
        raise ValueError(f"device must be {' or '.join(map(repr, names()))}, got {device!r}")
    backend_class(name).check_index(text, index)
    return name


@functools.cache
def _default(device: str) -> Backend:
    return get(device)


def for_arrays(op: str, **arrays: Any) -> Backend:
    """The backend that runs `op` on these arrays (None ones aside): the device they all live on, the host when
    they are host arrays; TypeError naming them when they live on different devices."""
    where = {}
    for argument, value in arrays.items():
        if value is not None:
            where[argument] = next((d for d in names()[1:] if backend_class(d).owns(value)), HOST)
    devices = set(where.values())
    if len(devices) > 1:
        device = next(d for d in names()[1:] if d in devices)
        on_device = [a for a, d in where.items() if d == device]
        elsewhere = [a for a, d in where.items() if d != device]
        cls = backend_class(device)
        raise TypeError(f"{op}: {', '.join(on_device)} on the {cls.label} device but {', '.join(elsewhere)} on the "
                        f"host: pass all arrays from one side ({cls.move_hint})")
    device = devices.pop() if devices else HOST
    backend_class(device).require(op)  # names the op when the device cannot run here
    return _default(device)
