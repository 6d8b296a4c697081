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
import sqlite3
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.paths import CARDS_DIR
from knowledge.terms import LIGHT_WEIGHT, LIGHT_WORDS, Terms, near_pairs, query_terms, quote
from knowledge.terms import match_expression as match_expression  # re-exported: tests read it here

if TYPE_CHECKING:
    # Searching needs neither: sqlite-utils (which imports numpy when it is installed) builds
    # and writes the index, pydantic validates the cards; both load only when the index is
    # (re)built or written, so `advisor knowledge search` starts in a few tens of ms.
    import sqlite_utils

    from knowledge.cards import Card

    # What search() reads through: the app's sqlite-utils database, or a plain (read-only)
    # connection to the same file.
    Reader = sqlite_utils.Database | sqlite3.Connection

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
IDF_FLOOR = 0.6
# Each word's score is damped (score ** TERM_POWER) before the words are added up, so one
# rare but incidental word ("assume", "giant") cannot outrank several topical words on its
# own. Chosen on the cards' own questions asked leave-one-out (bench/retrieval.py).
TERM_POWER = 0.9
# A number in a question ("80 examples", "300 a day") is rarely what it is about, yet a rare
# token: at full weight it pulls in whichever card happens to quote the same figure.
NUMBER_WEIGHT = 0.3
_NUMBER = re.compile(r"[\d.,]+")
# Other things equal, the team's own document says more about its case than the guidance.
TEAM_BOOST = 1.1

MAX_K = 100
MAX_DOC_BYTES = 1_000_000
TEAM_SUFFIXES = (".md", ".markdown", ".txt", ".text")
PASSAGE_WORDS = 300  # long sections are cut at paragraph breaks near this size


# Plain dataclasses: these are built from our own index, not read from a user, so there is
# nothing to validate (and pydantic would cost the search command most of its start-up).
@dataclass
class Hit:
    """One search result; also the shape `advisor knowledge search --json` prints."""

    id: str
    title: str
    text: str
    sources: list[str]
    score: float

    def model_dump(self) -> dict[str, Any]:
        """The JSON shape, fields in order (the name kept from when this was a pydantic model)."""
        return asdict(self)


@dataclass
class AddedDoc:
    """What happened to one path given to :func:`add_documents`."""

    path: str
    name: str = ""
    passages: int = 0
    replaced: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class TeamDocument:
    """A team document in the index."""

    name: str
    path: str
    passages: int
    bytes: int
    added_at: str


# ---------------------------------------------------------------- the index


def _exists(db: Reader, table: str) -> bool:
    """Plain SQL, so a read-only sqlite3 connection can ask too (FTS5 tables included)."""
    found = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]
    ).fetchone()
    return found is not None


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


def _meta(db: Reader, key: str) -> str | None:
    if not _exists(db, META):
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


def _is_current(db: Reader, digest: str) -> bool:
    if not _exists(db, META) or not _exists(db, FTS):
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


def index_is_current(db: Reader, cards_dir: Path | None = None) -> bool:
    """Whether the index matches the cards as they are now; reads only, so it takes a
    read-only connection (what `advisor knowledge search` asks before searching through one).
    """
    return _is_current(db, cards_hash(Path(cards_dir or CARDS_DIR)))


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
    from knowledge.cards import load_cards  # YAML and pydantic: only a rebuild needs them

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
    db: Reader, term: str, total: int, cap: Sequence[float] | None = None
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
    quoted = quote(term)
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


def _near_scores(db: Reader, words: list[str]) -> dict[int, float]:
    """FTS5 BM25 of neighbouring question words found close together ("fine-tune ... cost")."""
    expression = near_pairs(words)
    if expression is None:
        return {}
    return {
        rowid: -rank
        for rowid, rank in db.execute(
            f"SELECT rowid, bm25([{FTS}], ?, ?, ?, ?) FROM [{FTS}] WHERE [{FTS}] MATCH ?",
            [*WEIGHTS, expression],
        )
    }


def search(db: Reader, query: str, k: int = 5) -> list[Hit]:
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
    if not _exists(db, FTS):
        build_index(_writer(db))
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


def _writer(db: Reader) -> sqlite_utils.Database:
    if isinstance(db, sqlite3.Connection):
        import sqlite_utils

        return sqlite_utils.Database(db)
    return db


def count_passages(db: Reader) -> dict[str, int]:
    """Passages in the index by kind: {"card": n, "team": m}."""
    if not _exists(db, PASSAGES):
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


def list_documents(db: Reader) -> list[TeamDocument]:
    """The team documents in the index, by name, with their passage counts."""
    if not _exists(db, DOCUMENTS) or not _exists(db, PASSAGES):
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
