"""The whole book builds with -W -n --keep-going and zero warnings, and every figure is captioned.

This executes every chapter with its full parameters (jupyter-cache keeps results in _build, so a
second run only re-executes changed chapters)."""

import re
from pathlib import Path

import pytest

from nbrun import ROOT, toc_notebooks

pytestmark = pytest.mark.book

SMART_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


@pytest.fixture(scope="module")
def build_log(book_build):
    return book_build  # one build per session, shared with tests/test_browser.py (conftest.py)


def test_build_succeeds_with_zero_warnings(build_log):
    code, log = build_log
    flagged = [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)]
    assert code == 0 and not flagged, "\n".join(flagged[:40]) or log[-4000:]
    assert (ROOT / "_build" / "html" / "index.html").is_file()


def test_every_chapter_page_has_captioned_figures_and_a_notebook_download(build_log):
    assert build_log[0] == 0
    for nb in toc_notebooks():
        stem = Path(nb).stem
        html = (ROOT / "_build" / "html" / "notebooks" / f"{stem}.html").read_text()
        figures = re.findall(r"<figure.*?</figure>", html, flags=re.S)
        assert figures, f"{nb}: no figure"
        for fig in figures:
            assert "<figcaption" in fig and 'id="fig-' in fig, f"{nb}: figure without caption or label"
        assert f"_sources/notebooks/{stem}.ipynb" in html, f"{nb}: no notebook download link"
        assert (ROOT / "_build" / "html" / "_sources" / "notebooks" / f"{stem}.ipynb").is_file()


def test_math_is_shipped_with_the_book(build_log):
    """MathJax comes from _static (sphinx-mathjax-offline), never from a CDN."""
    assert build_log[0] == 0
    html_dir = ROOT / "_build" / "html"
    assert (html_dir / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for page in html_dir.rglob("*.html"):
        if "_static" in page.parts:
            continue
        scripts = re.findall(r'<script[^>]*src="([^"]+)"', page.read_text())
        remote = [s for s in scripts if s.startswith(("http:", "https:", "//"))]
        assert not remote, f"{page.relative_to(html_dir)} loads {remote}"


def test_chapters_are_numbered_and_number_their_figures_and_exercises(build_log):
    assert build_log[0] == 0
    for number, nb in enumerate(toc_notebooks(), start=1):
        stem = Path(nb).stem
        html = (ROOT / "_build" / "html" / "notebooks" / f"{stem}.html").read_text()
        assert re.search(rf'class="current reference internal" href="#">{number}\. ', html), nb
        figures = re.findall(r'caption-number">Fig\. ([0-9.]+) ', html)
        assert figures and all(f.startswith(f"{number}.") for f in figures), (nb, figures)
        exercises = re.findall(r"Exercise ([0-9.]+)", html)
        assert exercises and all(e.startswith(f"{number}.") for e in exercises), (nb, exercises)


def test_downloaded_notebooks_show_the_numbers_and_the_exercises(build_log):
    """No Jupyter front end renders {glue:text}: the downloadable .ipynb carries the printed text."""
    import json

    assert build_log[0] == 0
    for number, nb in enumerate(toc_notebooks(), start=1):
        stem = Path(nb).stem
        notebook = json.loads((ROOT / "_build" / "html" / "_sources" / "notebooks" / f"{stem}.ipynb").read_text())
        text = "".join(c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                       for c in notebook["cells"] if c["cell_type"] == "markdown")
        assert "{glue" not in text and "{cite" not in text, f"{nb}: raw roles left for a Jupyter reader"
        assert "{exercise}" not in text and "{solution" not in text, nb
        assert f"**Exercise {number}.1.**" in text, f"{nb}: exercises not numbered as in the book"
        assert "filled in when the book was built" in text, nb
        html = (ROOT / "_build" / "html" / "notebooks" / f"{stem}.html").read_text()
        printed = re.findall(r'<span class="pasted-text">([^<]+)</span>', html)
        # Sphinx's smart quotes turn ' and " into typographic ones in the page, not in the notebook
        printed = [p.translate(SMART_QUOTES) for p in printed]
        assert printed and all(p in text for p in printed[:20]), f"{nb}: book and notebook numbers differ"


def test_api_page_lists_every_public_function(build_log):
    import importlib
    import inspect
    import pkgutil

    import smallest_loss

    assert build_log[0] == 0
    html = (ROOT / "_build" / "html" / "book" / "api.html").read_text()
    missing = []
    for info in pkgutil.walk_packages(smallest_loss.__path__, "smallest_loss."):
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.ismodule(obj) or getattr(obj, "__module__", None) != info.name:
                continue  # documented where it is defined
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and f'id="{info.name}.{name}"' not in html:
                missing.append(f"{info.name}.{name}")
    assert not missing, f"not in book/api.md: {missing}"
