"""pytest plugin of the mutation tier (`-p mutation.forked_session`, with tests/ on the path).

mutmut runs each mutant's tests as a pytest session forked from a server that has imported torch, pycnn and the
tests; the fork ends without running exit handlers, and the server hands the tests over in no particular order.
This plugin makes such sessions cheap and clean:
- pytest ends a session with five full garbage collections, which over the inherited heap took most of a mutant's
  time (about 1.2 of 1.5 s for a one-test mutant). What the session inherits lives until the fork exits: it is
  frozen, so the collections scan only what the session allocates.
- pytest's temporary folders are kept while their lock file says a process may use them, and that lock is removed
  by an exit handler: each session's folders stayed (135 MB for the weights-file tests), filling the disk. Each
  session gets a folder of its own instead, removed when the session ends.
- A mutant's session stops at its first failing test, so it runs the quickest tests first (as mutmut's other
  runners do), by the durations mutmut recorded in mutmut-stats.json, in the folder it runs the tests from.
"""
from __future__ import annotations

import gc
import json
import shutil
import tempfile
from pathlib import Path

import pytest

_OWN_BASETEMP = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)  # before pytest's tmpdir plugin reads --basetemp
def pytest_configure(config: pytest.Config) -> None:
    gc.freeze()
    if config.option.basetemp is None:
        config.option.basetemp = config.stash[_OWN_BASETEMP] = tempfile.mkdtemp(prefix="pycnn-mutant-")


@pytest.hookimpl(trylast=True)  # the order of what the other hooks selected
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    stats = Path("mutmut-stats.json")
    if stats.exists():
        duration = json.loads(stats.read_text())["duration_by_test"]
        items.sort(key=lambda item: duration.get(item.nodeid, 0.0))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _OWN_BASETEMP in config.stash:
        shutil.rmtree(config.stash[_OWN_BASETEMP], ignore_errors=True)
