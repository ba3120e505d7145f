"""Resource limits for a student's kernel, and the launcher that applies them.

`python -m course.limits -- KERNEL COMMAND...` limits itself (memory, CPU time, file size,
processes), may write only in its own folder when the grader asks for it (Landlock),
arranges to die with the grader that started it, drops the grader's own settings from the
environment and becomes the kernel. Kept free of heavy imports: it runs before every
kernel start.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from dataclasses import asdict, dataclass, fields

MB = 1024 * 1024
# Read by the grader only: never visible to the student's kernel.
# Set by course.batch: the kernel may write only in its own folder.
CONFINE_ENV = "COURSE_CONFINE"
GRADER_ONLY_ENV = ("COURSE_INCIDENTS_FILE", "COURSE_DB_URL", "COURSE_NOTEBOOK_TIMEOUT",
                   CONFINE_ENV)


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 6144  # address space; TensorFlow alone maps ~3 GB
    cpu_seconds: int = 3600  # all threads together
    file_mb: int = 256  # largest file the kernel may write
    processes: int = 4096  # per user (threads count); not enforced for root

    ENV_PREFIX = "COURSE_LIMIT_"

    def to_env(self) -> dict[str, str]:
        return {f"{self.ENV_PREFIX}{k.upper()}": str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Limits:
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get(f"{cls.ENV_PREFIX}{f.name.upper()}")
            if raw:
                values[f.name] = int(raw)
        return cls(**values)


def apply_limits(limits: Limits) -> None:
    """Limits for this process and its children (hard = soft: the student cannot raise them)."""
    plan = [
        (resource.RLIMIT_AS, limits.memory_mb * MB),
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_FSIZE, limits.file_mb * MB),
        (resource.RLIMIT_NPROC, limits.processes),
        (resource.RLIMIT_CORE, 0),
    ]
    for kind, value in plan:
        if value and value > 0:
            _, hard = resource.getrlimit(kind)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (value, value))


def _die_with_parent() -> None:
    """SIGKILL this process when the grader that started it dies (Linux prctl)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


# Landlock (Linux >= 5.13): an unprivileged process can forbid itself and its children to
# write anywhere but the folders it names. Reading stays free (Python, the course, the data).
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_WRITE_FILE, _TRUNCATE = 1 << 1, 1 << 14
_WRITES_BY_ABI = {  # rights that change the filesystem, by the ABI version that added them
    1: (1 << 1) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10)
    | (1 << 11) | (1 << 12),
    2: 1 << 13,  # REFER: move/link files between folders
    3: 1 << 14,  # TRUNCATE
}


def _libc():
    import ctypes

    return ctypes, ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock version, 0 when it has none."""
    try:
        ctypes, libc = _libc()
        version = libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0),
                               ctypes.c_uint32(1))  # LANDLOCK_CREATE_RULESET_VERSION
        return max(0, int(version))
    except OSError:
        return 0


def confine_writes(folders: list[str], files: list[str]) -> None:
    """From now on this process and its children may create, change or delete files only
    under `folders` (and write to the existing `files`, e.g. /dev/null)."""
    ctypes, libc = _libc()
    abi = landlock_abi()
    if abi < 1:
        raise OSError("Landlock is not available in this kernel")
    handled = 0
    for version, rights in _WRITES_BY_ABI.items():
        if abi >= version:
            handled |= rights
    attr = ctypes.c_uint64(handled)
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(8),
                           ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    file_rights = handled & (_WRITE_FILE | _TRUNCATE)
    for path, rights in [*((f, handled) for f in folders), *((f, file_rights) for f in files)]:
        if not os.path.exists(path):
            continue
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        try:
            rule = PathBeneath(rights, fd)
            if libc.syscall(_SYS_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0) < 0:
                raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
        finally:
            os.close(fd)
    if libc.prctl(38, 1, 0, 0, 0) < 0:  # PR_SET_NO_NEW_PRIVS, required to restrict oneself
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0) < 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    os.close(ruleset)


def confine_to_cwd() -> None:
    """The student's kernel writes only in its own folder: home and temporary files move
    there; the data cache stays where it is, readable."""
    from pathlib import Path

    cwd = os.getcwd()
    home, tmp = os.path.join(cwd, ".home"), os.path.join(cwd, ".tmp")
    os.makedirs(home, exist_ok=True)
    os.makedirs(tmp, exist_ok=True)
    os.environ.setdefault("COURSE_CACHE_DIR", str(Path("~/.cache/curso-redes-neuronales")
                                                   .expanduser()))
    matplotlib_dir = os.path.join(home, ".matplotlib")
    _copy_font_cache(matplotlib_dir)
    os.environ.update(HOME=home, TMPDIR=tmp, MPLCONFIGDIR=matplotlib_dir)
    confine_writes([cwd, "/dev/shm"], ["/dev/null"])


def _copy_font_cache(target: str) -> None:
    """Matplotlib's list of this machine's fonts, from the grader's own cache: without it
    every kernel that plots would scan the system's fonts again (0.2 s to seconds)."""
    import glob
    import shutil

    source = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib")
    for path in glob.glob(os.path.join(source, "fontlist-*.json")):
        os.makedirs(target, exist_ok=True)
        shutil.copyfile(path, os.path.join(target, os.path.basename(path)))


def main(argv: list[str]) -> None:
    """`python -m course.limits -- KERNEL COMMAND...`: limit, clean up, become the kernel."""
    options = argv[:argv.index("--")] if "--" in argv else []
    command = argv[argv.index("--") + 1:] if "--" in argv else argv
    if not command:
        sys.exit("usage: python -m course.limits [--no-limits] -- COMMAND...")
    if "--no-limits" not in options:  # the grader itself: only tied to its parent
        limits = Limits.from_env()
        confine = os.environ.get(CONFINE_ENV) == "1"
        for name in [*GRADER_ONLY_ENV,
                     *(k for k in os.environ if k.startswith(Limits.ENV_PREFIX))]:
            os.environ.pop(name, None)
        if confine:
            confine_to_cwd()
        apply_limits(limits)
    _die_with_parent()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
