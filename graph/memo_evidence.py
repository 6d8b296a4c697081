"""The memo's evidence: which facts were measured from the team's files and which were only
stated, a stated figure a file contradicts beside the measured one, and the weakest labels
for the validation plan. Pure: it reads provenance and the ``evidence`` rows
(graph/interview_evidence.py) and returns markdown lines. Label names come from the file,
so they are made inert; personal data is only ever counts and row numbers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from graph.inert import inert, one_line
from graph.labels import FIELD, value_text
from graph.measured import MEASURED, contradictions
from graph.profile import Provenance

# The facts the escalation rule asks to see ("Show me the numbers", "Show me").
EVIDENCE_FIELDS = (
    "eval_set_size",
    "baseline_score",
    "target_score",
    "labeled_examples",
    "labels_clean",
    "data_cleared",
)


def _measures(row: Mapping[str, Any]) -> dict[str, Any]:
    raw = row.get("measures") or {}
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def _latest(provenance: Sequence[Provenance], field: str) -> Provenance | None:
    """The record a fact rests on: the latest measurement if a file measured it (the
    measured value decides), else the latest statement."""
    records = [r for r in provenance if r.field == field]
    measured = [r for r in records if r.said.startswith(MEASURED)]
    chosen = measured or records
    return chosen[-1] if chosen else None


def evidence_lines(
    provenance: Sequence[Provenance], evidence: Sequence[Mapping[str, Any]]
) -> list[str]:
    """The "Evidence: measured and stated" section; empty when no file was shared."""
    if not evidence:
        return []
    out = ["## Evidence: measured and stated", ""]
    measured: dict[str, list[str]] = {}  # source -> "eval set size 400", ...
    stated: dict[str, list[str]] = {}  # who -> ...
    for field in EVIDENCE_FIELDS:
        record = _latest(provenance, field)
        if record is None or record.value is None:
            continue
        fact = f"{FIELD.get(field, field)} {value_text(field, record.value)}"
        if record.said.startswith(MEASURED):
            source = record.said.removeprefix(MEASURED)
            measured.setdefault(f"from {source} (shared by {inert(record.by)})", []).append(fact)
        else:
            stated.setdefault(record.by or "the team", []).append(fact)
    for source, facts in measured.items():
        # our own words around the file's name (a base name, one line): kept as written
        out.append(f"- **Measured** {one_line(source)}: {', '.join(facts)}.")
    for who, facts in stated.items():
        out.append(f"- **Stated** by {inert(who)}: {', '.join(facts)}.")
    for stated_record, measured_record in contradictions(provenance):
        name = FIELD.get(stated_record.field, stated_record.field)
        out.append(
            f"- **Contradicted:** {name} stated as "
            f"{value_text(stated_record.field, stated_record.value)} by {inert(stated_record.by)}; "
            f"measured {value_text(measured_record.field, measured_record.value)}. "
            "The measured value decides."
        )
    for row in evidence:
        found = _measures(row).get("personal_data") or {}
        if found:
            kinds = ", ".join(f"{kind} in {hit['count']:,} rows" for kind, hit in found.items())
            out.append(f"- **Personal data** in `{inert(row['file'])}`: {kinds} (no values kept).")
    rests = "the measured figures above" if measured else "what was stated"
    out += ["", f"The five answers below on the eval and the data rest on {rests}.", ""]
    return out


def weakest_labels_line(evidence: Sequence[Mapping[str, Any]], n: int = 3) -> str | None:
    """The validation plan's per-label step: the lowest-F1 labels of the latest eval file."""
    evals = [row for row in evidence if row.get("kind") == "eval"]
    if not evals:
        return None
    per_label: dict[str, dict[str, Any]] = _measures(evals[-1]).get("per_label") or {}
    if len(per_label) < 2:
        return None
    ranked = sorted(per_label.items(), key=lambda kv: (kv[1]["f1"], -kv[1]["support"], kv[0]))
    shown = "; ".join(
        f"'{inert(label)}' F1 {s['f1']:.2f} ({s['support']:,} items)" for label, s in ranked[:n]
    )
    return (
        f"Check the weakest labels first, measured in `{inert(evals[-1]['file'])}`: {shown}. "
        "That is where a fine-tune or more few-shot examples should show their gain."
    )
