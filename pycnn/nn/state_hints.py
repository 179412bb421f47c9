"""Why a checkpoint's keys miss a model's, in one line: a prefix every key shares, or a state dict nested inside.

Training scripts save state dicts wrapped: `torch.save(model.state_dict())` of a DataParallel model prefixes every
key with "module.", a wrapper module with "model." (or any name), and a training checkpoint nests the state dict
as {"model": ..., "optimizer": ..., "epoch": ...}. Loading one lists every key as missing and unexpected; the
hint says instead what wraps the keys and the line of Python that unwraps them. pycnn never unwraps silently: a
strict load must load what it was given.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

# The nesting keys of common training checkpoints, tried first (any key whose value is a matching mapping works).
NESTING_KEYS = ("state_dict", "model", "model_state_dict", "net", "network", "module", "ema", "model_ema")
_ENOUGH = 0.5  # a fix must find at least this share of the model's keys


def _matches(model_keys: Collection[str], keys: Collection[str]) -> int:
    return len(set(model_keys).intersection(keys))


def _shared_prefix(keys: Collection[str]) -> str:
    """The dotted prefix ("module." or "module.model.") that every key starts with; "" if none."""
    parts = [key.split(".")[:-1] for key in keys]
    prefix: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        prefix.append(level[0])
    return "".join(f"{p}." for p in prefix)


def prefix_fix(model_keys: Collection[str], checkpoint_keys: Collection[str]) -> tuple[str, str] | None:
    """(strip, add): the prefix to remove from every checkpoint key and the one to put in its place ("" for none)
    so that the keys match the model's — ("module.", ""), or ("", "backbone.") — or None when no prefix explains
    the mismatch (or the keys match already)."""
    if not model_keys or not checkpoint_keys:
        return None
    before = _matches(model_keys, checkpoint_keys)
    ours, theirs = _shared_prefix(model_keys), _shared_prefix(checkpoint_keys)
    best: tuple[int, tuple[str, str]] | None = None
    levels = theirs.split(".")[:-1]
    for depth in range(len(levels), -1, -1):  # each dotted level of the checkpoint's shared prefix, longest first
        strip = "".join(f"{level}." for level in levels[:depth])
        for add in dict.fromkeys(["", ours]):
            if not strip and not add:
                continue
            renamed = [add + key[len(strip):] for key in checkpoint_keys]
            found = _matches(model_keys, renamed)
            if found > before and found >= _ENOUGH * len(model_keys) and (best is None or found > best[0]):
                best = (found, (strip, add))
    return None if best is None else best[1]


def nested_state_key(model_keys: Collection[str], state: Mapping[str, Any]) -> str | None:
    """The key of `state` whose value is the model's state dict (possibly prefixed), e.g. "model" in a training
    checkpoint {"model": ..., "optimizer": ...}; None when there is none."""
    candidates = [k for k in NESTING_KEYS if k in state] + [k for k in state if k not in NESTING_KEYS]
    for key in candidates:
        inner = state[key]
        if isinstance(inner, Mapping) and inner and all(isinstance(k, str) for k in inner):
            if _matches(model_keys, inner) >= _ENOUGH * len(model_keys) or prefix_fix(model_keys, inner):
                return str(key)
    return None


def _renaming(strip: str, add: str, source: str) -> str:
    new = f"{add!r} + k.removeprefix({strip!r})" if add and strip else f"{add!r} + k" if add else \
        f"k.removeprefix({strip!r})"
    return f"{{{new}: v for k, v in {source}.items()}}"


def state_dict_hint(model_keys: Collection[str], state: Mapping[str, Any], name: str = "state") -> str | None:
    """One line saying what wraps the checkpoint's keys and how to unwrap them, or None when neither a nested
    state dict nor a shared prefix explains why `state`'s keys miss `model_keys`.

    `name` is what the fix calls the checkpoint: "state" gives `{k.removeprefix('module.'): v for k, v in
    state.items()}`.
    """
    if _matches(model_keys, state) >= len(model_keys):
        return None
    nested = nested_state_key(model_keys, state)
    if nested is not None:
        inner = state[nested]
        source = f"{name}[{nested!r}]"
        fix = prefix_fix(model_keys, inner)
        unwrap = source if fix is None else _renaming(*fix, source)
        others = ", ".join(repr(k) for k in state if k != nested)
        beside = f" beside {others}" if others else ""
        wrapped = "" if fix is None else f", its keys {_describe(*fix)}"
        return (f"the checkpoint holds the model's state dict under {nested!r}{beside}{wrapped} "
                f"(a training checkpoint); load {unwrap}")
    fix = prefix_fix(model_keys, list(state))
    if fix is None:
        return None
    return f"the checkpoint's keys {_describe(*fix)} (a wrapped model's state dict); load {_renaming(*fix, name)}"


def _describe(strip: str, add: str) -> str:
    if strip and add:
        return f"all start with {strip!r} where the model's start with {add!r}"
    if strip:
        return f"all start with {strip!r}, which the model's lack"
    return f"lack the {add!r} that all the model's start with"


def unwrap_state_dict(model_keys: Collection[str], state: Mapping[str, Any]) -> dict[str, Any]:
    """`state` with what state_dict_hint describes undone: the nested state dict taken out, the prefix replaced.
    `state` itself (as a dict) when nothing wraps it."""
    nested = nested_state_key(model_keys, state) if _matches(model_keys, state) < len(model_keys) else None
    inner: Mapping[str, Any] = state[nested] if nested is not None else state
    fix = prefix_fix(model_keys, list(inner))
    if fix is None:
        return dict(inner)
    strip, add = fix
    return {add + k[len(strip):]: v for k, v in inner.items()}
