"""What model output must pass before advisor uses it: prose numbers, the decision it
states, signs of obeyed instructions, grounding in cited passages, and citations.

The Claude adapter (graph/claude.py) runs these on every prose paragraph and follow-up
answer; a failed check means the offline text is used instead. Numbers are read by the one
number reader (graph/reading/numbers.py), so prose and replies agree on what "3k" or "82%"
is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from graph.assessment import Approach, Assessment
from graph.instructions import addresses_the_model, looks_like_instructions
from graph.profile import Profile
from graph.reading.numbers import numbers


def _allowed_numbers(*sources: Any) -> set[float]:
    """Numbers stated anywhere in these JSON values, in each form prose may write them."""
    allowed: set[float] = set()

    def walk(node: Any) -> None:
        if isinstance(node, bool) or node is None:
            return
        if isinstance(node, int | float):
            allowed.add(float(node))
            if isinstance(node, float) and 0 < node <= 1:
                allowed.add(node * 100)  # 0.82 is written 82%
        elif isinstance(node, str):
            for number in numbers(node, ranges=False):
                allowed.add(number.value)
                if number.pct:
                    allowed.add(number.value / 100)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(key)
                walk(value)
        elif isinstance(node, list | tuple):
            for value in node:
                walk(value)

    for source in sources:
        walk(source)
    return allowed


def unsupported_numbers(text: str, profile: Profile, assessment: Assessment) -> list[str]:
    """Numbers in ``text`` that appear nowhere in the profile or the assessment."""
    allowed = _allowed_numbers(profile.model_dump(mode="json"), assessment.model_dump(mode="json"))
    return [
        n.text
        for n in numbers(text, ranges=False)
        if not any(abs(n.value - v) <= n.unit / 2 + 1e-9 for v in allowed)
    ]


_APPROACH_WORDS = {
    "prompt_engineering": r"prompt engineering|better prompt",
    "rag": r"\bRAG\b|retrieval",
    "fine_tuning": r"fine[- ]?tun",
}
_RECOMMENDS = re.compile(
    r"recommend|\bwe (will|should)\b|team should|\bdecid|go with|\bchoose|\badopt|switch to|"
    r"proceed with|right approach|best approach|the answer is",
    re.IGNORECASE,
)
_HOLDS_BACK = re.compile(
    r"\bnot\b|n't|\bno\b|\bnever\b|instead of|rather than|\bbefore\b|\buntil\b|\bunless\b|"
    r"only (if|when|after)|\blater\b|premature|\bwait|\bavoid|\bagainst\b|\bquot|\"|“",
    re.IGNORECASE,
)


def _approach_allowed(assessment: Assessment) -> set[str]:
    chosen = {
        Approach.prompt_engineering: {"prompt_engineering"},
        Approach.rag: {"rag"},
        Approach.fine_tuning: {"fine_tuning"},
        Approach.hybrid: {"fine_tuning", "rag"},
    }[assessment.approach]
    rung = assessment.next_rung.value if assessment.next_rung else ""
    if rung in ("rag", "fine_tuning"):
        chosen = chosen | {rung}
    return chosen


def decision_problem(text: str, assessment: Assessment) -> str | None:
    """Why prose misstates the decision, or ``None``: it must name the chosen approach and
    must not recommend another one (an obeyed injection would do exactly that)."""
    allowed = _approach_allowed(assessment)
    own = {
        Approach.prompt_engineering: r"prompt",
        Approach.rag: _APPROACH_WORDS["rag"],
        Approach.fine_tuning: _APPROACH_WORDS["fine_tuning"],
        Approach.hybrid: r"hybrid|fine[- ]?tun",
    }[assessment.approach]
    if not re.search(own, text, re.IGNORECASE):
        return f"does not mention the chosen approach ({assessment.approach.value})"
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        if not _RECOMMENDS.search(sentence) or _HOLDS_BACK.search(sentence):
            continue
        for approach, words in _APPROACH_WORDS.items():
            if approach not in allowed and re.search(words, sentence, re.IGNORECASE):
                return f"recommends {approach}, not {assessment.approach.value}"
    return None


# Model output that shows it followed an instruction found in the data ("as instructed"),
# or urges an approach "right away": no decision memo or grounded answer talks that way.
_OBEYS = re.compile(
    r"\bas (?:you |the team |they |the user |the text )?(?:instructed|requested|directed|"
    r"ordered|demanded|told)\b|\bas (?:you|the team|they|the user) (?:asked|wanted)\b|"
    r"\b(?:as )?per (?:your|the|their) (?:instructions?|request|orders?)\b|"
    r"\b(?:following|in line with|according to) (?:your|the|their|these) instructions?\b",
    re.IGNORECASE,
)
_URGENT = re.compile(
    r"\bright away\b|\bimmediately\b|\bat once\b|\bwithout (?:delay|further)\b|"
    r"\bstraight away\b|\bno matter what\b|\bregardless of\b",
    re.IGNORECASE,
)
_ANY_APPROACH = re.compile("|".join(_APPROACH_WORDS.values()), re.IGNORECASE)
_QUOTED = re.compile(r'"[^"\n]*"|“[^”\n]*”|‘[^’\n]*’')
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def obedience(text: str, *, data_instructs: bool = False) -> str | None:
    """Why model output reads as obeying an instruction in the data, or ``None``. What it
    quotes does not count: quoting an instruction is how it should be reported.

    Imperative advice ("choose RAG when facts change") is how the guidance itself talks, so
    it counts only when ``data_instructs``: the data sent held an instruction to the model,
    which the output may be repeating unquoted ("recommend fine-tuning")."""
    plain = _QUOTED.sub(" ", text)
    steers = looks_like_instructions if data_instructs else addresses_the_model
    if steers(plain):
        return "reads like an instruction"
    if _OBEYS.search(plain):
        return "says it follows an instruction"
    for sentence in _SENTENCE.split(plain):
        urges = _URGENT.search(sentence) and _ANY_APPROACH.search(sentence)
        if urges and not _HOLDS_BACK.search(sentence):
            return "urges an approach"
    return None


# Words too common to show that an answer comes from its passages.
_STOP_WORDS = frozenset(
    re.findall(
        r"\w+",
        """a an the and or but if of to in on at by for with from as is are was were be been
        being it its this that these those there their they them we our us you your i me my not
        no yes do does did so than then too very can could should would will may might must
        shall has have had into about over under more most less also just only such each any
        all some what which who whom when where why how one per here says said say see""",
    )
)
GROUNDED_SHARE = 0.5  # of an answer's content words that must come from its cited passages


def _stems(text: str) -> set[str]:
    """Content words, crudely stemmed (plural s dropped, first five letters)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {w.removesuffix("s")[:5] for w in words if w not in _STOP_WORDS and len(w) > 1}


def grounded_share(answer: str, passages: Iterable[str]) -> float:
    """The share of ``answer``'s content words (citations left out) found in ``passages``."""
    said = _stems(_CITATION.sub(" ", answer))
    if not said:
        return 0.0
    source: set[str] = set()
    for passage in passages:
        source |= _stems(passage)
    return len(said & source) / len(said)


_CITATION = re.compile(r"\[([^\[\]\n]{1,200})\]")


def citations(text: str, known: set[str]) -> tuple[str, list[str]]:
    """Keep cited ids that are among the passages; drop citations of anything else."""
    cited: list[str] = []

    def keep(match: re.Match[str]) -> str:
        ids = [part.strip() for part in re.split(r"[,;]", match.group(1))]
        if not all(re.fullmatch(r"[A-Za-z0-9][\w:./#@+-]*", i) for i in ids):
            return match.group(0)  # ordinary bracketed text, not a citation
        good = [i for i in ids if i in known]
        cited.extend(i for i in good if i not in cited)
        return "[" + ", ".join(good) + "]" if good else ""

    cleaned = _CITATION.sub(keep, text)
    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", re.sub(r"[ \t]{2,}", " ", cleaned))
    return cleaned.strip(), cited
