"""Writing a memo never follows a symbolic link out of memos/ (issue 12, item 13)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_terminal import TEAMS, run_jsonl

from graph.store import Store

USE_CASE, SCRIPT = TEAMS["fine_tuning"]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # memos/ lands here
    return tmp_path


NAME = f"route-support-tickets-to-one-of-12-queues-{datetime.now(UTC).date().isoformat()}.md"


def _finish(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    user = run_jsonl(monkeypatch, dict(SCRIPT), USE_CASE)
    memo = user.lines[-1]
    assert memo["type"] == "memo"
    return memo


def _inside(path: Path, folder: Path) -> None:
    assert not path.is_symlink() and path.is_file()
    assert path.resolve().parent == folder.resolve()
    assert path.read_text(encoding="utf-8").startswith("# Decision: ")


def test_a_dangling_link_in_memos_is_not_followed(
    monkeypatch: pytest.MonkeyPatch, in_tmp: Path
) -> None:
    outside = in_tmp / "elsewhere" / "planted.md"
    outside.parent.mkdir()
    memos = in_tmp / "memos"
    memos.mkdir()
    (memos / NAME).symlink_to(outside)  # dangling: the target does not exist

    memo = _finish(monkeypatch)
    assert not outside.exists()  # nothing was written through the link
    assert (memos / NAME).is_symlink()  # and the link is left alone
    path = in_tmp / str(memo["path"])
    assert path.name != NAME
    _inside(path, memos)


def test_a_link_to_someone_s_file_is_neither_overwritten_nor_replaced(
    monkeypatch: pytest.MonkeyPatch, in_tmp: Path
) -> None:
    theirs = in_tmp / "notes.md"
    theirs.write_text("my own notes\n")
    memos = in_tmp / "memos"
    memos.mkdir()
    (memos / NAME).symlink_to(theirs)

    memo = _finish(monkeypatch)
    assert theirs.read_text() == "my own notes\n"
    _inside(in_tmp / str(memo["path"]), memos)


def test_memos_itself_a_link_is_refused_and_the_memo_stays_exportable(
    monkeypatch: pytest.MonkeyPatch, in_tmp: Path, isolated_db: Path
) -> None:
    elsewhere = in_tmp / "elsewhere"
    elsewhere.mkdir()
    (in_tmp / "memos").symlink_to(elsewhere)

    user = run_jsonl(monkeypatch, dict(SCRIPT), USE_CASE)
    memo = user.lines[-1]
    assert memo["type"] == "memo" and memo["path"] is None
    assert "symbolic link" in memo["error"]
    assert list(elsewhere.iterdir()) == []
    said = [line["text"] for line in user.lines if line["type"] == "reply"][-1]
    assert "is saved, but its file could not be written" in said
    assert "advisor memo export" in said
    assert Store(isolated_db).list_memos()  # the memo itself is kept


def test_the_same_memo_written_again_replaces_its_own_file_only(
    monkeypatch: pytest.MonkeyPatch, in_tmp: Path, isolated_db: Path
) -> None:
    from bot.memo_files import write_memo

    memo = _finish(monkeypatch)
    first = in_tmp / str(memo["path"])
    record = Store(isolated_db).list_memos()[0]
    assert write_memo(record, in_tmp / "memos") == first  # rewritten in place, not -2
    _inside(first, in_tmp / "memos")
    assert sorted(p.name for p in (in_tmp / "memos").iterdir()) == [first.name]
