"""Importing LMS bulk downloads: zips named the way Moodle, Canvas and Google Classroom name
them land in the right submitted/<student>/<ID>/ folders; what matches no one is listed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from nbgrader.utils import parse_utc

from course import notebooks
from course.coursedir import CourseError, notebook_path
from course.lms import Roster, clean_file_name, detect, import_zip, tokens

ROOT = Path(__file__).resolve().parents[1]
ID = "01_neurona"
NOTEBOOK = json.dumps(notebooks.solved_copy(
    notebooks.read(notebook_path(ROOT, "release", ID)),
    notebooks.read(notebook_path(ROOT, "source", ID))))
WHEN = (2025, 3, 14, 23, 58, 30)

MAPPING = """student_id,lms_id,name,email
ana,,Ana García López,ana.garcia@uni.edu
bruno,5002,Bruno Díaz,bruno@uni.edu
bruno,102,,
carla,,Carla Pérez,carla@uni.edu
dario,,Darío Sosa,dario@uni.edu
"""


def make_zip(path: Path, entries: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in entries.items():
            info = zipfile.ZipInfo(name, date_time=WHEN)
            archive.writestr(info, text)
    return path


def make_course(base: Path) -> Path:
    (base / "source" / ID).mkdir(parents=True)
    release = notebooks.read(notebook_path(ROOT, "release", ID))
    notebooks.write(release, notebook_path(base, "release", ID))
    notebooks.write(release, notebook_path(base, "source", ID))
    (base / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    return base


@pytest.fixture
def course(tmp_path):
    base = make_course(tmp_path / "curso")
    (tmp_path / "map.csv").write_text(MAPPING)
    return base


def landed(course: Path) -> dict[str, str]:
    """student -> notebook text of what is in submitted/."""
    return {p.parents[1].name: p.read_text()
            for p in (course / "submitted").glob(f"*/{ID}/{ID}.ipynb")}


def run_course(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    return subprocess.run([sys.executable, "-m", "course.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


# --- each LMS -------------------------------------------------------------------------------

def test_moodle_zip_folders_and_files(course, tmp_path):
    archive = make_zip(tmp_path / "moodle.zip", {
        "Ana García López_101_assignsubmission_file_/01_neurona.ipynb": NOTEBOOK,
        "Bruno Díaz_102_assignsubmission_file/Copia de 01_neurona.ipynb": NOTEBOOK + " ",
        "Bruno Díaz_102_assignsubmission_file/notas.pdf": "%PDF-1.4",
        "Carla Pérez_103_assignsubmission_onlinetext_/onlinetext.html": "<p>hola</p>",
        "Alguien Más_999_assignsubmission_file_/01_neurona.ipynb": NOTEBOOK,
    })
    result = import_zip(course, ID, archive, mapping=tmp_path / "map.csv")
    assert result.lms == "moodle"
    assert sorted(landed(course)) == ["ana", "bruno"]
    assert landed(course)["bruno"] == NOTEBOOK + " "
    notes = {s: note for s, _, note in result.imported}
    assert "name" in notes["ana"] and "lms id 102" in notes["bruno"]
    assert "Copia de 01_neurona.ipynb" in notes["bruno"]
    assert [path for path, _ in result.unmatched] == [
        "Alguien Más_999_assignsubmission_file_/01_neurona.ipynb"]
    skipped = dict(result.skipped)
    assert skipped["Bruno Díaz_102_assignsubmission_file/notas.pdf"] == "not a notebook"
    assert "Carla Pérez_103_assignsubmission_onlinetext_/onlinetext.html" in skipped
    assert result.missing == ["carla", "dario"]
    stamp = (course / "submitted" / "ana" / ID / "timestamp.txt").read_text().strip()
    assert parse_utc(stamp) == datetime(*WHEN).astimezone(timezone.utc).replace(tzinfo=None)


def test_moodle_files_without_folders_and_blind_marking(course, tmp_path):
    archive = make_zip(tmp_path / "moodle-files.zip", {
        "Ana García López_101_assignsubmission_file_01_neurona.ipynb": NOTEBOOK,
        "Participante_102_assignsubmission_file_01_neurona.ipynb": NOTEBOOK,
        "Participant_555_assignsubmission_file_01_neurona.ipynb": NOTEBOOK,
    })
    result = import_zip(course, ID, archive, mapping=tmp_path / "map.csv")
    assert sorted(landed(course)) == ["ana", "bruno"]  # blind marking: only the id tells
    assert [p for p, _ in result.unmatched] == [
        "Participant_555_assignsubmission_file_01_neurona.ipynb"]


def test_canvas_zip_with_late_and_resubmitted_names(course, tmp_path):
    (tmp_path / "map.csv").write_text(MAPPING.replace("Ana García López", "\"García López, Ana\""))
    archive = make_zip(tmp_path / "submissions.zip", {
        "garcialopezana_5001_9001_01_neurona.ipynb": NOTEBOOK,
        "diazbruno_LATE_5002_9002_01_neurona-1.ipynb": NOTEBOOK,
        "perezcarla_5003_9003_01_neurona.ipynb": NOTEBOOK,
        "nadiedesconocido_5999_9999_01_neurona.ipynb": NOTEBOOK,
    })
    result = import_zip(course, ID, archive, mapping=tmp_path / "map.csv")
    assert result.lms == "canvas"
    assert sorted(landed(course)) == ["ana", "bruno", "carla"]
    notes = {s: note for s, _, note in result.imported}
    assert "LATE" in notes["bruno"] and "LATE" not in notes["ana"]
    assert [p for p, _ in result.unmatched] == ["nadiedesconocido_5999_9999_01_neurona.ipynb"]
    assert result.missing == ["dario"]


def test_google_classroom_folder_zip(course, tmp_path):
    archive = make_zip(tmp_path / "01 Neurona-20250315T020000Z-001.zip", {
        "01 Neurona/Ana García - 01_neurona.ipynb": NOTEBOOK,  # Google name, shorter
        "01 Neurona/Copia de Bruno Díaz - 01_neurona.ipynb": NOTEBOOK,
        "01 Neurona/carla@uni.edu 01_neurona.ipynb": NOTEBOOK,
        "01 Neurona/01_neurona_dario.ipynb": NOTEBOOK,
        "01 Neurona/01_neurona (1).ipynb": NOTEBOOK,  # no name in it: cannot be told
        "__MACOSX/01 Neurona/._01_neurona (1).ipynb": "",
    })
    result = import_zip(course, ID, archive, mapping=tmp_path / "map.csv")
    assert result.lms == "classroom"
    assert sorted(landed(course)) == ["ana", "bruno", "carla", "dario"]
    assert [p for p, _ in result.unmatched] == ["01 Neurona/01_neurona (1).ipynb"]
    assert result.missing == [] and result.skipped == []


def test_without_a_mapping_ids_come_from_names(course, tmp_path):
    archive = make_zip(tmp_path / "moodle.zip", {
        "Ana García López_101_assignsubmission_file_/01_neurona.ipynb": NOTEBOOK})
    result = import_zip(course, ID, archive)
    assert sorted(landed(course)) == ["ana_garcia_lopez"]
    assert result.unmatched == [] and result.missing == []


def test_one_notebook_per_student_the_others_are_listed(course, tmp_path):
    archive = make_zip(tmp_path / "moodle.zip", {
        "Ana García López_101_assignsubmission_file_/borrador.ipynb": "{}",
        "Ana García López_101_assignsubmission_file_/01_neurona (2).ipynb": NOTEBOOK,
    })
    result = import_zip(course, ID, archive, mapping=tmp_path / "map.csv")
    assert landed(course) == {"ana": NOTEBOOK}
    assert [p for p, _ in result.skipped] == [
        "Ana García López_101_assignsubmission_file_/borrador.ipynb"]


def test_zip_slip_entries_are_refused(course, tmp_path):
    archive = make_zip(tmp_path / "evil.zip", {
        "../Ana García López_101_assignsubmission_file_/01_neurona.ipynb": NOTEBOOK,
        "/tmp/Bruno Díaz_102_assignsubmission_file_/01_neurona.ipynb": NOTEBOOK,
        "C:\\x\\Carla Pérez_103_assignsubmission_file_\\01_neurona.ipynb": NOTEBOOK,
        "Darío Sosa_104_assignsubmission_file_/../../../escape.ipynb": NOTEBOOK,
    })
    result = import_zip(course, ID, archive, mapping=tmp_path / "map.csv")
    assert landed(course) == {}
    assert len(result.skipped) == 4 and all("refused" in why for _, why in result.skipped)
    assert not (tmp_path / "escape.ipynb").exists() and not (course / "escape.ipynb").exists()


def test_a_new_import_keeps_the_earlier_notebook(course, tmp_path):
    first = make_zip(tmp_path / "a.zip", {
        "Ana García López_101_assignsubmission_file_/01_neurona.ipynb": NOTEBOOK})
    second = make_zip(tmp_path / "b.zip", {
        "Ana García López_101_assignsubmission_file_/01_neurona.ipynb": NOTEBOOK + "\n"})
    import_zip(course, ID, first, mapping=tmp_path / "map.csv")
    result = import_zip(course, ID, second, mapping=tmp_path / "map.csv")
    assert landed(course)["ana"] == NOTEBOOK + "\n"
    (kept,) = (course / "submitted" / "ana" / ID / ".intake" / "replaced").iterdir()
    assert kept.read_text() == NOTEBOOK and "replaced" in result.imported[0][2]


# --- pieces ---------------------------------------------------------------------------------

def test_name_rules():
    assert tokens("García López, Ana") == ("garcia", "lopez", "ana")
    assert clean_file_name("Copia de 01_neurona (1).ipynb") == "01_neurona.ipynb"
    assert clean_file_name("Copy of 01_neurona-2.ipynb") == "01_neurona.ipynb"
    assert detect(["a_1_2_01_neurona.ipynb", "b_3_4_x.ipynb"]) == "canvas"
    assert detect(["Ana - 01_neurona.ipynb"]) == "classroom"


@pytest.mark.parametrize("text, message", [
    ("id,nombre\n1,Ana\n", "no student_id column"),
    ("student_id,name\n../x,Ana\n", "not a usable student id"),
    ("student_id,lms_id\nana,7\nbruno,7\n", "given to both ana and bruno"),
    ("student_id\n", "no student rows"),
])
def test_bad_mapping_files_say_why(tmp_path, text, message):
    path = tmp_path / "map.csv"
    path.write_text(text)
    with pytest.raises(CourseError, match=message):
        Roster.read(path)


def test_semicolon_mapping_from_a_spreadsheet(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("Student_ID;Nombre;Correo\nana;Ana García;ana@uni.edu\n", encoding="utf-8-sig")
    roster = Roster.read(path)
    assert roster.people["ana"].names == {("ana", "garcia")}
    assert roster.people["ana"].emails == {"ana@uni.edu"}


# --- the command line, import then intake ---------------------------------------------------

def test_collect_zip_imports_then_repairs(course, tmp_path):
    archive = make_zip(tmp_path / "moodle.zip", {
        "Ana García López_101_assignsubmission_file_/Copia de 01_neurona.ipynb": NOTEBOOK,
        "Alguien Más_999_assignsubmission_file_/01_neurona.ipynb": NOTEBOOK,
    })
    run = run_course("collect", ID, "--zip", str(archive), "--map",
                     str(tmp_path / "map.csv"), cwd=course)
    assert run.returncode == 1, run.stdout + run.stderr  # one file matched no one
    assert "Alguien Más_999" in run.stdout and "no notebook in the zip for" in run.stdout
    assert "ana" in run.stdout and "Traceback" not in run.stderr
    report = course / "submitted" / "ana" / ID / ".intake" / "report.md"
    assert "status: **ok**" in report.read_text()
    bad = run_course("collect", ID, "--zip", str(tmp_path / "nada.zip"), cwd=course)
    assert bad.returncode == 2 and "cannot open" in bad.stderr and "Traceback" not in bad.stderr
