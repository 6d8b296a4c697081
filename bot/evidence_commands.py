"""``advisor evidence check FILE [--json]``: measure an eval or training file (DESIGN.md
section 8). A thin command over ``graph.evidence``, imported only when the command runs so
``advisor`` starts as fast without it."""

from __future__ import annotations

import json
import sys

import click


class EvidenceUnusable(click.ClickException):
    """A file that cannot be used: one line, exit code 2, never a traceback."""

    exit_code = 2


@click.group("evidence")
def evidence() -> None:
    """Measure your eval results and training data from the files themselves.

    \b
      advisor evidence check eval.csv          score, per-label precision/recall/F1
      advisor evidence check train.jsonl       duplicates, conflicts, personal data
      advisor evidence check train.jsonl --json
    """


@evidence.command("check")
@click.argument("file", type=click.Path(dir_okay=True, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the measures as one JSON object.")
def check(file: str, as_json: bool) -> None:
    """Measure FILE: an eval (expected + predicted, or a per-item score/correct) or training
    data (chat messages, prompt + completion, or input + output), as a UTF-8 CSV with a
    header row, JSONL, or a JSON list of objects, up to 50 MB. - reads standard input.

    Personal data is reported by kind with row numbers, never the values.
    """
    from graph.evidence import MAX_BYTES, EvidenceRefused, describe, measure_bytes, measure_path
    from graph.evidence.reading import read_bytes_limited

    try:
        if file == "-":
            result = measure_bytes(read_bytes_limited(sys.stdin.buffer, MAX_BYTES), "stdin")
        else:
            result = measure_path(file)
    except EvidenceRefused as exc:
        raise EvidenceUnusable(f"cannot use {click.format_filename(file)}: {exc}") from None
    if as_json:
        click.echo(json.dumps(result.contract(), indent=2, ensure_ascii=False))
    else:
        click.echo(describe(result))
