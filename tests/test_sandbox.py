"""The tampering guard of `course.sandbox.SafeExecute`, on a small notebook in a real kernel:
a module the tests import after the student's code is not tampering, a replaced check is,
and the report names it."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from course.sandbox import TAMPERING, SafeExecute


def graded(source: str, grade_id: str, *, solution: bool = False, grade: bool = False):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": solution, "grade": grade,
                                 "locked": not solution, "schema_version": 3,
                                 **({"points": 1} if grade else {})}
    return cell


def test_new_imports_pass_and_a_replaced_check_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_INCIDENTS_FILE", str(tmp_path / "incidents.json"))
    nb = new_notebook(cells=[
        new_code_cell("import numpy"),
        graded("def doble(x):\n    return 2 * x", "respuesta", solution=True),
        # Imports a module the guard fingerprints: the next check sees new entries only.
        graded("from course import checks\nassert doble(2) == 4", "prueba_1", grade=True),
        graded("assert numpy.allclose(doble(3), 6)", "prueba_2", grade=True),
        graded("numpy.allclose = lambda *a, **k: True", "trampa", solution=True),
        graded("assert numpy.allclose(doble(3), 7)", "prueba_3", grade=True),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    execute = SafeExecute(timeout=60, kernel_name="python3")
    nb, _ = execute.preprocess(nbformat.from_dict(nb), {"metadata": {"path": str(tmp_path)}})

    errors = {cell.metadata["nbgrader"]["grade_id"]: [o for o in cell.outputs
                                                      if o.output_type == "error"]
              for cell in nb.cells[1:]}
    assert errors["prueba_1"] == [] and errors["prueba_2"] == []
    [tampered] = errors["prueba_3"]
    assert tampered.ename == TAMPERING and "numpy.allclose" in tampered.evalue
    assert [i["kind"] for i in execute.incidents] == ["tampering"]
