"""Reading, writing and reshaping nbgrader notebooks.

Notebooks are written in nbformat's canonical JSON (sorted keys, one source line per list
element) so that source/ and release/ stay diff-friendly.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
from nbformat import NotebookNode

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
# The two kinds of region nbgrader removes from the student version.
REGIONS = ((SOLUTION_BEGIN, SOLUTION_END), (HIDDEN_BEGIN, HIDDEN_END))
EXERCISE_PREFIX = re.compile(r"^(ej\d+)_")


def read(path: str | Path) -> NotebookNode:
    return nbformat.read(str(path), as_version=4)


def write(nb: NotebookNode, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def nbgrader_meta(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell: NotebookNode) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_solution(cell: NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_grade(cell: NotebookNode) -> bool:
    return bool(nbgrader_meta(cell).get("grade"))


def is_test(cell: NotebookNode) -> bool:
    """An autograded test cell: graded code cell that is not an answer cell."""
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def cells_by_grade_id(nb: NotebookNode) -> dict[str, NotebookNode]:
    return {gid: cell for cell in nb.cells if (gid := grade_id(cell))}


def exercise_of(test_grade_id: str) -> str:
    """Test cells are named ej<N>_...: the exercise is that prefix; anything else stands alone."""
    match = EXERCISE_PREFIX.match(test_grade_id)
    return match.group(1) if match else test_grade_id


def strip_outputs(nb: NotebookNode) -> NotebookNode:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.get("metadata", {}).pop("execution", None)
    return nb


def has_outputs(nb: NotebookNode) -> bool:
    return any(
        cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
        for cell in nb.cells
    )


def remove_marker_lines(source: str) -> str:
    """The instructor's answer as a student would have typed it: solution markers removed."""
    kept = [line for line in source.splitlines()
            if line.strip() not in (SOLUTION_BEGIN, SOLUTION_END)]
    return "\n".join(kept)


def marked_regions(source: str, begin: str, end: str) -> Iterator[tuple[int, int]]:
    """(first, last) 1-based line numbers strictly inside each begin/end marker pair."""
    start = None
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() == begin:
            start = number + 1
        elif line.strip() == end and start is not None:
            yield start, number - 1
            start = None


def region_text(source: str, begin: str, end: str) -> list[str]:
    lines = source.splitlines()
    return ["\n".join(lines[a - 1:b]) for a, b in marked_regions(source, begin, end)]


def solved_copy(release_nb: NotebookNode, source_nb: NotebookNode) -> NotebookNode:
    """The release notebook with every answer cell filled in with the instructor's answer."""
    answers = {gid: cell for gid, cell in cells_by_grade_id(source_nb).items()
               if is_solution(cell)}
    solved = copy.deepcopy(release_nb)
    for cell in solved.cells:
        gid = grade_id(cell)
        if gid in answers and is_solution(cell):
            cell.source = remove_marker_lines(answers[gid].source)
    return solved


def replace_answers(nb: NotebookNode, answers: dict[str, str]) -> NotebookNode:
    """A copy of `nb` whose answer cells named in `answers` hold the given source."""
    result = copy.deepcopy(nb)
    cells = cells_by_grade_id(result)
    unknown = sorted(set(answers) - {g for g, c in cells.items() if is_solution(c)})
    if unknown:
        raise KeyError(f"no answer cell with grade_id {', '.join(unknown)}")
    for gid, source in answers.items():
        cells[gid].source = source
    return result


def manual_points(nb: NotebookNode) -> float:
    """Points of the cells graded by hand (answer cells that are also grade cells)."""
    return sum(float(nbgrader_meta(c).get("points", 0)) for c in nb.cells
               if is_grade(c) and is_solution(c))
