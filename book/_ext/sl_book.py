"""The book's own Sphinx extension (loaded through _config.yml's local_extensions).

1. The student edition (``make book-student``, ``hide_solutions: true``) drops the gated solutions
   (``solution-start`` ... ``solution-end``, with the code cells between them), which
   sphinx-exercise 1.2 leaves in place; ``{solution}`` directives it already drops itself.
2. book/api.md renders the library's argument lists as lists, see below.
3. Every page loads without console errors: inline scripts added twice (sphinx-thebe's
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

import re

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


def setup(app):
    app.connect("html-page-context", _page_context, priority=900)  # after the themes' handlers
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
