"""How this command was started: who runs it, and the command line that runs advisor again
from here (what a printed hint such as "continue with: …" must say to work when pasted)."""

from __future__ import annotations

import getpass
import os
import shlex
import shutil
import sys


def who(name: str | None) -> str:
    """The name given (``--name``, ``--by``), else the login name."""
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "you"


def advisor_command() -> str:
    """``advisor`` when that is what runs this advisor from here; else the path it was
    started by, relative to the current directory when inside it (after ``make run``, the
    venv is not on PATH: ``.venv/bin/advisor``)."""
    script = sys.argv[0]
    if os.path.basename(script) != "advisor":
        return "advisor"  # started some other way (python -c, a test runner)
    on_path = shutil.which("advisor")
    if on_path and os.path.exists(script) and os.path.samefile(on_path, script):
        return "advisor"
    path = os.path.abspath(script)
    here = os.getcwd()
    if os.path.commonpath([path, here]) == here:
        path = os.path.relpath(path, here)
        path = path if os.sep in path else os.path.join(".", path)
    return shlex.quote(path)
