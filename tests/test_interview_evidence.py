"""Measured files in an interview: facts fill the profile with provenance, the questions
they settle are skipped, and a stated figure the file contradicts is kept beside it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from evidence_files import eval_rows, training_rows, write_csv, write_jsonl
from rendered import body, stored_markdown, view
from teams import ROUTER

from graph.evidence import measure_path
from graph.interview import Interviews
from graph.interview_evidence import evidence_rows
from graph.measured import contradictions
from graph.turns import MemoReady, Question, Reply, Turn


def _question(turns: Sequence[Turn]) -> Question:
    assert turns and isinstance(turns[-1], Question), turns
    return turns[-1]


def _said(turns: Sequence[Turn]) -> str:
    return "\n".join(t.text for t in turns if isinstance(t, Reply))


def _section(markdown: str, heading: str) -> str:
    start = markdown.index(f"## {heading}")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end > 0 else None]


def _files(tmp_path: Path) -> tuple[Path, Path]:
    eval_file = write_csv(tmp_path / "eval.csv", eval_rows())
    pairs, _ = training_rows()
    train = write_jsonl(tmp_path / "train.jsonl", [{"input": i, "output": o} for i, o in pairs])
    return eval_file, train


def _to_memo(service: Interviews, iid: str, turns: list[Turn]) -> tuple[MemoReady, list[str]]:
    asked: list[str] = []
    for _ in range(40):
        memos = [t for t in turns if isinstance(t, MemoReady)]
        if memos:
            return memos[-1], asked
        q = _question(turns)
        if not q.confirm:
            asked.append(q.id)
        turns = service.reply(iid, ROUTER[q.id], by="dana")
    raise AssertionError(asked)


@pytest.fixture(params=["sqlite", "postgres"])
def engine_db(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The engine's database: the SQLite file, or PostgreSQL (ADVISOR_DATABASE_URL)."""
    if request.param == "postgres":
        monkeypatch.setenv("ADVISOR_DATABASE_URL", request.getfixturevalue("pg_url"))
    return str(request.param)


def test_shared_files_fill_the_profile_and_their_questions_are_skipped(
    tmp_path: Path, engine_db: str
) -> None:
    eval_file, train = _files(tmp_path)
    service = Interviews()
    assert type(service.store).__name__ == {"sqlite": "Store", "postgres": "PgStore"}[engine_db]
    service.start("e:1", use_case="Route support tickets to 12 queues", by="dana")
    turns = service.add_evidence("e:1", measure_path(eval_file), by="ana")
    assert "Measured from eval.csv: 400 items, 82.0 % exact match" in _said(turns)
    assert "lowest on 'billing' (0.6" in _said(turns)
    turns = service.add_evidence("e:1", measure_path(train), by="ana")
    assert "Measured from train.jsonl: 3,000 examples" in _said(turns)
    profile = service.profile("e:1")
    assert profile is not None
    assert (profile.eval_set_size, profile.baseline_score) == (400, 0.82)
    assert profile.labeled_examples == 3000
    measured = [p for p in service.provenance("e:1") if p.said.startswith("measured from")]
    assert {p.field for p in measured} >= {"eval_set_size", "baseline_score", "labeled_examples"}
    assert all(p.by == "ana" and "sha256" in p.said for p in measured)
    rows = evidence_rows(service.store, "e:1")
    assert [r["file"] for r in rows] == ["eval.csv", "train.jsonl"]
    assert len(rows[0]["sha256"]) == 64
    # 65 of 3,000 unclean (2.2 %): between the thresholds, so cleanliness is still asked
    assert profile.labels_clean is None
    memo, asked = _to_memo(service, "e:1", turns)
    markdown = stored_markdown(service.store, memo.memo_id)
    assert "examples" in asked and "eval" in asked  # the target score is not in the file
    assert memo.assessment["approach"] == "fine_tuning"
    short = rows[0]["sha256"][:8]
    evidence = _section(markdown, "Evidence: measured and stated")
    assert f"**Measured** from `eval.csv`, sha256 {short}, 400 items" in evidence
    assert "(shared by ana)" in evidence
    assert "**Stated** by dana: target score 95" in evidence  # the file cannot know the target
    assert "Personal data** in `train.jsonl`: email in 12 rows" in evidence
    assert "jo.0@example.org" not in markdown  # counts only, never values
    plan = _section(markdown, "Validation plan")
    assert "Check the weakest labels first, measured in `eval.csv`: 'billing' F1 0.6" in plan
    assert len(view(body(markdown)).words()) <= 900
    service.close()


def test_a_clean_training_file_settles_the_examples_question(tmp_path: Path) -> None:
    pairs, _ = training_rows()
    clean = write_jsonl(
        tmp_path / "clean.jsonl", [{"input": i, "output": o} for i, o in pairs[:2000]]
    )
    service = Interviews()
    turns = service.start("e:4", use_case="Route support tickets to 12 queues", by="dana")
    turns = service.add_evidence("e:4", measure_path(clean), by="ana")
    profile = service.profile("e:4")
    assert profile is not None and (profile.labeled_examples, profile.labels_clean) == (2000, True)
    _, asked = _to_memo(service, "e:4", turns)
    assert "examples" not in asked


def test_a_stated_figure_the_file_contradicts_is_kept_and_the_measured_one_decides(
    tmp_path: Path,
) -> None:
    eval_file, _ = _files(tmp_path)
    service = Interviews()
    turns = service.start("e:2", use_case="Route support tickets to 12 queues", by="dana")
    for _ in range(10):
        q = _question(turns)
        if q.id == "eval" and not q.confirm:
            turns = service.reply("e:2", "500 items, 90% now, need 95%", by="dana")
            if _question(turns).confirm:
                turns = service.reply("e:2", "yes", by="dana")
            break
        turns = service.reply("e:2", ROUTER[q.id] if not q.confirm else "yes", by="dana")
    assert service.profile("e:2").eval_set_size == 500  # type: ignore[union-attr]
    turns = service.add_evidence("e:2", measure_path(eval_file), by="ana")
    assert "the file measures 400" in _said(turns)
    profile = service.profile("e:2")
    assert profile is not None and profile.eval_set_size == 400
    pairs = contradictions(service.provenance("e:2"))
    assert {(s.field, s.value, m.value) for s, m in pairs} >= {("eval_set_size", 500, 400)}
    memo, _ = _to_memo(service, "e:2", turns)
    markdown = stored_markdown(service.store, memo.memo_id)
    evidence = _section(markdown, "Evidence: measured and stated")
    assert "**Contradicted:** eval set size stated as 500 by dana; measured 400." in evidence
    assert "best prompt score stated as 90%" in evidence


def test_evidence_before_the_use_case_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    eval_file, _ = _files(tmp_path)
    service = Interviews()
    service.start("e:3", use_case="", by="dana")
    turns = service.add_evidence("e:3", measure_path(eval_file), by="ana")
    assert "use case first" in _said(turns)
    assert service.profile("e:3") is None


def test_a_typed_figure_after_the_file_does_not_replace_the_measured_one(tmp_path: Path) -> None:
    eval_file, _ = _files(tmp_path)
    service = Interviews()
    turns = service.start("e:5", use_case="Route support tickets to 12 queues", by="dana")
    turns = service.add_evidence("e:5", measure_path(eval_file), by="ana")
    for _ in range(12):  # the eval question is still asked: the file cannot know the target
        q = _question(turns)
        if q.id == "eval" and not q.confirm:
            break
        turns = service.reply("e:5", ROUTER[q.id] if not q.confirm else "yes", by="dana")
    turns = service.reply("e:5", "600 items, 75% now, need 95%", by="dana")
    if _question(turns).confirm:
        turns = service.reply("e:5", "yes", by="dana")
    profile = service.profile("e:5")
    assert profile is not None
    assert (profile.eval_set_size, profile.baseline_score) == (400, 0.82)  # measured stays
    assert profile.target_score == 0.95  # what the file could not know is taken
    assert "Kept eval set size 400 and best prompt score 82% as measured from `eval.csv`" in (
        _said(turns)
    )
    # a change names the file to share instead, and changes nothing
    turns = service.reply("e:5", "change eval set size to 650", by="dana")
    assert "Share a newer file to change a measured figure" in _said(turns)
    assert service.profile("e:5").eval_set_size == 400  # type: ignore[union-attr]
    memo, _ = _to_memo(service, "e:5", turns)
    stored = service.store.get_memo(memo.memo_id)
    assert stored is not None
    evidence = _section(stored.markdown, "Evidence: measured and stated")
    assert "**Contradicted:** eval set size stated as 650 by dana; measured 400." in evidence
    assert "best prompt score stated as 75%" in evidence


def test_a_question_half_settled_by_a_file_asks_only_for_the_rest(tmp_path: Path) -> None:
    eval_file, _ = _files(tmp_path)
    service = Interviews()
    turns = service.start("e:6", use_case="Route support tickets to 12 queues", by="dana")
    turns = service.add_evidence("e:6", measure_path(eval_file), by="ana")
    for _ in range(12):
        q = _question(turns)
        if q.id == "eval" and not q.confirm:
            break
        turns = service.reply("e:6", ROUTER[q.id] if not q.confirm else "yes", by="dana")
    assert q.hint == (
        "Already known: eval set size 400, best prompt score 82% (measured from `eval.csv`). "
        "Only this is still needed: what score do you need?"
    )
    turns = service.reply("e:6", "95", by="dana")  # a bare number is the one thing asked
    profile = service.profile("e:6")
    assert profile is not None and profile.target_score == 0.95
    assert (profile.eval_set_size, profile.baseline_score) == (400, 0.82)
    assert _question(turns).id != "eval"


def test_a_question_back_with_the_answer_after_it_gets_both() -> None:
    service = Interviews()
    turns = service.start("e:7", use_case="Route support tickets to 12 queues", by="dana")
    for _ in range(12):
        q = _question(turns)
        if q.id == "eval" and not q.confirm:
            break
        turns = service.reply("e:7", ROUTER[q.id] if not q.confirm else "yes", by="dana")
    turns = service.reply("e:7", "whats an eval set? so no", by="dana")
    said = _said(turns)
    assert "eval" in said.lower()  # the question is answered ...
    profile = service.profile("e:7")
    assert profile is not None and profile.eval_set_size == 0  # ... and the "no" kept
    assert _question(turns).id != "eval"
