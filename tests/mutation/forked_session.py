"""pytest plugin of the mutation tier (`-p mutation.forked_session`, with tests/ on the path).

mutmut runs each mutant's tests as a pytest session forked from a server that has imported torch, pycnn and the
tests, and the fork ends without running exit handlers. Two things follow, and this plugin handles both:
- pytest ends a session with five full garbage collections, which over the inherited heap took most of a mutant's
  time (about 1.2 of 1.5 s for a one-test mutant). What the session inherits lives until the fork exits: it is
  frozen, so the collections scan only what the session allocates.
- pytest's temporary folders are kept while their lock file says a process may use them, and that lock is removed
  by an exit handler: each session's folders stayed (135 MB for the weights-file tests), filling the disk. Each
  session gets a folder of its own instead, removed when the session ends.
"""
from __future__ import annotations

import gc
import shutil
import tempfile

import pytest

_OWN_BASETEMP = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)  # before pytest's tmpdir plugin reads --basetemp
def pytest_configure(config: pytest.Config) -> None:
    gc.freeze()
    if config.option.basetemp is None:
        config.option.basetemp = config.stash[_OWN_BASETEMP] = tempfile.mkdtemp(prefix="pycnn-mutant-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _OWN_BASETEMP in config.stash:
        shutil.rmtree(config.stash[_OWN_BASETEMP], ignore_errors=True)
