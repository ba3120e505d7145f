"""The instructor's command line: a thin layer over nbgrader's own apps.

    course release [ID ...] [--check]    generate + verify the student versions
    course autograde ID [--student S]    autograde submitted/ (nbgrader autograde)
    course feedback ID                   feedback HTML (nbgrader generate_feedback)
    course export [--to FILE]            grades CSV (nbgrader export)
    course check [ID ...] [--mutants N]  QA: reference = max, blank = 0, wrong fixtures lose
    course demo [--dir DIR]              the whole instructor cycle on a demo class
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import table
from .coursedir import (
    CourseError,
    assignment_ids,
    find_root,
    nbgrader,
    nbgrader_checked,
    resolve_ids,
)


def cmd_release(root: Path, args: argparse.Namespace) -> int:
    from .release import out_of_sync, release

    failed = False
    for assignment in resolve_ids(root, args.ids):
        if args.check:
            problem = out_of_sync(root, assignment)
            print(f"{assignment}: {problem or 'release/ is in sync with source/'}")
            failed |= problem is not None
            continue
        problems = release(root, assignment)
        if problems:
            failed = True
            print(f"{assignment}: the student version LEAKS — fix source/{assignment}:")
            for problem in problems:
                print(f"  - {problem}")
        else:
            print(f"{assignment}: release/{assignment} generated and verified "
                  f"(no solutions, no hidden tests, no outputs)")
    return 1 if failed else 0


def cmd_autograde(root: Path, args: argparse.Namespace) -> int:
    from .coursedir import tool_env
    from .grading import read_scores

    assignment = resolve_ids(root, [args.id])[0]
    submitted = sorted(p.parent.name for p in (root / "submitted").glob(f"*/{assignment}"))
    missing = sorted(set(args.student or []) - set(submitted))
    if missing or not submitted:
        raise CourseError(f"no submissions in {root / 'submitted'}/"
                          f"{'|'.join(missing) or '*'}/{assignment}")
    students = args.student or submitted
    force = ["--force"] if args.force else []
    runs = [["--student", s] for s in args.student] if args.student else [[]]
    for selection in runs:
        result = nbgrader(root, "autograde", assignment, *selection, *force)
        if "No assignment with ID" in result.output:
            raise CourseError(f"{assignment} is not in the gradebook: run `course release "
                              f"{assignment}` first")
        if result.returncode != 0:
            tail = "\n".join(result.output.strip().splitlines()[-15:])
            raise CourseError(f"nbgrader autograde failed:\n{tail}")
    env_db = tool_env(root)["COURSE_DB_URL"]
    rows = []
    for student in students:
        try:
            cells = read_scores(root, assignment, student, db_url=env_db)
        except Exception as error:  # noqa: BLE001 - one bad row must not hide the others
            rows.append([student, "-", f"not graded: {error}"])
            continue
        rows.append([student, table.points(sum(c.score for c in cells.values()),
                                           sum(c.max_score for c in cells.values())), ""])
    print(table.render(["student", "autograded", "note"], rows))
    return 0


def cmd_feedback(root: Path, args: argparse.Namespace) -> int:
    assignment = resolve_ids(root, [args.id])[0]
    nbgrader_checked(root, "generate_feedback", assignment, "--force")
    print(f"feedback written under {root / 'feedback'}/<student>/{assignment}/")
    return 0


def cmd_export(root: Path, args: argparse.Namespace) -> int:
    target = Path(args.to).resolve()
    nbgrader_checked(root, "export", f"--to={target}")
    print(f"grades written to {target}")
    return 0


def cmd_check(root: Path, args: argparse.Namespace) -> int:
    from .qa import check

    timeout = args.timeout or (30 if args.mutants else None)
    results = [check(root, a, mutant_count=args.mutants, mutant_seed=args.mutant_seed,
                     workers=args.workers, cell_timeout=timeout)
               for a in resolve_ids(root, args.ids)]
    return 0 if all(results) else 1


def cmd_demo(root: Path, args: argparse.Namespace) -> int:
    from .demo import run

    destination = Path(args.dir).resolve() if args.dir else root / "demo-course"
    return 0 if run(root, destination, args.ids) else 1


def _mutant_count(text: str) -> int:
    """A number of mutants, or 'all' (every mutant the solution code allows)."""
    if text == "all":
        return sys.maxsize
    try:
        return max(0, int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'all', got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0])
    main.add_argument("--root", help="course directory (default: found from the cwd upwards)")
    sub = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("release", help="generate and verify the student versions")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--check", action="store_true",
                   help="only verify that release/ matches what source/ generates")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("autograde", help="autograde the submissions in submitted/")
    p.add_argument("id", metavar="ID")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="regrade already graded submissions")
    p.set_defaults(func=cmd_autograde)

    p = sub.add_parser("feedback", help="generate feedback HTML for an assignment")
    p.add_argument("id", metavar="ID")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", help="export the gradebook as CSV")
    p.add_argument("--to", default="grades.csv")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("check", help="QA: reference = max, blank = 0, wrong fixtures lose")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--mutants", type=_mutant_count, default=0, metavar="N",
                   help="also grade N automatic mutants of the solution ('all': every one)")
    p.add_argument("--mutant-seed", type=int, default=0, metavar="S",
                   help="which mutants are sampled (default 0; change it to see others)")
    p.add_argument("--workers", type=int, help="parallel graders (default: cores)")
    p.add_argument("--timeout", type=int, help="per-cell timeout in seconds")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("demo", help="the whole instructor cycle on a demo class")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--dir", help="scratch course directory (default: ./demo-course)")
    p.set_defaults(func=cmd_demo)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        root = find_root(args.root)
        if not assignment_ids(root):
            raise CourseError(f"{root / 'source'} holds no assignment")
        return args.func(root, args)
    except CourseError as error:
        print(f"course: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("course: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
