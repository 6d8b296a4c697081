"""Readers for the questions answered with numbers (the eval, the examples, usage) and the
owner's name.

Each number (graph/reading/numbers.py) gets a role from the words around it in its clause
("need 95%" is the target, "82% now" the baseline, "400 items" the eval's size, "5k a day"
a volume, "1,500 in" input tokens). Numbers in a clause about an old value ("18 was the
old prompt"), years ("in 2023") and numbers a clause retracts ("300M a month, no, ...") are
left out; after a self-correction, what the reply says later replaces what it said before,
field by field. Numbers nobody labelled fill the fields still open, in the question's
order; extra unlabelled numbers beside a full reading are ignored ("40 reps ... 1,200 a
day"), and two readings for one field are settled by the later one, with a confirmation.

Confirmed rather than firm: a number in a hedged clause ("maybe 300?"), a vague amount
("a couple hundred"), a guess between two readings, a self-correction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graph.questions import QuestionSpec
from graph.reading.choices import Said
from graph.reading.numbers import Num, numbers, spell_out
from graph.reading.result import CORRECTION, GUESS, HEDGE, NEGATION, VAGUE, Parsed, fail
from graph.reading.text import Reply, wordset
from graph.reading.vocabulary import CLEAN, CLEARED, find

VAGUE_HINT = "A rough number helps, e.g. '5,000' or '200k a month'."


def _keywords(text: str) -> re.Pattern[str]:
    phrases = sorted({p.strip() for p in text.split("|") if p.strip()}, key=len, reverse=True)
    return re.compile(r"(?<![\w'])(?:" + "|".join(phrases) + r")(?![\w'])")


EVAL_ROLES = {
    "target_score": _keywords(
        "need | needs | needed | require | required | requires | requirement | target | targets"
        " | goal | want | wants | must | aim | aiming | bar | threshold | sla | acceptable"
        " | minimum | min | at least | has to | have to | to ship | to launch | to pass"
        " | good enough | expect | expected | objective | should reach | should hit"
        " | need to hit | needs to hit | need to reach | needs to reach | need to get to"
        " | have to hit | has to hit | must hit | must reach | want to hit | want to reach"
        " | aim for | get it to | get to | hoping for | would like | happy at | happy with"
        " | would be happy | would be happy at | be happy at | satisfied with | satisfied at"
    ),
    "baseline_score": _keywords(
        "now | currently | current | today | baseline | best | get | gets | getting | got"
        " | reach | reached | reaches | score | scores | scoring | scored | at | sits | sitting"
        " | stuck | plateau | plateaued | prompt | prompting | hit | hits | achieve | achieved"
        " | managed | tops out | peak | peaked | accuracy | recall | precision | f1 | correct"
        " | right | fine | good | pass rate | acceptance | rate | result | were fine | are fine"
        " | fully correct | so far | is at | are at | we're at | we are at | useful | usable"
        " | passing | pass | passed | judged acceptable | rated acceptable | acceptable answers"
    ),
    "eval_set_size": _keywords(
        r"items? | examples? | questions? | cases? | test cases? | rows? | samples? | prompts?"
        r" | records? | tickets? | emails? | documents? | docs | entries | pairs | tests?"
        r" | eval set | test set | evals? | set of | -item | labell?ed | held-out | conversations?"
        r" | sessions? | letters? | invoices? | strings? | windows? | transcripts? | graded"
        r" | pipelines? | files? | jobs? | configs? | scripts? | utts | utterances? | notes?"
        r" | cvs | resumes? | contracts? | narratives? | reviews? | orders? | calls? | chats?"
        r" | replies | images? | pages? | reports? | forms? | claims? | queries | snippets?"
    ),
}
_NO_EVAL = re.compile(
    r"^(?:no|nope|none|nah|zero|nothing|not yet|not really|never|no eval|no evals)(?: yet)?\b|^0$|"
    r"\b(?:no|zero|without an?|(?:don't|do not) (?:really )?have (?:an?(?:ny)?|one)|"
    r"haven't got (?:an?(?:ny)?|one)|haven't (?:built|made|done) (?:an?(?:ny)?|one)|"
    r"there's no|there is no|we have no|lack an?|"
    r"(?:don't|do not) think (?:there is|there's|we have))\s*(?:real |proper |formal |actual )?"
    r"(?:evals?|evaluations?(?: set)?|eval sets?|test sets?|benchmarks?|evaluation data|one)?\b|"
    r"\b(?:eyeball\w*|vibes?|gut feel\w*|spot[- ]check\w*|"
    r"don't (?:score|measure|grade|track) (?:it|them)|"
    r"nobody(?:'s| has)? (?:ever )?(?:graded|scored|measured|evaluated)|not that i know)"
)
_ZERO_EXAMPLES = re.compile(
    r"^(?:no|nope|none|nah|zero|0|nothing|not yet|not any|none yet|we have none)(?: yet)?\b|"
    r"\b(?:no|zero|don't have any|do not have any|haven't got any|not any|none of)\s+"
    r"(?:labell?ed |training |clean |reference )?"
    r"(?:examples|data|labels|pairs|training data|summaries)\b"
)
_UNLABELLED = re.compile(
    r"\b(?:unlabell?ed|not (?:yet )?(?:labell?ed|annotated|tagged|graded)|"
    r"(?:nobody|no one|none)(?:'s| has| have)? (?:\S+ )?(?:labell?ed|annotated|tagged|graded)|"
    r"(?:without|no) (?:any )?(?:labels|annotations))\b"
)
_YEAR = re.compile(r"^(?:19[5-9]\d|20[0-4]\d)$")
_YEAR_BEFORE = re.compile(r"\b(?:in|since|from|until|till|by|of|before|after|year)\s+$")


@dataclass
class _Reading:
    """Numbers sorted into fields, with how sure each is."""

    found: dict[str, list[tuple[float, Num]]] = field(default_factory=dict)
    loose: list[Num] = field(default_factory=list)
    doubts: list[str] = field(default_factory=list)
    doubtful: set[str] = field(default_factory=set)

    def put(self, name: str, value: float, n: Num) -> None:
        self.found.setdefault(name, []).append((value, n))


def _numbers(text: str, reply: Reply) -> list[Num]:
    """The numbers that count: no years, none in retracted or outdated clauses."""
    kept = []
    for n in numbers(text):
        i = reply.index_at(n.start)
        clause = reply.clauses[i]
        nxt = reply.clauses[i + 1] if i + 1 < len(reply.clauses) else None
        if nxt is not None and nxt.retracts:
            continue
        if clause.superseded and reply.corrected_at is not None and n.start >= reply.corrected_at:
            continue
        if (
            not n.pct
            and not n.scaled
            and _YEAR.match(n.text.strip("~ "))
            and (_YEAR_BEFORE.search(text[max(0, n.start - 12) : n.start]))
        ):
            continue
        kept.append(n)
    return kept


def _settle(
    reading: _Reading, reply: Reply, order: Sequence[str], wanted: Sequence[str]
) -> dict[str, Any]:
    """One value per field: a later correction wins; two readings -> the later, doubted."""
    values: dict[str, Any] = {}
    at = reply.corrected_at
    for name in order:
        found = reading.found.get(name, [])
        if not found:
            continue
        if at is not None and any(n.start >= at for _, n in found):
            found = [(v, n) for v, n in found if n.start >= at]
            reading.doubts.append(CORRECTION)
        if len({v for v, _ in found}) > 1:
            reading.doubts.append(GUESS)
        value, n = found[-1]
        values[name] = value
        clause = reply.clause_at(n.start)
        if clause.hedged:
            reading.doubts.append(HEDGE)
            reading.doubtful.add(name)
        if n.vague or n.high is not None:  # "a few hundred", "70-80%": shown to confirm
            reading.doubts.append(VAGUE)
            reading.doubtful.add(name)
    return values


def _parsed(
    question: QuestionSpec,
    values: dict[str, Any],
    reading: _Reading,
    wanted: Sequence[str],
    unsure: Sequence[str] = (),
) -> Parsed:
    """Values read so far, plus what the reply left open among the wanted fields."""
    if not values and not unsure:
        return fail(question)
    missing = [
        f for f in wanted if f not in values and f not in unsure and _still_needed(f, values)
    ]
    hint = ""
    if missing:
        asks = " And ".join(MISSING_ASK.get(f, f) for f in missing)
        hint = f"Got it. One more thing: {asks[0].lower()}{asks[1:]}"
    parsed = Parsed(
        values=values, missing=missing, hint=hint, unsure=[f for f in unsure if f in wanted]
    )
    if reading.doubts:
        parsed = parsed.doubt(*reading.doubts, fields=sorted(reading.doubtful))
    return parsed


MISSING_ASK = {
    "eval_set_size": "how many items are in the eval set?",
    "baseline_score": "what is the best score prompting reached?",
    "target_score": "what score do you need?",
    "labeled_examples": "roughly how many labelled examples are there?",
    "labels_clean": "are the labels clean (consistent, deduplicated)?",
    "monthly_volume": "about how many calls a month?",
    "avg_input_tokens": "roughly how many tokens go in per call?",
    "avg_output_tokens": "how many tokens come out per call?",
}


def _still_needed(name: str, values: dict[str, Any]) -> bool:
    if name in ("baseline_score", "target_score"):
        return values.get("eval_set_size") != 0
    if name == "labels_clean":
        return values.get("labeled_examples", 200) >= 200
    return True


_SIDE = re.compile(r"\b(?:with|while|whereas)\b")


def _context(text: str, reply: Reply, n: Num) -> tuple[str, str]:
    """The words before and after a number, within its clause ("with" and "while" cut it
    too: "82% with a target of 95%")."""
    first = reply.clause_at(n.start)
    last = reply.clause_at(max(n.start, n.end - 1))
    left, right = text[first.start : n.start], text[n.end : last.end]
    cuts = list(_SIDE.finditer(left))
    if cuts:
        left = left[cuts[-1].end() :]
    cut = _SIDE.search(right)
    return left, right[: cut.start()] if cut else right


def _role(text: str, reply: Reply, n: Num, roles: dict[str, re.Pattern[str]]) -> str | None:
    """The role whose keyword sits nearest the number in its clause."""
    left, right = _context(text, reply, n)
    best: tuple[int, str] | None = None
    for role, pattern in roles.items():
        for m in pattern.finditer(left):
            distance = len(left) - m.end()
            if best is None or distance < best[0]:
                best = (distance, role)
        after = pattern.search(right)
        if after and (best is None or after.start() < best[0]):
            best = (after.start(), role)
    return best[1] if best else None


_NOUN_AFTER = re.compile(r"^\s*(?:[a-z][a-z'-]*\s+){0,2}?(?P<noun>[a-z][a-z'-]{2,})")
_NOT_ITEMS = wordset(
    """
    of in out a an the and to per is are was were at on by for
    """
)


def _counted(text: str, n: Num) -> bool:
    """A count of things ("120 PRs", "650 invoices"), not a bare number."""
    m = _NOUN_AFTER.match(text[n.end : n.end + 40])
    return m is not None and m.group("noun") not in _NOT_ITEMS


# --- the eval -------------------------------------------------------------------------------


def read_eval(question: QuestionSpec, said: Said) -> Parsed:
    text = spell_out(said.text)
    reply = Reply.of(text)
    nums = _numbers(text, reply)
    reading = _Reading()
    target_unsure = bool(
        re.search(r"\b(?:no|never|nobody|no one)\b[^.;]{0,30}\b(?:target|goal)\b", text)
        or re.search(r"\b(?:target|goal)\b[^.;]{0,20}\b(?:unknown|not sure|no idea|tbd)\b", text)
    )
    no_eval = _NO_EVAL.search(text)
    sizes = [n for n in nums if n.is_int and n.score is None]
    if no_eval and not any(_role(text, reply, n, EVAL_ROLES) == "eval_set_size" for n in sizes):
        values: dict[str, Any] = {"eval_set_size": 0}
        for n in nums:
            if n.score is not None and _role(text, reply, n, EVAL_ROLES) == "target_score":
                values["target_score"] = n.score
        if reply.clause_at(no_eval.start()).hedged or "not that i know" in text:
            reading.doubts.append(HEDGE)
            reading.doubtful.add("eval_set_size")
        return _parsed(question, values, reading, said.wanted)
    if not nums:
        if target_unsure:
            return _parsed(question, {}, reading, said.wanted, ["target_score"])
        if re.search(r"\b(?:a few|several|some|lots|a lot|many|hundreds|thousands)\b", text):
            return fail(question, VAGUE_HINT)
        if re.match(r"^(?:yes|yeah|yep|yup|we do|sure)\b", text):
            return fail(
                question,
                "How many items is it, what does prompting score, and what score do you need?",
            )
        return fail(question)
    counts: list[Num] = []
    for n in nums:
        role = _role(text, reply, n, EVAL_ROLES)
        score = n.score
        if score is not None:
            if role in ("baseline_score", "target_score"):
                reading.put(role, score, n)
            else:
                reading.loose.append(n)
        elif n.is_int:
            if role == "eval_set_size" or (role is None and _counted(text, n)):
                counts.append(n)
            elif role in ("baseline_score", "target_score") and n.value <= 100:
                reading.put(role, n.value / 100, n)
            else:
                reading.loose.append(n)
        elif role in ("baseline_score", "target_score") and n.value <= 100:
            reading.put(role, n.value / 100, n)  # "86.4 best": a percentage without the sign
        else:
            reading.loose.append(n)
    big = [n for n in counts if n.value >= 10]
    for n in big or counts[:1]:
        reading.put("eval_set_size", n.value, n)
    wanted = list(said.wanted)
    slots = [f for f in (*wanted, *question.fields) if f.endswith("_score")]
    for n in reading.loose:
        open_size = "eval_set_size" in wanted and "eval_set_size" not in reading.found
        if n.is_int and open_size and n.value > 1:
            reading.put("eval_set_size", n.value, n)
            continue
        slot = next((f for f in slots if f not in reading.found), None)
        if slot == "target_score" and target_unsure:
            slot = None
        value = n.score if n.score is not None else (n.value / 100 if n.value <= 100 else None)
        if slot is None or value is None:
            reading.doubts.append(GUESS)  # a number left over beside a full reading
            continue
        reading.put(slot, value, n)
    values = _settle(reading, reply, question.fields, wanted)
    if "eval_set_size" in values:
        values["eval_set_size"] = int(values["eval_set_size"])
        if values["eval_set_size"] == 0:
            values.pop("baseline_score", None)
    unsure = ["target_score"] if target_unsure and "target_score" not in values else []
    return _parsed(question, values, reading, wanted, unsure)


# --- labelled examples --------------------------------------------------------------------


def read_examples(question: QuestionSpec, said: Said) -> Parsed:
    text = spell_out(said.text)
    reply = Reply.of(text)
    reading = _Reading()
    counts = [n for n in _numbers(text, reply) if n.score is None and not n.money]
    values: dict[str, Any] = {}
    unsure: list[str] = []
    if counts:
        firm = [n for n in counts if not n.vague]
        chosen = (firm or counts)[-1] if reply.corrected_at is not None else (firm or counts)[0]
        if reply.corrected_at is not None and chosen.start >= reply.corrected_at:
            reading.doubts.append(CORRECTION)
        if len({n.value for n in counts}) > 1:
            reading.doubts.append(GUESS)
        reading.put("labeled_examples", chosen.value, chosen)
        values = _settle(reading, reply, ["labeled_examples"], said.wanted)
        values["labeled_examples"] = int(values["labeled_examples"])
        if _UNLABELLED.search(said.text):
            values["labeled_examples"] = 0
            reading.doubts.append(NEGATION)
        near = reply.clause_at(chosen.start).sentence
    elif reply.clauses[0].unsure and re.match(r"\S+ (?:idea|clue)|\S+ (?:sure|know)", text):
        unsure.append("labeled_examples")  # "no idea how many": not knowing is not zero
        near = -1
    elif _ZERO_EXAMPLES.search(said.text):
        values["labeled_examples"] = 0
        near = -1
    elif _UNLABELLED.search(said.text):  # "tons of data, but unlabelled"
        values["labeled_examples"] = 0
        reading.doubts.append(NEGATION)
        near = -1
    else:
        near = -1
    clean = _clean(said.reply, near)
    if isinstance(clean, str):
        unsure.append("labels_clean")
    elif clean is not None:
        value, hedged, negated = clean
        values["labels_clean"] = value
        if hedged:
            reading.doubts.append(HEDGE)
            reading.doubtful.add("labels_clean")
        if negated:
            reading.doubts.append(NEGATION)
    cleared = {(h.value == "yes") != h.negated for h in find(said.reply, CLEARED)}
    if len(cleared) == 1 and "labeled_examples" in values:
        values["data_cleared"] = cleared.pop()  # volunteered: saves the next question
    if not values and not unsure:
        if said.wanted == ["labels_clean"]:
            from graph.reading.choices import said_yes_no

            said_value, _ = said_yes_no(said.reply)
            if said_value is not None:
                return Parsed(values={"labels_clean": said_value})
        if re.search(r"\b(?:a few|several|some|lots|a lot|many|plenty|tons)\b", text):
            return fail(question, VAGUE_HINT)
        if re.match(r"^(?:yes|yeah|yep|yup|we do|sure)\b", text):
            return fail(question, "Roughly how many?")
        return fail(question)
    return _parsed(question, values, reading, said.wanted, unsure)


def _clean(reply: Reply, sentence: int) -> tuple[bool, bool, bool] | str | None:
    """Whether the labels are clean: (value, hedged, rests on a negation), "unsure" when
    the reply says it does not know, None when it does not say. Readings in the sentence
    of the chosen count come first ("50 great ones, consistent; thousands more, messy")."""
    hits = find(reply, CLEAN)
    if any(c.unsure and re.search(r"clean|agree|consisten|quality|good|label", c.text)
           for c in reply.clauses):  # fmt: skip
        sure = [h for h in hits if not reply.clause_at(h.start).unsure]
        if not sure:
            return "unsure"
        hits = sure
    if not hits:
        return None
    readings = [((h.value == "yes") != h.negated, h) for h in hits]
    values = {v for v, _ in readings}
    if len(values) > 1:
        near = [(v, h) for v, h in readings if reply.clause_at(h.start).sentence == sentence]
        if near and len({v for v, _ in near}) == 1:
            readings = near
        else:
            readings = [r for r in readings if r[0] is False] or readings  # never overstate
    value = readings[0][0]
    clauses = [reply.clause_at(h.start) for _, h in readings]
    hedged = any(c.hedged or c.qualified for c in clauses) or len(values) > 1
    return value, hedged, any(h.negated for _, h in readings)


# --- usage ----------------------------------------------------------------------------------

_PER = (
    r"(?P<p>months?|mo|mth|monthly|days?|daily|weekdays?|weeks?|wk|weekly|years?|yr|yearly|"
    r"annually|hours?|hr|hourly|quarters?|quarterly|minutes?|min|seconds?|sec|nights?)"
)
_PERIOD = re.compile(
    r"^\s*(?:[a-z][a-z'-]*\s+){0,3}?(?:(?:a|an|per|each|every|/)\s*" + _PER + r"(?![\w-])"
    r"|/\s*(?P<s>d|h|w|y|s)(?![\w-])"  # "5k/d"
    r"|(?P<rps>rps|qps|tps|req/s)(?![\w-])"
    r"|(?P<q>daily|weekly|monthly|yearly|annually|hourly)(?![\w-]))"
)
_SHORT_PER = {"d": "day", "h": "hour", "w": "week", "y": "year", "s": "second"}
# Said next to a volume: the typical one counts, not the peak ("peak 30 rps, average 5").
_TYPICAL = re.compile(
    r"\b(?:average|avg|typical(?:ly)?|normally|usually|on average|steady)\W*\w*\W*$"
)
_PEAKY = re.compile(r"\b(?:peak|peaks|max|maximum|at most|spikes?|burst\w*)\W*\w*\W*$")
_PER_MONTH = {
    "mo": 1.0, "mth": 1.0, "month": 1.0, "months": 1.0, "monthly": 1.0,
    "day": 30.0, "days": 30.0, "daily": 30.0, "weekday": 30.0, "weekdays": 30.0,
    "week": 52 / 12, "weeks": 52 / 12, "wk": 52 / 12, "weekly": 52 / 12,
    "year": 1 / 12, "years": 1 / 12, "yr": 1 / 12, "yearly": 1 / 12, "annually": 1 / 12,
    "hour": 720.0, "hours": 720.0, "hr": 720.0, "hourly": 720.0,
    "quarter": 1 / 3, "quarters": 1 / 3, "quarterly": 1 / 3,
    "minute": 43_200.0, "minutes": 43_200.0, "min": 43_200.0,
    "second": 2_592_000.0, "seconds": 2_592_000.0, "sec": 2_592_000.0,
    "night": 30.0, "nights": 30.0,
}  # fmt: skip
_PEAK = frozenset({"minute", "minutes", "min", "second", "seconds", "sec"})
_CALL_WORDS = (
    r"(?:api )?(?:calls?|requests?|queries|runs|invocations|predictions|executions|"
    r"generations|completions)"
)
_CALLS = re.compile(r"^\s*(?:[a-z-]+\s+)?" + _CALL_WORDS + r"(?!\w)")
_OUT_AFTER = re.compile(
    r"^\s*(?:tokens?\s+)?(?:(?:in|of|for|as)\s+)?(?:out|output|outputs|completion|response|"
    r"responses|generated|answer|exit|back|returned)(?!\w)"
)
_IN_AFTER = re.compile(
    r"^\s*(?:tokens?\s+)?(?:(?:of|as|for)\s+)?(?:input|inputs|prompt|context|entry|incoming)(?!\w)|"
    r"^\s*(?:tokens?\s+)?in(?!\w)(?!\s+(?:production|prod|total|a\b|per\b|each\b))"
)
_TOKENS_AFTER = re.compile(r"^\s*(?:k\s+)?tokens?(?!\w)")
_GAP = (
    r"(?:\s|[:=~]|is|are|of|at|about|around|average|averages|avg|roughly|ca|approx|maybe|"
    r"probably|like|~)*"
)
# Whole words only: the "out" of "about 60 tokens in" is not an output.
_IN_BEFORE = re.compile(
    r"(?<![\w'])(?:input|inputs|in|prompt|prompts|context)\s*(?:tokens?)?" + _GAP + "$"
)
_OUT_BEFORE = re.compile(
    r"(?<![\w'])(?:output|outputs|out|completion|response|responses|answer)\s*(?:tokens?)?"
    + _GAP
    + "$"
)
_VOLUME_BEFORE = re.compile(r"(?<![\w'])(?:volume|calls|requests|traffic|queries)" + _GAP + "$")
_NOT_LIVE = re.compile(r"\bnot (?:live|launched|in production)\b|\bpre-?launch\b")
_TOKEN_TOPIC = re.compile(r"\btokens?\b")


# "15 questions per shift, 3 shifts a day": a count per unit, times units per period.
_PER_UNIT = re.compile(
    r"(?P<n>~?\d[\d.,']*\s?k?)\s+(?P<what>(?:[a-z]+\s+){0,2}?)(?:per|a|each|every)\s+"
    r"(?P<unit>shift|weekend|batch|run|session|class|wave|cycle|round|event|tournament)\b"
    r"[^.;\d]{0,40}?(?P<m>\d+)\s+(?P=unit)s?\s+(?:a|per|each|every)\s+"
    r"(?P<per>day|week|month|year)\b"
)


def _per_unit(text: str) -> str:
    """The count per period a per-unit rate and the units per period make."""

    def times(m: re.Match[str]) -> str:
        found = numbers(m.group("n"))
        if not found:
            return m.group(0)
        total = found[0].value * int(m.group("m"))
        return f"{total:g} {m.group('what')}per {m.group('per')}"

    return _PER_UNIT.sub(times, text)


def read_usage(question: QuestionSpec, said: Said) -> Parsed:
    text = _per_unit(spell_out(said.text))
    reply = Reply.of(text)
    nums = [n for n in _numbers(text, reply) if not n.pct and not n.money]
    unsure: list[str] = []
    if any(c.unsure and _TOKEN_TOPIC.search(c.text) for c in reply.clauses):
        unsure = ["avg_input_tokens", "avg_output_tokens"]
    if not nums:
        if unsure:
            return _parsed(question, {}, _Reading(), said.wanted, unsure)
        if _NOT_LIVE.search(text):
            return fail(question, "A rough forecast is fine.")
        if re.search(r"\b(?:a few|several|some|lots|a lot|many|tons|loads)\b", text):
            return fail(question, VAGUE_HINT)
        return fail(question)
    slots = ["monthly_volume", "avg_input_tokens", "avg_output_tokens"]
    reading = _Reading()
    volumes: list[tuple[float, Num, bool]] = []  # (per month, number, said "calls")
    tokens: list[Num] = []
    for i, n in enumerate(nums):
        after = text[n.end : nums[i + 1].start if i + 1 < len(nums) else len(text)]
        before = text[nums[i - 1].end if i else 0 : n.start]
        period = _PERIOD.match(after)
        if period:
            per = (
                period.group("p")
                or period.group("q")
                or ("second" if period.group("rps") else _SHORT_PER[period.group("s")])
            )
            if per in _PEAK:
                reading.doubts.append(GUESS)  # a rate per second is often a peak: confirm
            calls = bool(re.search(_CALL_WORDS, after[: period.end()]))
            volumes.append((n.value * _PER_MONTH[per], n, calls))
        elif _CALLS.match(after) or _VOLUME_BEFORE.search(before):
            volumes.append((n.value, n, True))
        elif _OUT_AFTER.match(after) or _OUT_BEFORE.search(before):
            reading.put("avg_output_tokens", n.value, n)
        elif _IN_AFTER.match(after) or _IN_BEFORE.search(before):
            reading.put("avg_input_tokens", n.value, n)
        elif _TOKENS_AFTER.match(after):
            tokens.append(n)
        else:
            reading.loose.append(n)
    if volumes:
        typical = [
            v for v in volumes if _TYPICAL.search(text[max(0, v[1].start - 24) : v[1].start])
        ]
        plain = [
            v for v in volumes if not _PEAKY.search(text[max(0, v[1].start - 24) : v[1].start])
        ]
        said_calls = [v for v in (typical or plain or volumes) if v[2]]
        best = (said_calls or typical or plain or volumes)[-1]
        if len(volumes) > 1:
            reading.doubts.append(GUESS)
        if reply.corrected_at is not None and best[1].start < reply.corrected_at:
            later = [v for v in volumes if v[1].start >= reply.corrected_at]
            best = later[-1] if later else best
        reading.put("monthly_volume", best[0], best[1])
    for n in tokens:
        slot = next((s for s in slots[1:] if s not in reading.found), None)
        if slot is None:
            reading.doubts.append(GUESS)
            continue
        reading.put(slot, n.value, n)
    full = all(s in reading.found for s in slots)
    order = [s for s in (*said.wanted, *slots) if s in slots]
    for n in reading.loose:
        slot = next((s for s in order if s not in reading.found and s not in unsure), None)
        if slot is None:
            if not full:
                reading.doubts.append(GUESS)
            continue
        if re.match(r"^\s*[/a-z]", text[n.end :]):
            reading.doubts.append(GUESS)  # "5 k/d", "300 widgets": a unit it does not know
        reading.put(slot, n.value, n)
    values = _settle(reading, reply, slots, said.wanted)
    values = {k: round(v) for k, v in values.items()}
    return _parsed(question, values, reading, said.wanted, [u for u in unsure if u not in values])


# --- the owner ------------------------------------------------------------------------------

_NOBODY = re.compile(
    r"(?<![\w'])(?:nobody|no ?one|no-one|none|no owner|not sure who|unsure who|unclear who|"
    r"(?:i |we )?don't know who|no idea who|tb[dac]|to be (?:decided|determined|confirmed)|"
    r"unassigned|not assigned|not decided|undecided|neither of us|"
    r"(?:we )?(?:don't|do not) have (?:one|an owner|anyone|any (?:\S+ )?(?:people|one|team)|"
    r"(?:an? )?(?:ml|data|ai) (?:people|person|team|engineers?))|"
    r"no (?:ml|data|ai) (?:people|team|person))(?![\w'])"
)
_NOBODY_ALONE = re.compile(r"^(?:no|nope|not yet|nah|n/a)$")
_OWNER_LEAD = re.compile(
    r"^(?:(?:yes|yeah|yep|sure|ok|okay|uh|um|well|hmm|not sure|no idea|no clue|unsure|dunno|"
    r"don't know|not certain)(?: yet)?[, ]+|(?:probably|maybe|likely|i guess|"
    r"possibly|perhaps|prob|probs|presumably|"
    r"i think|that would be|that'?d be|it would be|it'?d be|it'?s|it is|that'?s|the owner is|"
    r"owner is|owned by|would be|will be|if we fine-?tuned\??)[, ]*\s)",
    re.IGNORECASE,
)


_OWNER_TAIL = re.compile(
    r"[,;\s]+(?:probably|maybe|perhaps|possibly|i think|i guess|i suppose|i believe|"
    r"presumably|likely)[.!?]*$",
    re.IGNORECASE,
)


# What names an owner even in a reply that opens unsure ("not sure, maybe the data team").
_SOMEONE = re.compile(
    r"\b(?:team|squad|group|department|dept|vendor|contractor|agency|platform|ops|engineering|"
    r"engineers?|scientists?|me|myself|us)\b",
    re.IGNORECASE,
)


def _names_nobody(said: Said) -> bool:
    """ "no clue yet, ask me after the reorg": it opens unsure and names no one (no team word,
    no capitalised name after the first word)."""
    if not said.reply.clauses[0].unsure:
        return False
    rest = said.reply.text[said.reply.clauses[0].end :]
    capitals = re.findall(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+", said.clean)
    return not _SOMEONE.search(rest.replace("ask me", "")) and not capitals


def read_owner(question: QuestionSpec, said: Said) -> Parsed:
    reply = said.reply
    if _NOBODY.search(said.text) or _NOBODY_ALONE.match(said.text):
        parsed = Parsed(values={"retraining_owner": ""})
        return parsed.doubt(HEDGE, fields=["retraining_owner"]) if reply.any_hedge else parsed
    if _names_nobody(said):
        return Parsed(skipped=True, unsure=["retraining_owner"])
    if re.fullmatch(r"(?:yes|yeah|yep|sure|ok|okay|no|nope)", said.text):
        return fail(question, "Who would it be? A name or a team is enough.")
    name = said.clean
    while True:
        stripped = _OWNER_LEAD.sub("", name, count=1)
        if stripped == name:
            break
        name = stripped
    name = _OWNER_TAIL.sub("", name).strip(" .!,;")
    if len(name) > 200:
        return fail(question, "A name or a team is enough (under 200 characters).")
    if not re.search(r"[^\W\d_]", name):
        return fail(question, "Who would it be? A name or a team is enough.")
    parsed = Parsed(values={"retraining_owner": name})
    unsure = reply.any_hedge or reply.clauses[0].unsure
    return parsed.doubt(HEDGE, fields=["retraining_owner"]) if unsure else parsed


def read_text(question: QuestionSpec, said: Said) -> Parsed:
    if len(said.clean) > 500:
        return fail(question, "In one line, please (under 500 characters).")
    return Parsed(values={question.fields[0]: said.clean})


__all__ = ["VAGUE_HINT", "read_eval", "read_examples", "read_owner", "read_text", "read_usage"]
