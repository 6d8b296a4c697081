"""The guidance cards: markdown files with YAML front matter, and the documents they cite."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from knowledge.paths import CARDS_DIR, KNOWLEDGE_DIR

SOURCES_FILE = KNOWLEDGE_DIR / "sources.toml"

# Front matter is the block between a leading "---" line and the next "---" line.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.DOTALL)
_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class CardError(ValueError):
    """A card file that cannot be used; the message names the file and what is wrong."""


class Source(BaseModel):
    """One guidance document, as described in knowledge/sources.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    title: str
    short: str
    kind: str
    author: str | None = None
    publisher: str | None = None
    date: str | None = None


class Card(BaseModel):
    """One focused piece of guidance: the retrieval unit and the thing memos cite."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(pattern=_SLUG, max_length=80)
    title: str = Field(min_length=1, max_length=200)
    tags: list[str] = Field(default_factory=list)
    # Questions the card answers, in the words a team would use; searched like the title.
    questions: list[str] = Field(default_factory=list)
    sources: list[str] = Field(min_length=1)
    body: str = Field(min_length=1)


def load_sources(path: Path = SOURCES_FILE) -> list[Source]:
    """The guidance documents listed in sources.toml, in file order."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return [Source.model_validate(entry) for entry in data.get("source", [])]


def source_for_title(title: str) -> Source:
    """The source document with this exact title; KeyError if none."""
    for source in _sources():
        if source.title == title:
            return source
    raise KeyError(title)


def parse_card(path: Path, known_titles: set[str] | None = None) -> Card:
    """Read and validate one card file; CardError says which file and which field is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CardError(f"{path}: cannot read the card: {exc}") from exc
    found = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not found:
        raise CardError(f"{path}: no YAML front matter (the file must start with a '---' block)")
    try:
        meta = yaml.safe_load(found.group(1))
    except yaml.YAMLError as exc:
        raise CardError(f"{path}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise CardError(
            f"{path}: front matter must be a mapping of id, title, tags, questions, sources"
        )
    if "body" in meta:
        raise CardError(f"{path}: 'body' is not a front matter field; write it after the '---'")
    try:
        card = Card.model_validate({**meta, "body": found.group(2).strip()})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'front matter'}: {err['msg']}"
            for err in exc.errors()
        )
        raise CardError(f"{path}: {problems}") from exc
    if card.id != path.stem:
        raise CardError(f"{path}: id {card.id!r} does not match the file name {path.stem!r}")
    if known_titles is not None:
        unknown = [title for title in card.sources if title not in known_titles]
        if unknown:
            raise CardError(f"{path}: sources not in knowledge/sources.toml: {unknown}")
    return card


def load_cards(directory: Path = CARDS_DIR) -> list[Card]:
    """Every card in ``directory``, sorted by file name and validated (CardError if one is bad)."""
    titles = {source.title for source in _sources()}
    # Ids are unique because each must equal its file name (parse_card checks).
    return [parse_card(path, titles) for path in sorted(Path(directory).glob("*.md"))]


def card(id: str) -> Card:
    """The built-in card with this id; KeyError if there is none."""
    return _cards_by_id()[id]


def card_ids() -> set[str]:
    """Ids of every built-in card."""
    return set(_cards_by_id())


@cache
def _cards_by_id() -> dict[str, Card]:
    return {c.id: c for c in load_cards(CARDS_DIR)}


@cache
def _sources() -> tuple[Source, ...]:
    return tuple(load_sources())
