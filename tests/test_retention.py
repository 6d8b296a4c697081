"""Retention: the database stays small, and compaction or pruning never breaks an interview."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from click.testing import CliRunner
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from teams import ROUTER

from bot.cli import cli
from bot.db_commands import DURATION
from graph import retention
from graph.interview import Interviews
from graph.turns import Ended, MemoReady, Question, Reply, Turn
from knowledge.db import connect

SCRIPT = ROUTER  # typed replies that reach a memo
OLD = "2024-01-10T09:00:00+00:00"
RECENT = "2024-05-20T09:00:00+00:00"
NOW = datetime(2024, 6, 1, tzinfo=UTC)


class Clock:
    """A clock the test sets: interviews get the timestamps prune compares against."""

    def __init__(self, at: str = RECENT) -> None:
        self.at = at

    def __call__(self) -> str:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Interviews]:
    """An engine without compaction at finish: a backlog like a database written before it."""
    monkeypatch.setattr("graph.interview.compact_thread", lambda saver, iid, **kw: 0)
    svc = Interviews(clock=clock)
    yield svc
    svc.close()


def test_a_finished_interview_is_compacted_automatically(clock: Clock, isolated_db: Path) -> None:
    svc = Interviews(clock=clock)
    try:
        waiting = open_interview(svc, "auto:open", answers=3)
        assert waiting is not None
        finish(svc, "auto:done")
        assert len(checkpoints(isolated_db, "auto:done")) == 1
        assert len(checkpoints(isolated_db, "auto:open")) > 1  # open interviews keep history
        revised = svc.reply("auto:done", "change volume to 2k", by="dana")
        assert any(isinstance(t, MemoReady) for t in revised)
        assert len(checkpoints(isolated_db, "auto:done")) == 1
    finally:
        svc.close()


def finish(service: Interviews, iid: str, use_case: str = "Route support tickets") -> MemoReady:
    """Answer every question from the script until the memo is written."""
    turns: list[Turn] = service.start(iid, use_case=use_case, by="dana")
    for _ in range(40):
        memos = [t for t in turns if isinstance(t, MemoReady)]
        if memos:
            return memos[-1]
        question = turns[-1]
        assert isinstance(question, Question), turns
        turns = service.reply(iid, SCRIPT[question.id], by="dana")
    raise AssertionError("no memo")


def finish_from(service: Interviews, iid: str, turns: list[Turn]) -> MemoReady:
    """Answer the questions of an interview under way until its memo is written."""
    for _ in range(40):
        memos = [t for t in turns if isinstance(t, MemoReady)]
        if memos:
            return memos[-1]
        question = turns[-1]
        assert isinstance(question, Question), turns
        turns = service.reply(iid, SCRIPT[question.id], by="dana")
    raise AssertionError("no memo")


def open_interview(service: Interviews, iid: str, answers: int = 2) -> Question:
    turns: list[Turn] = service.start(iid, use_case="Summarise sales calls", by="lee")
    for _ in range(answers):
        question = turns[-1]
        assert isinstance(question, Question)
        turns = service.reply(iid, SCRIPT[question.id], by="lee")
    assert isinstance(turns[-1], Question)
    return turns[-1]


def rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def checkpoints(db: Path, iid: str) -> list[str]:
    found = rows(db, "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? ORDER BY 1", iid)
    return [r[0] for r in found]


def writes(db: Path, iid: str) -> list[tuple[Any, ...]]:
    return rows(db, "SELECT checkpoint_id, task_id, idx FROM writes WHERE thread_id = ?", iid)


# -- stats ---------------------------------------------------------------------------------


def test_stats_counts_rows_statuses_and_checkpoints_per_interview(
    service: Interviews, isolated_db: Path
) -> None:
    finish(service, "s:1")
    finish(service, "s:2")
    open_interview(service, "s:3")
    service.start("s:4", use_case="Tag invoices", by="kim")
    service.reply("s:4", "cancel", by="kim")
    service.store.seen_event("Ev1")

    found = retention.stats()

    for table in ("checkpoints", "writes", "interviews", "answers", "memos", "events"):
        assert found.tables[table] == rows(isolated_db, f"SELECT COUNT(*) FROM {table}")[0][0]
    assert found.tables["knowledge_passages"] > 0  # the card index is counted too
    assert found.interviews_by_status == {"cancelled": 1, "done": 2, "open": 1}
    per_thread = [
        n for (n,) in rows(isolated_db, "SELECT COUNT(*) FROM checkpoints GROUP BY thread_id")
    ]
    assert found.threads == len(per_thread) == 4
    assert found.checkpoints_per_interview_max == max(per_thread)
    assert found.checkpoints_per_interview_avg == round(sum(per_thread) / 4, 2)
    assert found.bytes_per_interview == found.interview_bytes // 4 > 0
    on_disk = isolated_db.stat().st_size + Path(f"{isolated_db}-wal").stat().st_size
    assert found.total_bytes == found.file_bytes + found.wal_bytes == on_disk


def test_stats_on_a_missing_database_says_so_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "advisor.db"
    with pytest.raises(FileNotFoundError):
        retention.stats(missing)
    assert not missing.parent.exists()


# -- compaction ----------------------------------------------------------------------------


def test_compaction_keeps_exactly_one_checkpoint_per_finished_thread(
    service: Interviews, isolated_db: Path
) -> None:
    finish(service, "c:1")
    finish(service, "c:2")
    service.start("c:3", use_case="Tag invoices", by="kim")
    service.reply("c:3", "cancel", by="kim")
    latest = {iid: checkpoints(isolated_db, iid)[-1] for iid in ("c:1", "c:2", "c:3")}
    before = sum(len(checkpoints(isolated_db, iid)) for iid in latest)
    assert before > 3 * 5

    removed = retention.compact_finished()

    assert removed == before - 3
    for iid, kept in latest.items():
        assert checkpoints(isolated_db, iid) == [kept]
        assert {w[0] for w in writes(isolated_db, iid)} <= {kept}
    assert retention.compact_finished() == 0  # nothing left to drop the second time
    assert retention.stats().checkpoints_per_interview_max == 1


def test_compacting_finished_ones_leaves_open_interviews_untouched_and_resumable(
    service: Interviews, isolated_db: Path
) -> None:
    finish(service, "o:done")
    waiting = open_interview(service, "o:open", answers=3)
    kept_checkpoints = checkpoints(isolated_db, "o:open")
    kept_writes = sorted(writes(isolated_db, "o:open"))

    retention.compact_finished()
    assert retention.compact_thread(isolated_db, "o:open") == 0

    assert checkpoints(isolated_db, "o:open") == kept_checkpoints
    assert sorted(writes(isolated_db, "o:open")) == kept_writes
    assert service.pending("o:open") == waiting
    turns = service.reply("o:open", SCRIPT[waiting.id], by="lee")
    assert isinstance(turns[-1], Question) and turns[-1].id != waiting.id


def test_compact_shrinks_an_open_interview_and_it_resumes_where_it_was(
    service: Interviews, isolated_db: Path
) -> None:
    waiting = open_interview(service, "o:open", answers=4)
    profile = service.profile("o:open")
    before = checkpoints(isolated_db, "o:open")
    assert len(before) > 4

    done = retention.compact()

    assert done.threads == 1 and done.checkpoints == len(before) - 1
    assert checkpoints(isolated_db, "o:open") == [before[-1]]
    assert service.pending("o:open") == waiting
    assert service.profile("o:open") == profile
    turns = service.reply("o:open", SCRIPT[waiting.id], by="lee")
    assert isinstance(turns[0], Reply) and "Noted" in turns[0].text  # the answer was taken
    assert isinstance(turns[-1], Question) and turns[-1].id != waiting.id
    assert finish_from(service, "o:open", turns)  # and it goes on to its memo


def test_a_backlog_is_compacted_and_pruned_in_short_transactions(
    service: Interviews, clock: Clock, isolated_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)
    clock.at = OLD
    for i in range(5):
        finish(service, f"k:{i}")
    done = retention.compact()
    assert done.threads == 5
    assert all(len(checkpoints(isolated_db, f"k:{i}")) == 1 for i in range(5))
    dry = retention.prune(timedelta(days=90), now=NOW, dry_run=True, include_memos=True)
    assert (dry.interviews, dry.checkpoints, dry.memos) == (5, 5, 5)
    assert all(checkpoints(isolated_db, f"k:{i}") for i in range(5))
    real = retention.prune(timedelta(days=90), now=NOW, include_memos=True)
    assert (real.interviews, real.checkpoints, real.memos) == (5, 5, 5)
    assert service.store.list_memos() == []


def test_only_the_named_interviews_are_compacted(service: Interviews, isolated_db: Path) -> None:
    finish(service, "n:1")
    finish(service, "n:2")
    many = len(checkpoints(isolated_db, "n:2"))
    retention.compact_finished(interview_ids=["n:1", "unknown"])
    assert len(checkpoints(isolated_db, "n:1")) == 1
    assert len(checkpoints(isolated_db, "n:2")) == many > 1


def test_a_compacted_finished_interview_can_still_be_revised(
    service: Interviews, isolated_db: Path, clock: Clock
) -> None:
    first = finish(service, "r:1")
    assert first.assessment["approach"] == "fine_tuning"
    retention.compact_finished()
    assert len(checkpoints(isolated_db, "r:1")) == 1

    turns = service.reply("r:1", "change volume to 2k", by="lee")

    second = next(t for t in turns if isinstance(t, MemoReady))
    stored = service.store.get_memo(second.memo_id)
    assert second.memo_id != first.memo_id and stored is not None
    assert "(version 2)" in stored.markdown
    assert second.assessment["approach"] != "fine_tuning"
    profile = service.profile("r:1")
    assert profile is not None and profile.monthly_volume == 2_000
    assert profile.eval_set_size == 400  # the earlier answers survived compaction

    # The engine's hook, on its own shared saver; then a restarted process revises again.
    assert retention.compact_thread(service._saver, "r:1") > 0
    assert len(checkpoints(isolated_db, "r:1")) == 1
    restarted = Interviews(clock=clock)
    try:
        turns = restarted.reply("r:1", "change volume to 500k", by="lee")
        third = next(t for t in turns if isinstance(t, MemoReady))
        stored = restarted.store.get_memo(third.memo_id)
        assert stored is not None and "(version 3)" in stored.markdown
        latest = restarted.store.latest_memo("r:1")
        assert latest is not None and latest.version == 3
        answer = restarted.reply("r:1", "what is RAG?", by="lee")
        assert isinstance(answer[0], Reply) and answer[0].citations
    finally:
        restarted.close()


def test_a_compacted_cancelled_interview_still_says_it_was_cancelled(
    service: Interviews, isolated_db: Path
) -> None:
    service.start("x:1", use_case="Tag invoices", by="kim")
    service.reply("x:1", "1", by="kim")
    service.reply("x:1", "cancel", by="kim")
    retention.compact_finished()
    assert len(checkpoints(isolated_db, "x:1")) == 1
    turns = service.reply("x:1", "hello again", by="kim")
    assert isinstance(turns[0], Ended) and "cancelled" in turns[0].text
    assert service.pending("x:1") is None


def test_the_engine_hook_bounds_growth_while_other_interviews_run(
    service: Interviews, isolated_db: Path
) -> None:
    errors: list[BaseException] = []

    def run(iid: str) -> None:
        try:
            finish(service, iid)
            retention.compact_thread(service._saver, iid)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(f"p:{i}",)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert not errors
    for i in range(4):
        assert len(checkpoints(isolated_db, f"p:{i}")) == 1
        assert service.store.get_interview(f"p:{i}").status == "done"  # type: ignore[union-attr]


def test_a_busy_database_defers_compaction_without_failing(
    service: Interviews, isolated_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    finish(service, "b:1")
    many = len(checkpoints(isolated_db, "b:1"))
    holder = sqlite3.connect(isolated_db)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    impatient = sqlite3.connect(isolated_db, timeout=0.05)
    try:
        assert retention.compact_thread(impatient, "b:1") == 0
    finally:
        holder.rollback()
        holder.close()
    assert "compaction deferred" in caplog.text
    assert len(checkpoints(isolated_db, "b:1")) == many
    assert retention.compact_thread(impatient, "b:1") == many - 1  # caught up next time
    impatient.close()


def _reduce(state: list[str], batches: list[list[str]]) -> list[str]:
    return [*state, *(item for batch in batches for item in batch)]


class _DeltaState(TypedDict):
    log: Annotated[list[str], DeltaChannel(_reduce)]


def test_a_thread_whose_state_needs_its_history_is_left_whole(
    service: Interviews, isolated_db: Path
) -> None:
    builder = StateGraph(_DeltaState)
    builder.add_node("step", lambda state: {"log": ["x"]})
    builder.add_edge(START, "step")
    builder.add_edge("step", END)
    graph = builder.compile(checkpointer=SqliteSaver(connect(isolated_db)))
    config: Any = {"configurable": {"thread_id": "d:1"}}
    for _ in range(3):
        graph.invoke({"log": ["in"]}, config)
    service.store.create_interview("d:1", use_case="delta", by="dana")
    service.store.update_interview("d:1", status="done")
    many = len(checkpoints(isolated_db, "d:1"))

    done = retention.compact()

    assert done.skipped == ["d:1"]
    assert len(checkpoints(isolated_db, "d:1")) == many
    assert graph.get_state(config).values["log"] == ["in", "x"] * 3


# -- prune ---------------------------------------------------------------------------------


def _history(service: Interviews, clock: Clock) -> None:
    """Two old finished interviews (one with a memo, one cancelled without), one recent
    finished one, and one old interview still open."""
    clock.at = OLD
    finish(service, "old:memo")
    service.start("old:cancelled", use_case="Tag invoices", by="kim")
    service.reply("old:cancelled", "cancel", by="kim")
    open_interview(service, "old:open")
    service.store.seen_event("Ev-old", at=OLD)
    clock.at = RECENT
    finish(service, "new:memo")
    service.store.seen_event("Ev-new", at="2024-05-31T23:00:00+00:00")


def test_prune_respects_the_cutoff_and_keeps_memos_by_default(
    service: Interviews, clock: Clock, isolated_db: Path
) -> None:
    _history(service, clock)
    new_checkpoints = checkpoints(isolated_db, "new:memo")
    open_checkpoints = checkpoints(isolated_db, "old:open")
    old_answers = len(service.store.answers("old:memo")) + len(
        service.store.answers("old:cancelled")
    )

    with sqlite3.connect(isolated_db) as conn:  # the Slack app's thread links
        conn.execute("CREATE TABLE IF NOT EXISTS threads (interview_id TEXT PRIMARY KEY)")
        conn.executemany(
            "INSERT INTO threads (interview_id) VALUES (?)", [("old:memo",), ("old:cancelled",)]
        )
    conn.close()

    result = retention.prune(timedelta(days=90), now=NOW)

    assert result.interviews == 2 and result.open_kept == 1
    assert rows(isolated_db, "SELECT interview_id FROM threads") == [("old:memo",)]
    assert result.front_end_rows == 1
    assert result.answers == old_answers and result.memos == 0
    assert result.interviews_deleted == 1  # the cancelled one had no memo to keep
    assert result.events == 1
    assert checkpoints(isolated_db, "old:memo") == checkpoints(isolated_db, "old:cancelled") == []
    assert service.store.answers("old:memo") == []
    memo = service.store.latest_memo("old:memo")
    assert memo is not None and service.store.get_interview("old:memo") is not None
    assert service.store.get_interview("old:cancelled") is None
    assert checkpoints(isolated_db, "new:memo") == new_checkpoints
    assert checkpoints(isolated_db, "old:open") == open_checkpoints
    assert service.store.answers("new:memo")
    assert service.store.seen_event("Ev-new") is False  # still remembered: a retry is ignored
    assert service.store.seen_event("Ev-old") is True  # forgotten, so it reads as new

    # A reply in a pruned interview's thread gets its memo, not a traceback.
    turns = service.reply("old:memo", "change volume to 2k", by="lee")
    assert isinstance(turns[0], Reply) and memo.id in turns[0].text


def test_a_dry_run_counts_the_same_and_deletes_nothing(
    service: Interviews, clock: Clock, isolated_db: Path
) -> None:
    _history(service, clock)
    tables = ("checkpoints", "writes", "interviews", "answers", "memos", "events")

    def counts() -> dict[str, int]:
        return {t: rows(isolated_db, f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables}

    before = counts()
    dry = retention.prune(timedelta(days=90), now=NOW, dry_run=True, include_memos=True)
    assert counts() == before
    real = retention.prune(timedelta(days=90), now=NOW, include_memos=True)
    assert dry.model_dump(exclude={"dry_run", "bytes_before", "bytes_after"}) == real.model_dump(
        exclude={"dry_run", "bytes_before", "bytes_after"}
    )
    after = counts()
    assert before["checkpoints"] - after["checkpoints"] == real.checkpoints > 0
    assert before["memos"] - after["memos"] == real.memos == 1


def test_include_memos_deletes_the_decision_records_too(service: Interviews, clock: Clock) -> None:
    _history(service, clock)
    result = retention.prune(timedelta(days=90), now=NOW, include_memos=True, vacuum=True)
    assert result.memos == 1 and result.interviews_deleted == 2 and result.vacuumed
    assert service.store.latest_memo("old:memo") is None
    assert service.store.get_interview("old:memo") is None
    assert service.store.latest_memo("new:memo") is not None
    assert service.store.get_interview("old:open") is not None
    assert result.bytes_after < result.bytes_before


def test_pruning_twice_finds_nothing_new_the_second_time(service: Interviews, clock: Clock) -> None:
    _history(service, clock)
    assert retention.prune(timedelta(days=90), now=NOW).interviews == 2
    again = retention.prune(timedelta(days=90), now=NOW)
    assert (again.interviews, again.checkpoints, again.answers, again.events) == (0, 0, 0, 0)


def test_a_longer_window_keeps_everything(service: Interviews, clock: Clock) -> None:
    _history(service, clock)
    result = retention.prune(timedelta(days=365), now=NOW, events_older_than=timedelta(days=365))
    assert (result.interviews, result.checkpoints, result.answers, result.events) == (0, 0, 0, 0)


# -- the command line ----------------------------------------------------------------------


def advisor(*args: str) -> Any:
    return CliRunner().invoke(cli, ["db", *args])


def test_db_help_lists_stats_compact_and_prune() -> None:
    result = advisor("--help")
    assert result.exit_code == 0
    for command in ("stats", "compact", "prune"):
        assert command in result.output
    assert "--older-than" in advisor("prune", "--help").output


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90d", timedelta(days=90)), ("12h", timedelta(hours=12)), (" 2W ", timedelta(weeks=2))],
)
def test_durations_read_hours_days_and_weeks(text: str, expected: timedelta) -> None:
    assert DURATION.convert(text, None, None) == expected


@pytest.mark.parametrize("bad", ["90", "ninety days", "90x", "-5d", "0d", "999999w", "1.5d"])
def test_a_bad_duration_gets_a_friendly_error(service: Interviews, bad: str) -> None:
    result = advisor("prune", "--older-than", bad)
    assert result.exit_code == 2
    assert "--older-than" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_db_commands_on_a_missing_database_explain_instead_of_failing(tmp_path: Path) -> None:
    for args in (["stats"], ["compact"], ["prune", "--older-than", "90d"]):
        result = CliRunner(env={"ADVISOR_DB": str(tmp_path / "none.db")}).invoke(cli, ["db", *args])
        assert result.exit_code == 1, args
        assert "No database at" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "none.db").exists()


def test_a_file_that_is_not_a_database_gets_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "notes.db"
    junk.write_text("these are my notes, not a database\n" * 100)
    result = CliRunner(env={"ADVISOR_DB": str(junk)}).invoke(cli, ["db", "stats"])
    assert result.exit_code == 1
    assert "database error" in result.output and "Traceback" not in result.output


def test_db_stats_prints_a_table_and_json_that_agree(service: Interviews) -> None:
    finish(service, "j:1")
    table = advisor("stats")
    assert table.exit_code == 0, table.output
    assert "checkpoints" in table.output and "Bytes per interview" in table.output
    data = json.loads(advisor("stats", "--json").output)
    found = retention.stats()
    assert data["tables"] == found.tables and data["interviews_by_status"] == {"done": 1}


def test_db_prune_and_compact_from_the_command_line(
    service: Interviews, clock: Clock, isolated_db: Path
) -> None:
    clock.at = (datetime.now(UTC) - timedelta(days=120)).isoformat()
    finish(service, "cli:old")
    clock.at = datetime.now(UTC).isoformat()
    finish(service, "cli:new")

    dry = advisor("prune", "--older-than", "90d", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would prune 1 finished interview" in dry.output and checkpoints(isolated_db, "cli:old")

    done = advisor("prune", "--older-than", "90d")
    assert done.exit_code == 0 and "Pruned 1 finished interview" in done.output
    assert checkpoints(isolated_db, "cli:old") == [] and checkpoints(isolated_db, "cli:new")

    compacted = advisor("compact", "--vacuum")
    assert compacted.exit_code == 0, compacted.output
    assert "Compacted 1 interview" in compacted.output and "Vacuumed" in compacted.output
    assert len(checkpoints(isolated_db, "cli:new")) == 1
