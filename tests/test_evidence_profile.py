"""What a measured file settles in the profile (DESIGN.md section 8), and the one line the
terminal or thread shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from evidence_files import chat, eval_rows, training_rows, write_csv, write_jsonl

from graph.evidence import (
    EvalEvidence,
    TrainingEvidence,
    labels_clean,
    measure_path,
    profile_evidence,
)
from graph.profile import Profile, merge


def test_an_eval_file_sets_the_eval_size_and_baseline(tmp_path: Path) -> None:
    result = measure_path(write_csv(tmp_path / "eval.csv", eval_rows()))
    assert isinstance(result, EvalEvidence)
    found = profile_evidence(result)
    assert found.values == {"eval_set_size": 400, "baseline_score": pytest.approx(0.82)}
    billing = (result.per_label or {})["billing"].f1
    assert found.summary == (
        "Measured from eval.csv: 400 items, 82.0 % exact match; "
        f"per-label F1 lowest on 'billing' ({billing:.2f})"
    )
    assert found.source == f"measured from `eval.csv`, sha256 {result.sha256[:8]}, 400 items"
    assert (found.risks, found.questions) == ([], {})
    profile, records = merge(
        Profile(use_case="route tickets"),
        found.values,
        by=found.source,
        at="2026-12-02T10:00:00Z",
        said=found.summary,
    )
    assert (profile.eval_set_size, profile.baseline_score) == (400, pytest.approx(0.82))
    assert {r.field for r in records} == {"eval_set_size", "baseline_score"}


def test_a_training_file_with_personal_data_raises_a_risk_and_asks_about_clearance(
    tmp_path: Path,
) -> None:
    pairs, answers = training_rows()
    result = measure_path(write_jsonl(tmp_path / "train.jsonl", [chat(i, o) for i, o in pairs]))
    assert isinstance(result, TrainingEvidence)
    found = profile_evidence(result)
    # 65 of 3,000 (2.2 %) are duplicates, conflicts or empty: between 2 % and 10 %, so asked
    assert found.values == {"labeled_examples": 3000}
    assert set(found.questions) == {"labels_clean", "data_cleared"}
    assert (
        "30 duplicates, 20 conflicting inputs and 15 empty outputs"
        in found.questions["labels_clean"]
    )
    assert "email addresses in 12 rows" in found.questions["data_cleared"]
    assert len(found.risks) == 1 and "holds personal data" in found.risks[0]
    assert found.summary.startswith(
        "Measured from train.jsonl: 3,000 examples, 2,950 unique inputs; 2.2 % duplicates, "
        "conflicts or empty outputs; personal data found (email addresses, phone numbers"
    )
    shown = found.summary + " ".join(found.risks) + " ".join(found.questions.values())
    assert not any(value in shown for value in answers["values"])
    merge(Profile(use_case="route tickets"), found.values, by=found.source, at="now")


def _training(tmp_path: Path, examples: int, flawed: int) -> TrainingEvidence:
    rows = [{"prompt": f"q{n}", "completion": "a"} for n in range(examples - flawed)]
    rows += [{"prompt": f"e{n}", "completion": ""} for n in range(flawed)]
    result = measure_path(write_jsonl(tmp_path / f"t{examples}-{flawed}.jsonl", rows))
    assert isinstance(result, TrainingEvidence)
    return result


@pytest.mark.parametrize(
    ("flawed", "clean"), [(0, True), (20, True), (21, None), (100, None), (101, False)]
)
def test_labels_are_clean_up_to_2_percent_unclean_above_10_and_asked_between(
    tmp_path: Path, flawed: int, clean: bool | None
) -> None:
    result = _training(tmp_path, 1000, flawed)
    assert labels_clean(result) is clean
    found = profile_evidence(result)
    assert found.values.get("labels_clean") is clean
    assert ("labels_clean" in found.questions) is (clean is None)
    assert any("not clean" in risk for risk in found.risks) is (clean is False)


def test_no_personal_data_found_settles_nothing_about_clearance(tmp_path: Path) -> None:
    found = profile_evidence(_training(tmp_path, 100, 0))
    assert "data_cleared" not in found.values and "data_cleared" not in found.questions
    assert found.values == {"labeled_examples": 100, "labels_clean": True}


def test_unreadable_rows_are_mentioned_in_the_summary(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"expected": "a", "predicted": "a"}\nnot json\n', encoding="utf-8")
    found = profile_evidence(measure_path(path))
    assert found.summary == (
        "Measured from e.jsonl: 1 item, 100.0 % exact match (1 unreadable row left out)"
    )
