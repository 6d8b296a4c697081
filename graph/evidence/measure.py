"""Measuring an eval or training file in one streaming pass (DESIGN.md section 8).

State per row is kept small so a 50 MB file never needs 50 MB of Python objects: inputs
and outputs are reduced to 64-bit digests for duplicate and conflict detection,
label tables stop growing at 51 distinct values (and are then dropped, as the contract
reports them only up to 50), and at most 100 unreadable rows and 10 row numbers per kind
of personal data are listed.
"""

from __future__ import annotations

import io
import os
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import IO, Any

from graph.evidence.personal import DEFAULT_REGION, KINDS, kinds_in, may_hold, strings
from graph.evidence.reading import (
    MAX_BYTES,
    EvidenceRefused,
    Record,
    Row,
    RowError,
    check,
    csv_header,
    display_name,
    open_path,
    path_name,
    records,
    too_large,
)
from graph.evidence.results import (
    FIRST_ROWS,
    MAX_PROBLEMS,
    EvalEvidence,
    LabelScores,
    PersonalDataFound,
    RowProblem,
    TrainingEvidence,
)
from graph.evidence.shapes import (
    EvalShape,
    Shape,
    TrainingShape,
    as_score,
    as_text,
    chat_pair,
    detect,
    field,
    recognised,
)

MAX_LABELS = 50
_BUCKETS = 256
_BUCKET_SHIFT = sys.hash_info.width - 8  # the digest's top byte picks the bucket
_MASK = (1 << sys.hash_info.width) - 1
_NAMES_SHOWN = 8
_ONE_OBJECT_HINT = "; if it is one JSON object over many lines, give JSONL or a JSON list"


def _digest(text: str) -> int:
    """A 64-bit digest of ``text``: Python's own string hash (SipHash, keyed per process),
    computed in C and cached on the string. Equal texts always match; two of a million
    distinct texts collide with odds of about 1 in 30 million, and the key is random per
    process (unless PYTHONHASHSEED fixes it), so a file cannot be built to collide."""
    return hash(text) & _MASK


def _withhold_personal(names: Iterable[str], region: str) -> dict[str, str]:
    """Label text -> the key to show: a label holding personal data is never shown."""
    shown: dict[str, str] = {}
    for number, name in enumerate(names, start=1):
        kinds = kinds_in(name, region)
        shown[name] = f"(label {number} withheld: it holds personal data)" if kinds else name
    return shown


class _Meter:
    def __init__(self, region: str) -> None:
        self.region = region
        self.problems: list[RowProblem] = []
        self.count = 0  # rows measured

    def problem(self, row: int, error: RowError) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(RowProblem(row=row, reason=error.message))

    def add(self, row: int, record: Record, raw: bytes | str | None) -> None:
        raise NotImplementedError


class EvalMeter(_Meter):
    """Items, the score, and per-label counts for precision/recall/F1."""

    def __init__(self, shape: EvalShape, region: str) -> None:
        super().__init__(region)
        self.shape = shape
        self.total = 0.0
        track = shape.expected is not None and shape.predicted is not None
        # normalised expected value -> [label as first written, support, true positives]
        self.labels: dict[str, list[Any]] | None = {} if track else None
        # One digest per labelled row's prediction; counted against the labels at the end,
        # since a prediction may name a label before any row expects it.
        self.predicted = array("Q")

    def add(self, row: int, record: Record, raw: bytes | str | None) -> None:
        shape = self.shape
        pair: tuple[str, str] | None = None
        if shape.expected is not None and shape.predicted is not None:
            expected, predicted = field(record, shape.expected), field(record, shape.predicted)
            gold = "" if isinstance(expected, RowError) else as_text(expected).strip()
            if shape.score is None:  # exact match: both are needed
                error = next((v for v in (expected, predicted) if isinstance(v, RowError)), None)
                if error is None and not gold:
                    error = RowError(f"'{shape.expected}' is empty")
                if error is not None:
                    self.problem(row, error)
                    return
            if gold and not isinstance(predicted, RowError):
                pair = (gold, as_text(predicted))
        if shape.score is not None:
            value = field(record, shape.score)
            score = value if isinstance(value, RowError) else as_score(value, shape.score)
            if isinstance(score, RowError):
                self.problem(row, score)
                return
            self.total += score
        self.count += 1
        if pair is not None:
            gold_key, guess_key = pair[0].casefold(), pair[1].strip().casefold()
            if shape.score is None:
                self.total += gold_key == guess_key
            if self.labels is not None:
                self._count_label(pair[0], gold_key, guess_key)

    def _count_label(self, gold: str, gold_key: str, guess_key: str) -> None:
        assert self.labels is not None
        entry = self.labels.get(gold_key)
        if entry is None:
            if len(self.labels) == MAX_LABELS:  # too many to report: stop counting
                self.labels, self.predicted = None, array("Q")
                return
            entry = self.labels[gold_key] = [gold, 0, 0]
        entry[1] += 1
        entry[2] += gold_key == guess_key
        self.predicted.append(_digest(guess_key))

    def result(self, name: str, sha256: str, rows: int) -> EvalEvidence:
        per_label: dict[str, LabelScores] | None = None
        macro: float | None = None
        if self.labels:
            digests = {_digest(key): key for key in self.labels}
            guessed = Counter(digests[d] for d in self.predicted if d in digests)
            shown = _withhold_personal((e[0] for e in self.labels.values()), self.region)
            per_label = {}
            for key, (label, support, hits) in self.labels.items():
                precision = hits / guessed[key] if guessed[key] else 0.0
                recall = hits / support
                f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
                per_label[shown[label]] = LabelScores(
                    precision=precision, recall=recall, f1=f1, support=support
                )
            macro = sum(s.f1 for s in per_label.values()) / len(per_label)
        return EvalEvidence(
            file=name,
            sha256=sha256,
            rows=rows,
            items=self.count,
            score=self.total / self.count,
            per_label=per_label,
            macro_f1=macro,
            problems=self.problems,
            scored_by=self.shape.scored_by,
        )


class TrainingMeter(_Meter):
    """Examples, unique inputs, duplicates, conflicts, empty outputs, labels, personal data.

    Each example leaves two 64-bit digests (input, output; 0 = empty output) in one of 256
    arrays chosen by the input digest's top byte: 16 bytes a row and no Python object per
    row. Duplicates and conflicts are counted at the end, one array pair at a time, so only
    about 1/256 of the inputs are ever held in a dict at once."""

    def __init__(self, shape: TrainingShape, region: str) -> None:
        super().__init__(region)
        self.shape = shape
        self.empty = 0
        self.inputs = [array("Q") for _ in range(_BUCKETS)]
        self.outputs = [array("Q") for _ in range(_BUCKETS)]
        self.labels: Counter[str] | None = Counter()
        self.personal: dict[str, tuple[int, list[int]]] = {}

    def add(self, row: int, record: Record, raw: bytes | str | None) -> None:
        if raw is None or may_hold(raw):
            self._scan(row, record)
        shape = self.shape
        if shape.output is None:
            pair = chat_pair(record, shape)
            if isinstance(pair, RowError):
                self.problem(row, pair)
                return
        elif shape.input in record and shape.output in record:
            given, wanted = record[shape.input], record[shape.output]
            pair = (
                given if type(given) is str else as_text(given),
                wanted if type(wanted) is str else as_text(wanted),
            )
        else:
            missing = shape.input if shape.input not in record else shape.output
            self.problem(row, RowError(f"has no '{missing}' field"))
            return
        self.count += 1
        source, output = _digest(pair[0]), pair[1]
        bucket = source >> _BUCKET_SHIFT
        self.inputs[bucket].append(source)
        if not output.strip():
            self.empty += 1
            self.outputs[bucket].append(0)
            return
        self.outputs[bucket].append(_digest(output) | 1)  # never 0, the empty mark
        if self.labels is not None:
            if output not in self.labels and len(self.labels) == MAX_LABELS:
                self.labels = None  # free text, not labels
            else:
                self.labels[output] += 1

    def _scan(self, row: int, record: Record) -> None:
        for kind in kinds_in("\n".join(strings(record)), self.region):
            count, first = self.personal.get(kind, (0, []))
            if len(first) < FIRST_ROWS:
                first.append(row)
            self.personal[kind] = (count + 1, first)

    def _tally(self) -> tuple[int, int, int]:
        """(unique inputs, duplicates, conflicts), one bucket at a time, in file order."""
        unique = duplicates = conflicts = 0
        for inputs, outputs in zip(self.inputs, self.outputs, strict=True):
            first: dict[int, int] = {}  # input -> its first non-empty output, or 0
            more: dict[int, set[int]] = {}  # inputs seen with two or more distinct outputs
            for source, target in zip(inputs, outputs, strict=True):
                if not target:
                    first.setdefault(source, 0)
                    continue
                known = first.get(source, 0)
                if not known:
                    first[source] = target
                elif known == target:
                    duplicates += 1
                elif source not in more:
                    more[source] = {known, target}
                elif target in more[source]:
                    duplicates += 1
                else:
                    more[source].add(target)
            unique += len(first)
            conflicts += len(more)
        return unique, duplicates, conflicts

    def result(self, name: str, sha256: str, rows: int) -> TrainingEvidence:
        labels: dict[str, int] | None = None
        if self.labels is not None:
            shown = _withhold_personal(self.labels, self.region)
            labels = {shown[label]: n for label, n in self.labels.most_common()}
        unique, duplicates, conflicts = self._tally()
        return TrainingEvidence(
            file=name,
            sha256=sha256,
            rows=rows,
            examples=self.count,
            unique_inputs=unique,
            duplicates=duplicates,
            conflicts=conflicts,
            empty_outputs=self.empty,
            label_counts=labels,
            personal_data={
                kind: PersonalDataFound(count=self.personal[kind][0], rows=self.personal[kind][1])
                for kind in KINDS
                if kind in self.personal
            },
            problems=self.problems,
            form=self.shape.form,
        )


def _names(keys: Iterable[Any], region: str) -> str:
    """Column names for a refusal: quoted, but never a row of data that holds personal data."""
    names = [str(k).strip() for k in keys]
    if any(kinds_in(n, region) or len(n) > 40 for n in names):
        return "a first row that is not a header of column names"
    shown = ", ".join(f"'{n}'" for n in names[:_NAMES_SHOWN])
    more = f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else ""
    return f"columns {shown}{more}" if names else "no column names"


def _first_record(
    rows: Iterator[Row],
) -> tuple[list[tuple[int, RowError]], tuple[int, Record, bytes | str | None] | None]:
    """Unreadable rows before the first record, and that record."""
    skipped: list[tuple[int, RowError]] = []
    for row, value, raw in rows:
        if isinstance(value, RowError):
            skipped.append((row, value))
            continue
        return skipped, (row, value, raw)
    return skipped, None


def measure_stream(
    stream: IO[bytes], name: str, *, max_bytes: int = MAX_BYTES, region: str = DEFAULT_REGION
) -> EvalEvidence | TrainingEvidence:
    """Measure an open binary stream (seekable) shown as ``name``; see :func:`measure_path`."""
    checked = check(stream, max_bytes)
    rows = records(checked)
    skipped: list[tuple[int, RowError]] = []
    shape: Shape | None
    if checked.format == "csv":
        header = csv_header(checked)
        shape = detect(header)
        what = _names(header, region)
    else:
        skipped, first = _first_record(rows)
        if first is None:
            reason = f" (row {skipped[0][0]}: {skipped[0][1].message})" if skipped else ""
            hint = _ONE_OBJECT_HINT if checked.format == "jsonl" else ""
            raise EvidenceRefused(f"has no record advisor could read{reason}{hint}")
        shape = detect(first[1])
        what = "keys " + _names(first[1], region).removeprefix("columns ")
        rows = chain([first], rows)
    if shape is None:
        raise EvidenceRefused(f"has {what}: not a shape advisor knows ({recognised()})")
    meter: EvalMeter | TrainingMeter = (
        EvalMeter(shape, region) if isinstance(shape, EvalShape) else TrainingMeter(shape, region)
    )
    for row, error in skipped:
        meter.problem(row, error)
    total = len(skipped)
    for row, value, raw in rows:
        total += 1
        if isinstance(value, RowError):
            meter.problem(row, value)
        else:
            meter.add(row, value, raw)
    if meter.count == 0:
        first_problem = meter.problems[0] if meter.problems else None
        reason = f" (row {first_problem.row}: {first_problem.reason})" if first_problem else ""
        raise EvidenceRefused(f"has no row advisor could use{reason}")
    return meter.result(name, checked.sha256, total)


def measure_path(
    path: str | os.PathLike[str],
    *,
    max_bytes: int | None = None,
    region: str = DEFAULT_REGION,
) -> EvalEvidence | TrainingEvidence:
    """Measure the eval or training file at ``path``.

    Raises :class:`EvidenceRefused` (one line) when the file cannot be used: not a regular
    file, a symbolic link, over ``max_bytes`` (default 50 MB), binary, not UTF-8, empty, of
    no known shape, or with no usable row. ``region`` is the country whose phone numbers
    are recognised without a ``+`` prefix.
    """
    limit = MAX_BYTES if max_bytes is None else max_bytes
    with open_path(path, limit) as stream:
        before = os.fstat(stream.fileno())
        result = measure_stream(stream, path_name(path), max_bytes=limit, region=region)
        after = os.fstat(stream.fileno())
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise EvidenceRefused("changed while it was being read; try again once it is written")
    return result


def measure_bytes(
    data: bytes, name: str, *, max_bytes: int | None = None, region: str = DEFAULT_REGION
) -> EvalEvidence | TrainingEvidence:
    """Measure a file already in memory (e.g. downloaded from Slack); ``name`` is only
    shown, never opened. Refuses exactly as :func:`measure_path` does."""
    limit = MAX_BYTES if max_bytes is None else max_bytes
    if len(data) > limit:
        raise EvidenceRefused(too_large(len(data), limit))
    return measure_stream(io.BytesIO(data), display_name(name), max_bytes=limit, region=region)
