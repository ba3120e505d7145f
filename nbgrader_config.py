"""nbgrader configuration of the course (the repository root is the course directory)."""

import importlib.util
import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "redes-neuronales"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# Gradebook: SQLite next to this file unless the instructor points db_url elsewhere.
c.CourseDirectory.db_url = os.environ.get(
    "COURSE_DB_URL", "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")
)
# `course collect` keeps each student's original file and its intake report in
# submitted/<student>/<id>/.intake/: nbgrader's defaults plus that folder, never copied on.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".intake"]

# Student versions: Spanish stubs in place of the solutions.
c.ClearSolutions.code_stub = {"python": "# TU CÓDIGO AQUÍ\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "ESCRIBE TU RESPUESTA AQUÍ"
c.ClearSolutions.enforce_metadata = True
# Release notebooks are committed: never ship outputs in them.
c.ClearOutput.enabled = True

# Autograding runs the whole notebook; FAST mode (NBGRADER_EXECUTION) keeps every cell short.
# The student's kernel runs with resource limits, a deadline for the whole notebook and a
# tampering guard (course/sandbox.py); everything else is nbgrader's own pipeline.
c.Autograde.autograde_preprocessors = [
    "course.sandbox.SafeExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Execute.timeout = int(os.environ.get("COURSE_CELL_TIMEOUT", "120"))
c.Execute.interrupt_on_timeout = True
# After a cell's reply, its output may still be arriving (a loaded machine, a long print):
# wait for it rather than failing a correct test cell (nbclient's default is 4 s).
c.Execute.iopub_timeout = 30
c.Execute.allow_errors = True
c.Execute.kernel_name = "python3"

# Students may not trust the course: tests and locked cells always come from the instructor.
c.OverwriteCells.enabled = True
c.Exchange.assignment_dir = c.CourseDirectory.root

# Feedback for students: in Spanish, points and failure message of every graded cell, and never
# the hidden tests (course/feedback.py). The template is named like nbgrader's own, so
# formgrader's "generate feedback" button renders it too. The package is located, not imported:
# nbgrader reads this file for every command.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "course.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
_course_package = importlib.util.find_spec("course")
# Appended, not assigned: Formgrader puts its own template folder in this list first.
c.HTMLExporter.extra_template_basedirs.append(os.path.join(
    os.path.dirname(_course_package.origin) if _course_package else "missing-course-package",
    "templates"))
