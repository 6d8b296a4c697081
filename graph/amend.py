"""An earlier answer edited or taken back: what the interview knows changes with it.

A front end that lets people edit or delete what they said (Slack does) resumes the waiting
node with ``{"amend": {"question_id", "text", "said", "latest"}}`` (``Interviews.amend``):

- **edited** (``text`` is the new wording): the new text is read the way that question reads
  an answer and replaces what the old one set; fields the new text no longer gives become
  unknown. The latest answer says "Updated: …"; an older one "Changed …", like ``change``.
- **deleted** (``text`` is None): what that answer set becomes unknown (an open question
  unless answered again) and its words leave the provenance, so the next memo no longer
  quotes them.

Either way a finished interview is assessed again and gets a revised memo. The question
waiting now (if any) is not asked again: it is still the one shown.
"""

from __future__ import annotations

from typing import Any

from graph import questions as catalog
from graph.answers import parse_answer
from graph.followups import reply
from graph.measured import measured_fields
from graph.memo import FIELD_LABELS
from graph.profile import FIELDS, Profile
from graph.steps import USE_CASE_ID, State, merge_each, noted, profile_of
from graph.turns import Question

DELETED = "(deleted)"  # what the provenance says instead of a deleted answer's words


def _fields_set(state: State, question_id: str) -> list[str]:
    """The fields the answer to ``question_id`` set (history), else the question's own."""
    for entry in reversed(state.get("history", [])):
        if entry.get("question") == question_id and entry.get("fields"):
            return [f for f in entry["fields"] if f in FIELDS]
    try:
        return list(catalog.spec(question_id).fields)
    except KeyError:
        return []


def _title(question_id: str) -> str:
    try:
        return catalog.spec(question_id).text.split("?")[0] + "?"
    except KeyError:
        return "that question"


def amended(state: State, payload: dict[str, Any], *, pending: str | None) -> dict[str, Any]:
    """The state update for one edited or deleted answer (see the module doc)."""
    amend = payload["amend"]
    question_id = str(amend.get("question_id") or "")
    text = amend.get("text")
    old = str(amend.get("said") or "")
    by, at = str(payload["by"]), str(payload["at"])
    profile: Profile = profile_of(state)
    provenance = list(state.get("provenance", []))
    done = state.get("phase") == "done"
    # a fact a file measured stays when the answer that first stated it is edited or deleted
    measured = measured_fields(provenance)
    base: dict[str, Any] = {"at": at, "ask_next": pending}
    if question_id == USE_CASE_ID:
        return {**base, "outbox": [reply("The use case stays as first said.")]}
    fields = _fields_set(state, question_id)
    if text is None:
        # The words leave the record: nobody quotes an answer its author deleted.
        provenance = [
            {**p, "said": DELETED} if old and p.get("said") == old else p for p in provenance
        ]
        known = [f for f in fields if getattr(profile, f) is not None and f not in measured]
        profile, records, _ = merge_each(profile, dict.fromkeys(known), by=by, at=at, said=DELETED)
        provenance += [r.model_dump(mode="json") for r in records]
        gone = ", ".join(FIELD_LABELS.get(f, f) for f in known)
        message = (
            f"An answer to “{_title(question_id)}” was deleted, so I no longer know "
            f"{gone or 'what it said'}. Answer it again with 'change … to …'."
        )
    else:
        spec = catalog.spec(question_id)
        parsed = parse_answer(spec, " ".join(str(text).split()))
        if not parsed.ok or parsed.skipped:
            note = f"I couldn't read the edited answer to “{_title(question_id)}”, so I kept "
            return {**base, "outbox": [reply(note + "what it said before.")]}
        values = {k: v for k, v in parsed.values.items() if k in spec.fields}
        cleared = {f: None for f in fields if f not in values}
        profile, records, applied = merge_each(
            profile, {**cleared, **values}, by=by, at=at, said=str(text), keep=measured
        )
        provenance += [r.model_dump(mode="json") for r in records]
        shown = {k: v for k, v in applied.items() if k in values}
        word = "Updated" if amend.get("latest") else "Changed"
        message = f"{word}: {noted(shown) or 'nothing firm'}."
    update: dict[str, Any] = {
        **base,
        "profile": profile.model_dump(mode="json"),
        "provenance": provenance,
    }
    if done:
        message += " Writing a revised memo."
        update["phase"] = "assess"
        update["ask_next"] = None
    update["outbox"] = [reply(message)]
    return update


def still_shown(turns: list[Any], pending: Question | None) -> list[Any]:
    """``turns`` without the question that was waiting before: it is the one still shown."""
    if pending is None:
        return turns
    return [
        t
        for t in turns
        if not (isinstance(t, Question) and t.id == pending.id and t.seq == pending.seq)
    ]
