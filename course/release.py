"""Generating the student versions (release/) with nbgrader and proving they leak nothing."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

from nbformat import NotebookNode

from . import colab, notebooks
from .coursedir import (
    CourseError,
    nbgrader_checked,
    notebook_path,
    scratch_course,
    scratch_env,
    tool_env,
)

# Any nbgrader-style region marker, also misspelled ones ("### BEGIN HIDEN TESTS").
MARKER_LINE = re.compile(r"^#{2,}\s*(BEGIN|END)\b", re.IGNORECASE)


def leaks(source_nb: NotebookNode, release_nb: NotebookNode) -> list[str]:
    """Everything in the student version that should not be there; empty when it is clean.

    A line of a solution or hidden-test region may appear in the student version only if
    the instructor also wrote it outside every such region (e.g. in a worked example)."""
    problems = []
    if notebooks.has_outputs(release_nb):
        problems.append("has outputs or execution counts")
    secret, public = set(), set()
    for cell in source_nb.cells:
        for begin, end in notebooks.REGIONS:
            for region in notebooks.region_text(cell.source, begin, end):
                secret.update(line.strip() for line in region.splitlines())
        if notebooks.is_solution(cell) and cell.cell_type == "markdown":
            # A model answer has no markers: all of it is secret, none of it public.
            secret.update(line.strip() for line in cell.source.splitlines())
        else:
            public.update(_lines_outside(cell.source))
    secret = {line for line in secret - public if _substantive(line)}
    released = notebooks.cells_by_grade_id(release_nb)
    for gid in notebooks.cells_by_grade_id(source_nb):
        if gid not in released:
            problems.append(f"cell {gid} is missing from the student version")
    for cell in release_nb.cells:
        name = notebooks.grade_id(cell) or cell.get("id", "?")
        for line in cell.source.splitlines():
            text = line.strip()
            if MARKER_LINE.match(text):
                problems.append(f"cell {name} still contains a marker: {text[:80]}")
            elif text in secret:
                problems.append(f"cell {name} shows a solution or hidden-test line: "
                                f"{text[:80]}")
    return problems


def _lines_outside(source: str) -> set[str]:
    """Stripped lines of `source` outside every solution/hidden region and marker."""
    inside = set()
    for begin, end in notebooks.REGIONS:
        for first, last in notebooks.marked_regions(source, begin, end):
            inside.update(range(first - 1, last + 2))  # the marker lines too
    return {line.strip() for number, line in enumerate(source.splitlines(), start=1)
            if number not in inside}


def _substantive(text: str) -> bool:
    return len(text) > 3 and not text.startswith("#") and text not in {"pass", "return", "else:"}


def canonical(nb: NotebookNode) -> str:
    """The committed form of a notebook: no outputs, nbformat's sorted, indented JSON."""
    import nbformat

    return nbformat.writes(notebooks.strip_outputs(nb)) + "\n"


def generate(root: Path, assignment: str, course: Path | None = None) -> NotebookNode:
    """Run nbgrader generate_assignment in `course` (default: the course root itself, which
    also records the assignment in its gradebook, as autograding needs)."""
    course = course or root
    env = tool_env(root) if course == root else scratch_env(course)
    nbgrader_checked(course, "generate_assignment", assignment, "--force", env=env)
    path = notebook_path(course, "release", assignment)
    nb = for_colab(notebooks.read(path), assignment)
    path.write_text(canonical(nb), encoding="utf-8")
    return notebooks.read(path)


def for_colab(nb: NotebookNode, assignment: str) -> NotebookNode:
    """The student version with the "Abrir en Colab" badge on top and the setup cell's install
    line naming this repository (both from course.REPOSITORY, via course.colab)."""
    from nbformat.v4 import new_markdown_cell
    from nbgrader.utils import compute_checksum

    nb.cells = [c for c in nb.cells if c.get("id") != colab.BADGE_CELL_ID]
    badge = new_markdown_cell(colab.badge_markdown(assignment))
    badge.id = colab.BADGE_CELL_ID
    nb.cells.insert(0, badge)
    setup = notebooks.cells_by_grade_id(nb).get("setup")
    if setup is not None:
        source = colab.INSTALL_LITERAL.sub(f'"{colab.install_requirement()}"', setup.source)
        if source != setup.source:
            setup.source = source
            # Validate compares each locked cell with its checksum: keep them in step.
            if "checksum" in notebooks.nbgrader_meta(setup):
                setup.metadata.nbgrader["checksum"] = compute_checksum(setup)
    return nb


def release(root: Path, assignment: str) -> list[str]:
    """Generate release/ID in the course and verify it; returns the problems found."""
    source_nb = notebooks.read(notebook_path(root, "source", assignment))
    if notebooks.has_outputs(source_nb):
        raise CourseError(f"source/{assignment} has outputs: clear them before releasing "
                          f"(source notebooks are committed without outputs)")
    release_nb = generate(root, assignment)
    return leaks(source_nb, release_nb)


def out_of_sync(root: Path, assignment: str) -> str | None:
    """Regenerate in a scratch course and compare with the committed release/; None if equal."""
    committed = notebook_path(root, "release", assignment)
    if not committed.exists():
        return f"release/{assignment} does not exist: run `course release {assignment}`"
    tmp = Path(tempfile.mkdtemp(prefix="release-check-"))
    try:
        course = scratch_course(root, tmp, [assignment])
        fresh = canonical(generate(root, assignment, course))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if committed.read_text(encoding="utf-8") == fresh:
        return None
    old, new = json.loads(committed.read_text(encoding="utf-8")), json.loads(fresh)
    changed = [i for i, (a, b) in enumerate(zip(old["cells"], new["cells"], strict=False))
               if a != b]
    return (f"release/{assignment} differs from what source/ generates "
            f"({len(old['cells'])} vs {len(new['cells'])} cells; first differing cell index: "
            f"{changed[0] if changed else 'none'}): run `course release {assignment}`")
