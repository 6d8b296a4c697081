"""What measuring a file found: the result models and how they read in a terminal.

:meth:`EvalEvidence.contract` / :meth:`TrainingEvidence.contract` give exactly the object
``advisor evidence check --json`` prints (DESIGN.md section 8); ``model_dump()`` keeps two
more fields (how the score was taken, which training shape) for a caller that stores the
result and reads it back.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from graph.evidence.personal import KIND_LABEL
from graph.evidence.shapes import ScoreSource, TrainingForm

MAX_PROBLEMS = 100  # rows listed in `problems`; the count is rows minus items/examples
FIRST_ROWS = 10  # row numbers kept per kind of personal data
_DETAILS = {"scored_by", "form"}  # kept in the model, not part of the section 8 object


class RowProblem(BaseModel):
    """A row that could not be read: its line in JSONL, its record number after the header
    in CSV, its element number in a JSON list (all from 1)."""

    model_config = ConfigDict(frozen=True)

    row: int
    reason: str


class LabelScores(BaseModel):
    model_config = ConfigDict(frozen=True)

    precision: float
    recall: float
    f1: float
    support: int


class PersonalDataFound(BaseModel):
    """How many rows hold one kind of personal data, and the first of them; never values."""

    model_config = ConfigDict(frozen=True)

    count: int
    rows: list[int]


class _Evidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    file: str
    sha256: str
    rows: int = Field(description="records in the file, read or not")
    problems: list[RowProblem] = Field(description=f"unreadable rows, the first {MAX_PROBLEMS}")

    def contract(self) -> dict[str, Any]:
        """The DESIGN.md section 8 object, exactly its keys, in its order: kind, file,
        sha256, rows, the measures, problems."""
        data = self.model_dump(mode="json", exclude=_DETAILS)
        head = {key: data.pop(key) for key in ("kind", "file", "sha256", "rows")}
        problems = data.pop("problems")
        return {**head, **data, "problems": problems}

    @property
    def short_sha(self) -> str:
        return self.sha256[:8]


class EvalEvidence(_Evidence):
    kind: Literal["eval"] = "eval"
    items: int
    score: float = Field(ge=0, le=1)
    per_label: dict[str, LabelScores] | None = Field(
        description="per expected value, when there are at most 50 of them"
    )
    macro_f1: float | None
    scored_by: ScoreSource = "exact_match"

    @property
    def unreadable(self) -> int:
        return self.rows - self.items


class TrainingEvidence(_Evidence):
    kind: Literal["training"] = "training"
    examples: int
    unique_inputs: int
    duplicates: int = Field(description="rows repeating an earlier row's input and output")
    conflicts: int = Field(description="distinct inputs seen with more than one output")
    empty_outputs: int
    label_counts: dict[str, int] | None = Field(
        description="output -> rows, when outputs take at most 50 distinct values"
    )
    personal_data: dict[str, PersonalDataFound] = Field(
        description="kind -> rows holding it; only kinds found"
    )
    form: TrainingForm = "input_output"

    @property
    def unclean(self) -> int:
        """Rows the labels_clean rule counts against the data."""
        return self.duplicates + self.conflicts + self.empty_outputs

    @property
    def unclean_share(self) -> float:
        return self.unclean / self.examples if self.examples else 0.0

    @property
    def unreadable(self) -> int:
        return self.rows - self.examples


Evidence = Annotated[EvalEvidence | TrainingEvidence, Field(discriminator="kind")]
EVIDENCE: TypeAdapter[EvalEvidence | TrainingEvidence] = TypeAdapter(Evidence)


def weakest_labels(result: EvalEvidence, n: int = 3) -> list[tuple[str, LabelScores]]:
    """The ``n`` labels with the lowest F1 (more items first on a tie): where a fine-tune or
    more few-shot examples should be checked first."""
    if not result.per_label:
        return []
    ranked = sorted(result.per_label.items(), key=lambda kv: (kv[1].f1, -kv[1].support, kv[0]))
    return ranked[:n]


def percent(share: float) -> str:
    return f"{share * 100:.1f} %"


def score_text(result: EvalEvidence) -> str:
    if result.scored_by == "exact_match":
        return f"{percent(result.score)} exact match"
    if result.scored_by == "correct":
        return f"{percent(result.score)} correct"
    return f"mean score {result.score:.2f}"


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def personal_text(found: dict[str, PersonalDataFound]) -> str:
    """'email addresses in 12 rows (rows 3, 18, 40, …); …': row numbers, never values."""
    parts = []
    for kind, hit in found.items():
        rows = ", ".join(str(r) for r in hit.rows) + (", …" if hit.count > len(hit.rows) else "")
        where = "row" if len(hit.rows) == 1 and hit.count == 1 else "rows"
        parts.append(f"{KIND_LABEL[kind]} in {plural(hit.count, 'row')} ({where} {rows})")
    return "; ".join(parts)


def problems_text(result: EvalEvidence | TrainingEvidence) -> str:
    """'2 rows could not be read. Row 7: not valid JSON (…); row 12: has no 'completion'.'"""
    shown = "; ".join(f"row {p.row}: {p.reason}" for p in result.problems[:5])
    more = result.unreadable - min(5, len(result.problems))
    tail = f"; and {more:,} more" if more > 0 else ""
    rows = plural(result.unreadable, "row")
    return f"{rows} could not be read. {shown[:1].upper()}{shown[1:]}{tail}"


def describe(result: EvalEvidence | TrainingEvidence) -> str:
    """The terminal report of ``advisor evidence check``: a headline and at most a few
    more lines (personal data, unreadable rows)."""
    head = f"{result.file} ({result.kind}, sha256 {result.short_sha}…): "
    lines: list[str] = []
    if isinstance(result, EvalEvidence):
        head += f"{plural(result.items, 'item')}, {score_text(result)}"
        if result.macro_f1 is not None:
            head += f"; macro-F1 {result.macro_f1:.2f}"
        weakest = weakest_labels(result, 1)
        if weakest and len(result.per_label or {}) > 1:
            label, scores = weakest[0]
            head += f"; lowest F1 '{label}' {scores.f1:.2f} (support {scores.support:,})"
    else:
        head += (
            f"{plural(result.examples, 'example')}, "
            f"{plural(result.unique_inputs, 'unique input')}; "
            f"{plural(result.duplicates, 'duplicate')}, "
            f"{plural(result.conflicts, 'conflicting input')}, "
            f"{plural(result.empty_outputs, 'empty output')} "
            f"({percent(result.unclean_share)} of examples)"
        )
        if result.label_counts is not None:
            head += f"; {plural(len(result.label_counts), 'distinct output')}"
        if result.personal_data:
            lines.append(
                f"Personal data: {personal_text(result.personal_data)}. Values are not shown."
            )
        else:
            lines.append("Personal data: none found (emails, phones, cards, IBANs, US SSNs).")
    if result.unreadable:
        lines.append(problems_text(result) + ".")
    return "\n".join([head, *lines])
