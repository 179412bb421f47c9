"""The type stubs match the compiled module, and pycnn/ is mypy- and ruff-clean."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import pycnn
from pycnn import _core

PACKAGE = Path(pycnn.__file__).resolve().parent
SOURCE = Path(__file__).resolve().parents[1] / "pycnn"  # the checkout's tree, which is what the linters judge


def stub_members() -> dict[str, ast.FunctionDef | ast.ClassDef]:
    tree = ast.parse((PACKAGE / "_core.pyi").read_text())
    return {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def runtime_parameters(doc: str, name: str) -> list[str]:
    """Parameter names from the signature pybind11 writes on the docstring's first line."""
    signature = doc.splitlines()[0]
    assert signature.startswith(f"{name}("), signature
    inside = signature[len(name) + 1:signature.rindex(") ->")]
    # Drop bracketed type arguments, so that only the top-level commas split parameters.
    while re.search(r"\[[^\[\]]*\]", inside):
        inside = re.sub(r"\[[^\[\]]*\]", "", inside)
    names = [part.split(":")[0].strip() for part in inside.split(",") if part.strip()]
    return [n for n in names if n != "self"]


def test_packaged_with_stubs_and_py_typed_marker() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_core.pyi").is_file()


def test_stubs_name_every_member_of_the_module() -> None:
    public = {name for name in dir(_core) if not name.startswith("_")}
    assert set(stub_members()) == public


def test_stub_parameters_match_the_module() -> None:
    for name, node in stub_members().items():
        member = getattr(_core, name)
        if isinstance(node, ast.ClassDef):
            init = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
            stubbed = [a.arg for a in init.args.args[1:]]
            assert stubbed == runtime_parameters(member.__init__.__doc__, "__init__"), name
        else:
            stubbed = [a.arg for a in node.args.args]
            assert stubbed == runtime_parameters(member.__doc__, name), name


@pytest.mark.parametrize("tool", [["mypy", "pycnn"], ["ruff", "check", "pycnn", "tests", "benches"]])
def test_source_is_clean(tool: list[str]) -> None:
    if not SOURCE.is_dir():
        pytest.skip("not run from a source checkout")
    executable = shutil.which(tool[0]) or pytest.fail(f"{tool[0]} is not installed (it is in the test extra)")
    result = subprocess.run([executable, *tool[1:]], cwd=SOURCE.parent, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
