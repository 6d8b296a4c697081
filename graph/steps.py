"""What one reply does to an interview: the step logic behind every question node.

The service and the graph live in graph/interview.py; this module holds what happens to a
reply once a node has it. The rules a team sees:

- **Firm readings are kept** with a "Noted: …" line.
- **Uncertain readings are confirmed, not guessed.** A reading that rests on a hedge, a
  negation, a guess, or words for a list question (graph/answers.py ``doubts``) comes back
  as the same question with ``confirm`` set and the reading shown ("I read: few-shot,
  structured output — keep it?"). ``yes``, ``ok``, an empty reply, the same words again, or
  buttons equal to the reading keep it; anything else is read as a new answer.
- **Never a loop.** A question is shown at most twice in a row: a reply that cannot be read
  is asked once more with the numbered options and an example; what the second reply gives
  is kept (a hedged part of it as "not sure"), and an unreadable second reply leaves the
  field unknown ("not sure") for the memo's open questions.
- **Every question asked leaves a trace.** Fields a question asked about but could not fill
  (skipped, not sure, unreadable) get a provenance record with value ``None`` and the words
  said, so the memo can tell "not asked" from "asked, not known".
- **Relevance after every change.** ``change …`` and ``back`` (also after the memo) send the
  interview back through the routing, which asks any question that became relevant and was
  never settled before a revised memo is written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Annotated, Any, Protocol, TypedDict

from graph import questions as catalog
from graph.answers import Command as UserCommand
from graph.answers import (
    Parsed,
    field_from_name,
    parse_answer,
    parse_choice,
    parse_command,
    parse_value,
)
from graph.assessment import Assessment
from graph.followups import FollowUps, reply, why_decided
from graph.measured import held_note, known_hint, measured_fields
from graph.memo import FIELD_LABELS, value_text
from graph.profile import FIELDS, Profile, Provenance, conflicts, merge, merge_each, same_value
from graph.reading.commands import pick_reading
from graph.reading.result import CLASH, FREE_TEXT, NEGATION
from graph.turns import Ended, Question
from knowledge.search import Hit

log = logging.getLogger(__name__)

USE_CASE_ID = "use_case"
LINE_CHARS = 120  # an opening longer than this (or of several sentences) gets a short title
TITLE_CHARS = 100  # an offline title: the first sentence, cut at a word to about this
# A reply the offline parser reads completely goes to the LLM only when it says more than a
# short answer could ("2", "yes", "400 items, 82% now, need 95%" need no model).
MODEL_WORDS = 8
MAX_SHOWN = 2  # times one question is shown in a row, confirmations and re-asks included

HELP = (
    "Answer in your own words, or pick an option by number. You can also type:\n"
    "• why? (why I ask this)  • skip (I'll list it as an open question)  • back\n"
    "• change volume to 50k (fix an earlier answer)  • memo (finish now)  • cancel\n"
    "• any question for me, such as 'what is RAG?'"
)
DONE_TEXT = (
    "The memo is written. To revise it, reply 'change <what> to <value>' "
    "(for example 'change volume to 50k') or 'back'; ask me anything with a question mark."
)
_KEEP = re.compile(
    r"^(?:y|yes|yep|yeah|yup|ok|okay|k|sure|correct|right|that's right|thats right|exactly|"
    r"confirm|confirmed|keep|keep it|looks good|lgtm|good|fine|yes please|perfect|\+1|👍)[.!]*$"
)


class LLM(Protocol):
    """The optional hook (graph/claude.py implements it); every method may return None."""

    def extract(
        self, text: str, *, profile: Profile, pending: str | None, interview_id: str
    ) -> dict[str, Any] | None: ...

    def answer(
        self, question: str, hits: Sequence[Hit], *, interview_id: str
    ) -> tuple[str, list[str]] | None: ...

    def write_prose(
        self,
        profile: Profile,
        assessment: Assessment,
        *,
        interview_id: str,
        answers: Sequence[Provenance] = (),
    ) -> dict[str, str] | None: ...


def _outbox(left: list[dict[str, Any]], right: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """One call's output: nodes add items; ``None`` (each reply sends it) starts afresh."""
    return [] if right is None else [*left, *right]


class State(TypedDict, total=False):
    interview_id: str
    started_by: str
    thread_link: str
    at: str  # when the latest input arrived (the clock is read by the service, not nodes)
    profile: dict[str, Any] | None  # Profile.model_dump(mode="json"); None until intake
    provenance: list[dict[str, Any]]
    history: list[dict[str, Any]]  # {"question", "fields", "skipped"} per question settled
    asked_use_case: bool  # the use case was the interview's first question (for numbering)
    attempt: dict[str, Any] | None  # {"question", "shown", "fields"}: the question shown now
    confirming: dict[str, Any] | None  # a reading waiting for confirmation (see _confirm)
    hint: str  # why the last answer could not be read
    ask_next: str | None  # a question to ask before the usual routing (back, change)
    finish: bool  # "memo": stop asking
    phase: str  # asking | assess | done | cancelled
    assessment: dict[str, Any] | None
    memo_version: int
    memo_id: str | None
    outbox: Annotated[list[dict[str, Any]], _outbox]  # this call's items only (see _outbox)
    seq: int  # store seq of the latest answer the graph has taken (see Interviews.recover)


def profile_of(state: State) -> Profile:
    data = state.get("profile")
    assert data is not None
    return Profile.model_validate(data)


def settled(state: State) -> set[str]:
    """Questions answered or skipped: never routed to again (unless the user goes back)."""
    return {entry["question"] for entry in state.get("history", [])}


def noted(values: dict[str, Any]) -> str:
    return "; ".join(
        f"{FIELD_LABELS.get(name, name)}: {value_text(name, value)}"
        for name, value in values.items()
    )


def _labels(fields: Sequence[str]) -> str:
    return ", ".join(FIELD_LABELS.get(f, f) for f in fields)


def _records(records: Sequence[Provenance]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in records]


# --- what the question shows --------------------------------------------------------------


def question_turn(spec: Any, state: State) -> Question:
    """The pending question as a turn: the question itself, or the reading to confirm."""
    profile = profile_of(state)
    number = len(state.get("history", [])) + 1 + int(state.get("asked_use_case", False))
    remaining = catalog.remaining_estimate(profile, settled(state))
    total = max(number, number - 1 + remaining)
    hint = state.get("hint", "")
    if not hint and spec.kind in ("eval", "examples", "usage"):  # numbers, some known
        missing = catalog.missing_fields(spec, profile)
        hint = known_hint(spec.fields, profile, state.get("provenance", []), missing)
    turn = catalog.to_turn(spec, number, total, hint=hint)
    confirming = _confirming(state, spec.id)
    if confirming is None:
        return turn
    values = dict(confirming["values"])
    values.update({f: None for f in confirming.get("unsure", []) if f not in values})
    read_text = reading_text(spec, values)
    return turn.model_copy(
        update={
            "confirm": True,
            "read": read_options(spec, values),
            "read_values": values,
            "read_text": read_text,
            "hint": confirming.get("hint")
            or f"I read: {read_text}. Reply yes to keep it, or give the right answer.",
        }
    )


def read_options(spec: Any, values: dict[str, Any]) -> list[str]:
    """The options a reading ticks (for a question without options, its values as text)."""
    if not spec.options:
        return [f"{FIELD_LABELS.get(f, f)}: {value_text(f, v)}" for f, v in values.items()]
    field = spec.fields[0]
    if spec.kind == "checklist":
        ticked = [f for f in spec.fields if f != spec.group_field and values.get(f) is True]
        place = values.get(spec.group_field or "")
        if place not in (None, spec.group_default):
            ticked.append(str(place))
        return ticked or ([catalog.NONE] if all(v is not None for v in values.values()) else [])
    value = values.get(field)
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value] or [catalog.NONE]
    if isinstance(value, bool):
        return ["yes" if value else "no"]
    return [str(value)]


def reading_text(spec: Any, values: dict[str, Any]) -> str:
    """A reading in words: "few-shot, structured output" or "eval set size: 400; …"."""
    unsure = [f for f, v in values.items() if v is None]
    known = {f: v for f, v in values.items() if v is not None}
    if spec.kind == "checklist":
        names = [FIELD_LABELS.get(f, f) for f in spec.fields if known.get(f) is True]
        place = known.get(spec.group_field or "")
        if place is not None:
            names.append(f"runs on {value_text(str(spec.group_field), place)}")
        text = ", ".join(names) if names else "none of these"
    elif len(spec.fields) == 1 and known:
        text = value_text(spec.fields[0], known[spec.fields[0]])
    else:
        text = noted(known) if known else "nothing firm"
    if unsure:
        text += f" (not sure: {_labels(unsure)})"
    return text


def _confirming(state: State, question_id: str) -> dict[str, Any] | None:
    found = state.get("confirming")
    return found if found and found.get("question") == question_id else None


def _attempt(state: State, question_id: str) -> dict[str, Any]:
    found = state.get("attempt")
    if found and found.get("question") == question_id:
        return dict(found)
    return {"question": question_id, "shown": 1, "fields": []}


# --- the steps ----------------------------------------------------------------------------


class Steps:
    """The node logic; graph/interview.py builds the graph around it."""

    llm: LLM | None
    followups: FollowUps

    # answers ------------------------------------------------------------------------

    def _answer(self, spec: Any, state: State, payload: dict[str, Any]) -> dict[str, Any]:
        text = " ".join(str(payload.get("text") or "").split())
        by, at = str(payload["by"]), str(payload["at"])
        base: dict[str, Any] = {"at": at, "hint": "", "ask_next": None}
        values = payload.get("values")
        profile = profile_of(state)
        attempt = _attempt(state, spec.id)
        pending = _confirming(state, spec.id)
        if pending is not None and _keeps(text, values, pending, payload):
            return {**base, **self._keep(spec, state, profile, pending, by, at, attempt)}
        if values is not None:
            parsed = parse_choice(spec, [str(v) for v in values])
            done = self._settle(spec, state, profile, parsed, {}, text, by, at, attempt, True)
            return {**base, **done}
        command = parse_command(text)
        if command is not None and command.kind == "ask" and command.rest:  # "what's X? so no"
            done = self._answer(spec, state, {**payload, "text": command.rest})
            asked = self.followups.answer(command.text, spec, interview_id=state["interview_id"])
            return {**done, "outbox": [asked, *done.get("outbox", [])]}
        if command is not None:
            return {**base, **self._command(command, spec, state, profile, by, at)}
        readings = (pending or {}).get("readings") or {}
        picked = pick_reading(text, readings)
        extracted: dict[str, Any] = {}
        if picked:  # "the first" / "the second": one of the two readings we offered
            kept = dict((pending or {}).get("values") or {})
            parsed = Parsed(values={**kept, **picked}, unsure=(pending or {}).get("unsure", []))
        else:
            wanted = catalog.missing_fields(spec, profile, settled(state)) or None
            parsed = parse_answer(spec, text, fields=wanted)
            if self.llm is not None and _needs_model(spec, parsed, text):
                extracted = self._llm_extract(text, profile, spec.id, state)
            parsed, extracted, readings = _with_model(spec, parsed, extracted)
        final = attempt["shown"] >= MAX_SHOWN
        return {
            **base,
            **self._settle(
                spec, state, profile, parsed, extracted, text, by, at, attempt, final, readings
            ),
        }

    def _keep(
        self,
        spec: Any,
        state: State,
        profile: Profile,
        pending: dict[str, Any],
        by: str,
        at: str,
        attempt: dict[str, Any],
    ) -> dict[str, Any]:
        """The team confirmed a reading: keep it as said (with the words first said)."""
        parsed = Parsed(values=dict(pending["values"]), unsure=list(pending.get("unsure", [])))
        said = str(pending.get("said") or "")
        return self._settle(spec, state, profile, parsed, {}, said, by, at, attempt, True)

    def _settle(
        self,
        spec: Any,
        state: State,
        profile: Profile,
        parsed: Parsed,
        extracted: dict[str, Any],
        said: str,
        by: str,
        at: str,
        attempt: dict[str, Any],
        final: bool,
        readings: dict[str, list[Any]] | None = None,
    ) -> dict[str, Any]:
        """Apply one reading to the pending question (plus anything the LLM read elsewhere).

        Not final (the question was shown once): a doubtful reading is echoed for
        confirmation, an unreadable or partial one asked once more. Final: what was read is
        kept, a hedged part of it as "not sure", and whatever stays unknown is recorded so.
        """
        outbox: list[dict[str, Any]] = []
        history = list(state.get("history", []))
        provenance = list(state.get("provenance", []))
        again = {**attempt, "shown": attempt["shown"] + 1}
        result: dict[str, Any] = {"confirming": None, "attempt": None}
        others = {k: v for k, v in extracted.items() if k not in spec.fields}
        measured = measured_fields(Provenance.model_validate(p) for p in provenance)
        if parsed.confirm and not final:
            profile, records, applied = merge_each(
                profile, others, by=by, at=at, said=said, keep=measured
            )
            if applied:
                outbox.append(reply(f"I noted: {noted(applied)}. Reply 'change …' if wrong."))
            if (note := held_note(records, measured)) is not None:
                outbox.append(reply(note))
            confirming = {
                "question": spec.id,
                "values": {k: v for k, v in parsed.values.items() if k in spec.fields},
                "unsure": [f for f in parsed.unsure if f in spec.fields],
                "said": said,
                "readings": readings or {},
                "hint": clash_hint(readings, spec) if readings else "",
            }
            return {
                **result,
                "profile": profile.model_dump(mode="json"),
                "provenance": [*provenance, *_records(records)],
                "confirming": confirming,
                "attempt": again,
                "ask_next": spec.id,
                "history": history,
                "outbox": outbox,
            }
        values = dict(parsed.values) if parsed.ok and not parsed.skipped else {}
        unsure = [f for f in parsed.unsure if f in spec.fields]
        if final and parsed.confirm:  # no third showing: a hedge stays "not sure"
            for name in parsed.doubtful:
                if values.pop(name, None) is not None:
                    unsure.append(name)
        profile, records, applied = merge_each(
            profile, {**extracted, **values}, by=by, at=at, said=said, keep=measured
        )
        provenance += _records(records)
        if (note := held_note(records, measured)) is not None:
            outbox.append(reply(note))
        fields = list(dict.fromkeys([*attempt.get("fields", []), *applied]))
        if extracted and applied:
            outbox.append(reply(f"I noted: {noted(applied)}. Reply 'change …' if that's wrong."))
        elif applied and (not spec.options or _in_words(said, parsed)):
            outbox.append(reply(f"Noted: {noted(applied)}."))
        still = catalog.missing_fields(spec, profile, settled(state))
        answered = any(name in applied for name in spec.fields)
        unknown: list[str] = []
        if parsed.skipped and not answered:
            unknown = still or [f for f in spec.fields if getattr(profile, f) is None]
            history.append({"question": spec.id, "fields": fields, "skipped": True})
            outbox.append(reply("Skipped: it goes on the memo's open questions."))
            unknown = [f for f in unknown if f not in unsure] + unsure
        elif not parsed.ok:
            if not final:
                return {
                    **result,
                    "profile": profile.model_dump(mode="json"),
                    "provenance": provenance,
                    "history": history,
                    "outbox": outbox,
                    "hint": _again(spec, parsed),
                    "attempt": {**again, "fields": fields},
                    "ask_next": spec.id,
                }
            unknown = still
            history.append({"question": spec.id, "fields": fields, "skipped": True})
            outbox.append(
                reply(
                    f"I still couldn't read that, so I've noted {_labels(still) or 'it'} as not "
                    "sure: it goes on the memo's open questions. You can fix it any time with "
                    "'change … to …'."
                )
            )
        elif answered and still and parsed.missing and not final and not unsure:
            return {
                **result,
                "profile": profile.model_dump(mode="json"),
                "provenance": provenance,
                "history": history,
                "outbox": outbox,
                "hint": parsed.hint or "What about the rest of the question?",
                "attempt": {**again, "fields": fields},
                "ask_next": spec.id,
            }
        else:
            history.append({"question": spec.id, "fields": fields, "skipped": False})
            unknown = [f for f in still if f not in applied]
        unknown = list(dict.fromkeys(unknown + unsure))
        profile, records = _unknown(profile, unknown, by=by, at=at, said=said)
        provenance += _records(records)
        if unsure:
            outbox.append(
                reply(
                    f"Noted as not sure: {_labels(unsure)}. It goes on the memo's open questions."
                )
            )
        return {
            **result,
            "profile": profile.model_dump(mode="json"),
            "provenance": provenance,
            "history": history,
            "outbox": outbox,
        }

    def _llm_extract(
        self, text: str, profile: Profile, pending: str | None, state: State, *, title: bool = False
    ) -> dict[str, Any]:
        """Fields the LLM reads from ``text``; its ``use_case`` summary only with ``title``."""
        assert self.llm is not None
        try:
            found = self.llm.extract(
                text, profile=profile, pending=pending, interview_id=state.get("interview_id", "")
            )
        except Exception:  # the hook promises None on failure; be sure of it
            log.exception("llm extract failed")
            return {}
        return {
            k: v
            for k, v in (found or {}).items()
            if k in FIELDS and (k != USE_CASE_ID or (title and isinstance(v, str)))
        }

    # commands -----------------------------------------------------------------------

    def _command(
        self, command: UserCommand, spec: Any, state: State, profile: Profile, by: str, at: str
    ) -> dict[str, Any]:
        kind = command.kind
        history = list(state.get("history", []))
        if kind == "skip":
            missing = catalog.missing_fields(spec, profile, settled(state))
            profile, records = _unknown(profile, missing, by=by, at=at, said=command.text)
            history.append({"question": spec.id, "fields": [], "skipped": True})
            return {
                "profile": profile.model_dump(mode="json"),
                "provenance": [*state.get("provenance", []), *_records(records)],
                "history": history,
                "confirming": None,
                "attempt": None,
                "outbox": [reply("Skipped: it goes on the memo's open questions.")],
            }
        if kind == "back":
            return self._back(state, profile, by, at)
        if kind == "change":
            return self._change(command, state, profile, by, at, pending=spec.id)
        if kind == "memo":
            return {
                "finish": True,
                "outbox": [
                    reply("Writing the memo now; anything still unknown becomes an open question.")
                ],
            }
        if kind == "cancel":
            return self._cancel(at)
        if kind == "help":
            return {"outbox": [reply(HELP)], "ask_next": spec.id}
        # "ask": a question to the advisor; the pending question is asked again afterwards.
        asked = self.followups.answer(
            command.text, spec, interview_id=state.get("interview_id", "")
        )
        return {"outbox": [asked], "ask_next": spec.id}

    def _back(self, state: State, profile: Profile, by: str, at: str) -> dict[str, Any]:
        history = list(state.get("history", []))
        if not history:
            return {
                "outbox": [reply("This is the first question; there is nothing to go back to.")]
            }
        last = history.pop()
        cleared = {name: None for name in last.get("fields", []) if name in FIELDS}
        cleared.pop(USE_CASE_ID, None)
        provenance = list(state.get("provenance", []))
        if cleared:
            profile, records = merge(profile, cleared, by=by, at=at, said="back")
            provenance += _records(records)
        return {
            "profile": profile.model_dump(mode="json"),
            "provenance": provenance,
            "history": history,
            "ask_next": last["question"],
            "confirming": None,
            "attempt": None,
            "phase": "asking",
            "outbox": [reply("Going back one question.")],
        }

    def _change(
        self,
        command: UserCommand,
        state: State,
        profile: Profile,
        by: str,
        at: str,
        *,
        pending: str | None,
    ) -> dict[str, Any]:
        field = command.field if command.field in FIELDS else field_from_name(command.field or "")
        raw = (command.value or "").strip()
        if field is None or not raw:
            names = ", ".join(sorted({"volume", "examples", "eval", "target", "baseline", "owner"}))
            return {
                "outbox": [
                    reply(
                        "Tell me what to change and the new value, like 'change volume to 50k'. "
                        f"Names I know include: {names}."
                    )
                ],
                "ask_next": pending,
            }
        value_updates = _change_values(field, raw)
        if value_updates is None:
            return {
                "outbox": [
                    reply(
                        f"I couldn't read '{raw}' as {FIELD_LABELS.get(field, field)}. "
                        "Try again, for example 'change volume to 50k'."
                    )
                ],
                "ask_next": pending,
            }
        measured = measured_fields(
            Provenance.model_validate(p) for p in state.get("provenance", [])
        )
        profile, records, applied = merge_each(
            profile, value_updates, by=by, at=at, said=command.text, keep=measured
        )
        note = held_note(records, measured)
        label = FIELD_LABELS.get(field, field)
        if not records or (note is not None and not applied):
            return {  # invalid, or a measured figure: that changes with a newer file
                "provenance": [*state.get("provenance", []), *_records(records)],
                "outbox": [reply(note or f"'{raw}' is not a valid {label}.")],
                "ask_next": pending,
            }
        done = state.get("phase") == "done"
        text = f"Changed {noted(applied)}." + (f" {note}" if note else "")
        # Relevance after the change: a question that now matters and was never settled is
        # asked before the revised memo.
        reopened = catalog.next_question(profile, settled(state)) if done else None
        if done:
            text += (
                f" That makes another question matter ({reopened.text.split('?')[0]}?); "
                "then I'll write a revised memo."
                if reopened is not None
                else " Writing a revised memo."
            )
        still_open = (
            pending is not None
            and pending != USE_CASE_ID
            and any(getattr(profile, f) is None for f in catalog.spec(pending).fields)
        )
        update: dict[str, Any] = {
            "profile": profile.model_dump(mode="json"),
            "provenance": [*state.get("provenance", []), *_records(records)],
            "outbox": [reply(text)],
            "ask_next": pending if still_open else None,
        }
        if done:
            update["phase"] = "asking" if reopened is not None else "assess"
        return update

    def _cancel(self, at: str) -> dict[str, Any]:
        ended = Ended(
            text="Interview cancelled. Nothing more will be asked and no memo was written."
        )
        return {"at": at, "phase": "cancelled", "outbox": [ended.model_dump(mode="json")]}

    # after the memo -----------------------------------------------------------------

    def _after_memo(self, state: State, payload: dict[str, Any]) -> dict[str, Any]:
        text = " ".join(str(payload.get("text") or "").split())
        by, at = str(payload["by"]), str(payload["at"])
        base: dict[str, Any] = {"at": at}
        command = parse_command(text) if payload.get("values") is None else None
        profile = profile_of(state)
        if command is not None and command.kind == "change":
            return {**base, **self._change(command, state, profile, by, at, pending=None)}
        if command is not None and command.kind == "back":
            return {**base, **self._back(state, profile, by, at)}
        if command is not None and command.kind == "ask":
            interview_id = state.get("interview_id", "")
            if re.fullmatch(r"why\??", command.text.strip().lower()) and state.get("assessment"):
                return {**base, "outbox": [why_decided(state["assessment"] or {})]}
            return {
                **base,
                "outbox": [self.followups.answer(command.text, None, interview_id=interview_id)],
            }
        if command is not None and command.kind == "memo" and state.get("memo_id"):
            return {**base, "outbox": [{"kind": "memo", "memo_id": state["memo_id"]}]}
        if command is not None and command.kind == "help":
            return {**base, "outbox": [reply(HELP)]}
        return {**base, "outbox": [reply(DONE_TEXT)]}


# --- helpers ----------------------------------------------------------------------------


def _keeps(
    text: str, values: list[Any] | None, pending: dict[str, Any], payload: dict[str, Any]
) -> bool:
    """Whether a reply to a confirmation keeps the reading shown."""
    if payload.get("accept"):
        return True
    if values is not None:
        spec = catalog.spec(pending["question"])
        shown = dict(pending["values"])
        shown.update({f: None for f in pending.get("unsure", [])})
        return {str(v) for v in values} == set(read_options(spec, shown))
    said = " ".join(str(pending.get("said") or "").split())
    return not text.strip() or bool(_KEEP.match(text.strip().lower())) or text == said


def _in_words(said: str, parsed: Parsed) -> bool:
    """The reply named its options in words (so the reading is worth echoing)."""
    return bool(re.search(r"[a-zA-Z]{3,}", said)) and parsed.ok


def _again(spec: Any, parsed: Parsed) -> str:
    """The hint for asking once more: what went wrong, the options, a one-line example."""
    hint = (
        parsed.hint.strip()
        or "I couldn't read that. Pick an option by number or answer in a few words."
    )
    if spec.example and spec.example not in hint:
        hint += f" For example: {spec.example}."
    return hint


def _needs_model(spec: Any, parsed: Parsed, text: str) -> bool:
    """Whether a reply is worth an LLM call: the offline parser could not read it all, it
    names a list question's options in words (the model reads paraphrase and negation
    well), or it says more than a short answer does."""
    if not parsed.ok or parsed.missing:
        return True
    if spec.kind in ("multi", "checklist") and FREE_TEXT in parsed.doubts:
        return True
    return len(text.split()) > MODEL_WORDS


def _with_model(
    spec: Any, parsed: Parsed, extracted: dict[str, Any]
) -> tuple[Parsed, dict[str, Any], dict[str, list[Any]]]:
    """Combine the model's reading with the offline one for the pending question.

    When they disagree on a field the reading is confirmed (``readings`` holds both, so
    "the first" or "the second" can pick): for a list question the model's reading is the
    one shown (it reads negation and paraphrase well; its values were checked against the
    team's words), for any other the offline one. When the model agrees with the offline
    reading of a list question in words (negations included), it is corroborated and kept
    as firm; a hedge is still confirmed."""
    if not extracted or not parsed.ok or parsed.skipped:
        return parsed, extracted, {}
    clash = conflicts(extracted, parsed.values)
    if not clash:
        mine = {k: v for k, v in extracted.items() if k in spec.fields}
        agrees = mine and all(same_value(parsed.values.get(k), v) for k, v in mine.items())
        if agrees and set(parsed.doubts) <= {FREE_TEXT, NEGATION}:
            parsed = parsed.model_copy(update={"doubts": []})
        return parsed, extracted, {}
    readings = {name: [a, b] for name, (a, b) in clash.items()}
    values = dict(parsed.values)
    if spec.kind in ("multi", "checklist"):
        values.update({name: b for name, (_, b) in clash.items()})
    rest = {k: v for k, v in extracted.items() if k not in clash}
    return parsed.model_copy(update={"values": values}).doubt(CLASH), rest, readings


def clash_hint(readings: dict[str, list[Any]], spec: Any) -> str:
    """The confirmation text after the model and the offline reading disagreed."""
    shown = 1 if spec.kind in ("multi", "checklist") else 0
    clash = {name: (pair[0], pair[1]) for name, pair in readings.items()}
    kept = noted({name: pair[shown] for name, pair in readings.items()})
    return (
        f"{clash_text(clash).removesuffix(' Which did you mean?')} I've kept {kept}: reply "
        f"yes to keep it, 'the {'first' if shown else 'second'}' for the other, or give the "
        "right answer."
    )


def clash_text(clash: dict[str, tuple[Any, Any]]) -> str:
    """One line asking the user to settle the readings :func:`graph.profile.conflicts` found."""
    parts = [
        f"{FIELD_LABELS.get(name, name)}: {value_text(name, a)} or {value_text(name, b)}"
        for name, (a, b) in clash.items()
    ]
    return "I read your answer two ways (" + "; ".join(parts) + "). Which did you mean?"


def _unknown(
    profile: Profile, fields: Sequence[str], *, by: str, at: str, said: str
) -> tuple[Profile, list[Provenance]]:
    """Record that these fields were asked and are not known (only those still unknown)."""
    open_fields = {f: None for f in fields if f in FIELDS and getattr(profile, f) is None}
    if not open_fields:
        return profile, []
    return merge(profile, open_fields, by=by, at=at, said=said or "skip")


def _change_values(field: str, raw: str) -> dict[str, Any] | None:
    """The value(s) a 'change X to Y' sets, read the way the question for X reads answers."""
    if field == USE_CASE_ID:
        text = " ".join(raw.split())
        return {USE_CASE_ID: text[:500]} if text else None
    parsed = parse_value(field, raw)
    if parsed.skipped:
        return {field: None}  # "change owner to don't know": back to unknown
    if parsed.ok and parsed.values:
        return dict(parsed.values)
    return None


_ABBREVIATION = re.compile(r"(?:^|\s)[A-Z][\w.]{0,3}\.$")
_SENTENCE_END = re.compile(r"\n|(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


def title(raw: str) -> str:
    """The use case as a title: a one-line opening as it is; a longer one (over a line,
    or several sentences) by its first sentence, cut at a word to about TITLE_CHARS."""
    text = " ".join(raw.split())
    parts = _SENTENCE_END.split(raw.strip())
    if len(text) <= LINE_CHARS and len(parts) == 1:
        return text
    first = parts[0]
    for part in parts[1:]:  # "Dr. Lee's team ...": a short capitalised word is no sentence end
        if not _ABBREVIATION.search(first):
            break
        first += " " + part
    first = " ".join(first.split()).rstrip(".") or text
    if len(first) > TITLE_CHARS:
        cut = first[: TITLE_CHARS + 1].rsplit(" ", 1)[0] if " " in first else first
        first = cut[:TITLE_CHARS].rstrip(" ,;:-") + "…"
    return first


def use_case_profile(raw: str, *, by: str, at: str) -> tuple[Profile, list[Provenance]]:
    """The opening text as a profile: its title, with the whole text as what was said."""
    heading = title(raw)
    profile = Profile(use_case=heading)
    said = " ".join(raw.split())
    return profile, [Provenance(field=USE_CASE_ID, value=heading, by=by, at=at, said=said)]


__all__ = [
    "DONE_TEXT",
    "HELP",
    "LLM",
    "USE_CASE_ID",
    "State",
    "Steps",
    "clash_text",
    "merge_each",
    "noted",
    "profile_of",
    "question_turn",
    "read_options",
    "reading_text",
    "settled",
    "title",
    "use_case_profile",
]
