"""Readers for questions with options: one choice, several, yes/no, and the checklist.

Options typed by number or exact name are firm ("2", "1, 3", "1-5", "all but 6",
"few-shot, structured output"). Anything said in words is read through the field's
vocabulary (graph/reading/vocabulary.py) with each clause's negation, hedges and
corrections (graph/reading/text.py), then:

- a list question (problems, techniques tried, the checklist) read from words is always
  echoed for confirmation: paraphrase is where readers go wrong;
- a single choice is firm when one option is named, or one is described and little else
  is said; several candidates, a hedge, or a negation it rests on make it a confirmation,
  with the likeliest option shown (one stated by number or marked "so ..." / "mainly ..."
  first, then one named outright, then the one with most words behind it);
- a yes/no is firm when the reply says yes or no outright and nothing in it says otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graph.questions import NONE, QuestionSpec
from graph.reading.result import (
    CORRECTION,
    FREE_TEXT,
    GUESS,
    HEDGE,
    NEGATION,
    Parsed,
    bare_numbers,
    exact_list,
    exact_option,
    fail,
    numbered,
    option_prefix,
    validated,
)
from graph.reading.text import FILLERS, Reply, words, wordset
from graph.reading.vocabulary import BOOL_TABLES, CHECKS, FIELD_TABLES, Hit, find


@dataclass(frozen=True)
class Said:
    """One reply as the readers see it."""

    clean: str  # cleaned, case kept (owner names, the use case)
    text: str  # normalised
    reply: Reply
    wanted: list[str]


# Words that carry no content of their own, for judging whether a reply says more than
# the option it names.
STOP = wordset(
    """
    a an the and or but if of to in on at by for with from as is are was were be been being
    it its it's this that these those there their they them we our us you your i me my not
    no yes do does did so than then too very can could should would will may might must has
    have had into about over under more most less also just only such each any all some what
    which who when where why how one per here says said say see get gets got it's i'm we're
    they're that's there's don't doesn't didn't isn't aren't wasn't won't can't really
    basically mostly mainly kind sort bit lot lots thing things stuff way much many often
    sometimes always usually yeah yep nope ok okay well like think guess probably maybe
    honestly tbh
    """
)
# Words that mark which of several options someone settles on ("so generation",
# "mainly it's summarising", "I'd say rework").
_SETTLES = re.compile(
    r"(?:^|\b)(?:so|mainly|mostly|basically|primarily|really|overall|i'?d say|i would say|"
    r"i will say|i'll say|i'd go with|call it|in the end|which is)\s+(?:\S+\s+){0,2}$"
)


def _settled(reply: Reply, hit: Hit) -> bool:
    clause = reply.clause_at(hit.start)
    return bool(_SETTLES.search(reply.text[clause.start : hit.start])) or clause.joiner == "so"


def _names(hits: Sequence[Hit], question: QuestionSpec, reply: Reply) -> set[str]:
    """Options named outright in the reply (their value or label's first word)."""
    named: set[str] = set()
    for o in question.options:
        stem = re.split(r"[_ :(]", o.label.lower(), maxsplit=1)[0].rstrip("s")
        if (len(stem) >= 4 and re.search(rf"\b{re.escape(stem[:-1])}\w*", reply.text)) or re.search(
            rf"\b{re.escape(o.value.replace('_', ' '))}\b", reply.text
        ):
            named.add(o.value)
    return named & {h.value for h in hits}


def unexplained(reply: Reply, hits: Sequence[Hit], extra: Sequence[tuple[int, int]] = ()) -> int:
    """Content words of the reply that no hit accounts for."""
    spans = [(h.start, h.end) for h in hits] + list(extra)
    count = 0
    for m in re.finditer(r"[a-z][a-z'-]+", reply.text):
        word = m.group(0)
        if word in STOP or word in FILLERS or len(word) < 3:
            continue
        if any(s <= m.start() < e for s, e in spans):
            continue
        count += 1
    return count


def _hedge_fields(parsed: Parsed, hedged: bool, field: str) -> Parsed:
    return parsed.doubt(HEDGE, fields=[field]) if hedged else parsed


# --- one choice ---------------------------------------------------------------------------


def _one_by_number(question: QuestionSpec, said: Said, lead: str) -> Parsed | None:
    """A single choice given by its number ("2", "2?"), or None when it is not one."""
    field = question.fields[0]
    numbers = numbered(question, said.text)
    if numbers is None:
        return None
    if len(numbers) != 1:
        return fail(question, lead)
    value: Any = numbers[0] == "yes" if question.kind == "yesno" else numbers[0]
    return _hedge_fields(Parsed(values={field: value}), said.reply.any_hedge, field)


def read_choice(question: QuestionSpec, said: Said) -> Parsed:
    field = question.fields[0]
    reply = said.reply
    by_number = _one_by_number(question, said, "Pick one option.")
    if by_number is not None:
        return by_number
    exact = exact_option(question, said.text) or option_prefix(question, said.text)
    if exact is not None:
        return _hedge_fields(Parsed(values={field: exact}), reply.any_hedge, field)
    hits = [h for h in find(reply, FIELD_TABLES.get(field, {})) if h.value in _allowed(question)]
    stated = bare_numbers(question, reply) + _yes_no_option(question, reply)
    positive = [h for h in hits if not h.negated and not reply.clause_at(h.start).unsure]
    unsure_only = [h for h in hits if not h.negated and reply.clause_at(h.start).unsure]
    values = list(dict.fromkeys([*(v for v, _ in stated), *(h.value for h in positive)]))
    if not values:
        values = list(dict.fromkeys(h.value for h in unsure_only))
        if not values:
            if any(c.unsure for c in reply.clauses):
                return Parsed(skipped=True, unsure=[field])  # "no idea how often they change"
            if field == "knowledge_changes" and _needs_facts(reply):
                return fail(question, "How often do those facts change?")
            return fail(question)
    pick = _likeliest(question, reply, stated, positive or unsure_only)
    parsed = Parsed(values={field: pick})
    hedged = any(h.hedged for h in hits if h.value == pick) or reply.any_hedge
    hedged = hedged or bool(unsure_only and not positive)
    if hedged:
        parsed = parsed.doubt(HEDGE, fields=[field])
    if len(values) > 1:
        parsed = parsed.doubt(GUESS)
    if any(h.negated for h in hits) and not stated:
        parsed = parsed.doubt(NEGATION)
    named = _names(hits, question, reply)
    if not stated and pick not in named and unexplained(reply, hits) > 3:
        parsed = parsed.doubt(GUESS)
    if reply.corrected_at is not None:
        parsed = parsed.doubt(CORRECTION)
    return validated(question, parsed)


def _yes_no_option(question: QuestionSpec, reply: Reply) -> list[tuple[str, int]]:
    """A plain "no" (or "yes") said to a choice whose one option is "No: ..." ("Yes: ...")."""
    value, at = said_yes_no(reply)
    if value is None:
        return []
    word = "yes" if value else "no"
    heads = [o.value for o in question.options if o.label.lower().startswith(f"{word}:")]
    return [(heads[0], at)] if len(heads) == 1 else []


def _allowed(question: QuestionSpec) -> set[str]:
    return {o.value for o in question.options}


_YES_FACTS = re.compile(r"^(?:yes|yeah|yep|yup|sure|it does|they do|definitely|absolutely)\b")


def _needs_facts(reply: Reply) -> bool:
    return bool(_YES_FACTS.match(reply.text)) or "need" in reply.text


def _likeliest(
    question: QuestionSpec, reply: Reply, stated: Sequence[tuple[str, int]], hits: Sequence[Hit]
) -> str:
    """The option someone most likely means among several (see the module doc)."""
    if stated:
        return stated[-1][0]
    named = _names(hits, question, reply)
    scores: dict[str, tuple[int, int, int, int]] = {}
    for h in hits:
        settles = int(_settled(reply, h))
        prev = scores.get(h.value, (0, 0, 0, -h.start))
        scores[h.value] = (
            max(prev[0], settles),
            int(h.value in named),
            prev[2] + 1,
            prev[3],
        )
    return max(scores, key=lambda v: scores[v])


# --- several choices --------------------------------------------------------------------------

_ALL = re.compile(
    r"(?<![\w'])(?:all|everything|every one|the whole ladder|the lot)"
    r"(?: of (?:them|these|those|the above))?"
    r"(?:\s*(?P<except>except|but|apart from|other than|besides|minus|bar|save|short of|"
    r"save for|barring)\s+)?"
)
_FIRST_N = re.compile(r"\b(?:the )?(first|last) (one|two|three|four|five|\d)\b")
_COUNT = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_REPLACES = re.compile(r"\b(?:just|only)\b")


def read_multi(question: QuestionSpec, said: Said) -> Parsed:
    field = question.fields[0]
    reply = said.reply
    allowed = [o.value for o in question.options if o.value != NONE]
    numbers = numbered(question, said.text)
    if numbers is not None:
        if not numbers:
            return fail(question, "That number isn't one of the options.")
        if NONE in numbers and len(numbers) > 1:
            return fail(question, "'None' can't go with other options.")
        parsed = Parsed(values={field: [v for v in numbers if v != NONE]})
        return _hedge_fields(parsed, reply.any_hedge, field)
    listed = exact_list(question, reply)
    prefix = option_prefix(question, said.text)
    if listed is None and prefix is not None:
        listed = [prefix]
    if listed is not None and not (NONE in listed and len(listed) > 1):
        parsed = Parsed(values={field: [v for v in listed if v != NONE]})
        return _hedge_fields(parsed, reply.any_hedge, field)
    table = FIELD_TABLES.get(field, {})
    # Values the field takes beyond its options count too ("we fine-tuned once").
    hits = [h for h in find(reply, table) if h.value in table]
    options = list(allowed)
    allowed = [*allowed, *(v for v in table if v not in allowed and v != NONE)]
    stated = bare_numbers(question, reply)
    chosen: list[str] = []
    excluded: set[str] = set()
    every = _ALL.search(reply.text)
    but: tuple[int, int] = (-1, -1)  # the "except ..." clause: what it names is left out
    if every and (every.group("except") or every.start() == 0 or "tried" in reply.text):
        chosen = list(options)
        if every.group("except"):
            but = _except_span(reply, every.end())
            excluded |= {h.value for h in hits if but[0] <= h.start < but[1]}
            excluded |= {v for v, pos in stated if pos >= every.end()}
    for value, _ in stated:
        if value != NONE and value not in chosen:
            chosen.append(value)
    ordered = sorted(hits, key=lambda h: h.start)
    for h in ordered:  # the last thing said about a value wins ("scratch expensive")
        if h.value == NONE or but[0] <= h.start < but[1]:
            continue
        if h.negated:
            excluded.add(h.value)
        else:
            excluded.discard(h.value)
            if h.value not in chosen:
                chosen.append(h.value)
    corrected = reply.corrected_at
    if corrected is not None:
        chosen = _corrected(reply, ordered, stated, chosen, corrected)
    picked = [v for v in chosen if v not in excluded]
    nothing = any(h.value == NONE and not h.negated for h in hits)
    if not picked and not (nothing or excluded or every):
        return fail(question)
    order = {value: i for i, value in enumerate(allowed)}
    parsed = Parsed(values={field: sorted(picked, key=lambda v: order.get(v, 99))})
    # Only "none yet" / "nothing built yet" said, and nothing else: that is the "none"
    # option by name, firm. Anything else in words is echoed for confirmation.
    plain_none = not picked and nothing and not excluded and not unexplained(reply, hits)
    if not plain_none:
        parsed = parsed.doubt(FREE_TEXT)
    if excluded:
        parsed = parsed.doubt(NEGATION)
    if any(h.hedged for h in hits) or reply.any_hedge:
        parsed = parsed.doubt(HEDGE, fields=[field])
    if corrected is not None:
        parsed = parsed.doubt(CORRECTION)
    return validated(question, parsed)


def _except_span(reply: Reply, at: int) -> tuple[int, int]:
    """What "all except ..." leaves out: the clause after "except" and the list it opens
    ("except decomposition and rag")."""
    i = reply.index_at(at)
    first = reply.clauses[i]
    end = first.end
    for nxt in reply.clauses[i + 1 :]:
        if nxt.sentence != first.sentence or nxt.joiner not in (",", "and", "or", "nor", "&"):
            break
        if nxt.has_subject or len(nxt.words) > 4:
            break
        end = nxt.end
    return first.start, end


def _corrected(
    reply: Reply,
    hits: Sequence[Hit],
    stated: Sequence[tuple[str, int]],
    chosen: list[str],
    at: int,
) -> list[str]:
    """After "no wait" / "actually": "just X" keeps only what follows; "the first two"
    keeps the first two things mentioned; anything else adds to the list."""
    after = reply.text[at:]
    if m := _FIRST_N.search(after):
        n = _COUNT.get(m.group(2)) or int(m.group(2))
        mentioned = list(dict.fromkeys(h.value for h in hits if h.start < at and h.value != NONE))
        return mentioned[:n] if m.group(1) == "first" else mentioned[-n:]
    if _REPLACES.search(after):
        later = [v for v, pos in stated if pos >= at]
        later += [h.value for h in hits if h.start >= at and not h.negated and h.value != NONE]
        if later:
            return list(dict.fromkeys(later))
    return chosen


# --- yes or no --------------------------------------------------------------------------------

YES = re.compile(
    r"^(?:yes|yep|yeah|yup|ya|yea|y|sure|certainly|correct|true|affirmative|absolutely|"
    r"definitely|of course|indeed|lgtm|yes definitely|i'?d assume so|i think so|i guess so|"
    r"i believe so|probably|likely)(?![\w'])"
)
NO = re.compile(
    r"^(?:no|nope|nah|n|not really|not yet|never|false|negative|no way|not|not at all|"
    r"i don't think so|i doubt it|probably not|unlikely)(?![\w'])"
)


_LEAD_IN = re.compile(
    r"^(?:(?:so|then|i'd say|i would say|i'll say|i guess|i think|i'd guess|for now|"
    r"i suppose|answer)\s+)+"
)


def said_yes_no(reply: Reply) -> tuple[bool | None, int]:
    """A yes or no said outright as a clause of its own (fillers aside): (value, where)."""
    for clause in reply.clauses:
        bare = " ".join(w for w in clause.words if w not in FILLERS or w in ("so",))
        bare = _LEAD_IN.sub("", bare)
        if not bare:
            continue
        for pattern, value in ((NO, False), (YES, True)):
            m = pattern.match(bare)
            if m and (m.end() == len(bare) or bare[m.end() :].strip() in ("so", "for now")):
                return value, clause.start
    return None, -1


def read_yesno(question: QuestionSpec, said: Said) -> Parsed:
    field = question.fields[0]
    reply = said.reply
    by_number = _one_by_number(question, said, "Pick one: yes or no.")
    if by_number is not None:
        return by_number
    stated, _ = said_yes_no(reply)
    if stated is None:
        bare = bare_numbers(question, reply)
        if bare:
            stated = bare[0][0] == "yes"
    if stated is None and reply.clauses[0].unsure:
        return Parsed(skipped=True, unsure=[field])  # "dunno, never asked": not known
    hits = find(reply, BOOL_TABLES.get(field, {}))
    sure = [h for h in hits if not reply.clause_at(h.start).unsure]
    readings = [(h.value == "yes") != h.negated for h in sure]
    qualified = any(c.qualified for c in reply.clauses)
    if stated is None and not readings:
        if any(c.unsure for c in reply.clauses):
            return Parsed(skipped=True, unsure=[field])
        if qualified:
            lean = not re.search(r"\b(?:partly|partially|half|some of)\b", reply.text)
            return Parsed(values={field: lean}).doubt(HEDGE, fields=[field])
        return fail(question, "Is that a yes or a no?")
    value = stated if stated is not None else readings[0]
    parsed = Parsed(values={field: value})
    if readings and any(r != value for r in readings):
        parsed = parsed.doubt(GUESS)  # a plain yes or no against words that say otherwise
    hedged = reply.any_hedge or qualified or any(c.unsure for c in reply.clauses)
    if hedged:
        parsed = parsed.doubt(HEDGE, fields=[field])
    if stated is None and any(h.negated for h in sure):
        parsed = parsed.doubt(NEGATION)
    return parsed


# --- the checklist ---------------------------------------------------------------------------

PLACES = ("private_cloud", "on_prem", "edge", "hosted_api")


def read_checklist(question: QuestionSpec, said: Said) -> Parsed:
    group = question.group_field
    flags = [f for f in question.fields if f != group]
    reply = said.reply
    # The whole checklist is shown, so every box is answered (ticked or not), relevant to
    # the decision or not: what the team says is recorded. (One field changed on its own,
    # "change latency to yes", is graph/answers.py parse_value's business.)
    wanted = list(question.fields)
    numbers = numbered(question, said.text)
    if numbers is not None:
        if not numbers:
            return fail(question, "That number isn't one of the options.")
        if NONE in numbers and len(numbers) > 1:
            return fail(question, "'None of these' can't go with other options.")
        return _hedge_all(ticked(question, set(numbers), wanted), reply, flags)
    listed = exact_list(question, reply)
    if listed is not None:
        return _hedge_all(ticked(question, set(listed), wanted), reply, flags)
    hits = [h for h in find(reply, CHECKS) if h.value in (*flags, *PLACES, "inside", NONE)]
    stated = bare_numbers(question, reply)
    values: dict[str, Any] = {f: False for f in flags}
    unsure: set[str] = set()
    for value, _ in stated:
        if value in flags:
            values[value] = True
    for h in hits:
        if h.value not in flags:
            continue
        clause_i = reply.index_at(h.start)
        if _unsure_about(reply, clause_i):
            unsure.add(h.value)
        elif h.negated:
            values[h.value] = False if (h.value, h.start) not in stated else values[h.value]
        else:
            values[h.value] = True
    places = [v for v, _ in stated if v in PLACES]
    place_hits = [h for h in hits if h.value in PLACES and not h.negated]
    for h in place_hits:
        if _unsure_about(reply, reply.index_at(h.start)):
            unsure.add(str(group))
        elif h.value not in places:
            places.append(h.value)
    inside = any(h.value == "inside" for h in hits)
    nothing = any(h.value == NONE and not h.negated for h in hits)
    if not (stated or nothing or any(h.value != NONE for h in hits)):
        return fail(question)
    parsed_values: dict[str, Any] = {f: v for f, v in values.items() if f not in unsure}
    doubts = [FREE_TEXT]
    if group is not None and group not in unsure:
        specific = [p for p in places if p != "hosted_api"]
        if specific:
            parsed_values[group] = specific[0]
            if len(set(specific)) > 1:
                doubts.append(GUESS)
        elif inside:
            unsure.add(group)
            doubts.append(GUESS)
        else:
            parsed_values[group] = question.group_default
    if any(h.negated for h in hits):
        doubts.append(NEGATION)
    parsed = Parsed(
        values={f: v for f, v in parsed_values.items() if f in wanted},
        unsure=[f for f in question.fields if f in unsure and f in wanted],
    ).doubt(*doubts)
    if unsure or reply.any_hedge:
        parsed = parsed.doubt(HEDGE)
    return validated(question, parsed)


def _unsure_about(reply: Reply, i: int) -> bool:
    """What clause ``i`` says is uncertain: it hedges, or the next clause says "not sure"."""
    clause = reply.clauses[i]
    if clause.unsure:
        return True
    nxt = reply.clauses[i + 1 : i + 3]
    if clause.hedged and any(c.unsure or c.hedged for c in nxt):
        return True
    return clause.hedged and not re.search(r"\b(?:must|has to|have to|needs? to)\b", clause.text)


def _hedge_all(parsed: Parsed, reply: Reply, flags: list[str]) -> Parsed:
    return parsed.doubt(HEDGE, fields=flags) if parsed.ok and reply.any_hedge else parsed


def ticked(question: QuestionSpec, picked: set[str], wanted: Sequence[str]) -> Parsed:
    """Checklist semantics: picked options true, the rest false; one place to run."""
    group = question.group_field
    values: dict[str, Any] = {f: f in picked for f in question.fields if f != group}
    if group is not None:
        places = [
            o.value
            for o in question.options
            if o.value in picked and o.value not in values and o.value != NONE
        ]
        if "hosted_api" in picked:
            places.append("hosted_api")
        if len(places) > 1:
            return fail(question, "Pick one place the model must run.")
        values[group] = places[0] if places else question.group_default
    return Parsed(values={f: v for f, v in values.items() if f in wanted})


def focused_bool(question: QuestionSpec, field: str, said: Said) -> Parsed | None:
    """One checklist field asked on its own ('change latency to yes')."""
    value, _ = said_yes_no(said.reply)
    if value is None and re.search(
        r"\b(?:critical|important|matters|required|a must|true|hard)\b", said.text
    ):
        value = not re.search(r"\b(?:not|isn't|doesn't|no)\b", said.text)
    if value is not None:
        return Parsed(values={field: value})
    return None


def checklist_hits(said: Said) -> list[Hit]:
    return find(said.reply, CHECKS)


__all__ = [
    "PLACES",
    "Said",
    "checklist_hits",
    "focused_bool",
    "read_checklist",
    "read_choice",
    "read_multi",
    "read_yesno",
    "said_yes_no",
    "ticked",
    "unexplained",
    "words",
]
