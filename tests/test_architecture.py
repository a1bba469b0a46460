"""The package's shape: no module reaches into another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import organo_predict

PACKAGE = Path(organo_predict.__file__).parent


def _is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").is_file() or (PACKAGE / name).is_dir()


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
    sample.write_text("from ._features import FeatureBuilder, _first_column\n"
                      "from . import _cohort\n"
                      "x = FeatureBuilder._column(1)\ny = _cohort._study_root\n")
    assert _private_reaches(sample) == ["1: from _features import _first_column",
                                        "3: FeatureBuilder._column", "4: _cohort._study_root"]


def test_every_module_has_its_test_module() -> None:
    """`_features.py` -> tests/test_features.py, `cli.py` -> tests/test_cli.py, the
    `datasets` package -> tests/test_datasets.py."""
    tests = Path(__file__).parent
    modules = [p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"]
    modules += [p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()]
    missing = sorted(m for m in modules
                     if not (tests / f"test_{m.lstrip('_')}.py").is_file())
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
                for p in sorted(Path(__file__).parent.glob("*.py"))
                if (found := _imports_of_private_modules(p))}
    assert {name: found for name, found in offences.items() if found} == {}
