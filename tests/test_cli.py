"""The ``advisor`` command line as a whole: every command is listed, a command loads only
what it uses, memo ids can be shortened, and the printed resume command works as pasted."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import COMMANDS, cli
from graph.store import Store

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("langgraph", "langchain_core", "slack_bolt", "slack_sdk", "anthropic", "waitress")
PROFILE = {"use_case": "Route tickets", "task_type": "classification", "monthly_volume": 5000}


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = re.findall(r"^  (\w+)\s", result.output.split("Commands:")[1], re.MULTILINE)
    assert (
        listed
        == sorted(COMMANDS)
        == ["assess", "chat", "db", "evidence", "knowledge", "memo", "serve"]
    )
    for name in COMMANDS:
        assert CliRunner().invoke(cli, [name, "--help"]).exit_code == 0, name


def loaded_after(args: list[str], tmp_path: Path) -> list[str]:
    """Run ``advisor ARGS`` in a fresh interpreter; the heavy packages it imported."""
    script = (
        "import json, sys\n"
        "from bot.cli import cli\n"
        "try:\n"
        f"    cli({args!r})\n"
        "except SystemExit as end:\n"
        "    assert not end.code, end.code\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "print(json.dumps(heavy), file=sys.stderr)\n"
    )
    env = {**os.environ, "ADVISOR_DB": str(tmp_path / "cli.db")}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["assess", "profile.json"],
        ["knowledge", "search", "how many examples"],
        ["memo", "list"],
        ["serve", "--help"],
    ],
)
def test_a_command_loads_neither_the_engine_nor_slack_nor_the_claude_sdk(
    args: list[str], tmp_path: Path
) -> None:
    (tmp_path / "profile.json").write_text(json.dumps(PROFILE), encoding="utf-8")
    assert loaded_after(args, tmp_path) == []


def test_the_interview_command_does_load_the_engine(tmp_path: Path) -> None:
    # The check above can see a heavy import: the chat command's module needs LangGraph.
    assert "langgraph" in loaded_after(["chat", "--help"], tmp_path)


def save_memo(store: Store, interview_id: str) -> str:
    store.create_interview(interview_id, use_case=f"use case {interview_id}", by="dana")
    memo = store.save_memo(
        interview_id=interview_id,
        version=1,
        markdown=f"# Memo for {interview_id}\n",
        assessment={"approach": "rag"},
        use_case=f"use case {interview_id}",
    )
    return memo.id


def test_memo_export_takes_a_unique_two_character_prefix_of_the_id() -> None:
    store = Store()
    ids = [save_memo(store, f"cli:{n}") for n in range(12)]
    unique = next(i for i in ids if sum(j.startswith(i[:2]) for j in ids) == 1)
    result = CliRunner().invoke(cli, ["memo", "export", unique[:2]])
    assert result.exit_code == 0, result.output
    assert result.output == f"# Memo for cli:{ids.index(unique)}\n"


def test_a_prefix_several_memos_share_names_them_instead_of_guessing() -> None:
    store = Store()
    ids = [save_memo(store, f"cli:{n}") for n in range(40)]
    shared = next(i[:1] for i in ids if sum(j.startswith(i[:1]) for j in ids) > 1)
    result = CliRunner().invoke(cli, ["memo", "export", shared])
    assert result.exit_code == 1
    assert f"'{shared}' is the start of several memo ids" in result.output
    assert all(i in result.output for i in sorted(j for j in ids if j.startswith(shared))[:5])


# --- the command printed to continue later -------------------------------------------------

VENV_ADVISOR = Path(sys.executable).with_name("advisor")
needs_script = pytest.mark.skipif(
    not VENV_ADVISOR.exists(), reason="the advisor console script is not installed"
)


def run_advisor(command: list[str], *, path: str, cwd: Path, db: Path) -> str:
    """``command`` as a shell would run it, answering one question and then stopping."""
    env = {**os.environ, "PATH": path, "ADVISOR_DB": str(db)}
    done = subprocess.run(
        command, env=env, cwd=cwd, input="1\n", capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@needs_script
def test_after_make_run_the_printed_resume_command_works_from_the_project_directory(
    tmp_path: Path,
) -> None:
    project = VENV_ADVISOR.parent.parent.parent  # the directory that holds .venv
    relative = os.path.relpath(VENV_ADVISOR, project)
    bare_path = "/usr/bin:/bin"  # the venv is not on PATH, as after `make run`
    first = run_advisor(
        [relative, "chat", "Route tickets"], path=bare_path, cwd=project, db=tmp_path / "a.db"
    )
    found = re.search(r"continue with: (.+ --resume (cli:[0-9a-f]+))$", first, re.MULTILINE)
    assert found, first
    assert found.group(1).startswith(f"{relative} chat --resume ")
    again = run_advisor(
        shlex.split(found.group(1)), path=bare_path, cwd=project, db=tmp_path / "a.db"
    )
    assert f"Resuming interview {found.group(2)}" in again


@needs_script
def test_with_advisor_on_path_the_resume_command_is_plain_advisor(tmp_path: Path) -> None:
    on_path = f"{VENV_ADVISOR.parent}{os.pathsep}/usr/bin:/bin"
    out = run_advisor(
        ["advisor", "chat", "Route tickets"], path=on_path, cwd=tmp_path, db=tmp_path / "b.db"
    )
    assert re.search(r"continue with: advisor chat --resume cli:[0-9a-f]+$", out, re.MULTILINE)


def test_printed_hints_name_the_command_that_works_from_the_project_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After `make run` the venv is not on PATH: a hint saying plain `advisor` would fail.
    script = tmp_path / ".venv" / "bin" / "advisor"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(script), "memo", "list"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    from bot.cli import cli

    result = CliRunner().invoke(cli, ["memo", "list"])
    assert result.exit_code == 0, result.output
    assert "Run `.venv/bin/advisor chat` to write one." in result.output
    missing = CliRunner().invoke(cli, ["memo", "export", "zz"])
    assert "`.venv/bin/advisor memo list` shows the ids" in missing.output, missing.output


def test_memo_list_loads_neither_pydantic_nor_sqlite_utils(tmp_path: Path) -> None:
    # memo list runs often; those two (and numpy, which sqlite-utils pulls in) were 80% of
    # its start-up (bench/cli.py).
    code = (
        "import sys; from bot.cli import cli\n"
        "try:\n    cli(['memo', 'list'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('pydantic', 'sqlite_utils', 'numpy') if m in sys.modules))"
    )
    env = {**os.environ, "ADVISOR_DB": str(tmp_path / "advisor.db")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_assess_loads_only_the_policy_not_the_cards_nor_the_index(tmp_path: Path) -> None:
    # pydantic stays (it validates the profile); the card parser, sqlite-utils and numpy are
    # not needed to decide, and would add about 100 ms to every `advisor assess`.
    (tmp_path / "profile.json").write_text(json.dumps(PROFILE), encoding="utf-8")
    code = (
        "import sys; from bot.cli import cli\n"
        "for args in (['assess', 'profile.json'], ['assess', '--json', 'profile.json']):\n"
        "    try:\n        cli(args)\n    except SystemExit as end:\n        assert not end.code\n"
        "heavy = ('sqlite_utils', 'numpy', 'yaml', 'knowledge.cards', 'knowledge.search')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    env = {**os.environ, "ADVISOR_DB": str(tmp_path / "advisor.db")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
