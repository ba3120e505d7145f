"""`course check`: prove that an assignment's tests tell right answers from wrong ones.

The instructor solution must score the maximum, the blank student version 0 autograded
points, every wrong-submission fixture in tests/fixtures/<id>/ must lose points (at least in
the cells it names), and optionally automatic mutants of the solution show what the hidden
tests miss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from . import fixtures, mutants, notebooks, table
from .coursedir import CourseError, notebook_path
from .grading import Grader, GradeResult

Print = Callable[[str], None]


@dataclass
class Verdict:
    result: GradeResult
    ok: bool
    reason: str


def fixtures_dir(root: Path, assignment: str) -> Path:
    return root / "tests" / "fixtures" / assignment


def missing_data(source_nb: NotebookNode) -> str | None:
    """Why the assignment's data cannot be had here, or None when it can."""
    from . import data

    for name in source_nb.metadata.get("course", {}).get("datasets", []):
        available, reason = data.is_available(name)
        if not available:
            return reason.splitlines()[0]
    return None


def judge_reference(result: GradeResult) -> Verdict:
    if result.failure:
        return Verdict(result, False, "grading failed: " + result.failure.splitlines()[0])
    lost = [f"{gid} ({c.error or 'lost points'})" for gid, c in result.cells.items()
            if c.score < c.max_score]
    return Verdict(result, not lost, "must score the maximum; lost: " + "; ".join(lost)
                   if lost else "maximum")


def judge_blank(result: GradeResult) -> Verdict:
    if result.failure:
        return Verdict(result, False, "grading failed: " + result.failure.splitlines()[0])
    earned = [gid for gid, c in result.cells.items() if c.score > 0]
    return Verdict(result, not earned, "must score 0; earns points in: " + ", ".join(earned)
                   if earned else "0 autograded points")


def judge_fixture(result: GradeResult, fixture: fixtures.Fixture) -> Verdict:
    if result.failure:
        return Verdict(result, False, "grading failed: " + result.failure.splitlines()[0])
    lost = {gid for gid, c in result.cells.items() if c.score < c.max_score}
    if fixture.expect_full:
        if lost:
            return Verdict(result, False, "a correct alternative lost points in: "
                           + ", ".join(f"{g} ({result.cells[g].error or 'lost'})"
                                       for g in sorted(lost)))
        return Verdict(result, True, fixture.description or "correct alternative: full marks")
    if not lost:
        return Verdict(result, False, "a wrong submission got full marks")
    kept = [gid for gid in fixture.must_lose if gid not in lost]
    if kept:
        return Verdict(result, False, "should lose points in: " + ", ".join(kept))
    elsewhere = sorted(g for g in lost if notebooks.exercise_of(g) not in fixture.exercises)
    if elsewhere:
        return Verdict(result, False, "loses points outside its exercise(s) "
                       f"{', '.join(sorted(fixture.exercises))}: {', '.join(elsewhere)}")
    return Verdict(result, True, fixture.description or "loses points")


def exercise_table(verdicts: list[Verdict]) -> str:
    exercises = list(verdicts[0].result.by_exercise())
    header = ["submission", *exercises, "total", "ok", "why"]
    rows = []
    for v in verdicts:
        per = v.result.by_exercise()
        rows.append([v.result.label,
                     *(table.points(*per[e]) if e in per else "-" for e in exercises),
                     table.points(v.result.score, v.result.max_score),
                     "yes" if v.ok else "NO", v.reason[:90]])
    return table.render(header, rows)


def check(root: Path, assignment: str, *, mutant_count: int = 0, mutant_seed: int = 0,
          workers: int | None = None,
          cell_timeout: int | None = None, out: Print = print) -> bool:
    out(f"== {assignment}")
    source_nb = notebooks.read(notebook_path(root, "source", assignment))
    reason = missing_data(source_nb)
    if reason:  # every cell would fail with a NameError that hides the real cause
        raise CourseError(f"{assignment} needs data that cannot be had here: {reason} "
                          f"(set COURSE_DATA_DIR to a folder with the course data)")
    with Grader(root, assignment, cell_timeout=cell_timeout) as grader:
        wrong = fixtures.load_all(fixtures_dir(root, assignment))
        items = [("reference", grader.reference()), ("blank", grader.blank())]
        items += [(f"{'alt' if f.expect_full else 'wrong'}:{f.name}",
                   notebooks.replace_answers(grader.reference(), f.answers)) for f in wrong]
        results = grader.grade_many(items, workers=workers)
        verdicts = [judge_reference(results[0]), judge_blank(results[1])]
        verdicts += [judge_fixture(r, f) for r, f in zip(results[2:], wrong, strict=True)]
        out(exercise_table(verdicts))
        ok = all(v.ok for v in verdicts)
        if not wrong:
            out(f"note: no wrong-submission fixtures in {fixtures_dir(root, assignment)}")
        if mutant_count:
            ok = run_mutants(grader, mutant_count, mutant_seed, workers, out) and ok
    out(f"{assignment}: {'PASS' if ok else 'FAIL'}")
    return ok


def run_mutants(grader: Grader, count: int, seed: int, workers: int | None,
                out: Print) -> bool:
    """Grade `count` mutants; report how many the tests catch and list the survivors.
    Survivors are information for the instructor, not a failure of the check."""
    candidates = mutants.all_mutants(grader.source_nb)
    chosen = mutants.sample(candidates, count, seed)
    reference = grader.reference()
    items = [(f"mutant{i:03d}", notebooks.replace_answers(reference, {m.cell: m.source}))
             for i, m in enumerate(chosen, start=1)]
    results = grader.grade_many(items, workers=workers)
    survivors = [(m, r) for m, r in zip(chosen, results, strict=True)
                 if not r.failure and r.score >= r.max_score]
    caught = len(chosen) - len(survivors)
    out(f"mutants: {caught}/{len(chosen)} caught "
        f"({len(candidates)} possible in the solution code)")
    for mutant, _ in survivors:
        out(f"  survived: {mutant.cell} line {mutant.line}: {mutant.description}")
    return True
