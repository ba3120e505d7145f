"""Feedback HTML a student can use: in Spanish, with points and failure messages, and without
the hidden tests.

nbgrader's generate_feedback renders the *autograded* notebook, whose test cells hold the hidden
tests restored from the instructor's source, and whose error tracebacks quote the lines that
failed. nbgrader_config.py adds `HideHiddenTests` to GenerateFeedback's preprocessors and points
the HTML exporter at the Spanish template in `templates/feedback`, so every way of running it
(`course feedback`, `nbgrader generate_feedback`, formgrader's button) is safe:

- a hidden block becomes one line, HIDDEN_NOTE;
- an error raised in a cell with hidden tests, or whose traceback passes through hidden code,
  keeps only `ErrorName: message` (the message is written for the student; the code is not);
- any other output line that quotes hidden code is dropped;
- each graded cell gets its failure message for the template (resources["course_feedback"]).

This module knows the hidden-test markers and nothing about what the tests check.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

from nbconvert.filters import strip_ansi
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool

from .notebooks import HIDDEN_BEGIN, HIDDEN_END, marked_regions

HIDDEN_NOTE = "# (pruebas ocultas: no se muestran)"
OMITTED_LINE = "(línea omitida: cita una prueba oculta)"
CELL_REFERENCE = re.compile(r"\bIn ?\[(\d+)\]")  # IPython's "Cell In[12], line 5"
MIN_QUOTED = 8  # shorter hidden lines ("else:", "x = 1") say nothing about the tests


class HideHiddenTests(Preprocessor):
    """Removes every trace of the hidden tests from an autograded notebook before rendering,
    and records each graded cell's failure message for the template."""

    # nbconvert registers configured preprocessors disabled unless they say otherwise.
    enabled = Bool(True, help="Hide the hidden tests (keep it on).").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict):
        secret = hidden_lines(nb)
        hidden_runs = {c.execution_count for c in nb.cells
                       if c.cell_type == "code" and c.execution_count and _has_hidden(c.source)}
        manual = _pending_manual_grades(nb, resources)
        cells = {}
        for cell in nb.cells:
            had_hidden = _has_hidden(cell.source)
            cell.source = without_hidden(cell.source)
            if cell.cell_type == "code":
                cell.outputs = [_scrub(o, secret, hidden_runs, had_hidden)
                                for o in cell.outputs]
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") or meta.get("task"):
                cells[meta.get("grade_id")] = {
                    "hidden": had_hidden,
                    "pending": meta.get("grade_id") in manual,
                    "message": failure_message(cell),
                }
        resources["course_feedback"] = cells
        return nb, resources


def _has_hidden(source: str) -> bool:
    return any(line.strip() == HIDDEN_BEGIN for line in source.splitlines())


def without_hidden(source: str) -> str:
    """The cell source with each hidden block (markers included) replaced by HIDDEN_NOTE.
    An unterminated block hides everything after its begin marker."""
    kept, inside = [], False
    for line in source.splitlines():
        if line.strip() == HIDDEN_BEGIN:
            inside = True
            kept.append(line[: len(line) - len(line.lstrip())] + HIDDEN_NOTE)
        elif inside:
            inside = line.strip() != HIDDEN_END
        else:
            kept.append(line)
    return "\n".join(kept)


def hidden_lines(nb: NotebookNode) -> set[str]:
    """Stripped lines written inside hidden blocks and nowhere else in the notebook."""
    secret, public = set(), set()
    for cell in nb.cells:
        lines = cell.source.splitlines()
        inside = set()
        for first, last in marked_regions(cell.source, HIDDEN_BEGIN, HIDDEN_END):
            inside.update(range(first - 1, last))
            secret.update(line.strip() for line in lines[first - 1:last])
        public.update(line.strip() for number, line in enumerate(lines) if number not in inside)
    # A hidden line that is part of a public one (a message repeated in a visible check) tells
    # the student nothing new, and would be found in the page anyway.
    shown = "\n".join(public)
    return {line for line in secret - public if len(line) >= MIN_QUOTED and line not in shown}


def quotes_hidden(text: str, secret: set[str]) -> bool:
    return any(line in text for line in secret)


def _scrub(output: NotebookNode, secret: set[str], hidden_runs: set[int],
           in_hidden_cell: bool) -> NotebookNode:
    if output.output_type == "error":
        trace = strip_ansi("\n".join(output.get("traceback", [])))
        through_hidden = any(int(n) in hidden_runs for n in CELL_REFERENCE.findall(trace))
        if in_hidden_cell or through_hidden or quotes_hidden(trace, secret):
            output.traceback = [f"{output.ename}: {_drop_lines(output.evalue, secret)}"]
        output.evalue = _drop_lines(output.evalue, secret)
    elif output.output_type == "stream":
        output.text = _drop_lines(output.text, secret)
    elif output.output_type in ("display_data", "execute_result"):
        data = output.get("data", {})
        for mime, value in list(data.items()):
            if mime.startswith("text/") and mime != "text/plain" and isinstance(value, str) \
                    and quotes_hidden(strip_ansi(html.unescape(value)), secret):
                del data[mime]  # rich text (HTML, LaTeX) that quotes hidden code: drop it
        if "text/plain" in data:
            data["text/plain"] = _drop_lines(data["text/plain"], secret)
    return output


def _drop_lines(text: str, secret: set[str]) -> str:
    if not secret:
        return text
    return "".join(OMITTED_LINE + "\n" if quotes_hidden(strip_ansi(line), secret) else line
                   for line in text.splitlines(keepends=True))


def failure_message(cell: NotebookNode) -> str | None:
    """Why a graded code cell lost its points, as the student should read it; None if it
    raised nothing and wrote nothing to stderr."""
    if cell.cell_type != "code":
        return None
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            return f"{output.ename}: {output.evalue}".strip()
        if output.output_type == "stream" and output.name == "stderr":
            return ("La celda escribió en la salida de errores (stderr), y eso cuenta como "
                    "fallo al calificar:\n" + output.text.strip())
    return None


def _pending_manual_grades(nb: NotebookNode, resources: dict) -> set[str]:
    """Grade ids still waiting for the instructor's hand grading (shown as pending, not 0)."""
    info = resources.get("nbgrader", {})
    if not info.get("db_url"):
        return set()
    from nbgrader.api import Gradebook, MissingEntry

    pending = set()
    with Gradebook(info["db_url"]) as gb:
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not (meta.get("grade") or meta.get("task")):
                continue
            try:
                grade = gb.find_grade(meta["grade_id"], info["notebook"], info["assignment"],
                                      info["student"])
            except MissingEntry:
                continue
            if grade.needs_manual_grade and grade.manual_score is None:
                pending.add(meta["grade_id"])
    return pending


# --- checking a rendered page ------------------------------------------------------------------

class _Text(HTMLParser):
    """A page's rendered text, and apart from it what a browser does not show: attribute values,
    comments (scripts and styles are part of the text)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.shown: list[str] = []
        self.unseen: list[str] = []

    def handle_data(self, data):
        self.shown.append(data)  # highlighted code is split into spans: glue them back

    def handle_comment(self, data):
        self.unseen.append(data)

    def handle_starttag(self, tag, attrs):
        self.unseen.extend(value for _, value in attrs if value)


def page_texts(page: str) -> tuple[str, str]:
    """(rendered text, attributes and comments), whitespace collapsed."""
    parser = _Text()
    parser.feed(page)
    parser.close()
    return " ".join("".join(parser.shown).split()), " ".join(" ".join(parser.unseen).split())


def leaked_lines(page: str, nb: NotebookNode) -> list[str]:
    """Hidden-test lines of `nb` (the autograded or the instructor notebook) that a page shows."""
    texts = page_texts(page)
    return sorted(line for line in hidden_lines(nb)
                  if any(" ".join(line.split()) in text for text in texts))


def unsafe_pages(root: Path, assignment: str, students: list[str]) -> list[str]:
    """Problems of the feedback pages written for `students`: a page missing, or one that
    shows hidden-test lines of its autograded notebook (such a page is deleted)."""
    from . import notebooks

    problems = []
    for student in students:
        for graded in sorted((root / "autograded" / student / assignment).glob("*.ipynb")):
            page = root / "feedback" / student / assignment / f"{graded.stem}.html"
            if not page.is_file():
                problems.append(f"{page.relative_to(root)} was not written")
                continue
            leaked = leaked_lines(page.read_text(encoding="utf-8"), notebooks.read(graded))
            if leaked:
                page.unlink()
                problems.append(f"{page.relative_to(root)} showed {len(leaked)} hidden-test "
                                f"line(s), e.g. {leaked[0][:60]!r}; deleted")
    return problems
