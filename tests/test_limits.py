"""The kernel launcher `python -m course.limits`: a confined kernel gets a home of its own in
its folder, with the grader's matplotlib font list already there (no font scan per kernel),
and cannot write outside its folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from course.limits import landlock_abi

pytestmark = pytest.mark.skipif(landlock_abi() < 1, reason="this Linux kernel has no Landlock")

PROBE = """
import json, os
home = os.environ["HOME"]
try:
    open(os.environ["OUTSIDE"], "w").write("x")
    wrote_outside = True
except OSError:
    wrote_outside = False
import matplotlib
print(json.dumps({"home": home, "mpl": os.environ["MPLCONFIGDIR"],
                  "fonts": sorted(os.listdir(os.environ["MPLCONFIGDIR"])),
                  "cachedir": matplotlib.get_cachedir(), "wrote_outside": wrote_outside}))
"""


def test_confined_kernel_gets_the_font_list_and_writes_only_in_its_folder(tmp_path):
    grader_cache = tmp_path / "grader-mpl"
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], check=True,
                   env={**os.environ, "MPLCONFIGDIR": str(grader_cache)})
    font_lists = sorted(p.name for p in grader_cache.glob("fontlist-*.json"))
    assert font_lists, "matplotlib wrote no font list to copy"
    folder = tmp_path / "submission"
    folder.mkdir()
    env = {**os.environ, "COURSE_CONFINE": "1", "MPLCONFIGDIR": str(grader_cache),
           "OUTSIDE": str(tmp_path / "outside.txt")}
    run = subprocess.run([sys.executable, "-m", "course.limits", "--", sys.executable, "-c",
                          PROBE], cwd=folder, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["home"] == str(folder / ".home")
    assert seen["mpl"] == seen["cachedir"] == str(folder / ".home" / ".matplotlib")
    assert set(font_lists) <= set(seen["fonts"])
    for name in font_lists:
        assert json.loads((folder / ".home" / ".matplotlib" / name).read_text()) == \
            json.loads((grader_cache / name).read_text())
    assert not seen["wrote_outside"] and not (tmp_path / "outside.txt").exists()
