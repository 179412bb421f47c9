"""The type stubs match the compiled modules (the linters run as CI steps of their own: .ci/run)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

import pycnn

pytestmark = pytest.mark.smoke  # in `pytest -m smoke`, the quick subset of every tier

PACKAGE = Path(pycnn.__file__).resolve().parent


def compiled_module(name: str) -> ModuleType:
    """pycnn._core, or pycnn._cuda where this build has CUDA kernels."""
    if name == "_cuda" and importlib.util.find_spec("pycnn._cuda") is None:
        pytest.skip("this pycnn was built without CUDA kernels (no CUDA toolkit)")
    return importlib.import_module(f"pycnn.{name}")


def stub_members(name: str) -> dict[str, ast.stmt]:
    """The functions, classes and annotated attributes that pycnn/<name>.pyi declares."""
    tree = ast.parse((PACKAGE / f"{name}.pyi").read_text())
    members: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            members[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            members[node.target.id] = node
    return members


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
    assert (PACKAGE / "_cuda.pyi").is_file()


@pytest.mark.parametrize("module_name", ["_core", "_cuda"])
def test_stubs_name_every_member_of_the_module(module_name: str) -> None:
    module = compiled_module(module_name)
    public = {name for name in dir(module) if not name.startswith("_")}
    assert {name for name in stub_members(module_name) if not name.startswith("_")} == public


@pytest.mark.parametrize("module_name", ["_core", "_cuda"])
def test_stub_parameters_match_the_module(module_name: str) -> None:
    module = compiled_module(module_name)
    for name, node in stub_members(module_name).items():
        member = getattr(module, name)
        if isinstance(node, ast.ClassDef):
            init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
            if init is None:  # made by the module's functions only
                with pytest.raises(TypeError, match="No constructor defined"):
                    member()
                continue
            stubbed = [a.arg for a in init.args.args[1:]]
            assert stubbed == runtime_parameters(member.__init__.__doc__, "__init__"), name
        elif isinstance(node, ast.FunctionDef):
            stubbed = [a.arg for a in node.args.args]
            assert stubbed == runtime_parameters(member.__doc__, name), name
