"""`advisor knowledge build|search|add|list` as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import knowledge.search as search_module
from bot.cli import cli
from knowledge.cards import CARDS_DIR, card_ids
from knowledge.db import open_db


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["knowledge", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", [[], ["build"], ["search"], ["add"], ["list"]])
def test_every_knowledge_command_explains_itself(command: list[str]) -> None:
    code, out, _ = run(*command, "--help")
    assert code == 0
    assert "Usage: advisor knowledge" in out or "Usage: cli knowledge" in out
    assert len(out.splitlines()) >= 5


def test_knowledge_is_listed_in_the_top_level_help() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0 and "knowledge" in result.stdout


def test_build_reports_how_many_cards_it_indexed() -> None:
    code, out, _ = run("build")
    assert code == 0
    assert f"{len(card_ids())} cards" in out


def test_search_json_prints_hits_best_first() -> None:
    code, out, _ = run("search", "how many examples do we need to fine-tune?", "-k", "3", "--json")
    assert code == 0
    hits = json.loads(out)
    assert 1 <= len(hits) <= 3
    for hit in hits:
        assert set(hit) == {"id", "title", "text", "sources", "score"}
        assert hit["id"] in card_ids()
        assert hit["sources"] and hit["text"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_accepts_an_unquoted_question() -> None:
    code_words, out_words, _ = run("search", "prompt", "caching", "--json")
    code_quoted, out_quoted, _ = run("search", "prompt caching", "--json")
    assert code_words == code_quoted == 0
    assert json.loads(out_words) == json.loads(out_quoted)


def test_search_prints_a_readable_table() -> None:
    code, out, _ = run("search", "the model hallucinates", "-k", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["#", "id", "score", "title"]
    first, second = lines[1].split(), lines[3].split()
    assert first[0] == "1" and first[1] in card_ids()
    assert second[0] == "2" and second[1] in card_ids()
    float(first[2])
    assert len(lines) == 5  # header, then a title line and a snippet line per hit


def test_search_with_nothing_to_find_says_so() -> None:
    code, out, _ = run("search", "what is it?")
    assert code == 0 and "No passage matches" in out
    code, out, _ = run("search", "what is it?", "--json")
    assert code == 0 and json.loads(out) == []


@pytest.mark.parametrize("query", ['"NEAR(*', "-- AND OR NOT", "🤖" * 500, "\x00\x1b"])
def test_search_never_shows_a_traceback_for_odd_queries(query: str) -> None:
    code, out, _ = run("search", "--json", "--", query)
    assert code == 0
    assert isinstance(json.loads(out), list)


def test_search_rejects_a_silly_k() -> None:
    code, _, err = run("search", "cost", "-k", "0")
    assert code == 2 and "-k" in err


def test_add_then_list_then_search_a_team_document(tmp_path: Path) -> None:
    policy = tmp_path / "ai-policy.md"
    policy.write_text(
        "# Data residency\n\nCustomer data stays in the Frankfurt region, always.\n",
        encoding="utf-8",
    )
    code, out, _ = run("add", str(policy))
    assert code == 0 and "added ai-policy.md: 1 passage" in out

    code, out, _ = run("list")
    assert code == 0
    assert f"Guidance cards: {len(card_ids())}" in out
    assert "ai-policy.md" in out and "1 passage" in out

    code, out, _ = run("search", "Frankfurt region", "--json")
    assert json.loads(out)[0]["id"] == "team:ai-policy.md#1"
    assert json.loads(out)[0]["sources"] == ["ai-policy.md"]

    code, out, _ = run("add", str(policy))
    assert code == 0 and "replaced ai-policy.md" in out


def test_list_with_no_team_documents_says_how_to_add_one() -> None:
    code, out, _ = run("list")
    assert code == 0 and "advisor knowledge add" in out


def test_add_refuses_binary_and_missing_files_but_adds_the_rest(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("Our review board meets on Tuesdays.\n", encoding="utf-8")
    binary = tmp_path / "scan.pdf"
    binary.write_bytes(b"%PDF-1.7\x00\x00\xff")
    code, out, err = run("add", str(binary), str(good), str(tmp_path / "gone.md"))
    assert code == 1
    assert "added good.txt" in out
    assert "scan.pdf" in err and "binary" in err
    assert "gone.md" in err and "no such file" in err
    assert "Traceback" not in out + err


def test_a_broken_card_gives_a_clear_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken.md").write_text("---\nid: broken\n---\nNo title.\n", encoding="utf-8")
    monkeypatch.setattr(search_module, "CARDS_DIR", tmp_path)
    code, out, err = run("search", "anything")
    assert code == 1
    assert "broken.md" in err and "title" in err
    assert "Traceback" not in out + err


# ---------------------------------------------------------------- the fast read path

QUERIES = [
    "how many examples",
    "how do I stop the bot from making up prices",
    "our eval is only 60 questions, is that enough",
    "Frankfurt region data residency",
]
ENTRY = "import sys; from bot.cli import cli; sys.argv[0] = 'advisor'; cli()"


def advisor(*args: str) -> str:
    """``advisor ARGS`` in a fresh interpreter, as a user runs it (the test's database)."""
    env = {**os.environ, "COLUMNS": "100"}
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def with_a_team_document(tmp_path: Path) -> None:
    policy = tmp_path / "ai-policy.md"
    policy.write_text(
        "# Data residency\n\nCustomer data stays in the Frankfurt region, always.\n",
        encoding="utf-8",
    )
    assert run("add", str(policy))[0] == 0


def test_search_prints_what_the_library_finds_once_the_index_is_built(tmp_path: Path) -> None:
    with_a_team_document(tmp_path)
    db = open_db()
    try:
        for query in QUERIES:
            hits = search_module.search(db, query, 4)
            assert hits, query
            expected = [
                {
                    "id": h.id,
                    "title": h.title,
                    "text": h.text,
                    "sources": h.sources,
                    "score": h.score,
                }
                for h in hits
            ]
            printed = advisor("knowledge", "search", query, "-k", "4", "--json")
            assert printed == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
            lines = advisor("knowledge", "search", query, "-k", "4").splitlines()
            assert len(lines) == 1 + 2 * len(hits)
            for rank, hit in enumerate(hits, start=1):
                row = lines[2 * rank - 1].split()
                assert row[:3] == [str(rank), hit.id, f"{hit.score:.2f}"], (query, row)
    finally:
        db.close()


def test_search_reads_the_same_whether_or_not_it_had_to_build_the_index() -> None:
    building = advisor("knowledge", "search", QUERIES[0], "--json")  # a new database: builds
    reading = advisor("knowledge", "search", QUERIES[0], "--json")  # built: only reads
    assert building == reading and json.loads(reading)


def test_search_loads_neither_pydantic_nor_sqlite_utils_nor_numpy(tmp_path: Path) -> None:
    # They were most of its start-up (bench/cli.py); the index is read with plain sqlite3.
    with_a_team_document(tmp_path)
    code = (
        "import sys; from bot.cli import cli\n"
        f"for args in {[['knowledge', 'search', q] for q in QUERIES[:2]]!r} + "
        "[['knowledge', 'search', '--json', 'cost']]:\n"
        "    try:\n        cli(args)\n    except SystemExit as end:\n        assert not end.code\n"
        "heavy = ('pydantic', 'sqlite_utils', 'numpy', 'yaml', 'knowledge.cards')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_search_notices_a_changed_card_and_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "Pelican" not in run("search", "pelican", "--json")[1]
    cards = tmp_path / "cards"
    shutil.copytree(CARDS_DIR, cards)
    card = next(iter(sorted(cards.glob("*.md"))))
    card.write_text(card.read_text(encoding="utf-8") + "\nPelican crossings.\n", encoding="utf-8")
    monkeypatch.setattr(search_module, "CARDS_DIR", cards)
    code, out, _ = run("search", "pelican", "--json")
    assert code == 0 and [hit["id"] for hit in json.loads(out)] == [card.stem]
