"""Full-text search over the guidance cards and a team's own documents (SQLite FTS5, BM25).

Everything lives in the app database: one passages table (cards and team passages side by
side) with an FTS5 index kept in sync by triggers, the team documents' raw text (so a card
rebuild can re-split them instead of losing them), and a meta table holding the cards'
content hash so :func:`ensure_index` only rebuilds when a card changed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

import sqlite_utils
from pydantic import BaseModel

from knowledge.cards import CARDS_DIR, Card, load_cards

PASSAGES = "knowledge_passages"
FTS = f"{PASSAGES}_fts"
DOCUMENTS = "knowledge_documents"
META = "knowledge_meta"

# Bump when the table layout, tokenizer or splitting changes: forces a rebuild everywhere.
SCHEMA_VERSION = "2"
TOKENIZER = "porter unicode61 remove_diacritics 2"
# bm25() column weights, in FTS column order (title, tags, questions, body).
WEIGHTS = (3.0, 2.0, 2.0, 1.0)
SYNONYM_WEIGHT = 0.7  # a synonym counts for less than the word the user wrote
HEADS_WEIGHT = 1.0  # titles, tags and questions searched again on their own (_term_scores)
NEAR_WEIGHT = 0.5  # bonus for two neighbouring question words found close together
NEAR_DISTANCE = 6
IDF_FLOOR = 0.6
# Each word's score is damped (score ** TERM_POWER) before the words are added up, so one
# rare but incidental word ("assume", "giant") cannot outrank several topical words on its
# own. Chosen on the cards' own questions asked leave-one-out (bench/retrieval.py).
TERM_POWER = 0.9
# A number in a question ("80 examples", "300 a day") is rarely what it is about, yet a rare
# token: at full weight it pulls in whichever card happens to quote the same figure.
NUMBER_WEIGHT = 0.3
# Other things equal, the team's own document says more about its case than the guidance.
TEAM_BOOST = 1.1

MAX_QUERY_CHARS = 2_000  # a question longer than this is noise past this point
MAX_TERMS = 24  # distinct meaningful words taken from one question
MAX_EXPANDED = 64  # terms searched once synonyms are added
MAX_K = 100
MAX_DOC_BYTES = 1_000_000
TEAM_SUFFIXES = (".md", ".markdown", ".txt", ".text")
PASSAGE_WORDS = 300  # long sections are cut at paragraph breaks near this size


class Hit(BaseModel):
    """One search result; also the shape `advisor knowledge search --json` prints."""

    id: str
    title: str
    text: str
    sources: list[str]
    score: float


class AddedDoc(BaseModel):
    """What happened to one path given to :func:`add_documents`."""

    path: str
    name: str = ""
    passages: int = 0
    replaced: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class TeamDocument(BaseModel):
    """A team document in the index."""

    name: str
    path: str
    passages: int
    bytes: int
    added_at: str


# ---------------------------------------------------------------- questions -> MATCH

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
_NUMBER = re.compile(r"[\d.,]+")
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


def _quote(term: str) -> str:
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
    return " OR ".join(_quote(term) for term in terms) if terms else None


def _near_pairs(words: list[str]) -> str | None:
    """Neighbouring question words found close together: "fine-tune ... cost"."""
    pairs = [f"NEAR({_quote(a)} {_quote(b)}, {NEAR_DISTANCE})" for a, b in pairwise(words)]
    return " OR ".join(pairs) if pairs else None


def match_expression(query: str) -> str | None:
    """The FTS5 MATCH for a natural question: its quoted terms and synonyms OR-ed.

    None when the question has no meaningful word. (Ranking weighs the question's own words
    above their synonyms and rewards neighbouring words found close together; see
    :func:`search`.)
    """
    return _or(query_terms(query).all)


# ---------------------------------------------------------------- the index


def _create_schema(db: sqlite_utils.Database) -> None:
    """Create (or, after a SCHEMA_VERSION change, recreate) the passages table and its index."""
    if _meta(db, "schema") != SCHEMA_VERSION:
        for table in (FTS, PASSAGES):
            if db.table(table).exists():
                db.table(table).drop()
    if not db.table(PASSAGES).exists():
        db.table(PASSAGES).create(
            {
                "id": str,
                "kind": str,
                "doc": str,
                "title": str,
                "tags": str,
                "questions": str,
                "body": str,
                "sources": str,
            },
            pk="id",
        )
        db.table(PASSAGES).create_index(["doc"])
    db.table(PASSAGES).enable_fts(
        ["title", "tags", "questions", "body"],
        create_triggers=True,
        tokenize=TOKENIZER,
        replace=True,
    )
    if not db.table(DOCUMENTS).exists():
        db.table(DOCUMENTS).create(
            {
                "path": str,
                "name": str,
                "text": str,
                "sha256": str,
                "bytes": int,
                "added_at": str,
            },
            pk="path",
        )
    if not db.table(META).exists():
        db.table(META).create({"key": str, "value": str}, pk="key")
    _set_meta(db, "schema", SCHEMA_VERSION)


def _meta(db: sqlite_utils.Database, key: str) -> str | None:
    if not db.table(META).exists():
        return None
    row = db.execute(f"SELECT value FROM [{META}] WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def _set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    db.table(META).upsert({"key": key, "value": value}, pk="key")


_hash_cache: dict[tuple[str, tuple[tuple[str, int, int], ...]], str] = {}


def cards_hash(directory: Path | None = None) -> str:
    """A hash of every card file's name and bytes."""
    directory = Path(directory or CARDS_DIR)
    paths = sorted(directory.glob("*.md"))
    # Re-reading 70 files on every search is wasted work when no file was touched.
    stats = []
    for path in paths:
        st = path.stat()
        stats.append((path.name, st.st_mtime_ns, st.st_size))
    signature = (str(directory.resolve()), tuple(stats))
    if signature in _hash_cache:
        return _hash_cache[signature]
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    value = digest.hexdigest()
    _hash_cache[signature] = value
    return value


def _is_current(db: sqlite_utils.Database, digest: str) -> bool:
    if not db.table(META).exists() or not db.table(FTS).exists():
        return False
    stored = dict(db.execute(f"SELECT key, value FROM [{META}]").fetchall())
    return stored.get("schema") == SCHEMA_VERSION and stored.get("cards_hash") == digest


@contextmanager
def _writing(db: sqlite_utils.Database) -> Iterator[None]:
    """A transaction that takes the write lock up front.

    A plain BEGIN reads first and upgrades later, and an upgrade that loses a race fails at
    once with "database is locked"; BEGIN IMMEDIATE waits out the busy timeout instead.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.rollback()
        raise
    db.commit()


def ensure_index(db: sqlite_utils.Database, cards_dir: Path | None = None) -> bool:
    """Rebuild the index if the cards changed since it was built; True if it rebuilt.

    Cheap when nothing changed (a stat of each card file and one small query), and safe
    when several processes call it at once: only one of them rebuilds.
    """
    directory = Path(cards_dir or CARDS_DIR)
    digest = cards_hash(directory)
    if _is_current(db, digest):
        return False
    return _rebuild(db, directory, unless_current=digest) is not None


def build_index(db: sqlite_utils.Database, cards_dir: Path | None = None) -> int:
    """Rebuild the whole index from the cards and the stored team documents; passages indexed."""
    return _rebuild(db, Path(cards_dir or CARDS_DIR)) or 0


def _rebuild(db: sqlite_utils.Database, directory: Path, unless_current: str = "") -> int | None:
    cards = load_cards(directory)  # validate before touching the database
    digest = cards_hash(directory)
    with _writing(db):
        # Another process may have rebuilt while this one waited for the lock.
        if unless_current and _is_current(db, unless_current):
            return None
        _create_schema(db)
        db.execute(f"DELETE FROM [{PASSAGES}]")
        rows = [_card_row(c) for c in cards]
        for doc in db.table(DOCUMENTS).rows:
            rows.extend(_team_rows(doc["path"], doc["name"], doc["text"]))
        db.table(PASSAGES).insert_all(rows, pk="id")
        _set_meta(db, "cards_hash", digest)
        _set_meta(db, "cards_dir", str(directory.resolve()))
    return len(rows)


def _card_row(card: Card) -> dict[str, str]:
    return {
        "id": card.id,
        "kind": "card",
        "doc": card.id,
        "title": card.title,
        "tags": " ; ".join(card.tags),
        "questions": " ; ".join(card.questions),
        "body": card.body,
        "sources": json.dumps(card.sources),
    }


def _term_scores(
    db: sqlite_utils.Database, term: str, total: int, cap: Sequence[float] | None = None
) -> tuple[dict[int, float], list[float]]:
    """One term's BM25 contribution per passage, and the IDFs used (all columns, heads).

    FTS5's bm25() floors the IDF of a term found in over half the passages at 1e-6, so the
    words this corpus is about ("fine-tune", "prompt", "examples") would count for nothing.
    Dividing that IDF back out leaves BM25's term-frequency part, which is then weighed
    with log(1 + (N - n + 0.5) / (n + 0.5)), never below IDF_FLOOR (a passage that dwells on
    the subject should still win on it) and never above ``cap`` (a synonym is never rarer,
    so never weightier, than the word the user wrote). The term is scored over all columns
    and again over titles and tags only, where a word common in bodies is rare.
    """
    scores: dict[int, float] = {}
    idfs: list[float] = []
    quoted = _quote(term)
    passes = ((quoted, 1.0), (f"{{title tags questions}} : {quoted}", HEADS_WEIGHT))
    for n, (match, weight) in enumerate(passes):
        rows = db.execute(
            f"SELECT rowid, bm25([{FTS}], ?, ?, ?, ?) FROM [{FTS}] WHERE [{FTS}] MATCH ?",
            [*WEIGHTS, match],
        ).fetchall()
        odds = (total - len(rows) + 0.5) / (len(rows) + 0.5)
        fts5_idf = max(math.log(odds), 1e-6)
        idf = max(math.log(1 + odds), IDF_FLOOR)
        if cap is not None:
            idf = min(idf, cap[n])
        idfs.append(idf)
        for rowid, rank in rows:
            scores[rowid] = scores.get(rowid, 0.0) + weight * idf * (-rank / fts5_idf)
    return scores, idfs


def _near_scores(db: sqlite_utils.Database, words: list[str]) -> dict[int, float]:
    """FTS5 BM25 of neighbouring question words found close together ("fine-tune ... cost")."""
    expression = _near_pairs(words)
    if expression is None:
        return {}
    return {
        rowid: -rank
        for rowid, rank in db.execute(
            f"SELECT rowid, bm25([{FTS}], ?, ?, ?, ?) FROM [{FTS}] WHERE [{FTS}] MATCH ?",
            [*WEIGHTS, expression],
        )
    }


def search(db: sqlite_utils.Database, query: str, k: int = 5) -> list[Hit]:
    """The ``k`` passages that best answer ``query``, best first. Never raises on user text.

    BM25 is a sum over the question's terms, each scored on its own (see _term_scores).
    A word with synonyms scores as the best of the word and its synonyms, a synonym
    discounted and never rarer (so never weightier) than the word the user wrote. Pairs of
    neighbouring question words found close together add a bonus. Each word's score is
    damped (TERM_POWER) before the sum, so coverage of the question beats one rare word.
    """
    terms = query_terms(query) if isinstance(query, str) else Terms([], {}, [])
    if not terms.words or k < 1:
        return []
    if not db.table(FTS).exists():
        build_index(db)
    total = db.execute(f"SELECT count(*) FROM [{PASSAGES}]").fetchone()[0]
    scores: dict[int, float] = {}
    for word in terms.words:
        concept, idfs = _term_scores(db, word, total)
        for form in terms.synonyms.get(word, []):
            alike, _ = _term_scores(db, form, total, cap=idfs)
            for rowid, score in alike.items():
                concept[rowid] = max(concept.get(rowid, 0.0), SYNONYM_WEIGHT * score)
        weight = NUMBER_WEIGHT if _NUMBER.fullmatch(word) else 1.0
        weight = LIGHT_WEIGHT if word in LIGHT_WORDS else weight
        for rowid, score in concept.items():
            scores[rowid] = scores.get(rowid, 0.0) + weight * score**TERM_POWER
    for rowid, score in _near_scores(db, terms.sequence).items():
        scores[rowid] = scores.get(rowid, 0.0) + NEAR_WEIGHT * score
    for (rowid,) in db.execute(f"SELECT rowid FROM [{PASSAGES}] WHERE kind = 'team'"):
        if rowid in scores:
            scores[rowid] *= TEAM_BOOST
    best = sorted(scores, key=lambda rowid: (-scores[rowid], rowid))[: min(k, MAX_K)]
    if not best:
        return []
    rows = {
        row[0]: row[1:]
        for row in db.execute(
            f"SELECT rowid, id, title, body, sources FROM [{PASSAGES}]"
            f" WHERE rowid IN ({', '.join('?' * len(best))})",
            best,
        )
    }
    return [
        Hit(
            id=rows[rowid][0],
            title=rows[rowid][1],
            text=rows[rowid][2],
            sources=json.loads(rows[rowid][3]),
            score=round(scores[rowid], 4),
        )
        for rowid in best
        if rowid in rows
    ]


def count_passages(db: sqlite_utils.Database) -> dict[str, int]:
    """Passages in the index by kind: {"card": n, "team": m}."""
    if not db.table(PASSAGES).exists():
        return {"card": 0, "team": 0}
    counts = dict(db.execute(f"SELECT kind, count(*) FROM [{PASSAGES}] GROUP BY kind").fetchall())
    return {"card": counts.get("card", 0), "team": counts.get("team", 0)}


# ---------------------------------------------------------------- team documents

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def split_sections(text: str, default_title: str) -> list[tuple[str, str]]:
    """(heading, body) pairs: markdown ATX or underlined headings start a new section.

    Text before the first heading is titled ``default_title``; sections without body text are
    dropped; long sections are cut at paragraph breaks into passages of about PASSAGE_WORDS.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    sections: list[tuple[str, list[str]]] = [(default_title, [])]
    fenced = False
    for line in lines:
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _ATX.match(line)
        body = sections[-1][1]
        if heading:
            sections.append((heading.group(2).strip(), []))
        elif (
            not fenced
            and _SETEXT.match(line)
            and body
            and body[-1].strip()
            and (line.strip().startswith("=") or len(line.strip()) >= 3)
            and (len(body) == 1 or not body[-2].strip())
        ):
            title = body.pop().strip()
            sections.append((title, []))
        else:
            body.append(line)
    passages: list[tuple[str, str]] = []
    for title, body_lines in sections:
        for chunk in _chunks("\n".join(body_lines)):
            passages.append((title[:200], chunk))
    return passages


def _chunks(body: str) -> Iterable[str]:
    paragraphs = [p.strip() for p in re.split(r"\n[ \t]*\n", body) if p.strip()]
    current: list[str] = []
    size = 0
    for paragraph in paragraphs:
        words = len(paragraph.split())
        if current and size + words > PASSAGE_WORDS:
            yield "\n\n".join(current)
            current, size = [], 0
        current.append(paragraph)
        size += words
    if current:
        yield "\n\n".join(current)


def _team_rows(path: str, name: str, text: str) -> list[dict[str, str]]:
    stem = Path(name).stem
    return [
        {
            "id": f"team:{name}#{n}",
            "kind": "team",
            "doc": path,
            "title": title,
            # The file name is searchable too: "our security policy" finds security-policy.md.
            "tags": re.sub(r"[-_.]+", " ", stem),
            "questions": title,  # a section heading names what it answers
            "body": body,
            "sources": json.dumps([name]),
        }
        for n, (title, body) in enumerate(split_sections(text, stem), start=1)
    ]


def _expand(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, str | None]]:
    """Named files as they are; a named directory gives its own text files (not recursive).

    Inside a directory, symlinks are skipped so nothing outside what was named is read.
    """
    found: list[tuple[Path, str | None]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            entries = sorted(
                p for p in path.iterdir() if p.suffix.lower() in TEAM_SUFFIXES and p.is_file()
            )
            if not entries:
                found.append((path, "no .md or .txt files in this directory"))
            for entry in entries:
                reason = "a symlink inside the directory (name it directly to add it)"
                found.append((entry, reason if entry.is_symlink() else None))
        else:
            found.append((path, None))
    return found


def _read_text(path: Path) -> str:
    """The file's text; ValueError with a friendly reason when it cannot be indexed.

    The size is checked on the open file, then again while reading: special files (those
    under /proc and /sys) call themselves regular and report a size of 0, yet hold data.
    """
    if not path.exists():
        raise ValueError("no such file")
    if not path.is_file():  # before opening: opening a pipe would wait for a writer
        raise ValueError("not a regular file")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):  # replaced by something else since the check
            raise ValueError("not a regular file")
        if info.st_size > MAX_DOC_BYTES:
            raise ValueError(f"too large ({info.st_size:,} bytes; the limit is {MAX_DOC_BYTES:,})")
        data = handle.read(MAX_DOC_BYTES + 1)
    if info.st_size == 0 and data:
        raise ValueError(
            "not a regular file: it reports a size of 0 yet holds data, like the special "
            "files under /proc and /sys"
        )
    if len(data) > MAX_DOC_BYTES:
        raise ValueError(f"too large (it grew past the limit of {MAX_DOC_BYTES:,} bytes)")
    if len(data) != info.st_size:
        raise ValueError("changed while it was being read; add it again")
    if b"\0" in data:
        raise ValueError("looks binary (contains NUL bytes); add markdown or plain text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError("is not UTF-8 text; add markdown or plain text") from exc
    if not text.strip():
        raise ValueError("is empty")
    return text


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _name_for(db: sqlite_utils.Database, key: str, path: Path) -> str:
    """A readable, unique name for a document: its file name unless another file took it."""
    taken = {
        row[0]
        for row in db.execute(f"SELECT name FROM [{DOCUMENTS}] WHERE path != ?", [key]).fetchall()
    }
    for candidate in (path.name, _display(path)):
        if candidate not in taken:
            return candidate
    return f"{path.name}~{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def add_documents(
    db: sqlite_utils.Database, paths: Sequence[str | os.PathLike[str]]
) -> list[AddedDoc]:
    """Index a team's markdown/text files beside the cards; re-adding a file replaces it.

    One result per file, in order; a file that cannot be indexed carries an ``error`` and
    leaves the index untouched.
    """
    ensure_index(db)
    results: list[AddedDoc] = []
    for path, problem in _expand(paths):
        shown = str(path)
        if problem is not None:
            results.append(AddedDoc(path=shown, error=problem))
            continue
        try:
            text = _read_text(path)
        except (ValueError, OSError) as exc:
            results.append(AddedDoc(path=shown, error=str(exc)))
            continue
        key = str(path.resolve())
        name = _name_for(db, key, path)
        rows = _team_rows(key, name, text)
        if not rows:
            results.append(AddedDoc(path=shown, error="has no text to index"))
            continue
        with _writing(db):
            replaced = db.execute(
                f"SELECT count(*) FROM [{DOCUMENTS}] WHERE path = ?", [key]
            ).fetchone()[0]
            db.execute(f"DELETE FROM [{PASSAGES}] WHERE doc = ?", [key])
            db.table(DOCUMENTS).upsert(
                {
                    "path": key,
                    "name": name,
                    "text": text,
                    "sha256": hashlib.sha256(text.encode()).hexdigest(),
                    "bytes": len(text.encode()),
                    "added_at": datetime.now(UTC).isoformat(timespec="seconds"),
                },
                pk="path",
            )
            db.table(PASSAGES).insert_all(rows, pk="id")
        results.append(AddedDoc(path=shown, name=name, passages=len(rows), replaced=bool(replaced)))
    return results


def list_documents(db: sqlite_utils.Database) -> list[TeamDocument]:
    """The team documents in the index, by name, with their passage counts."""
    if not db.table(DOCUMENTS).exists() or not db.table(PASSAGES).exists():
        return []
    rows = db.execute(
        f"""
        SELECT d.name, d.path, d.bytes, d.added_at,
               (SELECT count(*) FROM [{PASSAGES}] p WHERE p.doc = d.path)
        FROM [{DOCUMENTS}] d ORDER BY d.name
        """
    ).fetchall()
    return [
        TeamDocument(name=r[0], path=r[1], bytes=r[2], added_at=r[3], passages=r[4]) for r in rows
    ]
