"""Where the book's small data tables are, wherever a chapter runs.

The chapters read ``data/*.csv`` (tables transcribed from papers, shipped in the repository). A
relative path such as ``../data/x.csv`` works only when the working directory is ``notebooks/``;
:func:`data_path` works from any folder (papermill without ``--cwd``, a test runner, Binder).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_DIR_ENV", "data_dir", "data_path"]

DATA_DIR_ENV = "SMALLEST_LOSS_DATA_DIR"
_MARKER = "PAPER_NOTES.md"  # present in the repository's data/ folder


def _is_data_dir(folder: Path) -> bool:
    return (folder / _MARKER).is_file()


def data_dir(start: str | os.PathLike[str] | None = None) -> Path:
    """The repository's ``data/`` folder.

    Looked for in this order: the folder named by the environment variable
    ``SMALLEST_LOSS_DATA_DIR``; a ``data/`` folder in ``start`` (default: the working directory)
    or any folder above it; the ``data/`` folder of the repository this package was installed
    from (an editable install, as ``make install`` does). Raises ``ValueError`` when none exists.
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        folder = Path(env).expanduser()
        if not folder.is_dir():
            raise ValueError(f"{DATA_DIR_ENV}={env!r} is not a folder")
        return folder.resolve()
    here = Path(start if start is not None else os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if _is_data_dir(folder / "data"):
            return folder / "data"
    source = Path(__file__).resolve().parents[2] / "data"  # src/smallest_loss/ -> repository
    if _is_data_dir(source):
        return source
    raise ValueError(
        f"no data/ folder (with {_MARKER}) above {here} or beside the installed library; "
        f"set {DATA_DIR_ENV} to the repository's data folder"
    )


def data_path(name: str, start: str | os.PathLike[str] | None = None) -> Path:
    """Path of the file ``name`` in :func:`data_dir`; ``ValueError`` naming it when missing.

    >>> import pandas as pd
    >>> table2 = pd.read_csv(data_path("chinchilla_table2.csv"))  # doctest: +SKIP
    """
    if not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise ValueError(f"data_path: name must be a file name inside data/, got {name!r}")
    path = data_dir(start) / name
    if not path.is_file():
        raise ValueError(f"data_path: {name!r} is not in {path.parent}")
    return path
