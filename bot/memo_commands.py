"""``advisor memo``: list, export, accept or reject the decision memos in the store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

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


@memo.command("list")
@click.option("--all", "show_all", is_flag=True, help="Every version, not just the latest.")
@click.option(
    "--usage", "show_usage", is_flag=True, help="Add each interview's Claude calls and tokens."
)
def memo_list(show_all: bool, show_usage: bool) -> None:
    """Memos, newest first: id, date, status, approach, use case."""
    memos = _headers(latest_only=not show_all)
    if not memos:
        click.echo(f"No memos yet. Run `{advisor_command()} chat` to write one.")
        return
    usage_head = "".join(f"{name:>{width}} " for name, _, width in USAGE_COLUMNS)
    head = f"{'ID':<9} {'DATE':<10} {'STATUS':<9} {'APPROACH':<19} "
    click.echo(head + (usage_head if show_usage else "") + "USE CASE")
    store = _store() if show_usage else None
    for r in memos:
        version = f" (v{r.version})" if r.version > 1 else ""
        use_case = r.use_case if len(r.use_case) <= 60 else r.use_case[:59] + "…"
        tokens = ""
        if store is not None:
            totals = store.usage(r.interview_id)
            tokens = "".join(f"{totals[key]:>{width},} " for _, key, width in USAGE_COLUMNS)
        click.echo(
            f"{r.id:<9} {r.created_at[:10]:<10} {r.status:<9} {r.approach:<19} "
            f"{tokens}{use_case}{version}"
        )


def _store() -> Store:
    from graph.store import Store

    return Store()


def _headers(*, latest_only: bool) -> list[MemoHeader]:
    """The listing read straight from the SQLite file (no store to build); a database
    that does not exist yet has no memos."""
    # graph.database.URL_ENV, named here so psycopg is not imported to read it
    if os.environ.get("ADVISOR_DATABASE_URL"):  # another database: read through the store
        return _store().memo_headers(latest_only=latest_only)
    from knowledge.db import connect, db_path

    if not db_path().exists():
        return []
    conn = connect()
    try:
        return memo_headers(conn, latest_only=latest_only)
    finally:
        conn.close()


def _get(store: Store, memo_id: str) -> MemoRecord:
    """The memo with this id, or the one memo whose id starts with it."""
    record = store.get_memo(memo_id)
    if record is not None:
        return record
    matches = store.memo_ids(memo_id)
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
    record = _get(_store(), memo_id)
    if output is None:
        click.echo(record.markdown, nl=not record.markdown.endswith("\n"))
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(record.markdown, encoding="utf-8")
    click.echo(f"Wrote {output}", err=True)


def _set_status(memo_id: str, status: str, name: str | None) -> None:
    from graph.decisions import set_status  # the memo renderer loads only for a decision

    store = _store()
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
