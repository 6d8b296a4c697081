"""Measured facts from the team's own files enter an interview (DESIGN.md section 8).

``add_evidence`` is the graph half of ``Interviews.add_evidence``: it reads what the file
settles (graph.evidence.profile_evidence), writes the measured values over the profile
with provenance (file, sha256, who shared it, when), keeps a stated figure the file
contradicts beside the measured one, says what was measured, and lets the usual routing
skip the questions the file settled. The file's record goes in the ``evidence`` table so
the memo can cite it. Nothing of the file's text is kept: only the measures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graph.evidence import EvalEvidence, TrainingEvidence, profile_evidence
from graph.measured import contradictions
from graph.profile import Profile, Provenance
from graph.turns import Reply, Turn

if TYPE_CHECKING:
    from graph.interview import Interviews
    from graph.store import Store


def ensure_table(store: Store) -> None:
    """The ``evidence`` table: one row per file shared in an interview."""
    with store.write() as db:
        db.table("evidence").create(
            {
                "interview_id": str,
                "file": str,
                "sha256": str,
                "kind": str,
                "by": str,
                "at": str,
                "summary": str,
                "measures": str,  # the `advisor evidence check --json` object, as JSON
            },
            if_not_exists=True,
        )


def evidence_rows(store: Store, interview_id: str) -> list[dict[str, Any]]:
    """Every file shared in ``interview_id``, oldest first."""
    ensure_table(store)
    with store.read() as db:
        return list(
            db.table("evidence").rows_where("interview_id = ?", [interview_id], order_by="rowid")
        )


def add_evidence(
    service: Interviews,
    interview_id: str,
    result: EvalEvidence | TrainingEvidence,
    *,
    by: str,
) -> list[Turn]:
    """Put one measured file into the interview; the turns say what was measured and what
    is asked next."""
    import json

    if service.store.get_interview(interview_id) is None:
        return [Reply(text="I don't know that interview. Start a new one to begin.")]
    config = service._config(interview_id)
    snapshot = service.graph.get_state(config)
    values = snapshot.values
    if values.get("profile") is None:
        return [Reply(text="Tell me the use case first; then share the file again.")]
    if values.get("phase") != "asking":
        return [
            Reply(
                text="This interview is past its questions, so the file was not added. "
                "Start a new interview to use it."
            )
        ]
    at = service.clock()
    found = profile_evidence(result)
    profile = Profile.model_validate(values["profile"])
    before = [Provenance.model_validate(p) for p in values.get("provenance", [])]
    records = [
        Provenance(field=field, value=value, by=by, at=at, said=found.source)
        for field, value in found.values.items()
    ]
    updated = profile.model_copy(update=found.values)
    lines = [found.summary]
    for stated, measured in contradictions([*before, *records]):
        if measured in records:
            lines.append(
                f"You said {stated.field.replace('_', ' ')} = {stated.value}; "
                f"the file measures {measured.value}. I use the measured value."
            )
    lines += [f"Risk: {risk}" for risk in found.risks]
    ensure_table(service.store)
    with service.store.write() as db:
        db.table("evidence").insert(
            {
                "interview_id": interview_id,
                "file": found.file,
                "sha256": found.sha256,
                "kind": result.kind,
                "by": by,
                "at": at,
                "summary": found.summary,
                "measures": json.dumps(result.contract(), sort_keys=True),
            }
        )
    node = next(iter(snapshot.next), None)
    update: dict[str, Any] = {
        "profile": updated.model_dump(mode="json"),
        "provenance": [
            *values.get("provenance", []),
            *(r.model_dump(mode="json") for r in records),
        ],
        "at": at,
        "outbox": [{"kind": "reply", "text": "\n".join(lines)}],
        "attempt": None,
        "confirming": None,
    }
    outbox = len(values.get("outbox", []))
    # Finish the waiting node with the new values so the usual routing picks the next
    # question: one the file settled is no longer missing, so it is skipped.
    service.graph.update_state(config, update, as_node=node)
    return service._run(interview_id, None, before=outbox)
