"""Collect the book's jupytext chapters as nbval notebooks at the smoke profile."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbval.plugin import IPyNbFile

from seemrepro.tools.pipeline import smoke_notebook

ROOT = Path(__file__).resolve().parent


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.parent != ROOT / "book" or file_path.suffix != ".py":
        return None
    if "# %%" not in file_path.read_text(encoding="utf-8"):
        return None
    notebook = smoke_notebook(file_path, ROOT)
    target = ROOT / "tests" / ".nbval" / f"{file_path.stem}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return IPyNbFile.from_parent(parent, path=target)
