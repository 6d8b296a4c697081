"""The optional Claude hook, for every front end that opens an interview engine."""

from __future__ import annotations

import os
from typing import Any


def optional_llm() -> Any:
    """The Claude hook when ANTHROPIC_API_KEY is set; None (offline) otherwise. Interviews
    binds its token usage to the store."""
    if not os.environ.get("ANTHROPIC_API_KEY", "").strip():
        return None
    from graph.claude import llm_from_env  # imported only when used: it loads the SDK

    return llm_from_env()
