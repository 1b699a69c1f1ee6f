"""The built book in a real browser: headless Chromium (the system package) driven by Playwright.

Every page of the book (_toc.yml) is opened from a local http server on 127.0.0.1, at two window
widths, with every request to another host blocked (the book must work offline). A page fails on
  * raw TeX left unrendered: ``\\(``, ``\\[``, ``$$`` or ``\\begin{`` in the visible text;
  * a display equation wider than the text column (long equations are broken with ``aligned``;
    the stylesheet's scroll box is only a safety net, so it does not excuse an equation);
  * a table wider than the column that is not inside its own scrolling box, or any other element
    that makes the main column scroll sideways;
  * a broken image (``naturalWidth == 0``);
  * a console error, an uncaught exception, or a request to another host.

Known failures of chapter content are listed in KNOWN_FAILURES, keyed by page and element; each
is strict: the test fails when a listed failure no longer happens (remove it from the list then).

Needs Chromium (Debian package ``chromium``; .ci/run installs it) and the Python package
playwright; Playwright never downloads a browser here. Without either the test is skipped and
says why. Set SMALLEST_LOSS_SCREENSHOTS to a folder to save a full-page screenshot of each page.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from nbrun import ROOT, toc_files

pytestmark = [pytest.mark.book, pytest.mark.browser]

HTML = ROOT / "_build" / "html"
WIDTHS = (1280, 800)  # a laptop window, and a narrow one with the sidebar collapsed

# (page, element) -> why. Elements are keyed by equation label, table number or image source.
# Chapter content that other work will fix; remove an entry when its fix lands.
KNOWN_FAILURES: dict[tuple[str, str], str] = {
}


def _chromium() -> str | None:
    for name in (os.environ.get("SMALLEST_LOSS_CHROMIUM"), "chromium", "chromium-browser",
                 "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _pages() -> list[str]:
    return [f + ".html" for f in toc_files()]


PAGES = _pages()

# Runs in the page; returns what the test checks. Coordinates in CSS pixels.
CHECK_JS = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const main = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const col = main.getBoundingClientRect();
  const colRight = col.left + main.clientWidth;
  const scrollBox = (el) => {
    for (let p = el.parentElement; p && p !== main; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if ((o === 'auto' || o === 'scroll') && p.getBoundingClientRect().right <= colRight + 1) return true;
    }
    return false;
  };
  // raw TeX in visible text (outside code, scripts and rendered math)
  const raw = [];
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const p = n.parentElement;
    if (!p || p.closest('pre, code, script, style, mjx-container, .highlight, textarea')) continue;
    const t = n.textContent;
    const m = t.match(/\\\(|\\\[|\$\$|\\begin\{/);
    if (m && p.getClientRects().length) raw.push(t.slice(Math.max(0, m.index - 30), m.index + 50).trim());
  }
  // display equations: the rendered formula must fit the column
  const equations = [];
  for (const c of main.querySelectorAll('mjx-container[display="true"]')) {
    const math = c.querySelector('mjx-math') || c;
    const box = c.closest('div.math') || c.parentElement;
    const eqno = box && box.querySelector('.eqno');
    const label = (box && box.id) || (eqno ? eqno.textContent.replace(/[^0-9.()]/g, '') : 'equation ' + (equations.length + 1));
    equations.push({label: label, number: eqno ? eqno.textContent.replace(/[^0-9.()]/g, '') : '',
                    width: Math.round(math.getBoundingClientRect().width), column: Math.round(main.clientWidth)});
  }
  // tables: wider than the column only inside their own scroll box
  const tables = [];
  main.querySelectorAll('table').forEach((t, i) => {
    const r = t.getBoundingClientRect();
    const head = Array.from(t.querySelectorAll('th')).map(th => th.textContent.trim()).filter(Boolean).slice(0, 3).join(' | ');
    tables.push({label: 'table ' + (i + 1) + ' [' + head.slice(0, 60) + ']', wide: r.right > colRight + 1, boxed: scrollBox(t)});
  });
  // anything else sticking out of the column
  const other = [];
  if (main.scrollWidth > main.clientWidth + 1) {
    for (const el of main.querySelectorAll('*')) {
      if (el.closest('mjx-container, table')) continue;
      const r = el.getBoundingClientRect();
      if (r.width && r.right > colRight + 1 && !scrollBox(el)) {
        const tag = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '');
        other.push(tag + ' (' + Math.round(r.right - colRight) + ' px past the column)');
        if (other.length > 5) break;
      }
    }
  }
  const images = Array.from(document.images).map(img => ({src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0}));
  return {raw, equations, tables, other, images, mathjax: !!(window.MathJax && MathJax.version)};
}
"""


@pytest.fixture(scope="module")
def chromium_path():
    path = _chromium()
    if path is None:
        pytest.skip("no Chromium on this machine (install the Debian package 'chromium'; "
                    ".ci/run does) - the real-browser test of the book did not run")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the Python package playwright is not installed (requirements.txt has it)")
    return path


@pytest.fixture(scope="module")
def server(chromium_path, book_build):
    code, log = book_build  # warnings are test_book.py's business; the pages must exist
    missing = [p for p in PAGES if not (HTML / p).is_file()]
    assert not missing, f"the build made no {missing} (exit status {code}):\n" + log[-3000:]
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log in the test output
        pass


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, headless=True,
                              args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


COUNTS: dict[str, int] = {"pages": 0, "equations": 0, "tables": 0, "images": 0}


def _check_page(browser, base: str, page_path: str, width: int) -> tuple[set[tuple[str, str]], list[str]]:
    """Open one page at one width; return (failure keys, messages)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    console: list[str] = []
    external: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(f"uncaught: {e}"))

    def route(r):
        if r.request.url.startswith(base) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(base + page_path, wait_until="load")
    result = page.evaluate(CHECK_JS)
    shots = os.environ.get("SMALLEST_LOSS_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{page_path.replace('/', '_')}-{width}.png"), full_page=True)
    page.close()

    keys: set[tuple[str, str]] = set()
    msgs: list[str] = []

    def fail(element: str, message: str) -> None:
        keys.add((page_path, element))
        msgs.append(f"{page_path} @ {width}px: {element}: {message}")

    COUNTS["pages"] += 1
    COUNTS["equations"] += len(result["equations"])
    COUNTS["tables"] += len(result["tables"])
    COUNTS["images"] += len(result["images"])
    for snippet in result["raw"]:
        fail("raw TeX", repr(snippet))
    for eq in result["equations"]:
        if eq["width"] > eq["column"] + 1:
            fail(f"equation {eq['label']}",
                 f"equation {eq['number']} is {eq['width']} px wide in a {eq['column']} px column")
    for t in result["tables"]:
        if t["wide"] and not t["boxed"]:
            fail(t["label"], "wider than the column and not in a scrolling box")
    for o in result["other"]:
        fail("overflow", o)
    for img in result["images"]:
        if not img["ok"]:
            fail(f"image {img['src']}", "broken image (naturalWidth 0)")
    for text in console:
        fail("console", text[:200])
    for url in external:
        fail("network", f"request to another host: {url[:120]}")
    return keys, msgs


@pytest.mark.parametrize("page_path", PAGES)
def test_page_renders_in_chromium(browser, server, page_path):
    keys: set[tuple[str, str]] = set()
    msgs: list[str] = []
    for width in WIDTHS:
        k, m = _check_page(browser, server, page_path, width)
        keys |= k
        msgs += m
    known = {key for key in KNOWN_FAILURES if key[0] == page_path}
    new = keys - known
    fixed = known - keys
    assert not new, "\n".join(m for m in msgs if any(m.startswith(p) and f": {e}:" in m for p, e in new))
    assert not fixed, ("listed in KNOWN_FAILURES but no longer failing (remove them): "
                       + "; ".join(e for _, e in sorted(fixed)))
    if known:
        pytest.xfail("known: " + "; ".join(f"{e} ({KNOWN_FAILURES[(page_path, e)]})"
                                           for _, e in sorted(known)))


def test_every_page_was_checked(browser, server):
    """Runs last in this module: every page was opened at every width, and says what was checked
    (shown with pytest -rA)."""
    assert COUNTS["pages"] == len(PAGES) * len(WIDTHS), COUNTS
    assert COUNTS["equations"] > 0 and COUNTS["images"] > 0, COUNTS
    print(f"browser test checked {COUNTS['pages']} page views ({len(PAGES)} pages x {len(WIDTHS)} widths), "
          f"{COUNTS['equations']} display equations, {COUNTS['tables']} tables, {COUNTS['images']} images")
