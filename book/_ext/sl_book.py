"""The book's own Sphinx extension (loaded through _config.yml's local_extensions).

1. The student edition (``make book-student``, ``hide_solutions: true``) drops the gated solutions
   (``solution-start`` ... ``solution-end``, with the code cells between them), which
   sphinx-exercise 1.2 leaves in place; ``{solution}`` directives it already drops itself.
2. book/api.md renders the library's argument lists as lists, see below.
3. The notebook a reader downloads from a chapter's page (``_sources/notebooks/NN.ipynb``) shows the
   numbers: no Jupyter front end renders myst-nb's ``{glue:text}`` roles, so after the build each
   role in the downloaded notebook is replaced by the text the book prints for it (from the glue
   data the build stored), and the exercises and solutions become plain Markdown headings.
4. Every page loads without console errors: inline scripts added twice (sphinx-thebe's
   ``const THEBE_JS_URL``, which then throws "already been declared") are kept once, and the
   theme's colour mode defaults to "auto" instead of "" (pydata-sphinx-theme logs an error).

The library's docstrings describe arguments in plain text, one argument (or a comma-separated
group) per line with hanging indentation::

    params: N [parameters]; tokens: D [tokens]; 1-D, same length,
        at least 5 runs.
    delta: Huber threshold on log-loss residuals.

As reStructuredText these lines are one paragraph interrupted by indented lines (docutils reports
"Unexpected indentation"). This hook turns each such run of lines into a bullet list, one item per
argument with its continuation lines, and leaves every other line as it is.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes

_ARG = re.compile(r"^([A-Za-z_]\w*(?:, [A-Za-z_]\w*)*): (\S.*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def convert(lines: list[str]) -> list[str]:
    """The docstring ``lines`` (dedented, as autodoc passes them) with argument runs as bullets."""
    out: list[str] = []
    i, n = 0, len(lines)
    in_literal = False
    while i < n:
        line = lines[i]
        if line.rstrip().endswith("::"):
            in_literal = True
        elif line.strip() and _indent(line) == 0:
            in_literal = False
        m = _ARG.match(line) if not in_literal else None
        if not m:
            out.append(line)
            i += 1
            continue
        items: list[list[str]] = []
        while i < n:
            m = _ARG.match(lines[i])
            if not m:
                break
            item = [f"* ``{m.group(1)}``: {m.group(2)}"]
            i += 1
            while i < n and lines[i].strip() and _indent(lines[i]) > 0:
                item.append("  " + lines[i].strip())
                i += 1
            items.append(item)
        if out and out[-1].strip():
            out.append("")
        for item in items:
            out.extend(item)
        if i < n and lines[i].strip():
            out.append("")
    return out


def _process(app, what, name, obj, options, lines):  # noqa: ARG001 (Sphinx's signature)
    if what in ("function", "method", "class") and name.startswith("smallest_loss"):
        lines[:] = convert(lines)


def _tuples(app, config):  # noqa: ARG001
    """_config.yml gives nitpick_ignore as lists; Sphinx compares (type, target) tuples."""
    config.nitpick_ignore = [tuple(entry) for entry in config.nitpick_ignore]


class _HiddenSolution(nodes.Element):
    """Marks where a gated solution starts in the student edition; removed with its content."""


class _HiddenSolutionEnd(nodes.Element):
    """Marks where a gated solution ends in the student edition."""


def _drop_hidden_solutions(app, doctree):
    for marker in list(doctree.findall(_HiddenSolution)):
        parent = marker.parent
        start = parent.index(marker)
        for stop in range(start, len(parent.children)):
            if isinstance(parent.children[stop], _HiddenSolutionEnd):
                break
        else:
            raise ValueError(f"{app.env.docname}: solution-start without a solution-end beside it")
        del parent.children[start : stop + 1]


def _page_context(app, pagename, templatename, context, doctree):  # noqa: ARG001
    scripts = context.get("script_files")
    if scripts:
        seen, kept = set(), []
        for js in scripts:
            attrs = getattr(js, "attributes", {}) or {}
            key = (getattr(js, "filename", str(js)) or "", tuple(sorted((k, str(v)) for k, v in attrs.items())))
            if key not in seen:
                seen.add(key)
                kept.append(js)
        scripts[:] = kept
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


_GLUE_TEXT = re.compile(r"\{glue:text\}`([^`]+)`")
_FENCE = re.compile(r"^(`{3,}|:{3,})\{([\w-]+)\}\s*(.*)$")
_HEADINGS = {"exercise": "**Exercise.**", "solution": "**Solution.**", "solution-start": "**Solution.**",
             "solution-end": ""}
_READER_NOTE = (
    "*This notebook is the chapter as the book prints it: the numbers in the text were filled in "
    "when the book was built. Run the cells to recompute them (the cells that store them for the "
    "book are hidden there).*"
)


def fill_glue_text(text: str, glue: dict[str, str]) -> str:
    """``text`` with every ``{glue:text}`key[:spec]``` role replaced by what the book prints for it.

    ``glue`` maps a key to its ``text/plain`` data, as the build stores it; a key that is missing is
    left as the role (the build itself fails on it)."""
    from myst_nb.core.variables import format_plain_text

    def one(match: re.Match[str]) -> str:
        key, _, spec = match.group(1).partition(":")
        if key not in glue:
            return match.group(0)
        try:
            return format_plain_text(glue[key], spec)
        except (TypeError, ValueError):  # myst-nb reports the same failure as a build warning
            return match.group(0)

    return _GLUE_TEXT.sub(one, text)


def plain_exercises(text: str) -> str:
    """Exercise and solution directives of ``text`` as plain Markdown a Jupyter front end shows."""
    out: list[str] = []
    open_fences: list[tuple[str, str]] = []  # (fence, directive) of the blocks being rewritten
    for line in text.split("\n"):
        m = _FENCE.match(line.strip())
        if m and m.group(2) in _HEADINGS:
            if _HEADINGS[m.group(2)]:
                out.append(_HEADINGS[m.group(2)])
            open_fences.append((m.group(1), m.group(2)))
            continue
        if open_fences and line.strip().startswith(":") and re.match(r"^:[\w-]+:", line.strip()):
            continue  # directive options (:label:, :class:)
        if open_fences and line.strip() == open_fences[-1][0]:
            open_fences.pop()
            continue
        out.append(line)
    return "\n".join(out)


_CITE = re.compile(r"\{cite(?::([tp]))?\}`([^`]+)`")


def author_year(bibfiles: list[str]) -> dict[str, tuple[str, str]]:
    """``key -> ("Hoffmann et al.", "2022")`` for every entry of the bibliography files."""
    from pybtex.database import parse_file

    names: dict[str, tuple[str, str]] = {}
    for bib in bibfiles:
        for key, entry in parse_file(bib).entries.items():
            people = entry.persons.get("author", [])
            last = [" ".join(p.last_names) for p in people]
            who = last[0] + " et al." if len(last) > 2 else " and ".join(last) if last else key
            names[key] = (who, entry.fields.get("year", "n.d."))
    return names


def plain_citations(text: str, names: dict[str, tuple[str, str]]) -> str:
    """``{cite:t}`a```: "A et al. (2020)"; ``{cite:p}`a``` and ``{cite}`a```: "(A et al., 2020)"."""

    def one(match: re.Match[str]) -> str:
        keys = [k.strip() for k in match.group(2).split(",")]
        found = [names.get(k, (k, "")) for k in keys]
        if match.group(1) == "t":
            return ", ".join(f"{who} ({year})" for who, year in found)
        return "(" + "; ".join(f"{who}, {year}" for who, year in found) + ")"

    return _CITE.sub(one, text)


def _reader_notebooks(app, exception):
    """Write the downloadable notebooks with their numbers filled in (see the module docstring)."""
    if exception is not None or app.builder.format != "html":
        return
    executed = Path(app.outdir).parent / "jupyter_execute"
    names = author_year([str(Path(app.srcdir) / b) for b in app.config.bibtex_bibfiles])
    for ipynb in sorted((Path(app.outdir) / "_sources").rglob("*.ipynb")):
        doc = ipynb.relative_to(Path(app.outdir) / "_sources").with_suffix("")
        glue_file = executed / doc.parent / f"{doc.name}.glue.json"
        glue = {}
        if glue_file.is_file():
            glue = {k: v.get("data", {}).get("text/plain", "") for k, v in json.loads(glue_file.read_text()).items()}
        nb = json.loads(ipynb.read_text(encoding="utf-8"))
        chapter = re.match(r"(\d+)_", doc.name)
        count = 0
        for cell in nb.get("cells", []):
            if cell.get("cell_type") != "markdown":
                continue
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            source = plain_citations(plain_exercises(fill_glue_text(source, glue)), names)
            while chapter and "**Exercise.**" in source:  # numbered as in the book: Exercise 4.2
                count += 1
                source = source.replace("**Exercise.**", f"**Exercise {int(chapter.group(1))}.{count}.**", 1)
            cell["source"] = source
        first_md = next((c for c in nb.get("cells", []) if c.get("cell_type") == "markdown"), None)
        if glue and first_md is not None and _READER_NOTE not in first_md["source"]:  # after the opening
            first_md["source"] = first_md["source"].rstrip("\n") + "\n\n" + _READER_NOTE
        ipynb.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def setup(app):
    app.connect("html-page-context", _page_context, priority=900)  # after the themes' handlers
    app.connect("build-finished", _reader_notebooks)
    from sphinx_exercise.directive import SolutionEndDirective, SolutionStartDirective

    class StudentSolutionStart(SolutionStartDirective):
        def run(self):
            if self.env.app.config.hide_solutions:
                return [_HiddenSolution()]
            return super().run()

    class StudentSolutionEnd(SolutionEndDirective):
        def run(self):
            if self.env.app.config.hide_solutions:
                return [_HiddenSolutionEnd()]  # not registered: sphinx-exercise never sees the pair
            return super().run()

    app.add_directive("solution-start", StudentSolutionStart, override=True)
    app.add_directive("solution-end", StudentSolutionEnd, override=True)
    app.connect("doctree-read", _drop_hidden_solutions, priority=100)  # before sphinx-exercise
    app.connect("config-inited", _tuples)
    app.connect("autodoc-process-docstring", _process)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
