"""From a question in plain words to what the index is searched for (FTS5 terms, synonyms).

Standard library only: `advisor knowledge search` imports this on its fast read path.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from itertools import pairwise
from typing import NamedTuple

MAX_QUERY_CHARS = 2_000  # a question longer than this is noise past this point
MAX_TERMS = 24  # distinct meaningful words taken from one question
MAX_EXPANDED = 64  # terms searched once synonyms are added
NEAR_DISTANCE = 6


# Function words and question filler: they say nothing about which card answers.
_STOP_WORDS = """
    a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can can't cannot could couldn't did didn't
    do does doesn't doing don't down during each either else etc ever every few for from
    further get gets getting go goes going got had hadn't has hasn't have haven't having he
    her here hers herself him himself his how i i'd i'll i'm i've if in into is isn't it
    it's its itself just let let's like ll me might more most much must mustn't my myself
    need needs no nor not now of off often on once only or other ought our ours ourselves
    out over own per please quite rather re really s same shall shan't she should shouldn't
    so some such t tell than that that's the their theirs them themselves then there
    there's these they they'd they'll they're they've thing things this those though
    through to too under until up us ve very want wants was wasn't we we'd we'll we're we've
    were weren't what what's when when's where where's whether which while who who's whom
    why why's will with won't would wouldn't yet you you'd you'll you're you've your yours
    yourself yourselves near
    actually anything anyway even everything fine give gives kind lot lots make
    makes making nothing ok okay one ones put puts something sort still stuff way
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

# Chat words that carry a question's grammar or mood, not its topic ("add it all up", "is
# that sane?", "my boss thinks"): searched, but they count for little.
_LIGHT_WORDS = """
    add adds added adding think know say says said seem seems sane boss someone guys hey hi
    thanks
"""
LIGHT_WORDS = frozenset(_LIGHT_WORDS.split())
LIGHT_WEIGHT = 0.3

# Words a team uses for the same idea. A question word in a group also searches for the
# group's other forms (weighed less than the user's own words). Forms are recognised loosely
# (case, hyphens, simple inflections); multi-word forms match as phrases in the question.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    (
        "fine-tuning",
        "finetuning",
        "finetune",
        "fine-tune",
        "training",
        "custom model",
        "trained model",
        "tuned model",
        "train a model",
    ),
    ("examples", "labelled data", "labeled data", "samples", "training data", "dataset"),
    ("rag", "retrieval", "retrieval augmented generation", "grounding"),
    ("hallucinate", "makes things up", "make stuff up", "made up", "invents", "fabricates"),
    ("cheap", "cost", "expensive", "price", "spend", "budget", "money", "bill"),
    ("on-prem", "on premises", "self-hosted", "air-gapped", "own infrastructure"),
    ("privacy", "confidential", "sensitive data", "pii", "personal data", "gdpr"),
    ("healthcare", "hospital", "medical", "patient", "clinical"),
    ("few-shot", "in-context examples", "examples in the prompt"),
    ("latency", "slow", "response time", "speed"),
    ("tone", "voice", "brand voice", "style", "sound like us"),
    ("format", "json", "schema", "structured output"),
    ("eval", "evaluation", "evaluate", "benchmark", "test set"),
    (
        "volume",
        "queries per month",
        "calls per month",
        "traffic",
        "requests per",
        "a day",
        "per day",
        "daily",
        "a month",
        "per month",
        "monthly",
    ),
    ("break-even", "pay off", "payback", "roi", "worth it"),
    ("lora", "peft", "parameter-efficient", "adapters"),
    ("rlhf", "human feedback", "reward model"),
    ("regulated", "regulation", "compliance", "governance", "audit"),
    ("chain-of-thought", "step by step", "reasoning"),
    ("decomposition", "split the task", "multiple prompts", "break it down", "pipeline"),
    (
        "drift",
        "degrade",
        "out-of-distribution",
        "ood",
        "going off",
        "gets worse",
        "getting worse",
        "monitor",
        "monitoring",
    ),
    ("baseline", "better than what", "compared to what", "prompt version", "prompt baseline"),
    ("edge cases", "weird ones", "unusual", "odd ones", "corner cases", "outliers", "hard cases"),
    ("routine", "standard", "common cases", "easy ones", "repetitive"),
    ("small model", "smaller model", "cheap model", "cheaper model", "mini model"),
    ("all-in", "total cost", "full cost", "hidden costs", "true cost"),
    ("overkill", "unnecessary", "not needed", "don't need"),
    ("stable", "frozen", "keeps changing", "new labels", "new categories", "evolving"),
    ("gpu", "compute", "hardware", "gpu hours"),
    ("complexity", "complex", "nuanced", "difficult", "hard task"),
    ("human review", "editor", "reviewer", "proofread", "human in the loop", "checks every"),
    ("inconsistent", "different answers", "non-deterministic", "unpredictable", "flaky"),
    ("mistake", "pitfall", "gotcha", "anti-pattern"),
    ("maintenance", "maintain", "upkeep", "versioning"),
    ("hybrid", "combine", "combination"),
    ("routing", "route", "router"),
    ("refuses", "refusal", "won't answer", "can't help"),
    ("bigger model", "larger model", "stronger model", "better model", "opus"),
    ("edge device", "on-device", "mobile", "phone", "embedded"),
    ("accuracy", "accurate", "correctness"),
    ("timeline", "how long", "time to ship", "schedule"),
    ("choose", "decide", "decision", "pick", "which approach", "select"),
    ("prerequisites", "requirements", "conditions", "in place", "must hold", "criteria"),
    ("documents", "docs", "documentation", "wiki", "knowledge base"),
    ("scalability", "scale", "scales", "scaling", "scalable"),
    (
        "memorise",
        "memorize",
        "memorises",
        "memorizes",
        "memorisation",
        "memorization",
        "overfit",
        "overfits",
        "overfitting",
    ),
    # British and American spellings the stemmer keeps apart.
    ("summarise", "summarize", "summarising", "summarizing", "summarisation", "summarization"),
    ("behaviour", "behavior"),
    ("optimise", "optimize", "optimisation", "optimization"),
    ("catalogue", "catalog"),
    ("organisation", "organization"),
)

_WORD = re.compile(r"\d+(?:[.,]\d+)+|\w+(?:[-'’]\w+)*")
_PARTS = re.compile(r"[-'’_]+")
_SUFFIXES = ("ations", "ation", "ions", "ion", "ings", "ing", "ies", "ied", "es", "ed", "s")


def _loose(word: str) -> str:
    """A crude stem used only to recognise synonym forms ("hallucinates" ~ "hallucinate")."""
    for suffix in _SUFFIXES:
        if len(word) >= len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word.removesuffix("e") if len(word) > 3 else word


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _key(words: Iterable[str]) -> tuple[str, ...]:
    """How a run of words is recognised: "Fine-tuned" and "fine tuning" share a key."""
    return tuple(_loose(part) for word in words for part in _PARTS.split(word.lower()) if part)


_GROUP_OF: dict[tuple[str, ...], int] = {}
for _index, _group in enumerate(SYNONYMS):
    for _form in _group:
        _GROUP_OF.setdefault(_key(_words(_form)), _index)
_LONGEST_FORM = max(len(key) for key in _GROUP_OF)


def quote(term: str) -> str:
    """An FTS5 string: whatever is inside is matched as words, never parsed as syntax."""
    return '"' + term.replace('"', '""') + '"'


class Terms(NamedTuple):
    """What a question is searched for: its own words, and synonyms for some of them."""

    words: list[str]
    synonyms: dict[str, list[str]]  # a question word -> the other forms of its group
    sequence: list[str]  # the words and phrases in question order, for proximity

    @property
    def all(self) -> list[str]:
        return self.words + [form for forms in self.synonyms.values() for form in forms]


def query_terms(query: str) -> Terms:
    """The meaningful words of a question, and the synonym forms they bring, without repeats."""
    text = unicodedata.normalize("NFKC", query[:MAX_QUERY_CHARS]).lower()
    # A token of nothing but joiners ("__") would become an empty FTS5 phrase.
    tokens = [token for token in _words(text) if _PARTS.sub("", token)]
    words: list[str] = []
    sequence: list[str] = []
    group_of_word: dict[str, int] = {}
    i = 0
    while i < len(tokens) and len(words) < MAX_TERMS:
        # Longest synonym phrase starting here ("makes things up"), else the single word.
        for size in range(min(_LONGEST_FORM, len(tokens) - i), 0, -1):
            group = _GROUP_OF.get(_key(tokens[i : i + size]))
            if group is not None:
                break
        else:
            size, group = 1, None
        word = " ".join(tokens[i : i + size])
        i += size
        if group is None and (word in STOP_WORDS or (len(word) < 2 and not word.isdigit())):
            continue
        sequence.append(word)
        if group is not None and group not in group_of_word.values():
            group_of_word[word] = group
        # A phrase brings its own words too, so "labelled data" finds "labelled examples".
        parts = [t for t in tokens[i - size : i] if t not in STOP_WORDS] if size > 1 else []
        for term in [word, *parts]:
            if term not in words:
                words.append(term)
    seen = {_key(_words(word)) for word in words}
    synonyms: dict[str, list[str]] = {}
    budget = MAX_EXPANDED - len(words)
    for word, group in group_of_word.items():
        for form in SYNONYMS[group]:
            key = _key(_words(form))
            if key not in seen and budget > 0:
                seen.add(key)
                synonyms.setdefault(word, []).append(form)
                budget -= 1
    return Terms(words, synonyms, sequence)


def _or(terms: list[str]) -> str | None:
    return " OR ".join(quote(term) for term in terms) if terms else None


def near_pairs(words: list[str]) -> str | None:
    """Neighbouring question words found close together: "fine-tune ... cost"."""
    pairs = [f"NEAR({quote(a)} {quote(b)}, {NEAR_DISTANCE})" for a, b in pairwise(words)]
    return " OR ".join(pairs) if pairs else None


def match_expression(query: str) -> str | None:
    """The FTS5 MATCH for a natural question: its quoted terms and synonyms OR-ed.

    None when the question has no meaningful word. (Ranking weighs the question's own words
    above their synonyms and rewards neighbouring words found close together; see
    :func:`search`.)
    """
    return _or(query_terms(query).all)
