"""Files shared in a terminal interview: ``advisor chat --evidence FILE`` and a typed
``evidence PATH`` (also a line of ``chat --jsonl``). The file is measured (read, never
executed; a symlink is refused) and its facts enter the interview; a file that cannot be
used gets one line saying why, and the interview goes on where it was."""

from __future__ import annotations

import re
from pathlib import Path

from graph.evidence import EvidenceRefused, measure_path
from graph.interview import Interviews
from graph.turns import Reply, Turn

_COMMAND = re.compile(r"^\s*evidence\s+(?P<path>\S.*?)\s*$", re.IGNORECASE)


def evidence_path(text: str) -> str | None:
    """The PATH of a typed ``evidence PATH`` line, quotes removed; None for anything else."""
    match = _COMMAND.match(text)
    if match is None:
        return None
    path = match["path"]
    if len(path) >= 2 and path[0] == path[-1] and path[0] in "'\"":
        path = path[1:-1]
    return path


def share_file(service: Interviews, interview_id: str, path: str, *, by: str) -> list[Turn]:
    """Measure ``path`` and add it to the interview; the turns say what was measured (or why
    the file cannot be used) and what is asked next."""
    try:
        result = measure_path(Path(path).expanduser())
    except EvidenceRefused as exc:
        pending = service.pending(interview_id)
        said: list[Turn] = [Reply(text=f"Cannot use {path}: {exc}")]
        return [*said, pending] if pending is not None else said
    return service.add_evidence(interview_id, result, by=by)
