"""Scripted teams shared by tests and benchmarks: typed replies, keyed by question id, that
take an interview to a memo the way people answer in a thread ("1" picks the first option)."""

from __future__ import annotations

# A support-ticket router that has climbed the prompting rungs and should fine-tune.
ROUTER: dict[str, str] = {
    "task": "1",
    "problems": "accuracy is stuck below target and answers are inconsistent",
    "knowledge": "no",
    "stable": "yes",
    "tried": "system prompt, few-shot, structured output and decomposition",
    "eval": "400 items, 82% now, need 95%",
    "examples": "about 3,000, clean",
    "cleared": "yes, legal approved it",
    "usage": "200k a month, ~1,500 in, 20 out",
    "stakes": "2",
    "constraints": "cost",
    "owner": "the ML platform team",
}
