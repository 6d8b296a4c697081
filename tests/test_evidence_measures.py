"""What ``graph.evidence`` measures in eval and training files, checked against answers the
tests planted and, for precision/recall/F1, against scikit-learn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from evidence_files import (
    EVAL_PLAN,
    chat,
    eval_rows,
    training_rows,
    write_csv,
    write_json_list,
    write_jsonl,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, precision_recall_fscore_support

from graph.evidence import (
    EvalEvidence,
    TrainingEvidence,
    describe,
    measure_bytes,
    measure_path,
    weakest_labels,
)

WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "json": write_json_list}


def measure_eval(path: Path) -> EvalEvidence:
    result = measure_path(path)
    assert isinstance(result, EvalEvidence)
    return result


def measure_training(path: Path) -> TrainingEvidence:
    result = measure_path(path)
    assert isinstance(result, TrainingEvidence)
    return result


# --- eval files ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_an_eval_of_400_items_with_328_right_scores_82_percent_in_every_format(
    tmp_path: Path, fmt: str
) -> None:
    path = WRITERS[fmt](tmp_path / f"eval.{fmt}", eval_rows())
    result = measure_eval(path)
    assert (result.rows, result.items, result.problems) == (400, 400, [])
    assert result.score == pytest.approx(0.82)
    assert result.scored_by == "exact_match"
    assert {k: v.support for k, v in (result.per_label or {}).items()} == {
        label: support for label, (support, _) in EVAL_PLAN.items()
    }


def test_per_label_precision_recall_f1_match_scikit_learn(tmp_path: Path) -> None:
    rows = eval_rows()
    result = measure_eval(write_csv(tmp_path / "eval.csv", rows))
    gold = [str(r["expected"]).strip().casefold() for r in rows]
    guess = [str(r["predicted"]).strip().casefold() for r in rows]
    labels = sorted(set(gold))  # "other" is predicted but never expected: not a label
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, guess, labels=labels, zero_division=0
    )
    assert result.per_label is not None
    for n, label in enumerate(labels):
        scores = result.per_label[label]
        assert scores.precision == pytest.approx(precision[n])
        assert scores.recall == pytest.approx(recall[n])
        assert scores.f1 == pytest.approx(f1[n])
        assert scores.support == support[n]
    macro = f1_score(gold, guess, labels=labels, average="macro", zero_division=0)
    assert result.macro_f1 == pytest.approx(macro)
    # billing: 24 right of 40, and 16 account tickets wrongly called billing
    assert weakest_labels(result, 1)[0][0] == "billing"
    assert result.per_label["billing"].precision == pytest.approx(24 / 40)


def test_the_terminal_report_of_an_eval_is_one_friendly_line(tmp_path: Path) -> None:
    result = measure_eval(write_csv(tmp_path / "eval.csv", eval_rows()))
    billing = (result.per_label or {})["billing"]
    assert describe(result) == (
        f"eval.csv (eval, sha256 {result.sha256[:8]}…): 400 items, 82.0 % exact match; "
        f"macro-F1 {result.macro_f1:.2f}; lowest F1 'billing' {billing.f1:.2f} (support 40)"
    )


@pytest.mark.parametrize(
    ("expected", "predicted"),
    [
        ("label", "output"),
        ("gold", "prediction"),
        ("reference", "model_output"),
        ("Target", "Predicted"),
    ],
)
def test_every_expected_and_prediction_column_name_is_recognised(
    tmp_path: Path, expected: str, predicted: str
) -> None:
    rows = [
        {"q": r["input"], expected: r["expected"], predicted: r["predicted"]} for r in eval_rows()
    ]
    result = measure_eval(write_jsonl(tmp_path / "eval.jsonl", rows))
    assert (result.items, result.score) == (400, pytest.approx(0.82))


def test_a_per_item_score_is_averaged_and_labels_still_get_f1(tmp_path: Path) -> None:
    rows = [{**r, "score": 0.5 if n % 2 else 1} for n, r in enumerate(eval_rows())]
    result = measure_eval(write_csv(tmp_path / "judged.csv", rows))
    assert result.scored_by == "score"
    assert result.score == pytest.approx(0.75)  # the judge's mean, not exact match
    assert result.per_label is not None and result.per_label["billing"].support == 40
    assert "mean score 0.75" in describe(result)


def test_a_correct_column_of_true_and_false_is_the_share_right(tmp_path: Path) -> None:
    flags = ["true", "False", "1", "0", "yes"]
    rows = [{"question": f"q{n}", "correct": flags[n % 5]} for n in range(100)]
    result = measure_eval(write_csv(tmp_path / "graded.csv", rows))
    assert (result.items, result.score, result.per_label) == (100, pytest.approx(0.6), None)
    assert describe(result).endswith("100 items, 60.0 % correct")
    booleans = [{"correct": n % 4 != 0} for n in range(40)]
    assert measure_eval(write_jsonl(tmp_path / "graded.jsonl", booleans)).score == 0.75


def test_scores_outside_0_to_1_are_problems_by_row(tmp_path: Path) -> None:
    rows = [
        {"id": 1, "score": 0.9},
        {"id": 2, "score": 4},
        {"id": 3, "score": "n/a"},
        {"id": 4, "score": ""},
        {"id": 5, "score": 0.1},
    ]
    result = measure_eval(write_csv(tmp_path / "judge.csv", rows))
    assert (result.rows, result.items, result.score) == (5, 2, pytest.approx(0.5))
    assert [(p.row, p.reason) for p in result.problems] == [
        (2, "'score' is 4, outside 0 to 1"),
        (3, "'score' is not a number from 0 to 1"),
        (4, "'score' is empty"),
    ]


def test_more_than_50_distinct_expected_values_give_no_per_label_table(tmp_path: Path) -> None:
    rows = [
        {"expected": f"answer {n}", "predicted": f"Answer {n}" if n % 5 else "?"} for n in range(60)
    ]
    result = measure_eval(write_jsonl(tmp_path / "free.jsonl", rows))
    assert (result.score, result.per_label, result.macro_f1) == (pytest.approx(0.8), None, None)
    fifty = measure_eval(write_jsonl(tmp_path / "fifty.jsonl", rows[:50]))
    assert fifty.per_label is not None and len(fifty.per_label) == 50


def test_an_eval_row_without_an_expected_value_is_a_problem_not_a_wrong_answer(
    tmp_path: Path,
) -> None:
    rows = [
        {"expected": "a", "predicted": "a"},
        {"expected": "  ", "predicted": "a"},
        {"predicted": "b"},
        {"expected": "b", "predicted": None},
        {"expected": "b"},
    ]
    result = measure_eval(write_jsonl(tmp_path / "gaps.jsonl", rows))
    assert (result.items, result.score) == (2, 0.5)  # a null prediction is a wrong answer
    assert [(p.row, p.reason) for p in result.problems] == [
        (2, "'expected' is empty"),
        (3, "has no 'expected' field"),
        (5, "has no 'predicted' field"),
    ]


# --- training files -------------------------------------------------------------------------

MEASURES = ("examples", "unique_inputs", "duplicates", "conflicts", "empty_outputs")


def _training_file(tmp_path: Path, shape: str) -> tuple[Path, dict[str, Any]]:
    pairs, answers = training_rows()
    if shape == "chat":
        path = write_jsonl(tmp_path / "train.jsonl", [chat(i, o) for i, o in pairs])
    elif shape == "prompt_completion":
        rows = [{"prompt": i, "completion": o} for i, o in pairs]
        path = write_csv(tmp_path / "train.csv", rows)
    else:
        path = write_json_list(
            tmp_path / "train.json", [{"input": i, "output": o} for i, o in pairs]
        )
    return path, answers


@pytest.mark.parametrize("shape", ["chat", "prompt_completion", "input_output"])
def test_a_3000_row_training_file_finds_every_planted_flaw(tmp_path: Path, shape: str) -> None:
    path, answers = _training_file(tmp_path, shape)
    result = measure_training(path)
    assert result.form == shape
    assert {m: getattr(result, m) for m in MEASURES} == {m: answers[m] for m in MEASURES}
    assert (result.rows, result.problems) == (3000, [])
    assert result.label_counts == answers["label_counts"]
    counts = list((result.label_counts or {}).values())
    assert counts == sorted(counts, reverse=True)  # most common first
    found = {k: v.model_dump() for k, v in result.personal_data.items()}
    assert found == answers["personal_data"]  # invalid cards, IBANs and SSNs not counted


def test_the_training_report_says_what_is_wrong_and_never_the_values(tmp_path: Path) -> None:
    path, answers = _training_file(tmp_path, "chat")
    result = measure_training(path)
    text = describe(result)
    assert text.splitlines()[0] == (
        f"train.jsonl (training, sha256 {result.sha256[:8]}…): 3,000 examples, 2,950 unique "
        "inputs; 30 duplicates, 20 conflicting inputs, 15 empty outputs (2.2 % of examples); "
        "6 distinct outputs"
    )
    assert (
        "email addresses in 12 rows (rows 101, 102, 103, 104, 105, 106, 107, 108, 109, "
        "110, …)" in text
    )
    assert "payment card numbers in 5 rows (rows 301, 302, 303, 304, 305)" in text
    dumped = json.dumps(result.contract())
    for value in answers["values"]:
        for piece in (value, value.replace(" ", "").replace("-", "")):
            assert piece not in text and piece not in dumped


def test_chat_records_in_the_anthropic_and_bedrock_shapes_are_read(tmp_path: Path) -> None:
    records = [
        # Anthropic / Claude on Bedrock: a top-level system prompt beside the messages
        {
            "system": "Be brief.",
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
            ],
        },
        # Bedrock conversation schema: content as a list of text blocks
        {
            "schemaVersion": "bedrock-conversation-2024",
            "system": [{"text": "Be brief."}],
            "messages": [
                {"role": "user", "content": [{"text": "hi"}]},
                {"role": "assistant", "content": [{"text": "hello"}]},
            ],
        },
        # OpenAI: the system prompt as the first message; a multi-turn example learns its
        # last assistant turn; a tool call is an output even with no text
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"type": "function", "function": {"name": "weather", "arguments": "{}"}}
                    ],
                },
            ]
        },
        {"messages": [{"role": "user", "content": "only a question"}]},
        {"messages": [{"content": "no role"}]},
        {"messages": "not a list"},
    ]
    result = measure_training(write_jsonl(tmp_path / "mixed.jsonl", records))
    assert (result.rows, result.examples, result.empty_outputs) == (6, 3, 0)
    # the first two are the same example written two ways: one input, one output
    assert (result.unique_inputs, result.duplicates) == (2, 1)
    assert [(p.row, p.reason) for p in result.problems] == [
        (4, "has no assistant message to learn from"),
        (5, "message 1 has no role"),
        (6, "'messages' is not a JSON list of messages"),
    ]


def test_a_duplicate_needs_the_same_input_and_output_exactly(tmp_path: Path) -> None:
    rows = [
        {"prompt": "a", "completion": "x"},
        {"prompt": "a", "completion": "x"},  # duplicate
        {"prompt": "a", "completion": "X"},  # another output: a conflict, not a duplicate
        {"prompt": "a", "completion": "X"},  # duplicate of the row before
        {"prompt": "a ", "completion": "x"},  # another input
        {"prompt": "b", "completion": ""},  # empty output, not counted as a label
        {"prompt": "b", "completion": "  "},  # empty again: counted once per row
    ]
    result = measure_training(write_jsonl(tmp_path / "t.jsonl", rows))
    assert (result.examples, result.unique_inputs, result.duplicates) == (7, 3, 2)
    assert (result.conflicts, result.empty_outputs) == (1, 2)
    assert result.label_counts == {"x": 3, "X": 2}


def test_free_text_outputs_have_no_label_counts(tmp_path: Path) -> None:
    rows = [{"input": f"q{n}", "output": f"answer number {n}"} for n in range(51)]
    assert measure_training(write_jsonl(tmp_path / "t.jsonl", rows)).label_counts is None
    fifty = measure_training(write_jsonl(tmp_path / "f.jsonl", rows[:50]))
    assert fifty.label_counts is not None and len(fifty.label_counts) == 50


def test_a_label_that_holds_personal_data_is_withheld(tmp_path: Path) -> None:
    rows = [
        {"input": f"who is {n}", "output": ["ana@example.com", "sales", "sales"][n % 3]}
        for n in range(9)
    ]
    result = measure_training(write_jsonl(tmp_path / "t.jsonl", rows))
    assert result.label_counts == {"sales": 6, "(label 1 withheld: it holds personal data)": 3}
    eval_rows_ = [
        {"expected": "ana@example.com", "predicted": "ana@example.com"},
        {"expected": "sales", "predicted": "sales"},
    ]
    evaluated = measure_eval(write_jsonl(tmp_path / "e.jsonl", eval_rows_))
    assert "ana@example.com" not in json.dumps(evaluated.contract()) + describe(evaluated)


# --- rows that cannot be read -------------------------------------------------------------


def test_malformed_jsonl_lines_are_reported_by_line_and_the_rest_is_measured(
    tmp_path: Path,
) -> None:
    good = json.dumps({"prompt": "p", "completion": "c"})
    lines = [
        good,
        '{"prompt": "p", "completion": ',
        good,
        "[1, 2]",
        "",
        good,
        json.dumps({"prompt": "only"}),
        good,
        '"text"',
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = measure_training(path)
    assert (result.rows, result.examples) == (8, 4)  # the blank line 5 is not a row
    assert [(p.row, p.reason) for p in result.problems] == [
        (2, "not valid JSON (Expecting value at column 31)"),
        (4, "is a list, not an object with named fields"),
        (7, "has no 'completion' field"),
        (9, "is a string, not an object with named fields"),
    ]
    assert "4 rows could not be read. Row 2: not valid JSON" in describe(result)


def test_csv_rows_with_the_wrong_number_of_fields_are_reported_by_record(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        'expected,predicted\r\na,a\r\nb,b,extra\r\n\r\nc\r\n"multi\nline",multi\r\nd,x\r\n',
        encoding="utf-8",
    )
    result = measure_eval(path)
    assert (result.rows, result.items) == (5, 3)
    assert [(p.row, p.reason) for p in result.problems] == [
        (2, "has 3 fields; the header has 2"),
        (3, "has 1 field; the header has 2"),
    ]
    assert result.score == pytest.approx(1 / 3)  # "multi\nline" != "multi", "d" != "x"


def test_a_json_list_cut_short_keeps_the_rows_before_the_break(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    body = json.dumps([{"input": f"q{n}", "output": "a"} for n in range(5)])
    path.write_text(body[: body.index('{"input": "q3"') + 8], encoding="utf-8")
    result = measure_training(path)
    assert (result.examples, result.rows) == (3, 4)
    assert result.problems[0].row == 4
    assert result.problems[0].reason.endswith("the rest of the file could not be read")


def test_problem_rows_are_listed_up_to_100_and_all_counted(tmp_path: Path) -> None:
    lines = [json.dumps({"input": "q", "output": "a"}) if n % 2 else "{oops" for n in range(400)]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = measure_training(path)
    assert (result.rows, result.examples, len(result.problems)) == (400, 200, 100)
    assert describe(result).splitlines()[-1].startswith("200 rows could not be read. Row 1:")
    assert "; and 195 more." in describe(result)


# --- files from Slack, and what the JSON says --------------------------------------------------


def test_bytes_from_a_download_measure_like_the_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "eval.csv", eval_rows())
    from_file = measure_path(path)
    from_bytes = measure_bytes(path.read_bytes(), "uploads/../../eval.csv\n")
    assert from_bytes.file == "eval.csv"  # a name to show, never a path to open
    assert from_bytes.model_dump() == from_file.model_dump()


def test_the_json_object_has_exactly_the_contract_keys_in_order(tmp_path: Path) -> None:
    evaluated = measure_path(write_csv(tmp_path / "eval.csv", eval_rows()))
    assert list(evaluated.contract()) == [
        "kind",
        "file",
        "sha256",
        "rows",
        "items",
        "score",
        "per_label",
        "macro_f1",
        "problems",
    ]
    pairs, _ = training_rows()
    trained = measure_path(write_jsonl(tmp_path / "t.jsonl", [chat(i, o) for i, o in pairs]))
    assert list(trained.contract()) == [
        "kind",
        "file",
        "sha256",
        "rows",
        "examples",
        "unique_inputs",
        "duplicates",
        "conflicts",
        "empty_outputs",
        "label_counts",
        "personal_data",
        "problems",
    ]


def test_personal_data_behind_json_escapes_is_still_found(tmp_path: Path) -> None:
    lines = [
        r'{"prompt": "mail ana\u0040example.com", "completion": "a"}',  # an escaped "@"
        r'{"prompt": "call\n4155552671\tnow", "completion": "b"}',  # escapes beside digits
        r'{"prompt": "IBAN\u003a DE89370400440532013000", "completion": "c"}',
        r'{"prompt": "nothing \"here\" 12 34", "completion": "d"}',
    ]
    for name in ("t.jsonl", "t.json"):
        path = tmp_path / name
        body = "\n".join(lines) if name.endswith("l") else "[" + ",\n".join(lines) + "]"
        path.write_text(body, encoding="utf-8")
        found = {k: v.rows for k, v in measure_training(path).personal_data.items()}
        assert found == {"email": [1], "phone": [2], "iban": [3]}, name


# --- against a plain reference, on data hypothesis makes ------------------------------------

TEXT = st.sampled_from(["a", "b", "B", " b", "c", "", "  ", "d e"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=60))
def test_duplicates_and_conflicts_match_a_plain_count(pairs: list[tuple[str, str]]) -> None:
    data = "".join(json.dumps({"input": i, "output": o}) + "\n" for i, o in pairs).encode()
    result = measure_bytes(data, "t.jsonl")
    assert isinstance(result, TrainingEvidence)
    filled = [(i, o) for i, o in pairs if o.strip()]
    outputs: dict[str, set[str]] = {}
    for i, o in filled:
        outputs.setdefault(i, set()).add(o)
    assert result.unique_inputs == len({i for i, _ in pairs})
    assert result.empty_outputs == len(pairs) - len(filled)
    assert result.duplicates == len(filled) - len(set(filled))
    assert result.conflicts == sum(1 for seen in outputs.values() if len(seen) > 1)


LABEL = st.sampled_from(["x", "y", "z", "X", " y ", "w"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(LABEL, LABEL), min_size=1, max_size=80))
def test_any_eval_matches_scikit_learn(pairs: list[tuple[str, str]]) -> None:
    rows = [{"expected": e, "predicted": p} for e, p in pairs]
    result = measure_bytes(json.dumps(rows).encode(), "e.json")
    assert isinstance(result, EvalEvidence) and result.per_label is not None
    gold = [e.strip().casefold() for e, _ in pairs]
    guess = [p.strip().casefold() for _, p in pairs]
    labels = sorted(set(gold))
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, guess, labels=labels, zero_division=0
    )
    by_key = {label.strip().casefold(): s for label, s in result.per_label.items()}
    for n, label in enumerate(labels):
        got = by_key[label]
        assert (got.precision, got.recall, got.f1, got.support) == (
            pytest.approx(precision[n]),
            pytest.approx(recall[n]),
            pytest.approx(f1[n]),
            support[n],
        )
    macro = f1_score(gold, guess, labels=labels, average="macro", zero_division=0)
    assert result.macro_f1 == pytest.approx(macro)
    assert result.score == pytest.approx(
        sum(g == p for g, p in zip(gold, guess, strict=True)) / len(gold)
    )
