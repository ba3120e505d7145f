"""Submission intake: align a submitted notebook with the released one so nbgrader can grade it.

Real submissions arrive damaged: an editor that drops cell metadata (Google Colab saves
nbformat 4.0 with its own `metadata.id` per cell and may lose nbgrader's), copied cells that
duplicate a `grade_id`, an answer cell turned into markdown, a test cell deleted (VS Code
ignores "locked"), cells moved, auxiliary cells added. `repair` rebuilds the notebook in the
release's cell order:

- locked cells (setup, visible and hidden tests) always come from the release, as nbgrader's
  OverwriteCells would do, but also when the student deleted them (a missing grade cell
  breaks nbgrader);
- answer cells carry the release's cell type and nbgrader metadata (checksum included, so an
  untouched answer still reads "No response") and the student's source;
- the student's extra cells stay, without nbgrader metadata, next to the cell they followed;
- every change is a `Repair` in the result; a file that is not this assignment's notebook
  raises `UnmatchableSubmission` instead of being scored 0.

Matching, strongest evidence first: the cell's `grade_id`; the cell `id` (release ids are
readable, JupyterLab and VS Code keep them); the exact text of a statement or locked cell;
for answer code cells, the functions the stub defines and its docstring lines; nearly equal
text (an edited test cell); and last, for answers with nothing left to recognise (a markdown
reflection answer written over the stub), the position between the cells already matched.
Of several copies of one answer cell the last one that differs from the stub is the answer,
as in nbgrader's DeduplicateIds, which keeps the last copy; earlier edited copies stay as
extra cells before it, and unchanged stub copies are dropped (they would redefine the
student's functions as `raise NotImplementedError()`).

Repair kinds: metadata-restored, duplicate-grade-id, duplicate-answer, cell-type-restored,
test-cell-restored, locked-cell-restored, cell-restored (a statement cell), cell-moved,
extra-cell-kept, answer-in-new-cell, answer-by-position, solution-merged, and the one that
is a problem (`Repair.problem`, `IntakeResult.ok` false): solution-missing.
"""

from __future__ import annotations

import bisect
import copy
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from . import notebooks
from .coursedir import CourseError

CELL_TYPES = ("code", "markdown", "raw")
DEFINED_NAME = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)", re.M)
CODE_FENCE = re.compile(r"^\s*```[\w+-]*\s*\n(.*?)\n\s*```\s*$", re.S)
# Share of the release's recognisable cells that a notebook of this assignment keeps at least
# (notebooks of the other assignments of the course keep under 10 %).
MIN_RECOGNISED = 0.2
EVIDENCE = {"grade_id": "its grade_id", "cell id": "its cell id", "text": "its text",
            "signature": "the functions it defines", "similar text": "its nearly equal text",
            "position": "its place", "below": "its place below the stub"}
NEAR = 0.6  # line overlap that makes an edited locked/statement cell "the same cell"
SIGNATURE = 0.5  # score that makes a student cell the answer to an answer cell


class UnmatchableSubmission(CourseError):
    """The file is not a notebook of this assignment: report it, do not grade it."""


@dataclass
class Repair:
    kind: str  # short machine name: "metadata-restored", "cell-moved", ...
    detail: str  # one line for the instructor
    cell: str | None = None  # release cell (grade_id or cell id) it concerns
    problem: bool = False  # the student may lose points for it: the instructor should look

    def as_dict(self) -> dict:
        return {"kind": self.kind, "cell": self.cell, "problem": self.problem,
                "detail": self.detail}


@dataclass
class IntakeResult:
    notebook: NotebookNode
    repairs: list[Repair] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(r.problem for r in self.repairs)


# --- reading what editors write ---------------------------------------------------------------

def read_submission(path: str | Path) -> NotebookNode:
    """A submitted file as a valid nbformat 4.5 notebook; UnmatchableSubmission on garbage."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnmatchableSubmission("not a text file (a notebook is UTF-8 JSON)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnmatchableSubmission(f"not JSON ({error.msg}, line {error.lineno}): "
                                    f"not a notebook") from None
    return from_json(data)


def from_json(data) -> NotebookNode:
    """Normalise a parsed .ipynb: any 4.x minor (or 3), list sources, missing keys, bad ids."""
    if not isinstance(data, dict):
        raise UnmatchableSubmission("JSON, but not a notebook")
    if "worksheets" in data and "cells" not in data:  # nbformat 3 (very old Jupyter)
        try:
            data = nbformat.convert(nbformat.from_dict(data), 4)
        except Exception as error:  # noqa: BLE001 - any failure means "not a notebook"
            raise UnmatchableSubmission(f"an nbformat 3 file that cannot be read: {error}") \
                from None
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise UnmatchableSubmission("JSON, but not a notebook (no list of cells)")
    seen: set[str] = set()
    clean = [_clean_cell(cell, seen) for cell in cells if isinstance(cell, dict)]
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    nb = nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata,
                             "cells": clean})
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError:  # odd outputs or metadata: the sources are what matters
        for cell in nb.cells:
            cell.metadata = {k: v for k, v in cell.metadata.items() if k == "nbgrader"}
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nb.metadata = {}
    return nb


def _clean_cell(cell: dict, seen: set[str]) -> dict:
    kind = cell.get("cell_type") if cell.get("cell_type") in CELL_TYPES else "raw"
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(str(part) for part in source)
    elif not isinstance(source, str):
        source = "" if source is None else str(source)
    metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    made = {"cell_type": kind, "metadata": metadata, "source": source,
            "id": _cell_id(cell.get("id"), seen)}
    if kind == "code":
        outputs = cell.get("outputs")
        made["outputs"] = outputs if isinstance(outputs, list) and all(
            isinstance(o, dict) and "output_type" in o for o in outputs) else []
        count = cell.get("execution_count")
        made["execution_count"] = count if isinstance(count, int) else None
    elif kind == "markdown" and isinstance(cell.get("attachments"), dict):
        made["attachments"] = cell["attachments"]
    return made


def _cell_id(wanted, seen: set[str]) -> str:
    """Keep a valid, unused cell id; otherwise make a fresh one."""
    if not (isinstance(wanted, str) and re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", wanted)
            and wanted not in seen):
        wanted = uuid.uuid4().hex[:12]
        while wanted in seen:
            wanted = uuid.uuid4().hex[:12]
    seen.add(wanted)
    return wanted


# --- text utilities -----------------------------------------------------------------------------

def _norm(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def _lines(text: str) -> Counter:
    return Counter(line.strip() for line in text.splitlines() if line.strip())


def _overlap(a: Counter, b: Counter) -> float:
    """Dice coefficient of two multisets of lines."""
    total = sum(a.values()) + sum(b.values())
    return 2 * sum((a & b).values()) / total if total else 0.0


def _preview(text: str, width: int = 50) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return repr(first if len(first) <= width else first[:width - 1] + "…")


# --- matching ----------------------------------------------------------------------------------

@dataclass
class _Release:
    index: int
    cell: NotebookNode
    gid: str | None
    role: str  # "locked", "answer" or "plain"
    label: str  # grade_id or cell id, for reports
    text: str
    lines: Counter
    names: set[str] = field(default_factory=set)
    key_lines: set[str] = field(default_factory=set)  # an answer stub's own lines
    distinct: set[str] = field(default_factory=set)  # lines no other release cell has

    @property
    def is_test(self) -> bool:
        return notebooks.is_test(self.cell)


@dataclass
class _Student:
    pos: int
    cell: NotebookNode
    gid: str | None
    text: str
    lines: Counter
    names: set[str]


class _Intake:
    def __init__(self, submitted: NotebookNode, release: NotebookNode):
        self.submitted, self.release_nb = submitted, release
        self.release = [self._release_cell(i, c) for i, c in enumerate(release.cells)]
        self._answer_key_lines()
        self._distinct_lines()
        self.student = [_Student(i, c, notebooks.grade_id(c), _norm(c.source),
                                 _lines(c.source), set(DEFINED_NAME.findall(c.source)))
                        for i, c in enumerate(submitted.cells)]
        self.match: dict[int, int] = {}  # release index -> student position
        self.how: dict[int, str] = {}  # release index -> evidence used
        self.taken: set[int] = set()  # student positions used
        self.dropped: set[int] = set()  # student positions removed on purpose
        self.decided: set[int] = set()  # copies already judged to be extra cells
        self.repairs: list[Repair] = []

    @staticmethod
    def _release_cell(index: int, cell: NotebookNode) -> _Release:
        meta = notebooks.nbgrader_meta(cell)
        gid = meta.get("grade_id")
        role = ("answer" if meta.get("solution") else
                "locked" if meta.get("locked") or meta.get("grade") else "plain")
        return _Release(index, cell, gid, role, gid or cell.get("id") or f"cell {index + 1}",
                        _norm(cell.source), _lines(cell.source),
                        set(DEFINED_NAME.findall(cell.source)) if cell.cell_type == "code"
                        else set())

    def _answer_key_lines(self) -> None:
        """Lines that identify an answer cell: those of its stub no other answer cell has."""
        answers = [r for r in self.release if r.role == "answer" and r.cell.cell_type == "code"]
        counts = Counter(line for r in answers for line in set(r.lines))
        for r in answers:
            r.key_lines = {line for line in r.lines if counts[line] == 1}

    def _distinct_lines(self) -> None:
        """Lines that only one release cell has (hidden-test cells, say, all read alike)."""
        counts = Counter(line for r in self.release for line in set(r.lines))
        for r in self.release:
            r.distinct = {line for line in r.lines if counts[line] == 1 and len(line) >= 8}

    def add(self, kind: str, detail: str, cell: str | None = None, problem: bool = False):
        self.repairs.append(Repair(kind, detail, cell, problem))

    def bind(self, r: _Release, s: _Student, how: str) -> None:
        self.match[r.index] = s.pos
        self.how[r.index] = how
        self.taken.add(s.pos)

    def free(self) -> list[_Student]:
        """Student cells still open to matching."""
        closed = self.taken | self.dropped | self.decided
        return [s for s in self.student if s.pos not in closed]

    def extras(self) -> list[_Student]:
        closed = self.taken | self.dropped
        return [s for s in self.student if s.pos not in closed]

    def unmatched(self, role: str | None = None) -> list[_Release]:
        return [r for r in self.release if r.index not in self.match
                and (role is None or r.role == role)]

    # -- the phases, strongest evidence first --

    def run(self) -> IntakeResult:
        self.check_assignment()
        self.by_grade_id()
        self.by_cell_id()
        self.by_exact_text()
        self.by_signature()
        self.by_near_text()
        self.check_recognised()
        self.by_position()
        self.answer_below_stub()
        self.drop_stub_copies()
        return IntakeResult(self.build(), self.repairs)

    def check_assignment(self) -> None:
        mine = self.release_nb.metadata.get("course", {}).get("id")
        theirs = self.submitted.metadata.get("course", {})
        theirs = theirs.get("id") if isinstance(theirs, dict) else None
        if mine and theirs and theirs != mine:
            raise UnmatchableSubmission(f"this is the notebook of {theirs}, not of {mine}")
        if not self.student:
            raise UnmatchableSubmission("the notebook has no cells")

    def by_grade_id(self) -> None:
        by_gid = {r.gid: r for r in self.release if r.gid}
        copies: dict[str, list[_Student]] = {}
        for s in self.student:
            if s.gid in by_gid:
                copies.setdefault(s.gid, []).append(s)
        for gid, found in copies.items():
            r = by_gid[gid]
            chosen = self.pick_copy(r, found) if len(found) > 1 else found[0]
            self.bind(r, chosen, "grade_id")
            if len(found) > 1:
                self.report_copies(r, found, chosen, "duplicate-grade-id",
                                   f"grade_id {gid} appears {len(found)} times (copied cell)")

    def pick_copy(self, r: _Release, found: list[_Student]) -> _Student:
        """The copy that is the answer: the last one that differs from the stub (nbgrader keeps
        the last copy too); for a locked cell, a copy still equal to the release."""
        if r.role == "answer":
            edited = [s for s in found if s.text != r.text]
            return (edited or found)[-1]
        same = [s for s in found if s.text == r.text]
        return (same or found)[0]

    def report_copies(self, r: _Release, found: list[_Student], chosen: _Student, kind: str,
                      what: str) -> None:
        fates = []
        for s in found:
            if s is chosen:
                continue
            if r.role == "answer" and r.cell.cell_type == "code" and s.text == r.text:
                self.dropped.add(s.pos)
                fates.append(f"cell {s.pos + 1} (the unchanged stub) dropped")
            else:
                self.decided.add(s.pos)
                fates.append(f"cell {s.pos + 1} kept as an extra cell without nbgrader metadata")
        role = "answer" if r.role == "answer" else "cell"
        self.add(kind, f"{what}: cell {chosen.pos + 1} used as the {role}; " + "; ".join(fates),
                 r.label)

    def by_cell_id(self) -> None:
        wanted = {r.cell.get("id"): r for r in self.unmatched() if r.cell.get("id")}
        for s in self.free():
            r = wanted.get(s.cell.get("id"))
            if r is not None and r.index not in self.match:
                self.bind(r, s, "cell id")

    def by_exact_text(self) -> None:
        """Statements, demos and locked cells, verbatim (answers are never matched by text:
        several reflection answers share one stub)."""
        waiting: dict[str, list[_Release]] = {}
        for r in self.unmatched():
            if r.role != "answer" and r.text:
                waiting.setdefault(r.text, []).append(r)
        for s in self.free():
            if s.text and waiting.get(s.text):
                self.bind(waiting[s.text].pop(0), s, "text")

    def signature(self, r: _Release, s: _Student) -> float:
        scores = []
        if r.names:
            scores.append(len(r.names & s.names) / len(r.names))
        if r.key_lines:
            scores.append(len(r.key_lines & set(s.lines)) / len(r.key_lines))
        return sum(scores) / len(scores) if scores else 0.0

    def by_signature(self) -> None:
        """Answer code cells: the functions the stub defines and its docstring lines."""
        options = []
        for r in self.unmatched("answer"):
            if r.cell.cell_type != "code":
                continue
            scored = [(self.signature(r, s), s) for s in self.free()]
            scored = [(score, s) for score, s in scored if score >= SIGNATURE]
            if scored:
                options.append((max(score for score, _ in scored), r, scored))
        for best, r, scored in sorted(options, key=lambda o: -o[0]):
            found = [s for score, s in scored
                     if score >= best - 0.2 and s.pos not in self.taken]
            if not found:
                continue
            chosen = self.pick_copy(r, found)
            self.bind(r, chosen, "signature")
            if len(found) > 1:
                self.report_copies(r, found, chosen, "duplicate-answer",
                                   f"{len(found)} cells hold the answer {r.label} (copied cell)")

    def by_near_text(self) -> None:
        """Locked and statement cells the student edited (or an editor reformatted)."""
        pairs = []
        for r in self.unmatched():
            if r.role == "answer" or sum(r.lines.values()) < 2:
                continue
            for s in self.free():
                score = _overlap(r.lines, s.lines)
                if score >= NEAR and (r.distinct & set(s.lines) or not r.distinct):
                    pairs.append((score, r.index, s.pos))
        for _, ri, sp in sorted(pairs, key=lambda p: -p[0]):
            if ri not in self.match and sp not in self.taken:
                self.bind(self.release[ri], self.student[sp], "similar text")

    def check_recognised(self) -> None:
        """Enough of the release's own lines are in the file (lines any notebook of the course
        has, like the setup or the hidden-test comments, prove nothing)."""
        present = set().union(*(set(s.lines) for s in self.student))
        known = [r for r in self.release if r.distinct]
        recognised = sum(1 for r in known if len(r.distinct & present) * 2 >= len(r.distinct))
        if known and recognised / len(known) >= MIN_RECOGNISED:
            return
        foreign = sorted({s.gid for s in self.student if s.gid} -
                         {r.gid for r in self.release if r.gid})
        hint = f"; its grade ids ({', '.join(foreign[:3])}...) are not this assignment's" \
            if foreign else ""
        raise UnmatchableSubmission(
            f"not recognisable as this assignment: {recognised} of its {len(known)} "
            f"distinctive cells found{hint}")

    def by_position(self) -> None:
        """Answers with nothing left to recognise: the student cells between matched ones."""
        index = 0
        while index < len(self.release):
            if self.release[index].index in self.match:
                index += 1
                continue
            end = index
            while end < len(self.release) and end not in self.match:
                end += 1
            block = [r for r in self.release[index:end] if r.role == "answer"]
            if block:
                self.fill_block(block, self.run_between(index - 1, end))
            index = end

    def run_between(self, before: int, after: int) -> list[_Student]:
        """Free student cells right after the match of release cell `before`, or else right
        before the match of release cell `after`."""
        free = {s.pos for s in self.free()}
        start = self.match[before] + 1 if before >= 0 else 0
        run = []
        pos = start
        while pos in free:
            run.append(self.student[pos])
            pos += 1
        if run or after >= len(self.release):
            return run
        pos = self.match[after] - 1
        while pos in free:
            run.insert(0, self.student[pos])
            pos -= 1
        return run

    def fill_block(self, block: list[_Release], run: list[_Student]) -> None:
        for r in block:
            usable = [s for s in run if s.pos not in self.taken and s.text]
            same = [s for s in usable if s.cell.cell_type == r.cell.cell_type
                    or {s.cell.cell_type, r.cell.cell_type} == {"markdown", "raw"}]
            choice = (same or usable or [None])[0]
            if choice is not None:
                self.bind(r, choice, "position")
                run = run[run.index(choice) + 1:]

    def answer_below_stub(self) -> None:
        """The stub left as it was and the answer written in a new cell right below it: that
        cell is the answer (else nbgrader reads "No response")."""
        for r in self.release:
            pos = self.match.get(r.index)
            if r.role != "answer" or pos is None or self.student[pos].text != r.text:
                continue
            free = {s.pos for s in self.free()}
            below = []
            while pos + 1 + len(below) in free:
                below.append(self.student[pos + 1 + len(below)])
            if r.cell.cell_type == "code":
                found = [s for s in below if self.signature(r, s) >= SIGNATURE]
                found = found[-1:]
            else:
                found = [s for s in below if s.text and s.cell.cell_type != "code"][:1]
            if found:
                self.taken.discard(pos)
                self.dropped.add(pos)
                self.bind(r, found[0], "below")
                self.add("answer-in-new-cell", f"{r.label}: the stub was left as it was and "
                         f"the answer written in a new cell below it (cell {found[0].pos + 1}),"
                         f" graded as the answer; the stub dropped", r.label)

    def drop_stub_copies(self) -> None:
        stubs = {r.text: r for r in self.release if r.role == "answer"
                 and r.cell.cell_type == "code"}
        for s in self.free():
            r = stubs.get(s.text)
            if r is not None and s.cell.cell_type == "code":
                self.dropped.add(s.pos)
                self.add("duplicate-answer", f"cell {s.pos + 1} is an unchanged copy of the stub "
                         f"of {r.label}: dropped (it would undo the answer)", r.label)

    # -- the repaired notebook --

    def build(self) -> NotebookNode:
        extras_before, extras_after, leading = self.place_extras()
        defined = set().union(*(s.names for s in self.student
                                if s.pos not in self.dropped))
        moved = self.moved()
        cells = [self.extra_cell(s, None) for s in leading]
        extra_ids = [s.cell.get("id", "") for s in leading]
        for r in self.release:
            for s in extras_before.get(r.index, []):
                cells.append(self.extra_cell(s, r))
                extra_ids.append(s.cell.get("id", ""))
            cells.append(self.release_cell(r, defined, r.index in moved))
            extra_ids.append(None)
            for s in extras_after.get(r.index, []):
                cells.append(self.extra_cell(s, r))
                extra_ids.append(s.cell.get("id", ""))
        nb = nbformat.v4.new_notebook(metadata=copy.deepcopy(self.release_nb.metadata))
        nb.cells = cells
        seen = {r.cell.id for r in self.release if r.cell.get("id")}  # the release's ids stay
        for cell, extra in zip(cells, extra_ids, strict=True):
            if extra is not None:  # the student's own id, unless the release has it
                cell.id = _cell_id(extra, seen)
        nbformat.validate(nb)
        return nb

    def place_extras(self):
        """Each run of extra cells goes with the matched cell next to it: before the answer
        that follows it (an auxiliary function), else after the cell it followed."""
        by_pos = {pos: ri for ri, pos in self.match.items()}
        before: dict[int, list[_Student]] = {}
        after: dict[int, list[_Student]] = {}
        leading: list[_Student] = []
        extra = {s.pos for s in self.extras()}
        run: list[_Student] = []
        for pos in range(len(self.student) + 1):
            if pos in extra:
                run.append(self.student[pos])
                continue
            if pos in self.dropped or not run:
                continue
            prev = next((by_pos[p] for p in range(run[0].pos - 1, -1, -1) if p in by_pos), None)
            nxt = by_pos.get(pos)
            if nxt is not None and self.release[nxt].role == "answer":
                before.setdefault(nxt, []).extend(run)
            elif prev is not None:
                after.setdefault(prev, []).extend(run)
            elif nxt is not None:
                before.setdefault(nxt, []).extend(run)
            else:
                leading.extend(run)
            run = []
        return before, after, leading

    def moved(self) -> set[int]:
        """Matched cells out of the release's order: those off a longest increasing run."""
        order = sorted(self.match)
        positions = [self.match[i] for i in order]
        tails: list[int] = []
        parent = [-1] * len(positions)
        tail_index: list[int] = []
        for k, pos in enumerate(positions):
            at = bisect.bisect_left(tails, pos)
            if at == len(tails):
                tails.append(pos)
                tail_index.append(k)
            else:
                tails[at] = pos
                tail_index[at] = k
            parent[k] = tail_index[at - 1] if at else -1
        keep = set()
        k = tail_index[-1] if tail_index else -1
        while k >= 0:
            keep.add(order[k])
            k = parent[k]
        return set(order) - keep

    def release_cell(self, r: _Release, defined: set[str], moved: bool) -> NotebookNode:
        cell = copy.deepcopy(r.cell)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        pos = self.match.get(r.index)
        s = self.student[pos] if pos is not None else None
        if s is None:
            self.report_missing(r, cell, defined)
            return cell
        if moved:
            self.add("cell-moved", f"{r.label} was at cell {s.pos + 1}; put back in place",
                     r.label)
        if r.role == "locked":
            if s.text != r.text or s.cell.cell_type != r.cell.cell_type:
                kind = "test-cell-restored" if r.is_test else "locked-cell-restored"
                what = "edited" if s.text != r.text else f"made {s.cell.cell_type}"
                self.add(kind, f"{r.label} was {what}; restored from the release", r.label)
        else:
            cell.source = self.student_source(s, r)
            if r.role == "answer" and s.cell.cell_type == "markdown" and \
                    cell.cell_type == "markdown" and s.cell.get("attachments"):
                cell.attachments = copy.deepcopy(s.cell.attachments)
        if r.role != "plain":
            self.report_metadata(r, s)
        if r.role == "answer" and self.how[r.index] == "position":
            self.add("answer-by-position", f"{r.label}: nothing identified its answer; took "
                     f"cell {s.pos + 1} {_preview(s.cell.source)}, the one in its place",
                     r.label)
        return cell

    def student_source(self, s: _Student, r: _Release) -> str:
        source = s.cell.source
        if s.cell.cell_type != r.cell.cell_type:
            if r.cell.cell_type == "code":  # ```python fences of a cell made markdown
                fenced = CODE_FENCE.match(source)
                source = fenced.group(1) if fenced else source
            if r.role == "answer" or r.cell.cell_type == "code":
                self.add("cell-type-restored", f"{r.label} was a {s.cell.cell_type} cell; made "
                         f"{r.cell.cell_type} again, its text kept", r.label)
        return source

    def report_metadata(self, r: _Release, s: _Student) -> None:
        theirs = notebooks.nbgrader_meta(s.cell)
        if self.how[r.index] == "below":  # reported as answer-in-new-cell
            return
        if not theirs:
            self.add("metadata-restored", f"{r.label}: nbgrader metadata missing (cell found "
                     f"by {EVIDENCE[self.how[r.index]]}); restored from the release", r.label)
            return
        mine = notebooks.nbgrader_meta(r.cell)
        changed = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k)
                         and k not in ("checksum", "schema_version"))
        if changed:
            self.add("metadata-restored", f"{r.label}: nbgrader metadata changed "
                     f"({', '.join(changed)}); restored from the release", r.label)

    def report_missing(self, r: _Release, cell: NotebookNode, defined: set[str]) -> None:
        if r.role == "locked":
            kind = "test-cell-restored" if r.is_test else "locked-cell-restored"
            self.add(kind, f"{r.label} was deleted; restored from the release", r.label)
        elif r.role == "plain":
            self.add("cell-restored", f"{r.label} ({r.cell.cell_type}) was deleted; restored "
                     f"from the release", r.label)
        elif r.names and r.names <= defined:
            # the functions live in another kept cell: the stub must not redefine them
            cell.source = "# (respuesta en otra celda de la entrega)"
            self.add("solution-merged", f"{r.label}: no cell of its own, but "
                     f"{', '.join(sorted(r.names))} are defined in other cells, which are kept",
                     r.label)
        else:
            self.add("solution-missing", f"{r.label}: no answer found; the blank stub is "
                     f"graded in its place", r.label, problem=True)

    def extra_cell(self, s: _Student, near: _Release | None) -> NotebookNode:
        make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
                "raw": nbformat.v4.new_raw_cell}[s.cell.cell_type]
        metadata = {k: copy.deepcopy(v) for k, v in s.cell.metadata.items()
                    if k not in ("nbgrader", "deletable", "editable")}
        cell = make(s.cell.source, metadata=metadata)
        if s.gid and s.pos not in self.dropped and not any(
                s.gid == r.gid for r in self.release):
            note = f" (its unknown grade_id {s.gid} removed)"
        else:
            note = ""
        where = f"next to {near.label}" if near else "at the top"
        self.add("extra-cell-kept", f"cell {s.pos + 1} ({s.cell.cell_type}) "
                 f"{_preview(s.cell.source)} kept {where} without nbgrader metadata{note}",
                 near.label if near else None)
        return cell


def repair(submitted: NotebookNode, release: NotebookNode) -> IntakeResult:
    """The submitted notebook rebuilt on the release's cells, and the list of what changed."""
    return _Intake(submitted, release).run()
