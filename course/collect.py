"""`course collect`: the intake of submitted/ (and the import of an LMS bulk-download zip).

Every `submitted/<student>/<ID>/` folder gets a `.intake/` folder beside the notebook:

    .intake/original/<file>   the student's file exactly as it arrived (never modified)
    .intake/report.md         what the intake repaired, for the instructor
    .intake/report.json       the same, for tools, plus digests that make re-runs idempotent

and `<ID>.ipynb` is replaced by the repaired notebook. A re-run repairs from the original
again, never from its own output; a new file in the folder (a resubmission) becomes the new
original. nbgrader ignores `.intake/` (see `CourseDirectory.ignore` in nbgrader_config.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from . import notebooks, table
from .coursedir import CourseError, notebook_path, resolve_ids
from .intake import Repair, UnmatchableSubmission, read_submission, repair

INTAKE_DIR = ".intake"


@dataclass
class IntakeReport:
    student: str
    assignment: str
    status: str  # "ok" (nothing to repair), "repaired", "problems" or "unmatchable"
    repairs: list[Repair] = field(default_factory=list)
    original: str | None = None  # the student's file, relative to the submission folder
    renamed_from: str | None = None  # the file's own name when it was not <ID>.ipynb
    reason: str = ""  # why it is unmatchable

    @property
    def ok(self) -> bool:
        """Gradable with nothing for the instructor to look at."""
        return self.status in ("ok", "repaired")

    @property
    def gradable(self) -> bool:
        return self.status != "unmatchable"

    def as_dict(self) -> dict:
        return {"student": self.student, "assignment": self.assignment, "status": self.status,
                "original": self.original, "renamed_from": self.renamed_from,
                "reason": self.reason, "repairs": [r.as_dict() for r in self.repairs]}

    def markdown(self) -> str:
        lines = [f"# Intake of {self.assignment} for {self.student}", "",
                 f"- status: **{self.status}**"]
        if self.original:
            lines.append(f"- the student's file, untouched: `{self.original}`")
        if self.renamed_from:
            lines.append(f"- submitted as `{self.renamed_from}`, graded as "
                         f"`{self.assignment}.ipynb`")
        if self.reason:
            lines.append(f"- not graded: {self.reason}")
        if self.repairs:
            lines += ["", "| repair | what was done |", "|---|---|"]
            for r in self.repairs:
                flag = " **(check)**" if r.problem else ""
                lines.append(f"| {r.kind}{flag} | {r.detail.replace('|', '/')} |")
        elif self.gradable:
            lines += ["", "Nothing to repair: the notebook matches the released one."]
        return "\n".join(lines) + "\n"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_state(intake: Path) -> dict:
    try:
        return json.loads((intake / "report.json").read_text())
    except (OSError, ValueError):
        return {}


def _pick_original(folder: Path, assignment: str) -> tuple[Path, str | None]:
    """The student's notebook in the folder (and its name, when it is not <ID>.ipynb)."""
    target = folder / f"{assignment}.ipynb"
    found = _notebooks_in(folder)
    if target in found:
        return target, None
    if len(found) == 1:
        return found[0], found[0].name
    if not found:
        raise UnmatchableSubmission(f"no notebook in {folder.name}/")
    names = ", ".join(p.name for p in found)
    raise UnmatchableSubmission(f"{len(found)} notebooks and none is {target.name}: {names}")


def released(root: Path, assignment: str) -> NotebookNode:
    path = notebook_path(root, "release", assignment)
    if not path.is_file():
        raise CourseError(f"{path.relative_to(root)} is missing: run `course release "
                          f"{assignment}` first")
    return notebooks.read(path)


def _notebooks_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.ipynb") if p.is_file())


def intake_submission(root: Path, assignment: str, student: str,
                      release: NotebookNode | None = None) -> IntakeReport:
    """Repair submitted/<student>/<assignment>/ in place (idempotent) and report it."""
    folder = root / "submitted" / student / assignment
    if not folder.is_dir():
        raise CourseError(f"no submission folder {folder}")
    if release is None:
        release = released(root, assignment)
    intake = folder / INTAKE_DIR
    target = folder / f"{assignment}.ipynb"
    state = _load_state(intake)
    report = IntakeReport(student, assignment, "ok")
    kept = intake / "original" / str(state.get("original_name", ""))
    if (state.get("repaired_sha256") and target.is_file() and kept.is_file()
            and _digest(target) == state["repaired_sha256"]):
        original, report.renamed_from = kept, state.get("renamed_from")  # a re-run
    else:
        try:
            source, report.renamed_from = _pick_original(folder, assignment)
        except UnmatchableSubmission as error:
            return _finish(report, intake, {}, unmatchable=str(error))
        if (intake / "original").exists():
            shutil.rmtree(intake / "original")
        original = intake / "original" / source.name
        original.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, original)
    report.original = str(original.relative_to(folder))
    state = {"original_name": original.name, "renamed_from": report.renamed_from}
    try:
        result = repair(read_submission(original), release)
    except UnmatchableSubmission as error:
        return _finish(report, intake, state, unmatchable=str(error))
    report.repairs = list(result.repairs)
    if report.renamed_from:
        report.repairs.insert(0, Repair("file-renamed", f"submitted as {report.renamed_from!r}; "
                                        f"graded as {target.name}"))
        (folder / report.renamed_from).unlink(missing_ok=True)  # kept in .intake/original
    for other in _notebooks_in(folder):
        if other != target and other.name != report.renamed_from:
            report.repairs.append(Repair(
                "other-notebook", f"{other.name!r} is in the folder too and is not graded: "
                f"check it is not the real submission", problem=True))
    notebooks.write(result.notebook, target)
    state["repaired_sha256"] = _digest(target)
    report.status = ("problems" if any(r.problem for r in report.repairs) else
                     "repaired" if report.repairs else "ok")
    return _finish(report, intake, state)


def _finish(report: IntakeReport, intake: Path, state: dict,
            unmatchable: str | None = None) -> IntakeReport:
    if unmatchable:
        report.status, report.reason, report.repairs = "unmatchable", unmatchable, []
        state.pop("repaired_sha256", None)
    intake.mkdir(parents=True, exist_ok=True)
    (intake / "report.json").write_text(json.dumps({**state, **report.as_dict()}, indent=1,
                                                   ensure_ascii=False) + "\n")
    (intake / "report.md").write_text(report.markdown())
    return report


def submitted_students(root: Path, assignment: str) -> list[str]:
    return sorted(p.parent.name for p in (root / "submitted").glob(f"*/{assignment}")
                  if p.is_dir() and not p.parent.name.startswith("."))


def collect(root: Path, assignment: str, students: list[str] | None = None) -> list[IntakeReport]:
    """Intake of every submission of `assignment` (or of the given students)."""
    present = submitted_students(root, assignment)
    missing = sorted(set(students or []) - set(present))
    if missing or not present:
        raise CourseError(f"no submissions in {root / 'submitted'}/"
                          f"{'|'.join(missing) or '*'}/{assignment}")
    release = released(root, assignment)
    return [intake_submission(root, assignment, s, release) for s in (students or present)]


def summary(reports: list[IntakeReport]) -> str:
    rows = []
    for r in reports:
        if r.status == "unmatchable":
            rows.append([r.student, "UNMATCHABLE", "-", r.reason])
            continue
        problems = [f"{x.kind}: {x.cell}" for x in r.repairs if x.problem]
        kinds = Counter(x.kind for x in r.repairs if not x.problem)
        note = "; ".join(problems + [f"{k} ×{n}" if n > 1 else k for k, n in kinds.items()])
        rows.append([r.student, r.status, str(len(r.repairs)), note])
    return table.render(["student", "intake", "repairs", "notes"], rows)


# --- the command line ----------------------------------------------------------------------

HELP = """\
Repairs every submitted/<student>/ID/ notebook against release/ID/ID.ipynb (missing or
stripped nbgrader metadata, copied or deleted cells, changed cell types, moved cells, a
renamed file) and writes a report per submission in submitted/<student>/ID/.intake/.

With --zip, first imports an LMS bulk download into submitted/<student>/ID/ID.ipynb:
  Moodle   "Download all submissions" (files or folders named
           'Full Name_<participant id>_assignsubmission_file_...')
  Canvas   "Download Submissions" ('lastfirst[_LATE]_<user id>_<submission id>_<file>')
  Google Classroom / Drive folder download ('Full Name - <file>' or the uploaded name)
--map names the nbgrader student id of each LMS identity: a CSV file (',' or ';') with a
header row and the columns
  student_id   the nbgrader student id (required)
  lms_id       Moodle participant id or Canvas user id, the number in the file names
  name         full name as the LMS shows it (any order of given names and surnames)
  email        e-mail address (Classroom file names sometimes carry it)
A file matches a row by lms_id, else e-mail, else name (accents and case ignored); one row
per student, several rows allowed for one student. Without --map the student id is made
from the LMS name ('Ana García' -> ana_garcia). Files that match no row, rows with no
file, other files, and zip entries with '..' or absolute paths are listed, never imported
silently.

Exit status: 0, or 1 when a submission or a zip file could not be matched (listed)."""


def add_parser(sub) -> None:
    p = sub.add_parser("collect", help="intake: repair submissions, import LMS zips",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("id", metavar="ID")
    p.add_argument("--students", "--student", dest="students", nargs="+", action="extend",
                   metavar="S", help="only these students")
    p.add_argument("--zip", metavar="FILE", help="import an LMS bulk-download zip first")
    p.add_argument("--map", metavar="CSV", help="student-id mapping for --zip")
    p.add_argument("--lms", choices=["auto", "moodle", "canvas", "classroom"], default="auto",
                   help="naming scheme of the zip (default: detected)")
    p.set_defaults(func=run)


def run(root: Path, args: argparse.Namespace) -> int:
    assignment = resolve_ids(root, [args.id])[0]
    failed = False
    students = args.students
    if args.map and not args.zip:
        raise CourseError("--map only applies to --zip")
    if args.zip:
        from .lms import import_zip

        result = import_zip(root, assignment, Path(args.zip), mapping=args.map, lms=args.lms)
        print(result.describe())
        failed |= bool(result.unmatched)
        students = sorted(set(students or []) | {s for s, _, _ in result.imported}) \
            if result.imported else None
        if not result.imported:
            return 1
    reports = collect(root, assignment, students)
    print(summary(reports))
    bad = [r for r in reports if not r.gradable]
    print(f"reports: submitted/<student>/{assignment}/{INTAKE_DIR}/report.md")
    if bad:
        print(f"{len(bad)} submission(s) not recognisable as {assignment}, NOT graded: "
              f"{', '.join(r.student for r in bad)} (see the reasons above)")
    return 1 if failed or bad else 0
