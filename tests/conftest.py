import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))  # tests/nbrun.py

MIRROR = ROOT.parent / "shared" / "data" / "external"


@pytest.fixture(scope="session", autouse=True)
def _data_mirror():
    """Use the offline mirror beside the checkout when nothing else was configured."""
    if not os.environ.get("SMALLEST_LOSS_DATA_MIRROR") and MIRROR.is_dir():
        os.environ["SMALLEST_LOSS_DATA_MIRROR"] = str(MIRROR)
    yield


@pytest.fixture(scope="session")
def book_build():
    """Build the book once per test session (jupyter-book -W -n --keep-going); (returncode, log).

    tests/test_book.py checks the build, tests/test_browser.py opens its pages: both share it."""
    import subprocess

    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "-W", "-n", "--keep-going"],
        cwd=ROOT, capture_output=True, text=True, timeout=3600,
    )
    return proc.returncode, proc.stdout + proc.stderr
