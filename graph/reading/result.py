"""What reading one reply gives back, and the option helpers every reader shares."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from graph.profile import Profile
from graph.questions import QuestionSpec
from graph.reading.text import FILLERS, Reply, words

# Why a reading is echoed for confirmation instead of taken as firm.
HEDGE = "hedge"  # "probably", "I guess", "mostly?"
NEGATION = "negation"  # the value rests on a negation ("never bothered with rag")
FREE_TEXT = "free_text"  # words, not options, for a question with several answers
GUESS = "guess"  # one of several readings, or words the reader does not know around it
CORRECTION = "correction"  # "1 and 2, actually just 1"
VAGUE = "vague"  # "a couple hundred": read low
CLASH = "clash"  # the model and the offline reading disagree


class Parsed(BaseModel):
    """What one reply says.

    ``ok=False``: nothing could be read; ask again with ``hint``. ``skipped``: the team does
    not know (fields stay unknown). ``ok=True`` with ``missing``: the values are good but the
    reply left those fields open; ``hint`` asks for them. ``unsure``: fields the reply says
    it does not know ("tokens, no idea"): recorded as not sure, not asked again. ``doubts``:
    why the reading must be confirmed before it is kept (empty: it is firm); ``doubtful``:
    the fields read from a hedge, which stay unknown unless confirmed.
    """

    values: dict[str, Any] = Field(default_factory=dict)
    ok: bool = True
    skipped: bool = False
    hint: str = ""
    missing: list[str] = Field(default_factory=list)
    unsure: list[str] = Field(default_factory=list)
    doubts: list[str] = Field(default_factory=list)
    doubtful: list[str] = Field(default_factory=list)

    @property
    def confirm(self) -> bool:
        return self.ok and not self.skipped and bool(self.doubts)

    def doubt(self, *reasons: str, fields: list[str] | None = None) -> Parsed:
        """The same reading, to be confirmed for ``reasons`` (``fields``: hedged ones)."""
        doubts = list(dict.fromkeys([*self.doubts, *reasons]))
        doubtful = list(dict.fromkeys([*self.doubtful, *(fields or [])]))
        return self.model_copy(update={"doubts": doubts, "doubtful": doubtful})


# --- hints ---------------------------------------------------------------------------------


def head(label: str) -> str:
    return re.split(r"[:(]", label, maxsplit=1)[0].strip()


def how(question: QuestionSpec) -> str:
    """One line on how to answer: the numbered options, or an example."""
    if question.options:
        listed = ", ".join(f"{i} {head(o.label)}" for i, o in enumerate(question.options, 1))
        several = " (several are fine, e.g. '1, 3')" if question.multi else ""
        return f"Reply with a number or a name{several}: {listed}. Or 'skip'."
    return f"For example: {question.example}. Or 'skip' if you don't know."


def fail(question: QuestionSpec, lead: str = "I couldn't read that.") -> Parsed:
    return Parsed(ok=False, hint=f"{lead} {how(question)}")


def validated(question: QuestionSpec, parsed: Parsed) -> Parsed:
    """Check the values against the Profile model and return them in JSON form."""
    if not parsed.ok or not parsed.values:
        return parsed
    data = {"use_case": "-", **parsed.values}
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        fields = [str(e["loc"][0]) for e in exc.errors() if e["loc"]]
        lead = next((RANGE_HINT[f] for f in fields if f in RANGE_HINT), "")
        return fail(question, lead or "Counts can't be negative.")
    dumped = profile.model_dump(mode="json")
    return parsed.model_copy(update={"values": {k: dumped[k] for k in parsed.values}})


RANGE_HINT = {
    "baseline_score": "Scores run from 0 to 100% (or 0 to 1).",
    "target_score": "Scores run from 0 to 100% (or 0 to 1).",
    "retraining_owner": "A name or a team is enough (under 200 characters).",
    "use_case": "In one line, please (under 500 characters).",
}


# --- options --------------------------------------------------------------------------------

_NUMBER_LIST = re.compile(
    r"(?:options?|#|no\.?|number)?\s*\d+(?:\s*(?:-|to)\s*\d+)?"
    r"(?:\s*(?:,|&|\+|/|and|or|\s)\s*(?:options?|#)?\s*\d+(?:\s*(?:-|to)\s*\d+)?)*"
)
_ALL_BUT = re.compile(
    r"^(?:all|everything|every one|the lot)(?: of (?:them|these|those|the above))?"
    r"\s*(?:except|but|apart from|other than|besides|minus|bar|save)\s+(?P<rest>.+)$"
)
_ONLY = re.compile(r"^(?:only|just)\s+(?P<rest>.+)$")


def option_at(question: QuestionSpec, number: int) -> str | None:
    if 1 <= number <= len(question.options):
        return question.options[number - 1].value
    return None


def numbered(question: QuestionSpec, text: str) -> list[str] | None:
    """The options a reply of only numbers picks: "2", "1, 3", "2 and 6", "1-5" (options 1
    to 5), "all but 6", "only 4". None when the reply is not just numbers; [] when a number
    is not an option."""
    bare = " ".join(w for w in words(text) if w not in FILLERS) if text else ""
    exclude = False
    if m := _ALL_BUT.match(bare):
        bare, exclude = m.group("rest"), True
    elif m := _ONLY.match(bare):
        bare = m.group("rest")
    if not _NUMBER_LIST.fullmatch(bare):
        return None
    picked: list[str] = []
    for lo, hi in re.findall(r"(\d+)(?:\s*(?:-|to)\s*(\d+))?", bare):
        first, last = int(lo), int(hi or lo)
        if last < first or last - first > len(question.options):
            return []
        for number in range(first, last + 1):
            value = option_at(question, number)
            if value is None:
                return []
            if value not in picked:
                picked.append(value)
    if exclude:
        return [o.value for o in question.options if o.value not in picked and o.value != "none"]
    return picked


def option_names(question: QuestionSpec) -> dict[str, str]:
    """Every way an option is named exactly: its value, its label, the label's head."""
    names: dict[str, str] = {}
    for o in question.options:
        for name in (o.value, o.label, head(o.label)):
            key = norm_name(name)
            if key:
                names.setdefault(key, o.value)
    return names


def norm_name(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9'&+]+", " ", text.lower().replace("_", " ")).split())


def exact_option(question: QuestionSpec, text: str) -> str | None:
    """The option a reply names exactly ("extraction", "Question answering", "It's too slow")."""
    bare = norm_name(" ".join(w for w in words(text) if w not in FILLERS))
    return option_names(question).get(bare)


def exact_list(question: QuestionSpec, reply: Reply) -> list[str] | None:
    """A reply that only lists options by exact name or number ("few-shot, structured output
    and 5", or labels pasted whole, colons and all). None when it says more than that."""
    names = option_names(question)
    pattern = re.compile(
        r"(?<![\w'])(?:"
        + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        + r"|\d+(?:\s*(?:-|to)\s*\d+)?)(?![\w'])"
    )
    text = norm_name(reply.text)
    picked: list[str] = []
    for m in pattern.finditer(text):
        found = names.get(m.group(0))
        if found is None:
            nums = numbered(question, m.group(0))
            if not nums:
                return None
            picked += nums
        else:
            picked.append(found)
    rest = pattern.sub(" ", text)
    if not picked or any(w not in _LIST_WORDS for w in rest.split()):
        return None
    return list(dict.fromkeys(picked))


_LIST_WORDS = FILLERS | {"and", "or", "plus", "&", "+", "also", "both", "the", "a", "an", "we"}


def option_prefix(question: QuestionSpec, text: str) -> str | None:
    """The one option whose name the reply starts ("summ" -> summarization, 3+ letters)."""
    bare = norm_name(text)
    if len(bare) < 3 or " " in bare:
        return None
    found = {
        o.value
        for o in question.options
        if norm_name(head(o.label)).startswith(bare) or norm_name(o.value).startswith(bare)
    }
    return found.pop() if len(found) == 1 else None


_BARE_NUMBER = re.compile(
    r"^(?:so |and |plus |also |then )*"
    r"(?:(?:i(?:'d| would| will)? (?:probably )?(?:say|go with|pick|choose)"
    r"|say|option|number|#|it's|its|it is|is|that's|thats|probably|maybe|mostly|mainly|"
    r"basically|i guess|i think|about|around|actually|only|just|oh|rather)\s*)*(?P<n>\d{1,2})"
    r"(?:\s*(?:i guess|i think|probably|maybe|for now|then|too|as well|also|mostly|i'd say|only|"
    r"at most|tops|or so|ish))*"
    r"(?:\s+(?:for|since|because|as|cause)\b.*)?$"
)


def bare_numbers(question: QuestionSpec, reply: Reply) -> list[tuple[str, int]]:
    """Option numbers said on their own in a reply of words ("3, it's translation", "so I
    will say 3", "1? no. 2 and 7"): (option value, position); retracted ones left out."""
    found: list[tuple[str, int]] = []
    for i, clause in enumerate(reply.clauses):
        nxt = reply.clauses[i + 1] if i + 1 < len(reply.clauses) else None
        if nxt is not None and nxt.retracts:
            continue
        text = " ".join(w for w in clause.words if w not in FILLERS or w in ("so", "also"))
        m = _BARE_NUMBER.match(text)
        if m:
            value = option_at(question, int(m.group("n")))
            if value is not None:
                found.append((value, clause.start))
    return found


__all__ = [
    "CLASH",
    "CORRECTION",
    "FREE_TEXT",
    "GUESS",
    "HEDGE",
    "NEGATION",
    "VAGUE",
    "Parsed",
    "bare_numbers",
    "exact_list",
    "exact_option",
    "fail",
    "how",
    "numbered",
    "option_at",
    "option_prefix",
    "validated",
]
