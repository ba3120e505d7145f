"""Wrong-submission fixtures: realistic student mistakes the hidden tests must catch.

A fixture is a text file `tests/fixtures/<assignment>/<name>.py`:

    # description: one line saying what the student got wrong
    # lose: test-cell grade_ids that must score below their maximum
    # expect: full     (only for an alternative correct answer: it must get full marks)
    # %% <grade_id of an answer cell>
    <the whole source of that answer cell, as the student wrote it>
    # %% <another answer cell>
    ...

Answer cells not named keep the instructor's solution. A wrong fixture may lose points only
in the exercises (`ejN_` prefix) of the answer cells it replaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

CELL_LINE = re.compile(r"^# %% (\S+)\s*$")


@dataclass(frozen=True)
class Fixture:
    name: str
    description: str
    answers: dict[str, str]
    must_lose: tuple[str, ...] = field(default_factory=tuple)
    expect_full: bool = False  # an alternative correct solution

    @property
    def exercises(self) -> set[str]:
        """The exercises this fixture changes (by the ejN_ prefix of its answer cells)."""
        from .notebooks import exercise_of

        return {exercise_of(gid) for gid in self.answers}


def parse(text: str, name: str) -> Fixture:
    description, must_lose, expect_full = "", (), False
    answers: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = CELL_LINE.match(line)
        if match:
            current = answers.setdefault(match.group(1), [])
        elif current is not None:
            current.append(line)
        elif line.startswith("# description:"):
            description = line.split(":", 1)[1].strip()
        elif line.startswith("# lose:"):
            must_lose = tuple(line.split(":", 1)[1].split())
        elif line.startswith("# expect:"):
            expected = line.split(":", 1)[1].strip()
            if expected not in ("full", "lose"):
                raise ValueError(f"fixture {name!r}: '# expect:' must be 'full' or 'lose'")
            expect_full = expected == "full"
    if not answers:
        raise ValueError(f"fixture {name!r} replaces no answer cell (no '# %% <grade_id>' line)")
    if expect_full and must_lose:
        raise ValueError(f"fixture {name!r} expects full marks but lists cells to lose")
    return Fixture(name, description,
                   {gid: "\n".join(lines).strip("\n") for gid, lines in answers.items()},
                   must_lose, expect_full)


def load_all(directory: Path) -> list[Fixture]:
    if not directory.is_dir():
        return []
    return [parse(path.read_text(encoding="utf-8"), path.stem)
            for path in sorted(directory.glob("*.py"))]
