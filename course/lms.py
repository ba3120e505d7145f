"""Importing an LMS bulk download (Moodle, Canvas, Google Classroom) into submitted/.

The file names each LMS gives the submissions of one assignment:

- Moodle, assignment "Download all submissions": one folder per student,
  `Ana García López_123456_assignsubmission_file/01_neurona.ipynb` (with or without a
  trailing `_`), or with folders off,
  `Ana García López_123456_assignsubmission_file_01_neurona.ipynb`.
  123456 is the participant id; the name is "Participant" (or "Participante") under blind
  marking.
- Canvas, "Download Submissions": a flat zip of `garcialopezana_123456_7890123_01_neurona.ipynb`:
  the sortable name squashed to lower case, `_LATE` when late, the user id, the submission
  id, then the uploaded name (Canvas adds `-1`, `-2`... to a re-uploaded file name).
- Google Classroom: the assignment's Drive folder downloaded as a zip. Files keep the name they
  were uploaded with; copies Classroom makes for each student are named
  `Ana García - 01_neurona.ipynb`. A file name with no name in it can only be matched through
  an e-mail, lms_id or student id written in it.

The zip entry's date becomes nbgrader's `timestamp.txt` (the zip stores local time, read as
this machine's time zone). Entry names are only parsed, never used as paths: the notebook is
written to `submitted/<student>/<ID>/<ID>.ipynb`, and entries with `..` or an absolute path
are refused outright.
"""

from __future__ import annotations

import csv
import itertools
import re
import shutil
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from . import table
from .coursedir import CourseError

MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+?)"
                    r"(?:_(?P<rest>.*))?$")
CANVAS = re.compile(r"^(?P<name>[^_/]+?)(?P<late>_LATE)?_(?P<id>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
CLASSROOM = re.compile(r"^(?P<name>.+?)\s+-\s+(?P<file>.+)$")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
BLIND = {"participant", "participante"}
JUNK = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$|desktop\.ini$)")
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
MAX_BYTES = 200 * 1024 * 1024
COLUMNS = {  # mapping-file header -> accepted spellings
    "student_id": ("student_id", "nbgrader_id", "student"),
    "lms_id": ("lms_id", "moodle_id", "canvas_id", "user_id"),
    "name": ("name", "full_name", "nombre"),
    "email": ("email", "e-mail", "correo"),
}


@dataclass
class Entry:
    path: str  # the name in the zip
    file: str  # the file name the student uploaded
    lms_id: str | None = None
    name: str | None = None
    late: bool = False
    when: datetime | None = None


@dataclass
class ImportResult:
    lms: str
    zip_name: str
    imported: list[tuple[str, Entry, str]] = field(default_factory=list)  # student, entry, note
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # notebook entry, why
    skipped: list[tuple[str, str]] = field(default_factory=list)  # other entries, why
    missing: list[str] = field(default_factory=list)  # mapped students with no notebook

    def describe(self) -> str:
        out = [f"{self.zip_name} ({self.lms}): {len(self.imported)} notebook(s) imported"]
        if self.imported:
            out.append(table.render(["student", "file in the zip", "note"],
                                    [[s, e.path, note] for s, e, note in self.imported]))
        if self.unmatched:
            out.append(f"NOT imported, no student matched ({len(self.unmatched)}):")
            out += [f"  {path}: {why}" for path, why in self.unmatched]
        if self.skipped:
            out.append(f"not imported ({len(self.skipped)}):")
            out += [f"  {path}: {why}" for path, why in self.skipped]
        if self.missing:
            out.append(f"no notebook in the zip for ({len(self.missing)}): "
                       + ", ".join(self.missing))
        return "\n".join(out)


# --- names ---------------------------------------------------------------------------------

def tokens(text: str) -> tuple[str, ...]:
    """Lower-case ASCII words: 'García López, Ana' -> ('garcia', 'lopez', 'ana')."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return tuple(t for t in re.split(r"[^a-z0-9]+", plain) if t)


def slug(text: str) -> str:
    return "_".join(tokens(text))


def clean_file_name(name: str) -> str:
    """The name the notebook had before editors and LMSs decorated it:
    'Copia de 01_neurona (1).ipynb', '01_neurona-2.ipynb' -> '01_neurona.ipynb'."""
    stem = PurePosixPath(name).name
    stem = re.sub(r"\.ipynb$", "", stem, flags=re.I)
    stem = re.sub(r"^((copia de|copy of)\s+)+", "", stem, flags=re.I)
    stem = re.sub(r"(\s*\(\d+\)|-\d+)+$", "", stem)
    return stem.strip() + ".ipynb"


# --- the mapping file ----------------------------------------------------------------------

@dataclass
class Person:
    student_id: str
    lms_ids: set[str] = field(default_factory=set)
    names: set[tuple[str, ...]] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)


class Roster:
    """Who is who: the rows of the mapping file, by nbgrader student id."""

    def __init__(self, people: dict[str, Person]):
        self.people = people

    @classmethod
    def read(cls, path: str | Path) -> Roster:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise CourseError(f"cannot read the mapping file {path}: {error}") from None
        try:
            dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else "", ",;\t")
        except csv.Error:
            dialect = csv.excel
        rows = list(csv.reader(text.splitlines(), dialect))
        if not rows:
            raise CourseError(f"{path} is empty: expected a header row with student_id")
        header = [h.strip().lower() for h in rows[0]]
        where = {}
        for key, spellings in COLUMNS.items():
            where[key] = next((header.index(s) for s in spellings if s in header), None)
        if where["student_id"] is None:
            raise CourseError(f"{path}: no student_id column (header: {', '.join(header)})")
        people: dict[str, Person] = {}
        owner: dict[str, str] = {}
        for number, row in enumerate(rows[1:], start=2):
            def cell(key: str, row=row) -> str:
                at = where[key]
                return row[at].strip() if at is not None and at < len(row) else ""

            sid = cell("student_id")
            if not sid and not any(x.strip() for x in row):
                continue
            if not SAFE_ID.match(sid):
                raise CourseError(f"{path}, line {number}: {sid!r} is not a usable student id "
                                  f"(letters, digits, . _ @ -)")
            person = people.setdefault(sid, Person(sid))
            if lms_id := cell("lms_id"):
                if owner.setdefault(lms_id, sid) != sid:
                    raise CourseError(f"{path}, line {number}: lms_id {lms_id} is given to "
                                      f"both {owner[lms_id]} and {sid}")
                person.lms_ids.add(lms_id)
            if name := cell("name"):
                person.names.add(tokens(name))
            if email := cell("email"):
                person.emails.add(email.lower())
        if not people:
            raise CourseError(f"{path} has a header but no student rows")
        return cls(people)

    def find(self, entry: Entry) -> tuple[str | None, str]:
        """(student id, how) or (None, why not)."""
        if entry.lms_id:
            found = [p for p in self.people.values() if entry.lms_id in p.lms_ids]
            if found:
                return found[0].student_id, f"lms id {entry.lms_id}"
        emails = {e.lower() for e in EMAIL.findall(f"{entry.name or ''} {entry.file}")}
        found = [p for p in self.people.values() if p.emails & emails]
        if len(found) == 1:
            return found[0].student_id, "e-mail"
        if entry.name and tokens(entry.name) and not set(tokens(entry.name)) <= BLIND:
            who = self._by_name(tokens(entry.name))
            if who:
                return who
        words = set(tokens(entry.name or "")) | set(tokens(PurePosixPath(entry.file).stem))
        found = [p for p in self.people.values()
                 if p.student_id.lower() in words or p.lms_ids & words]
        if len(found) == 1:
            return found[0].student_id, "student id in the file name"
        who = entry.name or entry.lms_id or "no name"
        return None, f"no row of the mapping file matches {who!r}"

    def _by_name(self, name: tuple[str, ...]):
        for rule, test in (("name", _same_name), ("part of the name", _part_of_name)):
            found = [p.student_id for p in self.people.values()
                     if any(test(name, known) for known in p.names)]
            if len(found) == 1:
                return found[0], rule
            if len(found) > 1:
                return None, f"the name matches several students: {', '.join(found)}"
        return None


def _same_name(name: tuple[str, ...], known: tuple[str, ...]) -> bool:
    if sorted(name) == sorted(known):
        return True
    if len(name) == 1 and len(known) <= 6:  # Canvas squashes 'García López, Ana' into one word
        return any("".join(order) == name[0] for order in itertools.permutations(known))
    return False


def _part_of_name(name: tuple[str, ...], known: tuple[str, ...]) -> bool:
    """'Ana García' (a Google account) for 'Ana García López' (the enrolment list)."""
    return len(name) >= 2 and set(name) < set(known)


# --- reading the zip -----------------------------------------------------------------------

def unsafe(name: str) -> str | None:
    """Why a zip entry name is refused (zip-slip), or None."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix):
        return "absolute path refused"
    if ".." in PurePosixPath(posix).parts:
        return "path with '..' refused"
    return None


def parse_moodle(path: str) -> Entry | None:
    parts = PurePosixPath(path).parts
    for depth, part in enumerate(parts):
        found = MOODLE.match(part)
        if not found:
            continue
        rest = found["rest"] or ""
        inner = "/".join(([rest] if rest else []) + list(parts[depth + 1:]))
        if not inner:
            return None
        name = found["name"].strip()
        return Entry(path, PurePosixPath(inner).name, lms_id=found["id"],
                     name=None if set(tokens(name)) <= BLIND else name)
    return None


def parse_canvas(path: str) -> Entry | None:
    found = CANVAS.match(PurePosixPath(path).name)
    if not found:
        return None
    return Entry(path, found["file"], lms_id=found["id"], name=found["name"],
                 late=bool(found["late"]))


def parse_classroom(path: str) -> Entry:
    base = PurePosixPath(path).name
    stem = re.sub(r"^((copia de|copy of)\s+)+", "", base, flags=re.I)
    found = CLASSROOM.match(stem)
    if found:
        return Entry(path, found["file"], name=found["name"])
    return Entry(path, base)


PARSERS = {"moodle": parse_moodle, "canvas": parse_canvas, "classroom": parse_classroom}


def detect(names: list[str]) -> str:
    notebooks = [n for n in names if n.lower().endswith(".ipynb")] or names
    if any(parse_moodle(n) for n in notebooks):
        return "moodle"
    if sum(1 for n in notebooks if parse_canvas(n)) * 2 >= len(notebooks):
        return "canvas"
    return "classroom"


def _when(info: zipfile.ZipInfo) -> datetime | None:
    try:  # zip times are local and naive: read them in this machine's time zone
        return datetime(*info.date_time).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


# --- importing -----------------------------------------------------------------------------

def import_zip(root: Path, assignment: str, zip_path: Path, mapping: str | Path | None = None,
               lms: str = "auto") -> ImportResult:
    """Put each student's notebook of the zip in submitted/<student>/<assignment>/."""
    roster = Roster.read(mapping) if mapping else None
    try:
        archive = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as error:
        raise CourseError(f"cannot open {zip_path} as a zip file: {error}") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir() and not JUNK.search(i.filename)]
        kind = detect([i.filename for i in infos]) if lms == "auto" else lms
        result = ImportResult(kind, Path(zip_path).name)
        chosen = _choose(_match(infos, kind, roster, result), assignment, result)
        for student, (entry, info, how) in sorted(chosen.items()):
            note = _write(root, assignment, student, archive.read(info), entry)
            late = "; Canvas marked it LATE" if entry.late else ""
            result.imported.append((student, entry, f"{how}{late}{note}"))
    if roster:
        result.missing = sorted(set(roster.people) - set(chosen))
    return result


def _match(infos, kind: str, roster: Roster | None, result: ImportResult):
    """(student, entry, info, how) for every notebook entry that names a student."""
    found = []
    for info in infos:
        if why := unsafe(info.filename):
            result.skipped.append((info.filename, why))
            continue
        if not info.filename.lower().endswith(".ipynb"):
            result.skipped.append((info.filename, "not a notebook"))
            continue
        if info.file_size > MAX_BYTES:
            result.skipped.append((info.filename, f"larger than {MAX_BYTES >> 20} MB"))
            continue
        entry = PARSERS[kind](info.filename)
        if entry is None:
            result.unmatched.append((info.filename, f"not named the way {kind} names them"))
            continue
        entry.when = _when(info)
        if roster:
            student, how = roster.find(entry)
        elif entry.name or entry.lms_id:
            student, how = slug(entry.name or f"{kind}_{entry.lms_id}"), "name (no --map)"
        else:
            student, how = None, "no student name in the file name (give --map)"
        if student is None:
            result.unmatched.append((info.filename, how))
        else:
            found.append((student, entry, info, how))
    return found


def _choose(found, assignment: str, result: ImportResult):
    """One notebook per student: the one named like the assignment, else the newest."""
    wanted = f"{assignment}.ipynb".lower()
    by_student: dict[str, list] = {}
    for student, entry, info, how in found:
        by_student.setdefault(student, []).append((entry, info, how))
    chosen = {}
    for student, options in by_student.items():
        options.sort(key=lambda o: (clean_file_name(o[0].file).lower() == wanted,
                                    o[0].when or datetime.min.replace(tzinfo=timezone.utc)),
                     reverse=True)
        chosen[student] = options[0]
        for entry, _, _ in options[1:]:
            result.skipped.append((entry.path, f"another notebook of {student}; imported "
                                               f"{options[0][0].path} instead"))
    return chosen


def _write(root: Path, assignment: str, student: str, data: bytes, entry: Entry) -> str:
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{assignment}.ipynb"
    note = ""
    if entry.file != target.name:
        note += f"; submitted as {entry.file!r}"
    if target.exists() and target.read_bytes() != data:
        # an earlier notebook (or its repaired version): kept, never overwritten silently
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        backup = folder / ".intake" / "replaced" / f"{stamp}-{target.name}"
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(target), backup)
        note += f"; replaced an earlier notebook (kept in {backup.relative_to(folder)})"
    for other in folder.glob("*.ipynb"):  # a renamed earlier submission would be ambiguous
        if other != target:
            backup = folder / ".intake" / "replaced" / other.name
            backup.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(other), backup)
    target.write_bytes(data)
    if entry.when:
        stamp = entry.when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        (folder / "timestamp.txt").write_text(stamp + "\n")
    return note
