"""`advisor knowledge add` with hostile files: binaries, huge files, devices, pipes, symlinks
out of a named directory, and file names that look like shell commands."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from knowledge.search import MAX_DOC_BYTES

LIMIT_TEXT = f"{MAX_DOC_BYTES:,} bytes"


def knowledge(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["knowledge", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def search(query: str) -> list[dict[str, object]]:
    code, out, _ = knowledge("search", "--json", "-k", "20", "--", query)
    assert code == 0
    hits: list[dict[str, object]] = json.loads(out)
    return hits


def team_hits(query: str) -> list[str]:
    """The texts of the team-document passages a search finds."""
    return [str(h["text"]) for h in search(query) if str(h["id"]).startswith("team:")]


def tree(root: Path) -> set[str]:
    """Every path under ``root`` except the test's database files."""
    return {
        str(p.relative_to(root)) for p in root.rglob("*") if not p.name.startswith("advisor.db")
    }


# --- files that are not text, or too big ---------------------------------------------------

NOT_TEXT = {
    "diagram.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
    "notes.txt": "Caf\xe9 cr\xe8me policy".encode("latin-1"),
    "tool.md": b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00",
    "utf16.md": "# Policy\n\nNo fine-tuning.".encode("utf-16"),
}


@pytest.mark.parametrize("name", list(NOT_TEXT))
def test_a_file_that_is_not_text_is_refused_with_a_reason(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(NOT_TEXT[name])
    code, out, err = knowledge("add", str(path))
    assert code == 1 and out == ""
    assert f"skipped {path}: " in err
    assert "binary" in err or "not UTF-8" in err
    assert "markdown or UTF-8 text" in err and LIMIT_TEXT in err  # what would be accepted
    assert "Traceback" not in err
    code, out, _ = knowledge("list")
    assert "Team documents: none" in out


def test_a_file_one_byte_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "handbook.md"
    line = b"Our wombat handbook says review every prompt change.\n"
    path.write_bytes((line * (MAX_DOC_BYTES // len(line) + 1))[: MAX_DOC_BYTES + 1])
    assert path.stat().st_size == MAX_DOC_BYTES + 1
    code, out, err = knowledge("add", str(path))
    assert code == 1 and out == ""
    assert f"too large ({MAX_DOC_BYTES + 1:,} bytes; the limit is {MAX_DOC_BYTES:,})" in err
    assert team_hits("wombat handbook") == []


def test_a_huge_sparse_file_is_refused_without_being_read(tmp_path: Path) -> None:
    path = tmp_path / "dump.txt"
    with path.open("wb") as handle:
        handle.truncate(5 * 1024**3)  # 5 GiB that occupy no disk
    code, _, err = knowledge("add", str(path))
    assert code == 1 and "too large (5,368,709,120 bytes" in err


def test_devices_and_pipes_are_refused_not_read(tmp_path: Path) -> None:
    """Reading /dev/zero or a FIFO would never end: the command runs with a deadline."""
    docs = tmp_path / "docs"
    docs.mkdir()
    os.mkfifo(docs / "pipe.md")
    (docs / "real.md").write_text("# Real\n\nplatypus review board\n", encoding="utf-8")
    os.mkfifo(tmp_path / "named-pipe.md")
    argv = ["/dev/zero", "/dev/urandom", str(tmp_path / "named-pipe.md"), str(docs)]
    outcome: list[tuple[int, str, str]] = []
    worker = threading.Thread(target=lambda: outcome.append(knowledge("add", *argv)), daemon=True)
    worker.start()
    worker.join(30)
    assert outcome, "knowledge add hung on a device or a pipe"
    code, out, err = outcome[0]
    assert code == 1
    assert out.splitlines() == ["added real.md: 1 passage"]
    for refused in ("/dev/zero", "/dev/urandom", "named-pipe.md"):
        assert f"{refused}: not a regular file" in err, err
    assert "Traceback" not in err


@pytest.mark.skipif(not Path("/proc/version").is_file(), reason="needs Linux /proc")
def test_special_files_that_claim_a_size_of_0_are_refused_not_read_whole(tmp_path: Path) -> None:
    """/proc files say they are regular and 0 bytes long; /proc/kallsyms holds megabytes."""
    special = [
        p for p in ("/proc/kallsyms", "/proc/version", "/proc/self/status") if Path(p).exists()
    ]
    code, out, err = knowledge("add", *special)
    assert code == 1 and out == ""
    for path in special:
        assert f"skipped {path}: not a regular file: it reports a size of 0 yet holds data" in err
    assert "Traceback" not in err
    code, out, _ = knowledge("list")
    assert "Team documents: none" in out


def test_an_empty_regular_file_is_still_just_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.md"
    path.write_bytes(b"")
    code, _, err = knowledge("add", str(path))
    assert code == 1 and f"skipped {path}: is empty" in err


# --- nothing outside what was named ----------------------------------------------------------


def test_symlinks_inside_a_named_directory_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "salaries.md").write_text("# Pay\n\nquokka salary bands\n", encoding="utf-8")
    (outside / "nested").mkdir()
    (outside / "nested" / "deep.md").write_text("quokka deep secret\n", encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "policy.md").write_text("# Policy\n\nquokka policy in the open\n", encoding="utf-8")
    (docs / "pay.md").symlink_to(outside / "salaries.md")
    (docs / "up.md").symlink_to("../private/salaries.md")  # relative, climbing out
    (docs / "dir.md").symlink_to(outside)  # a directory dressed as a document
    (docs / "gone.md").symlink_to(tmp_path / "missing.md")  # dangling
    (docs / "passwd.txt").symlink_to("/etc/passwd")
    code, out, err = knowledge("add", str(docs))
    assert code == 1  # some entries were refused, and said so
    assert out.splitlines() == ["added policy.md: 1 passage"]
    for name in ("pay.md", "up.md", "passwd.txt"):
        assert f"{docs / name}: a symlink inside the directory" in err
    assert "Traceback" not in err
    assert team_hits("quokka") == ["quokka policy in the open"]
    assert team_hits("root bin bash nologin") == []


SHELLISH = [
    "$(touch pwned).md",
    "`touch pwned`.md",
    ";rm -rf x.md",
    "a|touch pwned.md",
    "b && touch pwned.md",
    "c' ; touch pwned '.md",
    "-rf.md",
    "new\nline.md",
    "%s%n{0}.md",
]


def test_file_names_that_look_like_commands_are_only_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    docs = work / "docs"
    docs.mkdir(parents=True)
    monkeypatch.chdir(work)
    (work / "x.md").write_text("keep me\n", encoding="utf-8")
    for n, name in enumerate(SHELLISH):
        (docs / name).write_text(f"# Note {n}\n\nnumbat note {n} here\n", encoding="utf-8")
    before = tree(tmp_path)
    # Named one by one (after --, so "-rf.md" is a file, not an option), then by directory.
    code, out, err = knowledge("add", "--", *(str(Path("docs") / name) for name in SHELLISH))
    assert code == 0, err
    assert out.count("added ") == len(SHELLISH)
    code, out, err = knowledge("add", "docs")
    assert code == 0, err
    assert out.count("replaced ") == len(SHELLISH)
    assert tree(tmp_path) == before  # nothing was created or deleted, x.md included
    assert (work / "x.md").read_text(encoding="utf-8") == "keep me\n"
    texts = sorted(team_hits("numbat note"))
    assert texts == sorted(f"numbat note {n} here" for n in range(len(SHELLISH)))
    code, out, _ = knowledge("list")
    assert "$(touch pwned).md" in out and ";rm -rf x.md" in out
