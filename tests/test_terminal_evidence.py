"""`advisor chat --evidence FILE` and a typed `evidence PATH`: the file is measured, the
terminal says what was measured, and the questions the file settled are not asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from evidence_files import eval_rows, training_rows, write_csv, write_jsonl
from teams import ROUTER
from test_terminal import run_jsonl

from graph.interview import Interviews


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.chdir(tmp_path)  # memos/ lands here
    pairs, _ = training_rows()
    clean = [{"input": i, "output": o} for i, o in pairs[:2000]]
    return write_csv(tmp_path / "eval.csv", eval_rows()), write_jsonl(
        tmp_path / "train.jsonl", clean
    )


def _replies(lines: list[dict[str, object]]) -> str:
    return "\n".join(str(line["text"]) for line in lines if line["type"] == "reply")


def test_chat_with_evidence_files_skips_what_they_settled(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    eval_file, train = files
    script: dict[str, str | list[str]] = {**ROUTER, "eval": "need 95%"}
    user = run_jsonl(
        monkeypatch, script, "--evidence", str(eval_file), "--evidence", str(train), "Route tickets"
    )
    said = _replies(user.lines)
    assert "Measured from eval.csv: 400 items, 82.0 % exact match" in said
    assert "Measured from train.jsonl: 2,000 examples" in said
    assert "examples" not in user.asked()
    assert user.asked().count("task") == 1  # the first question once, after both files
    assert user.lines[-1]["type"] == "memo"
    iid = next(str(line["interview_id"]) for line in user.lines if "interview_id" in line)
    profile = Interviews().profile(iid)
    assert profile is not None
    assert (profile.eval_set_size, profile.baseline_score, profile.target_score) == (
        400,
        0.82,
        0.95,
    )


def test_evidence_typed_mid_interview_is_measured_and_the_question_comes_back(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    eval_file, _ = files
    script: dict[str, str | list[str]] = {
        **ROUTER,
        "task": [f"evidence {eval_file}", "1"],
        "eval": "need 95%",
    }
    user = run_jsonl(monkeypatch, script, "Route tickets")
    assert "Measured from eval.csv: 400 items" in _replies(user.lines)
    assert user.asked()[:2] == ["task", "task"]  # the pending question is asked again
    assert user.lines[-1]["type"] == "memo"


def test_a_binary_or_missing_file_gets_one_line_and_the_interview_goes_on(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    link = tmp_path / "link.csv"
    link.symlink_to(files[0])
    script: dict[str, str | list[str]] = {
        **ROUTER,
        "task": [f"evidence {binary}", f"evidence {link}", "evidence nowhere.csv", "1"],
    }
    user = run_jsonl(monkeypatch, script, "Route tickets")
    refusals = [
        str(line["text"])
        for line in user.lines
        if line["type"] == "reply" and str(line["text"]).startswith("Cannot use")
    ]
    assert len(refusals) == 3 and all("\n" not in r for r in refusals)
    assert "Measured" not in _replies(user.lines)  # the symlink was not followed
    assert user.lines[-1]["type"] == "memo"
