"""Unit tests of the small course modules: checks, runtime, fixtures, mutants, notebooks."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course import checks, fixtures, mutants, notebooks, runtime


def test_check_close_message_is_spanish_and_informative():
    with pytest.raises(AssertionError) as error:
        checks.check_close(np.array([1.0, 2.5]), [1.0, 2.0], "sigmoide(z)",
                           hint="revisa el signo")
    text = str(error.value)
    assert "Se esperaba" in text and "Se obtuvo" in text and "Pista: revisa el signo" in text
    assert "2.5" in text


def test_check_close_catches_shape_nan_and_non_numeric():
    with pytest.raises(AssertionError, match="forma"):
        checks.check_close(np.zeros(3), np.zeros((3, 1)), "x")
    with pytest.raises(AssertionError, match="nan"):
        checks.check_close([np.nan], [1.0], "x")
    with pytest.raises(AssertionError, match="no es numérico"):
        checks.check_close("hola", 1.0, "x")
    checks.check_close(0.1 + 0.2, 0.3, "x")


def test_other_checks():
    checks.check_shape(np.zeros((2, 3)), (2, 3), "x")
    with pytest.raises(AssertionError, match=r"forma \(3, 2\)"):
        checks.check_shape(np.zeros((2, 3)), (3, 2), "x")
    with pytest.raises(AssertionError, match="tipo dict"):
        checks.check_type([], dict, "x")
    with pytest.raises(AssertionError):
        checks.check_equal(np.array([1, 2]), np.array([1, 3]), "x")
    with pytest.raises(AssertionError, match="que se lance ValueError"):
        checks.check_raises(lambda: 1, ValueError, "x")
    checks.check_raises(lambda: int("x"), ValueError, "x")
    with pytest.raises(AssertionError):
        checks.check_true(False, "la suma es 1")


def test_silenced_keeps_stderr_clean(capfd):
    with checks.silenced():
        value = 1 / (1 + np.exp(np.array([1000.0])))
    assert value[0] == 0.0
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("env, expected", [({}, False), ({"COURSE_FAST": "1"}, True),
                                           ({"NBGRADER_EXECUTION": "autograde"}, True)])
def test_fast_flag(monkeypatch, env, expected):
    monkeypatch.delenv("COURSE_FAST", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert runtime.is_fast() is expected


def test_require_explains_in_spanish():
    with pytest.raises(ImportError, match="necesita 999"):
        runtime.require("numpy", "999")
    with pytest.raises(ImportError, match="Falta el paquete"):
        runtime.require("paquete-que-no-existe", "1.0")


def test_set_seed_makes_numpy_and_tensorflow_reproducible():
    code = textwrap.dedent("""
        import numpy as np
        from course.runtime import import_tensorflow, set_seed
        tf, keras = import_tensorflow()
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile("adam", "mse")
        model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)
        set_seed(7); a = (np.random.rand(), float(tf.random.uniform(())))
        set_seed(7); b = (np.random.rand(), float(tf.random.uniform(())))
        assert a == b, (a, b)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    # Not one line of TensorFlow's start-up logs on stderr (nbgrader scores such a cell 0).
    assert proc.stderr == ""


def test_fixture_parse():
    text = textwrap.dedent("""\
        # description: olvida el sesgo
        # lose: ej6_capa_visible ej6_capa_oculto
        # %% ej6_capa
        def capa(X, W, b):
            return X @ W.T
        # %% ej7_gates
        PESOS = {}
    """)
    fixture = fixtures.parse(text, "sin_sesgo")
    assert fixture.description == "olvida el sesgo"
    assert fixture.must_lose == ("ej6_capa_visible", "ej6_capa_oculto")
    assert fixture.answers == {"ej6_capa": "def capa(X, W, b):\n    return X @ W.T",
                               "ej7_gates": "PESOS = {}"}
    with pytest.raises(ValueError, match="no answer cell"):
        fixtures.parse("# description: nada\n", "vacio")


SOLUTION_CELL = """def softmax(z):
    \"\"\"Softmax.\"\"\"
    ### BEGIN SOLUTION
    z = z - np.max(z, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)
    ### END SOLUTION"""


def test_mutants_only_touch_the_solution_and_compile():
    found = mutants.cell_mutants("ej3_softmax", SOLUTION_CELL)
    kinds = {m.description.split(":")[0] for m in found}
    assert {"operator", "function", "deleted statement", "constant"} <= kinds
    for mutant in found:
        compile(mutant.source, "<mutant>", "exec")
        assert mutant.source.startswith("def softmax(z):")
        assert "BEGIN SOLUTION" not in mutant.source
    assert any("np.min(" in m.source for m in found)
    assert len({m.source for m in found}) == len(found)


def test_mutant_sample_spreads_over_cells_and_is_reproducible():
    nb = new_notebook()
    for gid in ("ej1_a", "ej2_b"):
        cell = new_code_cell(SOLUTION_CELL)
        cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": gid}
        nb.cells.append(cell)
    every = mutants.all_mutants(nb)
    first = mutants.sample(every, 4)
    assert first == mutants.sample(every, 4)
    assert {m.cell for m in first} == {"ej1_a", "ej2_b"}


def test_solved_copy_and_replace_answers():
    source_nb, release_nb = new_notebook(), new_notebook()
    meta = {"solution": True, "grade": False, "grade_id": "ej1_f"}
    source_nb.cells.append(new_code_cell(SOLUTION_CELL, metadata={"nbgrader": meta}))
    release_nb.cells.append(new_code_cell("def softmax(z):\n    raise NotImplementedError()",
                                          metadata={"nbgrader": meta}))
    solved = notebooks.solved_copy(release_nb, source_nb)
    assert "np.exp" in solved.cells[0].source and "BEGIN" not in solved.cells[0].source
    changed = notebooks.replace_answers(solved, {"ej1_f": "pass"})
    assert changed.cells[0].source == "pass" and solved.cells[0].source != "pass"
    with pytest.raises(KeyError):
        notebooks.replace_answers(solved, {"ej9_x": "pass"})
    assert notebooks.exercise_of("ej12_algo_oculto") == "ej12"


def test_fixture_expect_full_and_exercises():
    fixture = fixtures.parse("# description: otra forma correcta\n# expect: full\n"
                             "# %% ej3_softmax\npass\n# %% ej3_extra\npass\n", "alternativa")
    assert fixture.expect_full and fixture.exercises == {"ej3"}
    with pytest.raises(ValueError, match="expects full marks"):
        fixtures.parse("# expect: full\n# lose: ej1_a_visible\n# %% ej1_a\npass\n", "mal")
    with pytest.raises(ValueError, match="'full' or 'lose'"):
        fixtures.parse("# expect: maybe\n# %% ej1_a\npass\n", "mal")


def test_demo_partial_submission_uses_mistakes_not_correct_alternatives():
    from course.demo import partial_submission

    nb = new_notebook()
    for gid in ("ej1_f", "ej2_g"):
        nb.cells.append(new_code_cell("ok", metadata={"nbgrader": {
            "solution": True, "grade": False, "grade_id": gid}}))
    alternative = fixtures.parse("# expect: full\n# %% ej1_f\notra forma\n", "alt_f")
    mistake = fixtures.parse("# lose: ej2_g_visible\n# %% ej2_g\nmal\n", "g_mal")
    partial = partial_submission(nb, nb, [alternative, mistake])
    assert [c.source for c in partial.cells] == ["ok", "mal"]


def test_leaks_flags_a_model_answer_left_in_the_student_version():
    from nbformat.v4 import new_markdown_cell

    from course.release import leaks

    source_nb, release_nb = new_notebook(), new_notebook()
    meta = {"solution": True, "grade": True, "points": 2, "grade_id": "reflexion_xor"}
    source_nb.cells.append(new_markdown_cell("XOR no es linealmente separable.",
                                             metadata={"nbgrader": meta}))
    release_nb.cells.append(new_markdown_cell("ESCRIBE TU RESPUESTA AQUÍ",
                                              metadata={"nbgrader": meta}))
    assert leaks(source_nb, release_nb) == []
    assert any("XOR no es linealmente" in p for p in leaks(source_nb, source_nb))
