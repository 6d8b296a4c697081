"""``advisor assess``: profiles in, assessments out, friendly errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from graph.cost import load_prices
from graph.policy import assess
from graph.profile import Profile

CLASSIFIER: dict[str, Any] = {
    "use_case": "Route support emails into one of 12 categories",
    "task_type": "classification",
    "problems": ["accuracy_plateau"],
    "task_stable": True,
    "techniques_tried": [
        "system_prompt",
        "few_shot",
        "structured_output",
        "chain_of_thought",
        "decomposition",
        "rag",
        "bigger_model",
    ],
    "eval_set_size": 400,
    "baseline_score": 0.82,
    "target_score": 0.95,
    "labeled_examples": 3000,
    "labels_clean": True,
    "data_cleared": True,
    "monthly_volume": 1000000,
    "knowledge_changes": "none",
    "cost_pressure": True,
    "retraining_owner": "Priya",
    "avg_input_tokens": 1500,
    "avg_output_tokens": 20,
}
QA_BOT: dict[str, Any] = {
    "use_case": "Answer staff questions about HR policy",
    "task_type": "question_answering",
    "problems": ["missing_knowledge"],
    "knowledge_changes": "often",
}


def run(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(cli, ["assess", *args], input=stdin)


def write(tmp_path: Path, data: Any, name: str = "profile.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_json_for_one_profile_is_one_assessment_object(tmp_path: Path) -> None:
    result = run(str(write(tmp_path, CLASSIFIER)), "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    expected = assess(Profile.model_validate(CLASSIFIER), load_prices()).model_dump(mode="json")
    assert printed == expected
    assert printed["approach"] == "fine_tuning"
    assert [q["id"] for q in printed["escalation_questions"]] == [
        "eval_ceiling",
        "ladder_tried",
        "clean_examples",
        "retraining_plan",
        "cost_delta",
    ]


def test_json_for_a_list_keeps_the_order(tmp_path: Path) -> None:
    result = run(str(write(tmp_path, [QA_BOT, CLASSIFIER, {"use_case": "x"}])), "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert [a["approach"] for a in printed] == ["rag", "fine_tuning", "prompt_engineering"]


def test_a_dash_reads_the_profile_from_stdin() -> None:
    result = run("-", "--json", stdin=json.dumps(QA_BOT))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["next_rung"] == "rag"


def test_the_summary_shows_approach_gates_questions_and_steps(tmp_path: Path) -> None:
    result = run(str(write(tmp_path, [CLASSIFIER, QA_BOT])))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "== Route support emails into one of 12 categories ==" in out
    assert "Approach: Fine-tuning" in out
    assert "Approach: Retrieval (RAG)" in out
    assert "Next rung: retrieval (RAG)" in out
    assert "✅ narrow_and_stable" in out
    assert "✅ 1. Which eval shows prompting cannot reach the target" in out
    assert "Your 400-item eval puts prompting at 82% against a 95% target." in out
    assert "❓ 5." in out  # the QA bot has no tokens or volume
    assert "Next steps:" in out and "  1. " in out


def test_a_team_held_back_only_by_unknowns_is_told_what_to_confirm(tmp_path: Path) -> None:
    # Issue 11's document classifier, before it said "too expensive": nothing fails, so
    # fine-tuning is open, and RAG (nothing lacking) is no rung for it.
    doc = {
        **CLASSIFIER,
        "use_case": "Classify incoming documents",
        "cost_pressure": None,
        "retraining_owner": None,
        "techniques_tried": CLASSIFIER["techniques_tried"][:5],
    }
    result = run(str(write(tmp_path, doc)))
    assert result.exit_code == 0, result.output
    assert "Approach: Prompt engineering" in result.output
    assert "Next rung: a bigger model" in result.output
    assert (
        "Fine-tuning justified: no, but it may be: confirm cost or latency pressure and the "
        "retraining owner"
    ) in result.output
    printed = json.loads(run(str(write(tmp_path, doc)), "--json").output)
    assert printed["next_rung"] == "bigger_model"
    assert printed["unknowns_in_the_way"] == ["latency_or_cost_pressure", "retraining_owner"]
    felt = json.loads(
        run(
            "-",
            "--json",
            stdin=json.dumps({**doc, "problems": ["too_expensive"], "retraining_owner": "Priya"}),
        ).output
    )
    assert felt["approach"] == "fine_tuning" and felt["unknowns_in_the_way"] == []


def test_a_prices_file_changes_the_cost(tmp_path: Path) -> None:
    cheap = (Path(__file__).parents[1] / "knowledge" / "prices.toml").read_text("utf-8")
    cheap = cheap.replace('as_of = "2026-11-20"', 'as_of = "2030-01-01"')
    prices = write(tmp_path, cheap, "prices.toml")
    result = run(str(write(tmp_path, CLASSIFIER)), "--json", "--prices", str(prices))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["cost"]["prices_as_of"] == "2030-01-01"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "non-empty list"),
        ("42", "one profile"),
        ("[1]", "profile 1: a profile must be a JSON object"),
        (json.dumps({"task_type": "classification"}), "use_case: required"),
        (json.dumps({"use_case": "x", "monthly_volume": -5}), "monthly_volume"),
        (json.dumps([QA_BOT, {"use_case": "x", "volume": 5}]), "profile 2"),
        (json.dumps({"use_case": "x", "task_type": "poetry"}), "task_type"),
    ],
)
def test_bad_input_gets_a_friendly_message_and_exit_code_2(
    tmp_path: Path, content: str, words: str
) -> None:
    result = run(str(write(tmp_path, content)))
    assert result.exit_code == 2
    assert words in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash


def test_a_bad_prices_file_is_a_friendly_error(tmp_path: Path) -> None:
    prices = write(tmp_path, "as_of = [", "prices.toml")
    result = run(str(write(tmp_path, QA_BOT)), "--prices", str(prices))
    assert result.exit_code == 2
    assert "not valid TOML" in result.output


def test_a_missing_file_is_a_usage_error() -> None:
    result = run("/no/such/profile.json")
    assert result.exit_code == 2
    assert "does not exist" in result.output or "No such file" in result.output
