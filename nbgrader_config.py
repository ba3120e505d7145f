"""nbgrader configuration of the course (the repository root is the course directory)."""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "redes-neuronales"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# Gradebook: SQLite next to this file unless the instructor points db_url elsewhere.
c.CourseDirectory.db_url = os.environ.get(
    "COURSE_DB_URL", "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")
)

# Student versions: Spanish stubs in place of the solutions.
c.ClearSolutions.code_stub = {"python": "# TU CÓDIGO AQUÍ\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "ESCRIBE TU RESPUESTA AQUÍ"
c.ClearSolutions.enforce_metadata = True
# Release notebooks are committed: never ship outputs in them.
c.ClearOutput.enabled = True

# Autograding runs the whole notebook; FAST mode (NBGRADER_EXECUTION) keeps every cell short.
c.Execute.timeout = int(os.environ.get("COURSE_CELL_TIMEOUT", "120"))
c.Execute.interrupt_on_timeout = True
c.Execute.allow_errors = True
c.Execute.kernel_name = "python3"

# Students may not trust the course: tests and locked cells always come from the instructor.
c.OverwriteCells.enabled = True
c.Exchange.assignment_dir = c.CourseDirectory.root
