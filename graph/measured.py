"""Facts a file measured, against facts a person stated (DESIGN.md section 8).

A measured fact carries provenance that says so ("measured from eval.csv, sha256 …"). The
measured value decides: a typed answer or a ``change`` for a measured field is kept as a
statement (so the memo can show it beside the measurement) but does not replace the value;
sharing a newer file does. Pure: provenance in, decisions out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from graph.profile import Provenance, same_value

MEASURED = "measured from "


def is_measured(record: Provenance | Mapping[str, Any]) -> bool:
    said = record.said if isinstance(record, Provenance) else str(record.get("said") or "")
    return said.startswith(MEASURED)


def measured_fields(
    provenance: Iterable[Provenance | Mapping[str, Any]],
) -> dict[str, Provenance]:
    """Each measured field with its latest measurement."""
    found: dict[str, Provenance] = {}
    for record in provenance:
        if is_measured(record):
            found_record = (
                record if isinstance(record, Provenance) else Provenance.model_validate(record)
            )
            found[found_record.field] = found_record
    return found


def contradictions(provenance: Sequence[Provenance]) -> list[tuple[Provenance, Provenance]]:
    """(stated, measured) per field where the latest statement, made before or after the
    file was shared, differs from the latest measurement."""
    pairs: list[tuple[Provenance, Provenance]] = []
    fields = dict.fromkeys(r.field for r in provenance if is_measured(r))
    for field in fields:
        records = [r for r in provenance if r.field == field]
        measured = [r for r in records if is_measured(r)][-1]
        stated = [r for r in records if not is_measured(r) and r.value is not None]
        if stated and not same_value(stated[-1].value, measured.value):
            pairs.append((stated[-1], measured))
    return pairs


def held_note(records: Sequence[Provenance], measured: Mapping[str, Provenance]) -> str | None:
    """What to tell the person whose answer named a measured field: the measured value
    stays, and how to change it."""
    from graph.labels import FIELD, value_text

    held = [r for r in records if r.field in measured and r.value is not None]
    if not held:
        return None
    kept = [measured[r.field] for r in held]
    source = kept[-1].said.removeprefix(MEASURED).split(",", 1)[0]
    facts = " and ".join(
        f"{FIELD.get(m.field, m.field)} {value_text(m.field, m.value)}" for m in kept
    )
    said = " and ".join(value_text(r.field, r.value) for r in held)
    return (
        f"Kept {facts} as measured from {source}; you said {said}, which I note beside it "
        "for the memo. Share a newer file to change a measured figure."
    )


__all__ = ["MEASURED", "contradictions", "held_note", "is_measured", "measured_fields"]


def known_hint(
    fields: Sequence[str],
    profile: Any,
    provenance: Iterable[Provenance | Mapping[str, Any]],
    missing: Sequence[str],
) -> str:
    """For a question some of whose facts are already known (a file measured the eval's
    size and score, not the target): what is known, and only what is still needed."""
    from graph.labels import FIELD, value_text
    from graph.reading.amounts import MISSING_ASK

    known = [f for f in fields if getattr(profile, f, None) is not None]
    if not known or not missing:
        return ""
    sources = measured_fields(provenance)
    facts = ", ".join(f"{FIELD.get(f, f)} {value_text(f, getattr(profile, f))}" for f in known)
    where = {
        s.said.removeprefix(MEASURED).split(",", 1)[0] for f, s in sources.items() if f in known
    }
    origin = f" (measured from {', '.join(sorted(where))})" if where else ""
    asks = " And ".join(MISSING_ASK.get(f, f) for f in missing)
    return f"Already known: {facts}{origin}. Only this is still needed: {asks}"
