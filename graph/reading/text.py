"""Reading a reply, step one: clean text, clauses, and what each clause does to the words in it.

A reply is cut once into clauses (at sentence ends, commas, colons, brackets and words such
as "and", "or", "but", "plus"), and each clause is read for what changes the meaning of the
words in it, wherever they come from:

- **negation with its scope**: a negator before a word in its clause ("never bothered with
  few-shot"), after it ("RAG is not applicable", "rag no"), a clause that only says "no"
  after an item ("1? no."), or a list the negation runs on through ("no few-shot or rag",
  "we haven't tried examples, the step-by-step thing, or splitting it"). Topic words
  ("format", "accuracy", "cost") are only negated by a negator right before them ("no
  format problems") or a verdict after them ("format is fine", "budget's ok"): "it doesn't
  get the format right" still complains about the format.
- **hedges** ("I guess", "probably?", "kind of", "should be"): what the clause says is
  uncertain, so the reading is confirmed, never taken as firm.
- **not knowing** ("no idea how often", "no clue whether they agree"): the clause leaves
  what it names unknown.
- **self-corrections** ("1 and 2, actually just 1", "300M a month, no, that's per week",
  "scratch expensive"): what follows the correction replaces what it corrects.

Everything here is linear in the reply's length: one pass to cut clauses, and lookups by
position afterwards (``Reply.clause_at``), so a 20 KB text costs no more per word than a
short reply.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

# --- clean-up ----------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_QUOTES = str.maketrans(
    {"’": "'", "‘": "'", "`": "'", "“": '"', "”": '"', "–": "-", "—": "-", "→": " -> "}
)
_SHORTCODE = re.compile(r":[a-z0-9_+-]{1,40}:")
_BULLET = re.compile(r"(?m)^\s*[-*•·]+\s+")
_YES_EMOJI = frozenset({"👍", "✅", "✔", "✔️", "👌", ":+1:", ":thumbsup:", ":white_check_mark:"})
_NO_EMOJI = frozenset({"👎", "❌", "✖", ":-1:", ":thumbsdown:", ":x:"})


def prepare(text: str) -> str:
    """Drop control characters, markup and emoji; normalise quotes and dashes; squeeze
    spaces. A reply that is only a thumbs up (or down) becomes "yes" (or "no")."""
    text = _ANSI.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    # A bulleted list ("- drafting replies\n- so generation"): each bullet is a clause.
    text = _BULLET.sub("; ", text)
    alone = text.strip()
    if alone in _YES_EMOJI:
        return "yes"
    if alone in _NO_EMOJI:
        return "no"
    # An emoji usually ends a thought ("just the system prompt :see_no_evil: never bothered
    # with rag"): it becomes a clause break.
    text = _SHORTCODE.sub(" ; ", text)
    text = "".join(
        (" ; " if unicodedata.category(ch) == "So" else " ")
        if unicodedata.category(ch)[0] in "CS" and ch not in "$€£%+<>=~^"
        else ch
        for ch in text
    )
    text = re.sub(r"(?:\s*;\s*)+", "; ", text).strip("; ")
    text = text.translate(_QUOTES).replace("*", " ")
    return " ".join(text.split())


_CONTRACTIONS = {
    "dont": "don't",
    "doesnt": "doesn't",
    "didnt": "didn't",
    "isnt": "isn't",
    "arent": "aren't",
    "wasnt": "wasn't",
    "werent": "weren't",
    "havent": "haven't",
    "hasnt": "hasn't",
    "hadnt": "hadn't",
    "cant": "can't",
    "couldnt": "couldn't",
    "shouldnt": "shouldn't",
    "wouldnt": "wouldn't",
    "wont": "won't",
    "im": "i'm",
    "ive": "i've",
    "theres": "there's",
    "thats": "that's",
    "nobodys": "nobody's",
}
_CONTRACTION = re.compile(r"\b(" + "|".join(_CONTRACTIONS) + r")\b")
# "25 000" (a space as thousands separator) and "ca. 8.000" (an abbreviation's dot).
_SPACE_THOUSANDS = re.compile(r"(?<![\d.,])(\d{1,3})((?: \d{3})+)(?![\d.,]\d)")
_ABBREVIATION = re.compile(
    r"\b(ca|approx|appr|min|max|avg|est|resp|incl|excl|vs|nr)\.(?=\s*[\d~$€£])"
)


def norm(text: str) -> str:
    """Lower case, underscores as spaces, common contractions fixed, no trailing punctuation,
    digit groups joined ("25 000" -> "25000"), abbreviation dots dropped ("ca." -> "ca")."""
    text = text.lower().replace("_", " ")
    text = " ".join(text.split())
    text = _CONTRACTION.sub(lambda m: _CONTRACTIONS[m.group(1)], text)
    text = _SPACE_THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(" ", ""), text)
    text = _ABBREVIATION.sub(lambda m: m.group(1).replace(".", ""), text)
    return text.strip(" .!,;")


def wordset(text: str) -> frozenset[str]:
    """A set of words written as one string (word lists stay readable in the source)."""
    return frozenset(text.split())


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][a-z0-9'+-]*|[a-z0-9]", text)


# --- word classes ----------------------------------------------------------------------------


def _alts(text: str) -> str:
    """A regex alternation of " | "-separated phrases, longest first, on word boundaries."""
    phrases = sorted({p.strip() for p in text.split("|") if p.strip()}, key=len, reverse=True)
    return r"(?<![\w'])(?:" + "|".join(phrases) + r")(?![\w'])"


# Negators that turn a claim around when they come before it in the clause.
NEGATORS = re.compile(
    _alts(
        "not | no | never | without | none | nobody | no one | neither | nor | zero | scratch"
        " | don't | doesn't | didn't | haven't | hasn't | hadn't | isn't | aren't | wasn't"
        " | weren't | won't | can't | cannot | couldn't | wouldn't | shouldn't | lack | lacks"
        " | lacking | nothing | nah | nope | hardly | barely | instead of | rather than"
        " | unlikely | not likely"
        " | forget | drop"
    )
)
# Negators right before a topic word ("no format problems", "not the format").
TOPIC_NEGATORS = re.compile(
    _alts("not | no | never | without | zero | neither | nor | scratch | not really | no real")
    + r"\s+(?:(?:the|a|an|any|our|its|real|big|major|much|more|really|issues? with)\s+){0,2}$"
)
# After a word, in its clause: what says the word is not so ("rag: no", "rag is not
# applicable", "cot wasn't tried", "rag is on the roadmap").
POST_NEGATORS = re.compile(
    _alts(
        "no | not | nope | nah | isn't | aren't | wasn't | weren't | n/a | not yet"
        " | not applicable | not needed | not tried | didn't try | did not try | not used"
        " | haven't tried | have not tried | on the roadmap | is next | planned | to do | todo"
        " | next on the list | not really | was not | were not | is not | are not"
        " | not relevant | irrelevant | not an option"
    )
)
# A verdict after a topic word that says it is no problem ("format is fine", "budget's ok").
VERDICTS = re.compile(
    _alts(
        "fine | ok | okay | good | great | alright | all right | acceptable | not an issue"
        " | not a problem | no problem | no issue | no issues | not the problem | not the issue"
        " | isn't a problem | isn't an issue | isn't the problem | isn't the issue"
        " | doesn't matter | don't matter | doesn't really matter | don't really matter"
        " | not important | not a concern | no concern | isn't a concern | not a big deal"
        " | is not the problem | is not a problem | works | working | solid | matters less"
        " | not critical | isn't critical | not sensitive | isn't sensitive | not strict"
        " | doesn't apply | does not apply | not applicable"
    )
)
# Before a topic word, the same verdict ("fine on budget", "no issue with latency").
PRE_VERDICTS = re.compile(
    _alts(
        "fine on | ok on | okay on | good on | fine with | no issue with | no issues with"
        " | no problem with | no problems with | not worried about | don't care about"
        " | do not care about | not fussed about | not bothered about"
    )
    + r"\s+(?:(?:the|our|a|any)\s+)?$"
)
HEDGES = re.compile(
    _alts(
        "i guess | i think | i suppose | i believe | i assume | i'd assume | i would assume"
        " | i'd guess | i would guess | my guess | at a guess | that's a guess | a guess"
        " | probably | prob | probs | maybe | perhaps | possibly | might | might be | could be"
        " | kind of | kinda | sort of | sorta | somewhat | partly | partially"
        " | in part | not sure | unsure | not certain | i reckon | hopefully | presumably"
        " | supposedly | in theory | i'd think | i would think | i imagine | i'd imagine"
        " | should be fine | should be ok | should be okay | should be alright"
        " | apparently | ish | if i remember | iirc | or something | i doubt | doubt it"
        " | don't think | do not think | as far as i can tell | afaict"
    )
)
# For yes/no readings only: "mostly clean" is not clean.
QUALIFIERS = re.compile(
    _alts(
        "mostly | mainly | largely | for the most part | pretty much | more or less"
        " | almost | nearly | half | some of it | some of them | in some cases | it depends"
        " | depends"
    )
)
DONT_KNOW = re.compile(
    _alts(
        "no idea | no clue | not sure | unsure | don't know | do not know | dont know"
        " | dunno | idk | unclear | unknown | who knows | can't say | cannot say | not known"
        " | haven't checked | have not checked | never checked | no way to know"
        " | i'd have to check | i would have to check | i'd have to ask | would have to ask"
        " | i'd have to look | i'd need to check | need to check | have to check | not certain"
        " | hard to say | can't tell | cannot tell | not that i know | no one knows"
        " | haven't a clue | not a clue | haven't the faintest | no notion"
        " | nobody knows | not clear | tbd | to be decided | to be determined"
        " | couldn't tell | could not tell | couldn't say | could not say | wouldn't know"
        " | would not know | no way of knowing | don't remember | do not remember"
        " | can't remember | cannot remember | i must ask | i'd need to ask"
    )
)
CORRECTIONS = re.compile(
    r"^(?:(?:and|so|oh|er|um|uh)\s+)?(?:actually(?!\s+(?:also|too|and|plus))|no wait|wait no|"
    r"wait|scratch that|strike that|i mean|i meant|sorry|sorry i meant|correction|"
    r"make that|or rather|rather|let me say it right|let me rephrase|no sorry|oops|"
    r"my bad|to be precise|more precisely|no,? that'?s)(?![\w'])"
)
# Words that mark a number as an old value someone moved on from ("18 was the old prompt").
SUPERSEDED = re.compile(
    _alts("old | older | previous | previously | used to | originally | before | last year's")
)
SUBJECTS = wordset(
    """
    we i it they you he she this that there our my its their us everything it's we're i'm
    they're we've i've
    """
)
FILLERS = wordset(
    """
    honestly tbh ngl lol lmao haha um uh uhm er hmm hm well so ok okay like basically really
    just yeah yea oh anyway anyways kindly note please obv obviously def definitely afaik rn
    fwiw imo imho btw also
    """
)

# Where a clause ends: sentence ends, commas, colons, brackets, spaced dashes, and the words
# that join clauses. The word is kept as the next clause's ``joiner``.
_JOINERS = (
    "and|or|nor|but|though|although|however|whereas|while|plus|except|besides|so|because|"
    "since|which|then|yet|unless|apart from|other than|as well as|along with|vs|versus|"
    "against|compared to"
)
_CUT = re.compile(
    r"(?P<end>[.!?;]+(?=\s|$)|\n)|(?P<mark>[,:()\[\]{}&+]|\s-+>?\s|\s/\s)"
    r"|(?<![\w'])(?P<word>" + _JOINERS + r")(?=\s+[\w'])"  # "I think so": no joiner at the end
)


@dataclass
class Clause:
    """One clause of a reply: its span in the reply's text and what it does to its words."""

    text: str
    start: int
    end: int
    sentence: int
    joiner: str  # how it joins the previous clause: "", ".", ",", "and", "but", ...
    question_mark: bool = False  # the clause ends with "?"
    negated: bool = False  # opens inside a negation carried from the previous clause
    retracts: bool = False  # only says "no" about the clause before it ("1? no.")
    # "I couldn't tell you how many or how clean they are": the second "how" is not known
    # either
    unsure_carried: bool = False

    @cached_property
    def hedged(self) -> bool:
        return bool(HEDGES.search(self.text)) or (
            self.question_mark and bool(re.search(r"\w", self.text))
        )

    @cached_property
    def qualified(self) -> bool:
        return bool(QUALIFIERS.search(self.text))

    @cached_property
    def unsure(self) -> bool:
        return self.unsure_carried or bool(DONT_KNOW.search(self.text))

    @cached_property
    def superseded(self) -> bool:
        return bool(SUPERSEDED.search(self.text))

    @cached_property
    def words(self) -> list[str]:
        return words(self.text)

    @cached_property
    def has_subject(self) -> bool:
        """The clause says something of its own ("we did few-shot"), so a negation from
        the clause before does not run on into it."""
        head = [w for w in self.words if w not in FILLERS]
        return bool(head) and (
            head[0] in SUBJECTS
            or head[0] in ("did", "do", "does", "tried", "yes", "yep", "used", "using")
            or any(w in _PREDICATES for w in head)
        )

    @cached_property
    def has_subject_head(self) -> bool:
        """The clause opens with a subject of its own ("we", "it"), not a bare item."""
        head = [w for w in self.words if w not in FILLERS]
        return bool(head) and head[0] in SUBJECTS

    @cached_property
    def corrects(self) -> bool:
        return bool(CORRECTIONS.search(self.text))


WINDOW = 90  # characters around a word that its clause's negation is looked for in
_PREDICATES = wordset(
    """
    is are was were has have had does did must should needs need works goes gets got 's 're
    can could will would
    """
)
_RETRACTION = re.compile(
    r"^(?:no|nope|nah|not|not really|scratch that|strike that|never mind|nevermind|"
    r"not that|wrong|no wait|wait no)$"
)
_NEGATED_LIST_CONT = frozenset({",", "or", "nor", "and", "/", "&", "+"})
_CONTRASTS = frozenset({"just", "only", "but", "instead", "except", "yes", "though", "rather"})


@dataclass
class Reply:
    """A normalised reply cut into clauses, with lookups by position."""

    text: str
    clauses: list[Clause] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, text: str) -> Reply:
        """``text`` must already be normalised (:func:`norm`)."""
        reply = cls(text)
        reply.clauses = _cut(text)
        reply._starts = [c.start for c in reply.clauses]
        return reply

    def clause_at(self, pos: int) -> Clause:
        i = max(0, bisect.bisect_right(self._starts, pos) - 1)
        return self.clauses[i]

    def index_at(self, pos: int) -> int:
        return max(0, bisect.bisect_right(self._starts, pos) - 1)

    def negated(self, start: int, end: int, *, topic: bool = False) -> bool:
        """Whether the words at ``start:end`` are said not to hold (see the module doc)."""
        i = self.index_at(start)
        clause = self.clauses[i]
        # A window, not the whole clause: a negation's reach is a few words, and a bounded
        # look keeps a long unpunctuated text linear.
        before = self.text[max(clause.start, start - WINDOW) : start]
        after = self.text[end : min(clause.end, end + WINDOW)]
        nxt = self.clauses[i + 1] if i + 1 < len(self.clauses) else None
        if nxt is not None and nxt.retracts:
            return True
        if topic:
            if TOPIC_NEGATORS.search(before) or PRE_VERDICTS.search(before):
                return True
            if VERDICTS.search(after):
                return True
            if nxt is not None and nxt.joiner in ("", ",") and _verdict_only(nxt.text):
                return True
            return self._shared(i, VERDICTS)
        if NEGATORS.search(before):
            return True
        if clause.negated and not re.search(r"\b(?:but|yes|did|do)\b", before):
            return True
        return bool(POST_NEGATORS.search(after)) or self._shared(i, POST_NEGATORS)

    def _shared(self, i: int, verdict: re.Pattern[str]) -> bool:
        """A verdict at the end of a list of bare items holds for each of them ("speed and
        cost are fine", "few-shot and rag weren't tried")."""
        if len(self.clauses[i].words) > 3:
            return False
        for nxt in self.clauses[i + 1 : i + 6]:
            if nxt.joiner not in ("and", "or", ",", "nor", "&", "+") or nxt.has_subject_head:
                return False
            found = verdict.search(nxt.text)
            if found and found.start() > 0 and nxt.joiner != "," and len(nxt.words) <= 5:
                return True
            if len(nxt.words) > 3:
                return False
        return False

    def hedged(self, pos: int) -> bool:
        return self.clause_at(pos).hedged

    def after_correction(self, pos: int) -> bool:
        """Whether a later clause of the reply corrects what is said at ``pos``."""
        i = self.index_at(pos)
        return any(c.corrects for c in self.clauses[i + 1 :])

    @cached_property
    def corrected_at(self) -> int | None:
        """Where the last self-correction starts (None when the reply has none)."""
        found = [c.start for c in self.clauses if c.corrects and c.start > 0]
        return found[-1] if found else None

    @cached_property
    def any_hedge(self) -> bool:
        return any(c.hedged for c in self.clauses)


def _verdict_only(text: str) -> bool:
    """'is fine', 'not an issue': a clause that is nothing but a verdict on the one before."""
    rest = re.sub(r"^(?:it|that|this|they|those|these)?\s*(?:'s|is|are|was|were)?\s*", "", text)
    return bool(rest) and bool(re.fullmatch(VERDICTS.pattern, rest))


def _cut(text: str) -> list[Clause]:
    clauses: list[Clause] = []
    sentence = 0
    start = 0
    joiner = ""
    for m in _CUT.finditer(text):
        if m.group("end") is not None and _is_decimal_point(text, m.start()):
            continue
        piece = text[start : m.start()]
        qmark = m.group("end") is not None and "?" in m.group("end")
        _add(clauses, piece, start, sentence, joiner, qmark)
        if m.group("end") is not None:
            sentence += 1
            joiner = "."
        elif m.group("word") is not None:
            joiner = m.group("word")
        else:
            joiner = m.group("mark").strip() or ","
        start = m.end()
    _add(clauses, text[start:], start, sentence, joiner, text.rstrip().endswith("?"))
    if not clauses:
        clauses.append(Clause("", 0, len(text), 0, ""))
    _split_answer_word(clauses)
    _scope(clauses)
    return clauses


_ANSWER_WORD = re.compile(
    r"^(?:(?:honestly|tbh|ok|okay|well|so|um|uh|hmm)\s+)*"
    r"(?P<word>yes|yeah|yep|yup|no|nope|nah|not really)\s+(?:(?:afaik|tbh|honestly|ngl)\s+)?"
    r"(?=(?:we|i|it|they|you|he|she|this|that|there|our|my|its|their|everything|it's|we're|i'm|"
    r"they're|were|thats|that's|theres|there's|ive|i've|just|only|all)\b)"
)


def _split_answer_word(clauses: list[Clause]) -> None:
    """ "no we're migrating", "nah everything is in the sheet": the yes or no that opens the
    reply is its own clause, so it does not negate what follows it."""
    first = clauses[0]
    m = _ANSWER_WORD.match(first.text)
    if not m:
        return
    cut = m.end("word")
    rest = first.text[m.end() :]
    head = Clause(first.text[:cut], first.start, first.start + cut, first.sentence, "")
    tail_start = first.start + m.end()
    clauses[0:1] = [head, Clause(rest, tail_start, first.end, first.sentence, ",")]


def _is_decimal_point(text: str, at: int) -> bool:
    return (
        0 < at < len(text) - 1
        and text[at] == "."
        and text[at - 1].isdigit()
        and (text[at + 1].isdigit())
    )


def _add(
    clauses: list[Clause], piece: str, start: int, sentence: int, joiner: str, q: bool
) -> None:
    stripped = piece.strip()
    if not stripped:
        if q and clauses:
            clauses[-1].question_mark = True
        return
    offset = start + piece.index(stripped[0])
    clauses.append(Clause(stripped, offset, offset + len(stripped), sentence, joiner, q))


def _scope(clauses: list[Clause]) -> None:
    """Carry a negation through the list it opens; mark clauses that only retract."""
    for i, clause in enumerate(clauses):
        if (
            i
            and clause.joiner in ("or", "and", "nor")
            and clause.words[:1] in (["how"], ["whether"], ["if"], ["what"], ["which"])
            and clauses[i - 1].unsure
        ):
            clause.unsure_carried = True
        bare = " ".join(w for w in clause.words if w not in FILLERS)
        if (
            i
            and _RETRACTION.fullmatch(bare)
            and (clauses[i - 1].question_mark or clause.joiner in (",", ".", ":", "-"))
        ):
            clause.retracts = True
            continue
        if not i or clause.joiner not in _NEGATED_LIST_CONT or clause.has_subject:
            continue
        if clause.words and clause.words[0] in _CONTRASTS:
            continue  # "no few-shot, no cot, just json mode": the list turns
        prev = clauses[i - 1]
        if prev.sentence != clause.sentence or len(clause.words) > 6:
            continue
        # "never got round to cot or embeddings": an "or" carries a negation further back
        tail = " ".join(prev.words[-6:] if clause.joiner in ("or", "nor") else prev.words[-4:])
        answer_only = _RETRACTION.fullmatch(" ".join(w for w in prev.words if w not in FILLERS))
        if prev.negated or (NEGATORS.search(tail) and not answer_only):
            clause.negated = True


__all__ = ["Clause", "Reply", "norm", "prepare", "words", "wordset"]
