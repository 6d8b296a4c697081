"""A database advisor cannot use is one clear line and exit code 1, never a traceback
(issue 12, item 11); memos can be read from read-only media."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from graph.store import Store

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [
    ["memo", "list"],
    ["memo", "export", "abc"],
    ["memo", "accept", "abc"],
    ["chat", "Route support tickets"],
    ["chat", "--jsonl", "Route support tickets"],
]


def _advisor(args: list[str], db: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ADVISOR_DB": str(db), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import cli; cli()", *args],
        input="",
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_file_that_is_not_sqlite_is_one_line(args: list[str], tmp_path: Path) -> None:
    junk = tmp_path / "notes.db"
    junk.write_text("these are my notes, not a database\n" * 100)
    line = _one_line(_advisor(args, junk, tmp_path))
    assert "not an SQLite file" in line and str(junk) in line
    assert junk.read_text().startswith("these are my notes")  # left as it was


def _memo_db(path: Path) -> str:
    store = Store(path)
    store.create_interview("cli:1", use_case="Route tickets", by="dana")
    memo = store.save_memo(
        interview_id="cli:1",
        version=1,
        markdown="# Route tickets\n\nChosen option: fine-tuning\n",
        assessment={"approach": "fine_tuning"},
        use_case="Route tickets",
    )
    store.close()
    return memo.id


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder the process cannot write: a read-only tmpfs when we are root (root ignores
    permission bits), the permission bits otherwise."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        yield folder
        for p in [folder, *folder.iterdir()]:
            p.chmod(0o755)
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a read-only file system here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _seal(folder: Path) -> None:
    if os.geteuid() != 0:
        for p in [*folder.iterdir(), folder]:
            p.chmod(0o555 if p.is_dir() else 0o444)
    else:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def test_memos_are_read_from_read_only_media_and_writes_say_read_only(
    tmp_path: Path, read_only_dir: Path
) -> None:
    source = tmp_path / "made.db"
    memo_id = _memo_db(source)
    shutil.copy(source, read_only_dir / "advisor.db")  # a backup or a mounted share: no -shm
    _seal(read_only_dir)
    db = read_only_dir / "advisor.db"

    listed = _advisor(["memo", "list"], db, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert memo_id in listed.stdout and "Route tickets" in listed.stdout
    exported = _advisor(["memo", "export", memo_id], db, tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "Chosen option: fine-tuning" in exported.stdout

    for args in (["memo", "accept", memo_id], ["chat", "Route tickets"]):
        line = _one_line(_advisor(args, db, tmp_path))
        assert "read-only" in line or "cannot open" in line, line
        assert str(db) in line


def test_a_database_in_a_folder_that_cannot_be_created_is_one_line(
    tmp_path: Path, read_only_dir: Path
) -> None:
    _seal(read_only_dir)
    db = read_only_dir / "sub" / "advisor.db"
    for args in (["chat", "Route tickets"], ["memo", "accept", "abc"]):
        line = _one_line(_advisor(args, db, tmp_path))
        assert str(db) in line
    listed = _advisor(["memo", "list"], db, tmp_path)  # reading creates nothing
    assert listed.returncode == 0 and "No memos yet" in listed.stdout


def test_listing_with_no_database_creates_none(tmp_path: Path, isolated_db: Path) -> None:
    result = CliRunner().invoke(cli, ["memo", "list"])
    assert result.exit_code == 0 and "No memos yet" in result.output
    assert not isolated_db.exists()


def test_any_command_s_database_error_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The last net in bot/cli.py: an SQLite error a command did not put in words."""
    import bot.assess_command as assess

    def broken(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(assess, "assess_command", assess.assess_command)
    monkeypatch.setattr(assess.assess_command, "callback", broken)
    profile = tmp_path / "x.json"
    profile.write_text("{}")
    result = CliRunner().invoke(cli, ["assess", str(profile)])
    assert result.exit_code == 1
    assert "database error at" in result.output and "disk I/O error" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
