"""Mending typos in the words that carry an answer ("diferent" -> "different").
from graph.reading.text import wordset

Only a fixed list of words the vocabulary relies on is mended, and only a word of six or
more letters that is one edit away (a letter missing, doubled, wrong or two swapped) from
exactly one of them and is not itself a word on the list. Everything else is left as typed:
an unknown word never becomes a value, mended or not.
"""

from __future__ import annotations

import re
from functools import lru_cache

from graph.reading.text import wordset

KNOWN = wordset(
    """
    classification classify categories category categorize categorise extraction extract
    transformation transform translation translate conversion convert generation generate
    summarization summarisation summarize summarise summary summaries conversation
    conversational chatbot question answering agent agents hallucinates hallucinating
    hallucination hallucinations invents invented fabricates different inconsistent
    inconsistency consistent consistently random unpredictable format formatting schema
    structure structured malformed expensive costly latency slow slowly accuracy accurate
    inaccurate plateau plateaued stuck refuses refusal refusing knowledge outdated policies
    policy products catalogue catalog voice brand tone prompt prompts prompting system
    examples example retrieval retrieve embeddings vector decomposition decompose pipeline
    reasoning thought chain bigger larger model models tried nothing none never haven't
    labelled labeled labels label clean cleaned messy noisy duplicates deduplicated reviewed
    verified approved cleared allowed signed permission redacted anonymised anonymized
    consent legal stable changing change changes evolving fixed settled frozen month monthly
    weekly daily yearly quarterly annually every tokens input output requests calls queries
    regulated regulation regulatory compliance healthcare medical financial insurance review
    reviews reviewer reviewed human person editor approval premises servers private cloud
    device mobile offline budget pressure spend critical customers reputation money safety
    rework minutes usually
    """
)
# Real words one edit from a listed word: left alone, never mended into it.
_REAL = wordset(
    """
    formal formats chance police served sample simple symbol modest mixed months tables
    cables fixes handle change chained charge charged channel chains stake stakes formed
    former reform agents agency agenda latent clear clearly cleaner cleaning prompted
    promptly labour labor models modal moral labels mostly mainly costs ghostly product
    format chatty
    """
)
_BY_LENGTH: dict[int, list[str]] = {}
for _word in KNOWN:
    _BY_LENGTH.setdefault(len(_word), []).append(_word)


def _one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance exactly one (a transposition counts as one)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


@lru_cache(maxsize=4096)
def mend(word: str) -> str:
    """The listed word one edit away from ``word``, when there is exactly one."""
    if len(word) < 6 or word in KNOWN or word in _REAL or not word.isalpha():
        return word
    if any(word == k + end for k in _stems(word) for end in ("s", "es", "d", "ed", "ing")):
        return word  # an inflection of a listed word, not a typo
    if any(word + end in KNOWN for end in ("s", "es", "d", "ed")):
        return word
    near = {
        known
        for length in (len(word) - 1, len(word), len(word) + 1)
        for known in _BY_LENGTH.get(length, ())
        if _one_edit(word, known) and not _ending(word, known)
    }
    return near.pop() if len(near) == 1 else word


def _ending(a: str, b: str) -> bool:
    """The two differ only in their last letter ("duplicated"/"duplicates", "formal"/
    "format"): another form of a word, not a typo of it."""
    return a[:-1] == b[:-1] or a == b[:-1] or b == a[:-1]


def _stems(word: str) -> list[str]:
    return [word[:cut] for cut in range(len(word) - 3, len(word)) if word[:cut] in KNOWN]


_WORD = re.compile(r"[a-z]{6,}")


def repaired(text: str) -> str:
    """``text`` with each mendable word mended (lower-cased text in)."""
    return _WORD.sub(lambda m: mend(m.group(0)), text)


__all__ = ["KNOWN", "mend", "repaired"]
