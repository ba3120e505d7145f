"""The instructor's command line: a thin layer over nbgrader's own apps.

    course release [ID ...] [--check]    generate + verify the student versions
    course collect ID [--zip FILE]       intake: repair submissions (import an LMS zip)
    course autograde ID|--all [--workers N]  autograde submitted/ in parallel, resumable
    course feedback ID [--students S ...]  feedback HTML, Spanish, no hidden tests
    course export [--to FILE]            grades CSV (nbgrader export)
    course check [ID ...] [--mutants N]  QA: reference = max, blank = 0, wrong fixtures lose
    course demo [--dir DIR]              the whole instructor cycle on a demo class
    course db migrate --to URL           copy the gradebook to PostgreSQL, verified
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .coursedir import (
    CourseError,
    assignment_ids,
    find_root,
    nbgrader_checked,
    resolve_ids,
)


def cmd_release(root: Path, args: argparse.Namespace) -> int:
    from . import colab
    from .release import out_of_sync, release

    failed = False
    ids = resolve_ids(root, args.ids)
    if args.check:  # each in a scratch course of its own: several at once
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for assignment, problem in zip(ids, pool.map(lambda a: out_of_sync(root, a), ids),
                                           strict=True):
                print(f"{assignment}: {problem or 'release/ is in sync with source/'}")
                failed |= problem is not None
        return 1 if failed else 0
    readme = root / "README.md"
    if readme.is_file():  # its Colab badges and install line follow course.REPOSITORY too
        text = readme.read_text(encoding="utf-8")
        if colab.rewrite_links(text) != text:
            readme.write_text(colab.rewrite_links(text), encoding="utf-8")
            print(f"README.md: links now point to {colab.REPOSITORY}")
    for assignment in ids:
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
    from . import batch, distributed
    from .limits import Limits
    from .progress import Progress, summary_text

    if args.all == bool(args.id):
        raise CourseError("give one assignment ID, or --all for every assignment")
    ids = assignment_ids(root) if args.all else resolve_ids(root, [args.id])
    limits = Limits(memory_mb=args.memory_mb) if args.memory_mb else Limits()
    if args.all:  # the assignments that have submissions (of the students listed)
        ids = [a for a in ids if batch.submissions(root, a, args.students, missing_ok=True)]
    if not ids:
        who = f" of {', '.join(args.students)}" if args.students else ""
        raise CourseError(f"no submissions{who} in {root / 'submitted'}")
    with distributed.executor(args.scheduler) as cluster:  # None: local processes
        summaries = batch.autograde_many(
            root, ids, students=args.students, workers=args.workers, force=args.force,
            notebook_timeout=args.timeout, cell_timeout=args.cell_timeout, limits=limits,
            executor=cluster, on_outcome=Progress())
    print()
    print(summary_text(summaries))
    if args.scheduler:
        print(distributed.by_worker(summaries))
    return 1 if any(s.failed for s in summaries) else 0


def cmd_feedback(root: Path, args: argparse.Namespace) -> int:
    from .feedback import unsafe_pages

    assignment = resolve_ids(root, [args.id])[0]
    graded = sorted(p.parent.name for p in (root / "autograded").glob(f"*/{assignment}"))
    missing = sorted(set(args.students or []) - set(graded))
    if missing or not graded:
        raise CourseError(f"nothing autograded for {assignment} in {root / 'autograded'}/"
                          f"{'|'.join(missing) or '*'}: run `course autograde {assignment}` first")
    students = args.students or graded
    others = sorted(set(graded) - set(students))  # one nbgrader run, whatever the selection
    exclude = [f"--CourseDirectory.student_id_exclude={','.join(others)}"] if others else []
    nbgrader_checked(root, "generate_feedback", assignment, *exclude, "--force")
    # The pages come from nbgrader_config.py's settings: refuse any that shows hidden tests.
    problems = unsafe_pages(root, assignment, students)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise CourseError("feedback NOT safe to release (is nbgrader_config.py the course's?): "
                          + "; ".join(problems[:3]) + more)
    print(f"feedback for {len(students)} student(s), without hidden tests: "
          f"{root / 'feedback'}/<student>/{assignment}/")
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
    main.add_argument("--db", metavar="URL",
                      help="gradebook for this command (default: COURSE_DB_URL, else "
                           "gradebook.db), e.g. postgresql+psycopg://USER:PASSWORD@HOST/DB")
    sub = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("release", help="generate and verify the student versions")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--check", action="store_true",
                   help="only verify that release/ matches what source/ generates")
    p.set_defaults(func=cmd_release)

    from . import collect  # course/collect.py: intake of submissions, LMS zips
    collect.add_parser(sub)

    p = sub.add_parser("autograde", help="autograde submitted/ in parallel (resumable)")
    p.add_argument("id", metavar="ID", nargs="?")
    p.add_argument("--all", action="store_true", help="every assignment with submissions")
    p.add_argument("--students", "--student", nargs="+", metavar="S",
                   help="only these students (default: every submission)")
    p.add_argument("--workers", type=int, help="parallel graders (default: cores)")
    p.add_argument("--force", action="store_true",
                   help="regrade everything (default: only new or changed submissions)")
    p.add_argument("--timeout", type=float, default=900, metavar="SECONDS",
                   help="time for a whole notebook (default 900); cells past it score 0")
    p.add_argument("--cell-timeout", type=int, metavar="SECONDS",
                   help="time for one cell (default: nbgrader_config.py, 120)")
    p.add_argument("--memory-mb", type=int, metavar="MB",
                   help="memory limit of each student's kernel (default 6144)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="grade on this Dask cluster's workers (docs/distributed.md)")
    p.set_defaults(func=cmd_autograde)

    p = sub.add_parser("feedback", help="feedback HTML for students (Spanish, no hidden tests)")
    p.add_argument("id", metavar="ID")
    p.add_argument("--students", "--student", nargs="+", metavar="S",
                   help="only these students (default: every autograded submission)")
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

    from . import dbmigrate  # course/dbmigrate.py: `course db migrate --to URL`
    dbmigrate.add_parser(sub)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.db:  # nbgrader_config.py, nbgrader's apps and course.gradebook all read it
        os.environ["COURSE_DB_URL"] = args.db
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
