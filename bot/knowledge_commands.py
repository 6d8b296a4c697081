"""`advisor knowledge ...`: build, search and extend the guidance index from the terminal."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from bot.errors import database_message
from bot.invocation import advisor_command
from knowledge.db import connect_readonly, db_path, open_db
from knowledge.search import (
    MAX_DOC_BYTES,
    MAX_K,
    Hit,
    add_documents,
    build_index,
    count_passages,
    ensure_index,
    index_is_current,
    list_documents,
    search,
)

if TYPE_CHECKING:
    import sqlite_utils


@contextmanager
def _database() -> Iterator[sqlite_utils.Database]:
    """The app database, with broken cards or an unusable file turned into a clear message."""
    from knowledge.cards import CardError  # YAML and pydantic: only building needs them

    try:
        db = open_db()
    except (sqlite3.Error, OSError) as exc:
        raise click.ClickException(database_message(exc)) from exc
    try:
        yield db
    except CardError as exc:
        raise click.ClickException(f"a knowledge card is invalid: {exc}") from exc
    except sqlite3.Error as exc:
        raise click.ClickException(database_message(exc)) from exc
    finally:
        db.close()


def _search_read_only(text: str, k: int) -> list[Hit] | None:
    """The hits, read through a read-only connection when the index is already current;
    None when it is not (or anything is amiss): then the caller builds it and reports errors.

    The common case opens no writer and loads neither sqlite-utils nor the card parser.
    """
    try:
        conn = connect_readonly()
    except (sqlite3.Error, OSError):
        return None
    try:
        return search(conn, text, k) if index_is_current(conn) else None
    except (sqlite3.Error, OSError):
        return None
    finally:
        conn.close()


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


@click.group("knowledge")
def knowledge() -> None:
    """Search the guidance cards and add your team's own documents.

    \b
    The index lives in the app database (ADVISOR_DB, default .advisor/advisor.db)
    and rebuilds itself whenever a card changes.

    \b
      advisor knowledge search "how many examples before fine-tuning?"
      advisor knowledge add docs/ai-policy.md
      advisor knowledge list
    """


@knowledge.command("build")
def build_command() -> None:
    """Rebuild the search index from the cards and the added team documents."""
    with _database() as db:
        total = build_index(db)
        counts = count_passages(db)
    click.echo(
        f"Indexed {total} passages ({counts['card']} cards, {counts['team']} team passages) "
        f"in {db_path()}."
    )


@knowledge.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option(
    "-k",
    "k",
    type=click.IntRange(1, MAX_K),
    default=5,
    show_default=True,
    help="How many results to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON list.")
def search_command(query: tuple[str, ...], k: int, as_json: bool) -> None:
    """Find the passages that answer QUERY (a question in plain words), best first.

    \b
    --json prints [{"id", "title", "text", "sources", "score"}, ...]; a higher score
    is a better match.
    """
    text = " ".join(query)
    hits = _search_read_only(text, k)
    if hits is None:
        with _database() as db:
            ensure_index(db)
            hits = search(db, text, k)
    if as_json:
        click.echo(json.dumps([hit.model_dump() for hit in hits], indent=2, ensure_ascii=False))
        return
    if not hits:
        click.echo(f"No passage matches {_clip(text, 60)!r}. Try other words, e.g. a noun.")
        return
    width = max(shutil.get_terminal_size((100, 24)).columns, 60)
    id_width = min(max(len(hit.id) for hit in hits), 34)
    click.echo(f"{'#':>2}  {'id':<{id_width}}  {'score':>6}  title")
    for rank, hit in enumerate(hits, start=1):
        title_width = width - id_width - 14
        click.echo(
            f"{rank:>2}  {_clip(hit.id, id_width):<{id_width}}  {hit.score:>6.2f}  "
            f"{_clip(hit.title, title_width)}"
        )
        click.echo(f"{'':>2}  {_clip(hit.text, width - 4)}")


@knowledge.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
def add_command(paths: tuple[str, ...]) -> None:
    """Index your team's markdown or text files so searches cite them beside the guidance.

    \b
    Each file is split on its headings into passages. Adding a file again replaces
    its passages. A directory adds its own .md and .txt files (not subdirectories).
    Binary files and files over 1 MB are refused.
    """
    with _database() as db:
        results = add_documents(db, paths)
    failed = 0
    for result in results:
        if result.ok:
            verb = "replaced" if result.replaced else "added"
            plural = "" if result.passages == 1 else "s"
            click.echo(f"{verb} {result.name}: {result.passages} passage{plural}")
        else:
            failed += 1
            click.echo(f"skipped {result.path}: {result.error}", err=True)
    if failed:
        click.echo(
            f"{failed} of {len(results)} file(s) not added "
            f"(markdown or UTF-8 text up to {MAX_DOC_BYTES:,} bytes).",
            err=True,
        )
        raise SystemExit(1)


@knowledge.command("list")
def list_command() -> None:
    """Show what the index holds: the guidance cards and each team document."""
    with _database() as db:
        ensure_index(db)
        counts = count_passages(db)
        documents = list_documents(db)
    click.echo(f"Guidance cards: {counts['card']}")
    if not documents:
        click.echo(f"Team documents: none (add some with `{advisor_command()} knowledge add PATH`)")
        return
    click.echo(f"Team documents: {len(documents)} ({counts['team']} passages)")
    name_width = min(max(len(doc.name) for doc in documents), 40)
    for doc in documents:
        plural = "" if doc.passages == 1 else "s"
        click.echo(
            f"  {_clip(doc.name, name_width):<{name_width}}  {doc.passages:>4} passage{plural:<1}"
            f"  added {doc.added_at}  {doc.path}"
        )
