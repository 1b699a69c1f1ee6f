"""Run a chapter as a test: read the MyST notebook with jupytext, inject small parameters with
papermill, execute it in memory in the notebook's own folder, and return what it glued."""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jupytext
import papermill
import yaml

ROOT = Path(__file__).resolve().parents[1]
GLUE_MIME = "application/papermill.record/text/plain"
_NUMPY_SCALAR = re.compile(r"^np\.(?:float|int|bool)_?\d*\((.*)\)$")


def _parse(text: str) -> Any:
    text = text.strip()
    m = _NUMPY_SCALAR.match(text)
    if m:
        text = m.group(1)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def glued_values(nb) -> dict[str, Any]:
    """Every value a notebook glued (myst_nb.glue), parsed from its text/plain form."""
    values: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook", {})
            data = output.get("data", {})
            if "name" in meta and GLUE_MIME in data:
                values[meta["name"]] = _parse(data[GLUE_MIME])
    return values


def run_notebook(relative_path: str, parameters: dict[str, Any] | None = None, timeout: int = 900,
                 cwd: str | Path | None = None):
    """Execute ``relative_path`` (from the repository root) with ``parameters``; return the
    executed notebook and its glued values.

    The kernel runs in ``cwd`` (default: the notebook's own folder, as Jupyter does), whatever the
    working directory of the caller; pass another folder to check that a chapter runs from anywhere."""
    path = ROOT / relative_path
    nb = jupytext.read(path)
    executed = papermill.execute_notebook(
        nb,
        None,
        parameters=parameters or {},
        cwd=str(Path(cwd).resolve() if cwd is not None else path.parent),
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
        execution_timeout=timeout,
    )
    return executed, glued_values(executed)


@lru_cache(maxsize=None)
def toc_files() -> tuple[str, ...]:
    """Every page of ``_toc.yml`` (root first), without extension, in the book's order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files: list[str] = [toc["root"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", toc.get("chapters", [])))
    return tuple(files)


def toc_notebooks() -> tuple[str, ...]:
    """Paths (``notebooks/....md``) of every notebook chapter listed in ``_toc.yml``."""
    return tuple(f + ".md" for f in toc_files() if f.startswith("notebooks/"))
