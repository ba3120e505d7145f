"""Running a student's notebook for grading without letting it break or fool the grader.

- The kernel starts through `python -m course.limits -- <kernel command>` (resource limits,
  dies with its grader, none of the grader's settings in its environment).
- `SafeExecute` is nbgrader's Execute preprocessor with a deadline for the whole notebook, a
  cap on each cell's output, and a guard against tampering: a kernel that dies, a notebook
  that runs out of time or a check replaced by the student's code end as cells with an error
  (0 points) and an incident the grader reports, never as a failed or stuck batch.

The limits and the deadline come from COURSE_* environment variables set by `course.batch`,
so plain `nbgrader autograde` with this course's config behaves the same.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import signal
import sys
import time

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute


class SandboxKernelManager(AsyncKernelManager):
    """Starts the kernel through `course.limits` so the limits apply to student code."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        return [sys.executable, "-m", "course.limits", "--", *command]


# Evaluated in the kernel (a user expression, so no input transformer can rewrite it): the
# identity of every function the tests rely on, and of the shell's code-rewriting hooks.
FINGERPRINT = """(lambda sys, ip: sorted(
    [(m, n, id(v))
     for m in ('numpy', 'numpy.testing', 'math', 'course.checks', 'sklearn.metrics')
     if m in sys.modules
     for n, v in list(vars(sys.modules[m]).items())
     if not n.startswith('_') and callable(v)]
    + [('builtins', n, id(getattr(sys.modules['builtins'], n, None))) for n in (
        'abs', 'all', 'any', 'bool', 'float', 'int', 'len', 'isinstance', 'max', 'min',
        'round', 'sum', 'sorted', 'range', 'zip', 'map', 'str', 'list', 'dict', 'tuple',
        'set', 'getattr', 'hasattr', 'type', 'repr', 'hash', 'AssertionError', 'Exception')]
    + [('shell', n, len(getattr(ip, n, ()))) for n in (
        'input_transformers_cleanup', 'input_transformers_post', 'ast_transformers')]
    + [('shell', n, n in vars(ip)) for n in (
        'run_cell', 'run_ast_nodes', 'run_code', 'showtraceback', 'transform_cell')]
))(__import__('sys'), get_ipython())"""
# Before each test cell only this one number travels (the whole list costs ~25 ms of CPU per
# probe, on both sides, in every test cell); the list is read again only when it differs.
FINGERPRINT_HASH = f"hash(tuple({FINGERPRINT}))"

TAMPERING = "ManipulacionDetectada"


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


class SafeExecute(Execute):
    """nbgrader's Execute with a notebook deadline, output cap and tampering guard."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        budget = float(os.environ.get("COURSE_NOTEBOOK_TIMEOUT") or 0)
        self._deadline = time.monotonic() + budget if budget > 0 else None
        self._cell_timeout = self.timeout
        self._output_limit = int(os.environ.get("COURSE_OUTPUT_LIMIT_KB") or 2048) * 1024
        self._stopped = ""  # why the remaining cells do not run
        self._baseline: dict | None = None
        self._baseline_hash = ""
        self._student_code_seen = False
        self.incidents: list[dict] = []
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self._write_incidents()

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        nbg = cell.metadata.get("nbgrader", {})
        name = nbg.get("grade_id") or f"celda {index + 1}"
        if not self._stopped and self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 1:
                self._stop("timeout", name, "se agotó el tiempo total de ejecución del "
                           "cuaderno; las celdas restantes no se ejecutaron")
            else:
                self.timeout = int(min(self._cell_timeout or left, left))
        if self._stopped:
            cell.outputs = [error_output("CeldaNoEjecutada", self._stopped)]
            return cell, resources
        is_test = nbg.get("grade") and not nbg.get("solution")
        if is_test and self._student_code_seen and self._baseline:
            tampered = self._tampered()
            if tampered is None:
                self._stop("kernel-busy", name, "el kernel no responde (¿un bucle que ignora "
                           "las interrupciones?); las celdas restantes no se ejecutaron")
                cell.outputs = [error_output("CeldaNoEjecutada", self._stopped)]
                return cell, resources
            if tampered:
                detail = "se modificó " + ", ".join(tampered[:5]) + " antes de esta prueba"
                self.incidents.append({"kind": "tampering", "cell": name, "detail": detail})
                cell.outputs = [error_output(TAMPERING, detail)]
                return cell, resources
        self._cell_bytes = 0
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            cell.outputs.append(error_output("KernelMuerto", self._death_reason()))
            self._stop("kernel-died", name, "el kernel se detuvo en " + name + " ("
                       + self._death_reason() + "); las celdas siguientes no se ejecutaron")
            return cell, resources
        except CellTimeoutError as error:
            cell.outputs.append(error_output("TiempoAgotado", str(error).splitlines()[0]))
        self._note_errors(cell, name)
        if nbg.get("solution"):
            self._student_code_seen = True
        elif not self._student_code_seen and not self._stopped:
            self._take_baseline()  # instructor setup: what tests may trust
        return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most COURSE_OUTPUT_LIMIT_KB of output per cell: a flood cannot fill memory."""
        size = len(json.dumps(msg.get("content", {}), default=str))
        self._cell_bytes = getattr(self, "_cell_bytes", 0) + size
        if self._cell_bytes > self._output_limit:
            if not getattr(self, "_flood_noted", None) == cell_index:
                # Stop the flood at its source: a backlog of output would make the next
                # cells (the tests) time out waiting for theirs.
                self._flood_noted = cell_index
                outs.append(NotebookNode(output_type="stream", name="stdout",
                                         text="\n[salida truncada: demasiada salida; "
                                              "celda interrumpida]\n"))
                self.incidents.append({"kind": "output-flood", "cell": f"celda {cell_index + 1}",
                                       "detail": "demasiada salida: la celda se interrumpió"})
                asyncio.ensure_future(ensure_async(self.km.interrupt_kernel()))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _note_errors(self, cell, name: str) -> None:
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            if output.ename == "MemoryError":
                self.incidents.append({"kind": "memory", "cell": name,
                                       "detail": "MemoryError: superó el límite de memoria"})
            elif output.ename in ("CellTimeoutError", "TiempoAgotado"):
                self.incidents.append({"kind": "cell-timeout", "cell": name,
                                       "detail": f"superó {self.timeout} s y fue interrumpida"})

    def _stop(self, kind: str, name: str, detail: str) -> None:
        self._stopped = detail
        self.incidents.append({"kind": kind, "cell": name, "detail": detail})

    def _death_reason(self) -> str:
        code = None
        try:
            process = getattr(self.km.provisioner, "process", None)
            code = process.poll() if process is not None else None
        except Exception:  # noqa: BLE001 - the reason is informative only
            pass
        if code is None:
            return "terminó inesperadamente"
        if code < 0:
            name = signal.Signals(-code).name
            hint = {"SIGKILL": " (memoria o CPU agotadas)", "SIGXCPU": " (tiempo de CPU agotado)",
                    "SIGSEGV": " (fallo de segmentación)"}.get(name, "")
            return f"terminó por la señal {name}{hint}"
        return f"terminó con código de salida {code}"

    def _probe(self, **expressions: str) -> dict[str, str] | None:
        """The text of each expression evaluated in the kernel, in one request; None if the
        kernel does not answer, '' for one that answers but whose probe was broken (the shell
        was altered)."""
        msg_id = self.kc.execute("", silent=True, store_history=False,
                                 user_expressions=expressions)
        reply = self.wait_for_reply(msg_id)
        if reply is None:
            return None
        texts = {}
        for name in expressions:
            try:
                texts[name] = str(reply["content"]["user_expressions"][name]["data"]
                                  ["text/plain"])
            except Exception:  # noqa: BLE001 - anything unreadable counts as altered
                texts[name] = ""
        return texts

    @staticmethod
    def _parse_fingerprint(text: str) -> dict:
        """{(module, name): identity}; {} if the text is not what FINGERPRINT returns."""
        try:
            return {(m, n): v for m, n, v in ast.literal_eval(text)}
        except Exception:  # noqa: BLE001 - anything unreadable counts as altered
            return {}

    def _take_baseline(self) -> None:
        probe = self._probe(fp=FINGERPRINT, hash=FINGERPRINT_HASH)
        if probe is None:
            self._baseline = None
            return
        self._baseline = self._parse_fingerprint(probe["fp"])
        self._baseline_hash = probe["hash"]

    def _tampered(self) -> list[str] | None:
        """Names of what the tests trusted and the student's code replaced; None if the
        kernel does not answer."""
        probe = self._probe(hash=FINGERPRINT_HASH)
        if probe is None:
            return None
        digest = probe["hash"]
        if digest and digest == self._baseline_hash:
            return []
        probe = self._probe(fp=FINGERPRINT)
        if probe is None:
            return None
        now = self._parse_fingerprint(probe["fp"])
        if not now or not digest:
            return ["el intérprete (la comprobación de integridad no pudo ejecutarse)"]
        changed = [f"{m}.{n}" for (m, n), v in self._baseline.items() if now.get((m, n)) != v]
        if not changed:  # only new entries (a module imported since): nothing the tests trusted
            self._baseline_hash = digest
        return changed

    def _write_incidents(self) -> None:
        path = os.environ.get("COURSE_INCIDENTS_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(self.incidents, handle, ensure_ascii=False)

