"""``advisor memo``: list, export, accept or reject the decision memos in the store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.errors import database_errors
from bot.invocation import advisor_command, who
from graph.memo_headers import MEMO_STATUSES, MemoHeader, memo_headers

if TYPE_CHECKING:  # the store (pydantic, sqlite-utils) loads only for commands that need it
    from graph.store import MemoRecord, Store


@click.group("memo")
def memo() -> None:
    """List, export, accept or reject decision memos."""


USAGE_COLUMNS = (
    ("CALLS", "calls", 5),
    ("INPUT", "input_tokens", 9),
    ("OUTPUT", "output_tokens", 9),
    ("CACHE WRITE", "cache_write_tokens", 11),
    ("CACHE READ", "cache_read_tokens", 11),
)


def _reader() -> Store | None:
    """The store opened only for reading (export and `list --usage` work on read-only media
    and create no database); None when there is no database or no memo table yet."""
    from graph.store import open_store

    try:
        store = open_store(readonly=True)
    except FileNotFoundError:
        return None
    if not store.has_table("memos"):
        store.close()
        return None
    return store


@memo.command("list")
@click.option("--all", "show_all", is_flag=True, help="Every version, not just the latest.")
@click.option(
    "--usage", "show_usage", is_flag=True, help="Add each interview's Claude calls and tokens."
)
def memo_list(show_all: bool, show_usage: bool) -> None:
    """Memos, newest first: id, date, status, approach, use case."""
    with database_errors():
        _list(show_all, show_usage)


def _list(show_all: bool, show_usage: bool) -> None:
    memos = _headers(latest_only=not show_all)
    store = _reader() if show_usage and memos else None
    if not memos:
        click.echo(f"No memos yet. Run `{advisor_command()} chat` to write one.")
        return
    usage_head = "".join(f"{name:>{width}} " for name, _, width in USAGE_COLUMNS)
    head = f"{'ID':<9} {'DATE':<10} {'STATUS':<9} {'APPROACH':<19} "
    click.echo(head + (usage_head if show_usage else "") + "USE CASE")
    for r in memos:
        version = f" (v{r.version})" if r.version > 1 else ""
        use_case = r.use_case if len(r.use_case) <= 60 else r.use_case[:59] + "…"
        tokens = ""
        if show_usage and store is not None:
            totals = store.usage(r.interview_id)
            tokens = "".join(f"{totals[key]:>{width},} " for _, key, width in USAGE_COLUMNS)
        click.echo(
            f"{r.id:<9} {r.created_at[:10]:<10} {r.status:<9} {r.approach:<19} "
            f"{tokens}{use_case}{version}"
        )


def _headers(*, latest_only: bool) -> list[MemoHeader]:
    """The listing read straight from the SQLite file, read-only (no store to build,
    nothing created, works on read-only media); no database yet means no memos."""
    # graph.database.URL_ENV, named here so psycopg is not imported to read it
    if os.environ.get("ADVISOR_DATABASE_URL"):  # another database: read through the store
        from graph.store import open_store

        store = open_store()
        try:
            return store.memo_headers(latest_only=latest_only)
        finally:
            store.close()
    from knowledge.db import connect_readonly

    try:
        conn = connect_readonly()
    except FileNotFoundError:
        return []
    try:
        has = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'memos'").fetchone()
        return memo_headers(conn, latest_only=latest_only) if has else []
    finally:
        conn.close()


def _get(store: Store | None, memo_id: str) -> MemoRecord:
    """The memo with this id, or the one memo whose id starts with it."""
    record = store.get_memo(memo_id) if store is not None else None
    if record is not None:
        return record
    matches = store.memo_ids(memo_id) if store is not None else []
    if len(matches) > 1:
        raise click.ClickException(
            f"{memo_id!r} is the start of several memo ids ({', '.join(matches)}); "
            "give more of the id."
        )
    raise click.ClickException(
        f"No memo with id {memo_id!r}. `{advisor_command()} memo list` shows the ids."
    )


@memo.command("export")
@click.argument("memo_id", metavar="ID")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of printing.",
)
def memo_export(memo_id: str, output: Path | None) -> None:
    """Print a memo's markdown (or write it to FILE)."""
    with database_errors():
        record = _get(_reader(), memo_id)
    if output is None:
        click.echo(record.markdown, nl=not record.markdown.endswith("\n"))
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(record.markdown, encoding="utf-8")
    click.echo(f"Wrote {output}", err=True)


def _set_status(memo_id: str, status: str, name: str | None) -> None:
    from graph.decisions import set_status  # the memo renderer loads only for a decision

    with database_errors():
        from graph.store import open_store

        store = open_store()
        record = _get(store, memo_id)
        updated = set_status(store, record.id, status, who(name))  # type: ignore[arg-type]
    click.echo(f"Memo {updated.id} is now {updated.status}.")


@memo.command("accept")
@click.argument("memo_id", metavar="ID")
@click.option("--by", "name", help="Who decided (default: your login name).")
def memo_accept(memo_id: str, name: str | None) -> None:
    """Mark a memo accepted."""
    _set_status(memo_id, "accepted", name)


@memo.command("reject")
@click.argument("memo_id", metavar="ID")
@click.option("--by", "name", help="Who decided (default: your login name).")
def memo_reject(memo_id: str, name: str | None) -> None:
    """Mark a memo rejected."""
    _set_status(memo_id, "rejected", name)


@memo.command("status")
@click.argument("memo_id", metavar="ID")
@click.argument("status", type=click.Choice(MEMO_STATUSES))
@click.option("--by", "name", help="Who decided (default: your login name).")
def memo_status(memo_id: str, status: str, name: str | None) -> None:
    """Set a memo's status: proposed, accepted or rejected."""
    _set_status(memo_id, status, name)
