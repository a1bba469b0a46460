"""Another checkout's code, importable as it would be installed: a `--baseline` helper.

An editable install maps `organo_predict.recipes` (and `.experiments`, `.serving`) to this
checkout's top-level folders, so putting an older checkout first on PYTHONPATH ran its code
with *these* TOML files (and failed on a key it does not know). The overlay copies the old
package and its data folders into the layout pyproject.toml's package-dir gives them.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

# pyproject.toml [tool.setuptools] package-dir: subpackage -> top-level folder
DATA_PACKAGES = {"recipes": "features", "experiments": "experiments", "serving": "serving"}


def importable(checkout: Path) -> Path:
    """A temporary folder to put first on PYTHONPATH for `checkout`'s code and data."""
    root = Path(tempfile.mkdtemp(prefix="baseline-code-"))
    package = root / "organo_predict"
    shutil.copytree(checkout / "organo_predict", package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for sub, folder in DATA_PACKAGES.items():
        if (checkout / folder).is_dir() and not (package / sub).exists():
            shutil.copytree(checkout / folder, package / sub,
                            ignore=shutil.ignore_patterns("__pycache__"))
    return root
