"""Test-only fault injection (tests/test_faults_kill.py), at the points of a Slack reply
where a crash is most telling.

With ADVISOR_FAULT=<point>[:<n>] the process dies on the spot, as under kill -9 (os._exit:
no clean-up, nothing flushed), the n-th time (default: the first) it reaches <point>. Never
set in production; unset, a point costs one environment lookup.
"""

from __future__ import annotations

import os

FAULT_POINTS = ("before_answer", "after_answer", "before_post", "after_post", "during_upload")
_hits: dict[str, int] = {}


def fault(point: str) -> None:
    wanted = os.environ.get("ADVISOR_FAULT")
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != point:
        return
    _hits[point] = _hits.get(point, 0) + 1
    if _hits[point] >= int(nth or 1):
        os._exit(137)
