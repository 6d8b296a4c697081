"""``advisor evidence check``: the report and the JSON object, and a clear one-line refusal
(exit 2) for every file it cannot use: binary, too large, not UTF-8, not a regular file, a
directory, a symlink, of no known shape. Personal data never appears in what it prints."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from evidence_files import chat, eval_rows, training_rows, write_csv, write_jsonl

from bot.cli import cli
from graph.evidence import MAX_BYTES, EvidenceRefused, measure_bytes, measure_path
from graph.evidence.reading import read_bytes_limited


def check(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["evidence", "check", *args], input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def refused(path: Path | str) -> str:
    """The one line ``check`` prints for a file it cannot use."""
    code, out, err = check(str(path))
    assert (code, out) == (2, "")
    assert err.startswith(f"Error: cannot use {path}: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.strip()


def test_check_prints_the_report_and_json_prints_the_contract_object(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "eval.csv", eval_rows())
    code, out, _ = check(str(path))
    assert code == 0 and out.startswith("eval.csv (eval, sha256 ") and "82.0 % exact match" in out
    code, out, _ = check(str(path), "--json")
    data = json.loads(out)
    assert code == 0 and data == measure_path(path).contract()
    assert data["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (data["kind"], data["file"], data["items"], data["score"]) == (
        "eval",
        "eval.csv",
        400,
        pytest.approx(0.82),
    )


def test_a_dash_reads_the_file_from_standard_input(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "eval.csv", eval_rows()).read_bytes()
    code, out, _ = check("-", "--json", stdin=data)
    assert code == 0 and json.loads(out)["file"] == "stdin" and json.loads(out)["items"] == 400


def test_no_personal_value_is_ever_printed(tmp_path: Path) -> None:
    pairs, answers = training_rows()
    path = write_jsonl(tmp_path / "train.jsonl", [chat(i, o) for i, o in pairs])
    printed = check(str(path))[1] + check(str(path), "--json")[1]
    assert "email addresses in 12 rows" in printed and '"payment_card"' in printed
    for value in answers["values"]:
        for piece in (value, value.replace(" ", "").replace("-", "")):
            assert piece not in printed


# --- files it cannot use ------------------------------------------------------------------

NOT_USABLE = {
    "png.csv": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks binary (contains NUL bytes)"),
    "latin1.csv": ("expected,predicted\ncaf\xe9,café\n".encode("latin-1"), "is not UTF-8 text"),
    "utf16.csv": ("expected,predicted\na,a\n".encode("utf-16"), "is UTF-16 or UTF-32 text"),
    "empty.jsonl": (b"", "is empty"),
    "blank.csv": (b"\n  \n\t\n", "is empty"),
    "cut.jsonl": (b'{"prompt": "caf\xc3', "is not UTF-8 text (it ends mid-character)"),
}


@pytest.mark.parametrize("name", list(NOT_USABLE))
def test_a_file_that_is_not_utf8_text_is_refused_in_one_line(tmp_path: Path, name: str) -> None:
    data, reason = NOT_USABLE[name]
    path = tmp_path / name
    path.write_bytes(data)
    assert reason in refused(path)


def test_a_file_of_no_known_shape_names_its_columns_and_what_would_work(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "labels.csv", [{"text": "hi", "category": "greeting"}])
    line = refused(path)
    assert "has columns 'text', 'category': not a shape advisor knows" in line
    assert "expected/label/gold/target/reference" in line and "prompt+completion" in line
    jsonl = write_jsonl(tmp_path / "t.jsonl", [{"question": "q", "answer": "a"}])
    assert "has keys 'question', 'answer'" in refused(jsonl)


def test_a_csv_without_a_header_row_is_refused_without_echoing_its_data(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("ana@example.com,+44 20 7946 0958\nbo@example.com,x\n", encoding="utf-8")
    line = refused(path)
    assert "a first row that is not a header of column names" in line
    assert "example.com" not in line and "7946" not in line


def test_a_file_with_no_usable_row_is_refused_naming_the_first_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text("{oops\n[1]\n", encoding="utf-8")
    assert "has no record advisor could read (row 1: not valid JSON" in refused(path)
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps({"data": [{"input": "q", "output": "a"}]}, indent=2))
    assert refused(pretty).endswith(
        "if it is one JSON object over many lines, give JSONL or a JSON list"
    )
    header_only = tmp_path / "header.csv"
    header_only.write_text("expected,predicted\n", encoding="utf-8")
    assert refused(header_only).endswith("has no row advisor could use")


def test_a_directory_a_missing_file_and_a_device_are_refused(tmp_path: Path) -> None:
    assert refused(tmp_path).endswith("is a directory; name one file")
    assert refused(tmp_path / "nope.csv").endswith("no such file")
    assert "is not a regular file" in refused("/dev/null")


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "eval.csv"
    os.mkfifo(fifo)
    assert "is not a regular file" in refused(fifo)


def test_a_symlink_is_refused_even_to_a_good_file(tmp_path: Path) -> None:
    target = write_csv(tmp_path / "eval.csv", eval_rows())
    secret = tmp_path / "outside" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text("expected,predicted\na,a\n", encoding="utf-8")
    for name, points_to in (("link.csv", target), ("escape.csv", secret)):
        link = tmp_path / name
        link.symlink_to(points_to)
        assert "is a symbolic link; name the file it points to" in refused(link)
    assert check(str(target))[0] == 0  # the file itself, named, is fine


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.jsonl"
    with huge.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: nothing is written, nothing must be read
    assert refused(huge).endswith("too large (50,000,001 bytes; the limit is 50 MB)")


def test_a_configured_cap_applies_to_paths_bytes_and_standard_input(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "eval.csv", eval_rows())
    size = path.stat().st_size
    assert measure_path(path, max_bytes=size).items == 400  # exactly at the cap is fine
    with pytest.raises(EvidenceRefused, match=r"^too large \(\d[\d,]* bytes; the limit is 1,000"):
        measure_path(path, max_bytes=1000)
    with pytest.raises(EvidenceRefused, match="too large"):
        measure_bytes(path.read_bytes(), "eval.csv", max_bytes=size - 1)
    with pytest.raises(EvidenceRefused, match="too large"):
        read_bytes_limited(io.BytesIO(path.read_bytes()), size - 1)


def test_a_deeply_nested_record_is_a_problem_row_not_a_crash(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    good = json.dumps({"input": "b", "output": "c"})
    jsonl = tmp_path / "deep.jsonl"
    jsonl.write_text(f'{{"input": {deep}, "output": "a"}}\n{good}\n', encoding="utf-8")
    result = measure_path(jsonl)
    assert (result.rows, [(p.row, p.reason) for p in result.problems]) == (
        2,
        [(1, "nested too deeply to read")],
    )
    listed = tmp_path / "deep.json"
    listed.write_text(f'[{good}, {{"input": {deep}, "output": "a"}}, {good}]', encoding="utf-8")
    result = measure_path(listed)
    assert result.problems[0].row == 2 and "nested too deeply" in result.problems[0].reason


# --- what it accepts ----------------------------------------------------------------------------


def test_a_byte_order_mark_tabs_semicolons_and_crlf_are_read(tmp_path: Path) -> None:
    for name, text in (
        ("bom.csv", "\ufeffExpected,Predicted\r\na,a\r\nb,c\r\n"),
        ("tabs.tsv", "expected\tpredicted\na\ta\nb\tc\n"),
        ("semi.csv", "expected;predicted\na;a\nb;c\n"),
        (
            "crlf.jsonl",
            '{"expected": "a", "predicted": "a"}\r\n{"expected": "b", "predicted": "c"}',
        ),
        (
            "bom.json",
            '\ufeff[{"expected": "a", "predicted": "a"}, {"expected": "b", "predicted": 1}]',
        ),
    ):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        result = measure_path(path)
        assert (result.items, result.problems, result.score) == (2, [], 0.5), name
