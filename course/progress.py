"""What `course autograde` prints: a progress line per graded submission and a final summary."""

from __future__ import annotations

import sys
from typing import TextIO

from . import table
from .batch import BatchSummary, GradeOutcome

BAR = 20


class Progress:
    def __init__(self, stream: TextIO = sys.stdout):
        self.stream = stream

    def __call__(self, outcome: GradeOutcome, done: int, total: int) -> None:
        filled = round(BAR * done / max(total, 1))
        score = (table.points(outcome.score, outcome.max_score) if outcome.status == "graded"
                 else "FAILED")
        note = outcome.explanation()
        print(f"[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total}  {outcome.student}  "
              f"{outcome.assignment}  {score}  {outcome.seconds:.1f} s"
              f"{'  — ' + note[:160] if note else ''}", file=self.stream, flush=True)


def summary_text(summaries: list[BatchSummary], slowest: int = 5) -> str:
    rows = []
    for s in summaries:
        with_incidents = sum(1 for o in s.graded if o.incidents)
        rows.append([s.assignment, str(len(s.graded)), str(with_incidents), str(len(s.failed)),
                     str(len(s.skipped)), f"{s.seconds:.1f} s"])
    if len(summaries) > 1:
        rows.append(["all", *(str(sum(int(r[i]) for r in rows)) for i in range(1, 5)),
                     f"{max(s.seconds for s in summaries):.1f} s"])
    # One pool grades every assignment listed: each is done when its last submission is.
    lines = [table.render(["assignment", "graded", "with incidents", "failed",
                           "skipped (up to date)", "done after"], rows)]
    for warning in sorted({s.sandbox for s in summaries if s.sandbox}):
        lines += ["", f"WARNING: {warning}"]
    outcomes = [o for s in summaries for o in s.outcomes]
    problems = [o for o in outcomes if o.status != "graded" or o.incidents]
    if problems:
        lines += ["", "Incidents and failures (details in .grading/ID/autograde.log):"]
        for o in problems:
            failed = "FAILED, not recorded: " if o.status != "graded" else ""
            lines.append(f"  {o.assignment}/{o.student}: {failed}{o.explanation()}")
    if outcomes:
        lines += ["", f"Slowest submissions (of {len(outcomes)}):"]
        for o in sorted(outcomes, key=lambda o: -o.seconds)[:slowest]:
            lines.append(f"  {o.seconds:7.1f} s  {o.assignment}/{o.student}")
    return "\n".join(lines)
