"""`advisor db ...`: how big the database is, and the retention policy that keeps it small.

With ``ADVISOR_DATABASE_URL`` set: ``migrate`` brings the PostgreSQL schema up to date and
``stats`` reports on it (graph/pg_stats.py); ``compact`` and ``prune`` are SQLite-only for
now and say so.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

import bot.slack.tables  # noqa: F401  (registers the Slack tables with graph.retention)
from bot.errors import database_message, postgres_message
from bot.invocation import advisor_command
from graph.retention import EVENTS_KEEP, DbStats, compact, prune, stats
from graph.retention import vacuum as vacuum_db
from knowledge.db import connect_readonly, db_path

if TYPE_CHECKING:
    from graph.pg_stats import PgStats

URL_ENV = "ADVISOR_DATABASE_URL"  # graph.database.URL_ENV, named so psycopg loads only for it
PG_RETENTION = (
    "`advisor db {command}` is SQLite-only for now; with ADVISOR_DATABASE_URL set the engine "
    "keeps each finished interview's latest checkpoint only, by itself."
)

UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_DURATION = re.compile(r"(\d{1,6})\s*([hdw])", re.IGNORECASE)
LONGEST = timedelta(days=100 * 365)


class Duration(click.ParamType):
    """An age such as 90d, 12h or 2w (hours, days, weeks)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, timedelta):
            return value
        text = str(value).strip()
        match = _DURATION.fullmatch(text)
        if match is None:
            self.fail(
                f"{text!r} is not a duration. Use a number and a unit: 12h, 90d or 2w.",
                param,
                ctx,
            )
        amount = int(match.group(1)) * UNITS[match.group(2).lower()]
        if amount <= timedelta(0):
            self.fail("the duration must be more than zero (for example 90d).", param, ctx)
        if amount > LONGEST:
            self.fail("that is more than a hundred years; nothing is that old.", param, ctx)
        return amount


DURATION = Duration()


def _postgres_url() -> str | None:
    return (os.environ.get(URL_ENV) or "").strip() or None


@contextmanager
def _database() -> Iterator[None]:
    """A missing or unusable database file (or PostgreSQL server) turned into a clear message."""
    try:
        yield
    except FileNotFoundError as exc:
        run = advisor_command()
        raise click.ClickException(
            f"No database at {db_path()} yet. It is created by `{run} chat`, "
            f"`{run} serve` or `{run} knowledge build` (ADVISOR_DB moves it)."
        ) from exc
    except (sqlite3.Error, PermissionError) as exc:
        raise click.ClickException(database_message(exc)) from exc
    except Exception as exc:
        line = postgres_message(exc)
        if line is None:
            raise
        raise click.ClickException(line) from None


def human(size: int) -> str:
    """Bytes for people: 512 B, 14.2 KB, 3.1 MB."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@click.group("db")
def db() -> None:
    """Database size and retention.

    \b
    LangGraph keeps a full checkpoint for every step of an interview. A finished
    interview needs only its latest one (a revision resumes from it), so:
      advisor db stats                     sizes, rows, checkpoints per interview
      advisor db compact                   every interview keeps one checkpoint
      advisor db prune --older-than 90d    drop old finished interviews' checkpoints
                                           and answers; memos stay (--include-memos)
      advisor db migrate                   PostgreSQL: bring the schema up to date
    """


@db.command("migrate")
def migrate_command() -> None:
    """Create or update the PostgreSQL schema (ADVISOR_DATABASE_URL) and print its version.

    Every advisor process also does this when it starts; run it before starting a new
    release's workers to migrate once, up front. SQLite has nothing to migrate.
    """
    url = _postgres_url()
    if url is None:
        click.echo(
            f"Nothing to migrate: advisor uses the SQLite file {db_path()}, whose tables are "
            f"made when it opens it. Set {URL_ENV} to use PostgreSQL."
        )
        return
    from graph.database import open_pool, redact
    from graph.pg_schema import migrate, version

    with _database(), open_pool(url, max_size=1, name="advisor-migrate") as pool:
        ran = migrate(pool)
        with pool.connection() as conn:
            now = version(conn)
    done = f"applied step(s) {', '.join(map(str, ran))}" if ran else "already up to date"
    click.echo(f"PostgreSQL {redact(url)}: schema version {now} ({done}).")


@db.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
def stats_command(as_json: bool) -> None:
    """Size of the database file, rows per table, checkpoints and bytes per interview."""
    url = _postgres_url()
    if url is not None:
        _pg_stats(url, as_json)
        return
    with _database():
        found = stats()
        work = slack_backlog()
    if as_json:
        click.echo(json.dumps({**found.model_dump(mode="json"), "slack": work}, indent=2))
        return
    for line in stats_lines(found):
        click.echo(line)
    if work is not None:
        oldest = f" (oldest kept {work['oldest_waiting']})" if work["oldest_waiting"] else ""
        click.echo(
            f"Slack work                 {work['inbox_waiting']:,} inbox item(s) waiting{oldest}; "
            f"{work['outbox_unsent']:,} message(s) unsent, {work['outbox_gave_up']:,} given up"
        )


def slack_backlog() -> dict[str, Any] | None:
    """The Slack app's unfinished work, for watching a running ``advisor serve``: replies
    and clicks kept but not handled yet, messages not yet sent, messages given up on
    (kept 30 days). None when Slack never used this database file."""
    if os.environ.get("ADVISOR_DATABASE_URL"):
        return None  # the app's tables are in the SQLite file only, for now
    conn = connect_readonly()
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if not {"inbox", "outbox"} <= names:
            return None
        waiting, oldest = conn.execute(
            "SELECT COUNT(*), MIN(received_at) FROM inbox WHERE done_at IS NULL"
        ).fetchone()
        unsent, gave_up = conn.execute(
            "SELECT COUNT(*) FILTER (WHERE delivered_at IS NULL AND gave_up_at IS NULL), "
            "COUNT(*) FILTER (WHERE gave_up_at IS NOT NULL) FROM outbox"
        ).fetchone()
    finally:
        conn.close()
    return {
        "inbox_waiting": waiting,
        "oldest_waiting": oldest,
        "outbox_unsent": unsent,
        "outbox_gave_up": gave_up,
    }


def _pg_stats(url: str, as_json: bool) -> None:
    from graph.database import open_pool
    from graph.pg_stats import pg_stats

    with _database(), open_pool(url, max_size=1, name="advisor-stats") as pool:
        found = pg_stats(pool, url)
    if as_json:
        click.echo(found.model_dump_json(indent=2))
        return
    for line in pg_stats_lines(found):
        click.echo(line)


def pg_stats_lines(s: PgStats) -> list[str]:
    """The readable report ``advisor db stats`` prints for PostgreSQL."""
    lines = [
        f"Database   PostgreSQL {s.url}, schema version {s.schema_version}",
        f"Size       {human(s.database_bytes)} (the whole database)",
        "",
        f"{'TABLE':<28} {'ROWS':>10} {'SIZE':>10}",
    ]
    for table, rows in s.tables.items():
        lines.append(f"{table:<28} {rows:>10,} {human(s.table_bytes[table]):>10}")
    by_status = ", ".join(f"{n:,} {status}" for status, n in s.interviews_by_status.items())
    lines += [
        "",
        f"Interviews                 {s.interviews:,}" + (f" ({by_status})" if by_status else ""),
        f"Checkpoints per interview  avg {s.checkpoints_per_interview_avg:g}, "
        f"max {s.checkpoints_per_interview_max:,} ({s.threads:,} threads)",
        f"Bytes per interview        {human(s.bytes_per_interview)} "
        f"(interview tables: {human(s.interview_bytes)})",
        "The Slack tables are SQLite-only for now; `db compact` and `db prune` too.",
    ]
    return lines


def stats_lines(s: DbStats) -> list[str]:
    """The readable report ``advisor db stats`` prints."""
    lines = [
        f"Database   {s.path}",
        f"Size       {human(s.total_bytes)} (file {human(s.file_bytes)}, "
        f"WAL {human(s.wal_bytes)}); {s.page_count:,} pages of {s.page_size:,} B, "
        f"{s.freelist_count:,} free",
        "",
        f"{'TABLE':<28} {'ROWS':>10} {'SIZE':>10}",
    ]
    for table, rows in s.tables.items():
        size = human(s.table_bytes[table]) if table in s.table_bytes else "-"
        lines.append(f"{table:<28} {rows:>10,} {size:>10}")
    by_status = ", ".join(f"{n:,} {status}" for status, n in s.interviews_by_status.items())
    lines += [
        "",
        f"Interviews                 {s.interviews:,}" + (f" ({by_status})" if by_status else ""),
        f"Checkpoints per interview  avg {s.checkpoints_per_interview_avg:g}, "
        f"max {s.checkpoints_per_interview_max:,} ({s.threads:,} threads)",
        f"Bytes per interview        {human(s.bytes_per_interview)} "
        f"(interview tables: {human(s.interview_bytes)})",
    ]
    return lines


def _vacuum_note(vacuumed: bool, before: int, after: int) -> str:
    if vacuumed:
        return f"Vacuumed: {human(before)} -> {human(after)}."
    return "Freed pages are reused by new interviews; add --vacuum to shrink the file now."


@db.command("compact")
@click.option("--vacuum", is_flag=True, help="Then rebuild the file to give space back.")
def compact_command(vacuum: bool) -> None:
    """Keep only the latest checkpoint of each interview, open ones too.

    An open interview resumes at its question, and a finished one can still be
    revised ("change volume to 50k"), from the checkpoint it keeps.
    """
    if _postgres_url() is not None:
        raise click.ClickException(PG_RETENTION.format(command="compact"))
    with _database():
        done = compact()
        before, after = vacuum_db() if vacuum else (0, 0)
    click.echo(
        f"Compacted {done.threads:,} interview(s): removed {done.checkpoints:,} "
        f"checkpoint(s) and {done.writes:,} write(s)."
    )
    if done.skipped:
        click.echo(f"Left whole (they use a DeltaChannel): {', '.join(done.skipped)}.")
    click.echo(_vacuum_note(vacuum, before, after))


@db.command("prune")
@click.option(
    "--older-than",
    "older_than",
    type=DURATION,
    required=True,
    metavar="AGE",
    help="Finished interviews last touched longer ago than this, e.g. 90d, 12h, 2w.",
)
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@click.option("--vacuum", is_flag=True, help="Then rebuild the file to give space back.")
@click.option(
    "--include-memos",
    is_flag=True,
    help="Delete those interviews' memos and records too (memos are kept by default).",
)
@click.option(
    "--events-older-than",
    type=DURATION,
    default=f"{EVENTS_KEEP.days}d",
    show_default=True,
    metavar="AGE",
    help="Processed Slack event ids older than this are forgotten.",
)
def prune_command(
    older_than: timedelta,
    dry_run: bool,
    vacuum: bool,
    include_memos: bool,
    events_older_than: timedelta,
) -> None:
    """Apply the retention policy.

    Finished (done or cancelled) interviews last touched before AGE lose their
    checkpoints and answers. Their memos and interview records stay unless
    --include-memos; an interview that never produced a memo goes entirely.
    Open interviews are never pruned.
    """
    if _postgres_url() is not None:
        raise click.ClickException(PG_RETENTION.format(command="prune"))
    with _database():
        result = prune(
            older_than,
            now=datetime.now(UTC),
            dry_run=dry_run,
            include_memos=include_memos,
            events_older_than=events_older_than,
            vacuum=vacuum,
        )
    click.echo(
        f"{'Would prune' if dry_run else 'Pruned'} {result.interviews:,} finished interview(s) "
        f"last touched before {result.cutoff}:"
    )
    click.echo(
        f"  {result.checkpoints:,} checkpoint(s), {result.writes:,} write(s), "
        f"{result.answers:,} answer(s), {result.memos:,} memo(s), "
        f"{result.interviews_deleted:,} interview record(s), {result.usage:,} usage row(s), "
        f"{result.front_end_rows:,} Slack thread link(s)"
    )
    click.echo(f"  {result.events:,} processed event id(s) from before {result.events_cutoff}")
    if result.open_kept:
        click.echo(f"  kept {result.open_kept:,} open interview(s) older than the cutoff")
    if dry_run:
        click.echo("Dry run: nothing was deleted.")
    else:
        click.echo(_vacuum_note(result.vacuumed, result.bytes_before, result.bytes_after))
