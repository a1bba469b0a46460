"""The package's shape: stages in one order, imports only going down, no module reaching
into another's private names, and a test module for every module."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import organo_predict

PACKAGE = Path(organo_predict.__file__).parent

# The stages, lowest first: a module may import its own stage and the ones before it.
# `datasets` (the public embedded cohort) stands just above the cohort reader it uses;
# `cli` above everything; the package's `__init__` only names what it re-exports.
# MLflow runs the models-from-code file by path and copies it beside every logged model:
# it imports the public API, which outlives any move of the private modules.
ENTRY_SCRIPTS = ("_model/_mlflow_model.py",)
STAGES = ("_base", "_cohort", "datasets", "_knowledge", "_features", "_model", "_explain",
          "_evaluate", "_apps", "cli")


def _stage(module: str) -> str:
    """`organo_predict._cohort._tables` -> '_cohort'."""
    return module.split(".")[1]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imported_modules(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, module) for every import of a package module in `path`, wherever it stands
    (top level, in a function, under TYPE_CHECKING), resolved to absolute names."""
    package = module if _is_package(path) else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("organo_predict"):
                continue
            if target == "organo_predict" or (not node.module and node.level):
                found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names
                      if a.name.startswith("organo_predict.")]
    return found


def _downward_offences(path: Path) -> list[str]:
    """Imports from a later stage than the module's own: 'line: module -> target'."""
    module = _module_name(path)
    if module == "organo_predict" or path.relative_to(PACKAGE).as_posix() in ENTRY_SCRIPTS:
        return []
    own = STAGES.index(_stage(module))
    out = []
    for line, target in _imported_modules(path, module):
        name = target.split(".")[1] if "." in target else ""
        if name in ("__version__", ""):
            continue
        if name not in STAGES:
            out.append(f"{line}: {module} -> {target} (not in a stage)")
        elif STAGES.index(name) > own:
            out.append(f"{line}: {module} -> {target}")
    return out


def test_every_module_belongs_to_a_stage() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "cli"))
    stages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert loose == []
    assert stages - {"recipes", "experiments", "serving"} == set(STAGES) - {"cli"}


def test_imports_only_go_down_the_stages() -> None:
    offences = {path.relative_to(PACKAGE).as_posix(): found
                for path in sorted(PACKAGE.rglob("*.py"))
                if (found := _downward_offences(path))}
    assert offences == {}


def test_the_order_check_sees_an_upward_import(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "organo_predict"
    (fake / "_cohort").mkdir(parents=True)
    sample = fake / "_cohort" / "_sample.py"
    sample.write_text("from .._base._errors import CohortError\n"
                      "def f():\n    from .._model._models import OrganotropismModel\n"
                      "    from organo_predict._apps import _serve\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert _downward_offences(sample) == [
        "3: organo_predict._cohort._sample -> organo_predict._model._models",
        "4: organo_predict._cohort._sample -> organo_predict._apps"]


def _is_module(name: str) -> bool:
    return any((folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file()
               for folder in (PACKAGE, *(PACKAGE / s for s in STAGES)))


def _private_reaches(path: Path) -> list[str]:
    """`from .x import _name`, `import`-ed module objects used as `module._name`, and
    `Class._name` on a class imported from another module: each as 'line: text'."""
    tree = ast.parse(path.read_text())
    found: list[str] = []
    imported: set[str] = set()  # names bound by imports from other package modules
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "")
                                                 .startswith("organo_predict")):
            for alias in node.names:
                if (alias.name.startswith("_") and alias.name != "__version__"
                        and not _is_module(alias.name)):
                    found.append(f"{node.lineno}: from {node.module} import {alias.name}")
                imported.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("organo_predict"):
                    imported.add((alias.asname or alias.name).split(".")[0])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                and node.value.id in imported):
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
    return sorted(found, key=lambda entry: int(entry.partition(":")[0]))


def test_no_module_uses_another_modules_private_names() -> None:
    """Importing the `_module` files themselves is fine; what they keep private is not."""
    offences = {path.relative_to(PACKAGE).as_posix(): found
                for path in sorted(PACKAGE.rglob("*.py"))
                if (found := _private_reaches(path))}
    assert offences == {}


def test_the_check_sees_a_reach(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from ._builder import FeatureBuilder, _first_column\n"
                      "from .._cohort import _cohort\n"
                      "x = FeatureBuilder._column(1)\ny = _cohort._study_root\n")
    assert _private_reaches(sample) == ["1: from _builder import _first_column",
                                        "3: FeatureBuilder._column", "4: _cohort._study_root"]


def test_every_module_has_its_test_module() -> None:
    """`_features/_builder.py` -> tests/features/test_builder.py, `cli.py` ->
    tests/test_cli.py, the `datasets` package -> tests/test_datasets.py."""
    tests = Path(__file__).parent
    expected = [tests / "test_cli.py", tests / "test_datasets.py"]
    for stage in STAGES:
        expected += [tests / stage.lstrip("_") / f"test_{p.stem.lstrip('_')}.py"
                     for p in (PACKAGE / stage).glob("_*.py") if p.stem != "__init__"]
    missing = sorted(p.relative_to(tests).as_posix() for p in expected if not p.is_file())
    assert missing == []


def _imports_of_private_modules(path: Path) -> list[tuple[int, str, str]]:
    """(line, module, name) for every `from organo_predict._x import name` in a file."""
    tree = ast.parse(path.read_text())
    return [(node.lineno, node.module, alias.name) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "organo_predict._") for alias in node.names]


def test_benchmarks_import_public_names_only() -> None:
    bench = Path(__file__).parents[1] / "benchmarks"
    offences = {p.name: found for p in sorted(bench.glob("*.py"))
                if (found := _imports_of_private_modules(p))}
    assert offences == {}


def test_tests_import_a_public_name_from_the_package() -> None:
    """Tests of a module's internals import them from the module; a name the package
    exports is imported from the package, as a user would."""
    public = set(organo_predict.__all__)
    offences = {p.name: [f for f in found if f[2] in public]
                for p in sorted(Path(__file__).parent.rglob("*.py"))
                if (found := _imports_of_private_modules(p))}
    assert {name: found for name, found in offences.items() if found} == {}
