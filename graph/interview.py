"""The interview: a LangGraph state machine, and the service every front end calls.

One LangGraph thread per interview (thread id = interview id), checkpointed in SQLite, so a
process killed mid-interview resumes at the same question. The graph has an intake node,
one node per catalog question (each with exactly one ``interrupt()`` and nothing with side
effects before it, because a resumed node runs again from its top), an assess node, a
write_memo node and a review node that waits for revisions after the memo.

State is plain JSON data. What the interview says back accumulates in ``outbox``; the
service returns the items one call added, then the pending question.
"""

from __future__ import annotations

import logging
import operator
import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import Annotated, Any, NamedTuple, Protocol, TypedDict

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

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
from graph.cost import Prices, load_prices
from graph.memo import FIELD_LABELS, card_citation, render_memo, value_text
from graph.policy import assess
from graph.profile import FIELDS, Profile, Provenance, conflicts, merge
from graph.retention import compact_thread
from graph.store import Store, memo_id_for, utc_now
from graph.turns import Citation, Ended, MemoReady, Question, Reply, Turn
from knowledge.db import connect, open_db
from knowledge.search import Hit, ensure_index, search

log = logging.getLogger(__name__)

MAX_TEXT = 4_000  # a reply longer than this is cut before parsing (the store keeps it whole)
MAX_STORED = 20_000
USE_CASE_ID = "use_case"
LINE_CHARS = 120  # an opening longer than this (or of several sentences) gets a short title
TITLE_CHARS = 100  # an offline title: the first sentence, cut at a word to about this
# A reply the offline parser reads completely goes to the LLM only when it says more than a
# short answer could ("2", "yes", "400 items, 82% now, need 95%" need no model).
MODEL_WORDS = 8

HELP = (
    "Answer in your own words, or pick an option by number. You can also type:\n"
    "• why? (why I ask this)  • skip (I'll list it as an open question)  • back\n"
    "• change volume to 50k (fix an earlier answer)  • memo (finish now)  • cancel\n"
    "• any question for me, such as 'what is RAG?'"
)
DONE_TEXT = (
    "The memo is written. To revise it, reply 'change <what> to <value>' "
    "(for example 'change volume to 50k'); ask me anything with a question mark."
)
# "why?", "why do you ask?", "why does this matter?": about the pending question itself.
_WHY_START = ("why", "how come", "what for")
_WHY_WORDS = frozenset(
    [
        "why",
        "how",
        "come",
        "what",
        "for",
        "do",
        "does",
        "you",
        "ask",
        "asking",
        "need",
        "needed",
        "this",
        "that",
        "it",
        "matter",
        "matters",
        "is",
        "important",
        "question",
        "the",
        "we",
        "i",
        "want",
        "to",
        "know",
        "care",
        "about",
    ]
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


class State(TypedDict, total=False):
    interview_id: str
    started_by: str
    thread_link: str
    at: str  # when the latest input arrived (the clock is read by the service, not nodes)
    profile: dict[str, Any] | None  # Profile.model_dump(mode="json"); None until intake
    provenance: list[dict[str, Any]]
    history: list[dict[str, Any]]  # {"question", "fields", "skipped"} per question settled
    asked_use_case: bool  # the use case was the interview's first question (for numbering)
    partial: dict[str, Any] | None  # {"question", "fields"}: answered in part, asked once more
    clash: dict[str, Any] | None  # {"question", "readings"}: LLM and parser disagreed, asked once
    hint: str  # why the last answer could not be read
    ask_next: str | None  # a question to ask before the usual routing (back, change)
    finish: bool  # "memo": stop asking
    phase: str  # asking | assess | done | cancelled
    assessment: dict[str, Any] | None
    memo_version: int
    memo_id: str | None
    outbox: Annotated[list[dict[str, Any]], operator.add]
    seq: int  # store seq of the latest answer the graph has taken (see Interviews.recover)


def _profile(state: State) -> Profile:
    data = state.get("profile")
    assert data is not None
    return Profile.model_validate(data)


def _settled(state: State) -> set[str]:
    """Questions answered or skipped: never routed to again (unless the user goes back)."""
    return {entry["question"] for entry in state.get("history", [])}


def _reply(text: str, citations: Sequence[Citation] = ()) -> dict[str, Any]:
    return Reply(text=text, citations=list(citations)).model_dump(mode="json")


def _noted(values: dict[str, Any]) -> str:
    return "; ".join(
        f"{FIELD_LABELS.get(name, name)}: {value_text(name, value)}"
        for name, value in values.items()
    )


def _excerpt(text: str, limit: int = 300) -> str:
    """The first sentence or two of a card body, without markdown."""
    plain = re.sub(r"[*_`#>]+", "", " ".join(text.split()))
    sentences = re.split(r"(?<=[a-z)][.!?])\s+(?=[A-Z])", plain)
    out = sentences[0]
    for sentence in sentences[1:]:
        if len(out) + 1 + len(sentence) > limit:
            break
        out += " " + sentence
    if len(out) > limit:
        out = out[:limit].rsplit(" ", 1)[0] + "…"
    return out


def _question_text(field: str) -> str:
    """The question that asked for ``field``, short enough for a memo table cell."""
    try:
        text = catalog.question_for_field(field).text
    except (KeyError, ValueError):
        return FIELD_LABELS.get(field, field)
    text = re.sub(r"\s*\([^)]*\)", "", text)
    return text[: text.index("?") + 1] if "?" in text else text


class _Now(NamedTuple):
    waiting: dict[str, Any] | None  # the interrupt's value: a question, or the memo review
    outbox: int  # items in the state's outbox so far
    seq: int | None  # the latest saved answer the graph took (None: state from before seqs)

    @property
    def question_id(self) -> str:
        """What a reply now answers: the question's id, "done" after the memo, or ""."""
        return str(self.waiting.get("id") or self.waiting.get("kind", "")) if self.waiting else ""


class Interviews:
    """The interview service: Slack, the terminal and ``--jsonl`` all call this.

    Different interviews may run in parallel; calls on one interview must come one at a
    time. The caller serialises them: the Slack app's runner (bot/slack/runner.py) across
    threads and processes, and a terminal has a single caller.
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], str] = utc_now,
        prices: Prices | None = None,
        llm: LLM | None = None,
    ) -> None:
        self.store = Store(db_path)
        self.clock = clock
        self.prices = prices if prices is not None else load_prices()
        self.llm = llm
        bind = getattr(llm, "bind_usage", None)
        if callable(bind) and getattr(llm, "on_usage", None) is None:
            bind(self.store.record_usage)
        self._saver = SqliteSaver(connect(db_path))
        self._knowledge = open_db(db_path)
        self._knowledge_lock = threading.Lock()
        try:  # build or refresh the card index now, not in the middle of someone's question
            ensure_index(self._knowledge)
        except Exception:
            log.warning("knowledge index unavailable; follow-up questions get no answers")
        self.graph = self._build()

    # -- the service ------------------------------------------------------------------

    def start(
        self,
        interview_id: str,
        *,
        use_case: str,
        by: str,
        origin: dict[str, str] | None = None,
    ) -> list[Turn]:
        """Open an interview; with an empty ``use_case`` the first question asks for it.
        Starting an interview that exists already just shows where it stands."""
        if self.exists(interview_id):
            return self._where(interview_id)
        at = self.clock()
        text = " ".join((use_case or "").split())
        self.store.create_interview(
            interview_id, use_case=_title(use_case or ""), by=by, at=at, origin=origin
        )
        state: State = {
            "interview_id": interview_id,
            "started_by": by,
            "thread_link": (origin or {}).get("permalink", ""),
            "at": at,
            "profile": None,
            "provenance": [],
            "history": [],
            "hint": "",
            "ask_next": None,
            "finish": False,
            "phase": "asking",
            "assessment": None,
            "memo_version": 0,
            "memo_id": None,
            "outbox": [],
            "seq": 0,
        }
        if text:
            state["seq"] = self.store.record_answer(
                interview_id, question_id=USE_CASE_ID, text=use_case[:MAX_STORED], by=by, at=at
            )
            profile, records = _use_case(use_case[:MAX_STORED], by=by, at=at)
            state["profile"] = profile.model_dump(mode="json")
            state["provenance"] = [r.model_dump(mode="json") for r in records]
        return self._run(interview_id, state)

    def reply(self, interview_id: str, text: str, *, by: str) -> list[Turn]:
        """A typed reply in the thread or terminal: an answer, a command or a question."""
        return self._resume(interview_id, text=text, values=None, by=by)

    def choose(
        self, interview_id: str, question_id: str, values: list[str], *, by: str
    ) -> list[Turn]:
        """A button or checkbox answer to ``question_id``."""
        now = self._now(interview_id)
        waiting = now.waiting or {}
        if waiting.get("kind") != "question" or waiting.get("id") != question_id:
            self.store.record_answer(
                interview_id,
                question_id=question_id,
                text=", ".join(values),
                by=by,
                at=self.clock(),
                values=values,
            )
            return [
                Reply(
                    text="That question was already answered. "
                    "To change an answer, reply 'change <what> to <value>'."
                )
            ]
        return self._resume(interview_id, text=", ".join(values), values=values, by=by, now=now)

    def pending(self, interview_id: str) -> Question | None:
        """The question waiting for an answer, or None (finished, cancelled or unknown)."""
        now = self._now(interview_id)
        if now.waiting is not None and now.waiting.get("kind") == "question":
            return Question.model_validate({**now.waiting, "seq": now.seq or 0})
        return None

    def exists(self, interview_id: str) -> bool:
        return self.store.get_interview(interview_id) is not None

    def profile(self, interview_id: str) -> Profile | None:
        """What the interview has learned so far (None before the use case is known)."""
        values = self.graph.get_state(self._config(interview_id)).values
        return Profile.model_validate(values["profile"]) if values.get("profile") else None

    def close(self) -> None:
        """Close the database connections (the service is unusable afterwards)."""
        self._saver.conn.close()
        self._knowledge.close()
        self.store.close()

    # -- plumbing ---------------------------------------------------------------------

    @staticmethod
    def _config(interview_id: str) -> Any:
        return {"configurable": {"thread_id": interview_id}}

    def _now(self, interview_id: str) -> _Now:
        """One read of the checkpoint: what waits for an answer and how long the outbox is.
        Reading it once per reply matters: each read costs about half a millisecond."""
        snapshot = self.graph.get_state(self._config(interview_id))
        waiting = next((i.value for i in snapshot.interrupts if isinstance(i.value, dict)), None)
        return _Now(waiting, len(snapshot.values.get("outbox", [])), snapshot.values.get("seq"))

    def _where(self, interview_id: str) -> list[Turn]:
        """Where an existing interview stands, as turns."""
        record = self.store.get_interview(interview_id)
        pending = self.pending(interview_id)
        if pending is not None:
            return [pending]
        if record is not None and record.status == "cancelled":
            return [Ended(text="This interview was cancelled. Start a new one to begin again.")]
        memo = self.store.latest_memo(interview_id)
        if memo is not None:
            return [Reply(text=f"This interview is finished: memo {memo.id}. {DONE_TEXT}")]
        return [Reply(text="This interview has nothing waiting for an answer.")]

    def _resume(
        self,
        interview_id: str,
        *,
        text: str,
        values: list[str] | None,
        by: str,
        now: _Now | None = None,
    ) -> list[Turn]:
        record = self.store.get_interview(interview_id)
        if record is None:
            return [Reply(text="I don't know that interview. Start a new one to begin.")]
        at = self.clock()
        now = now or self._now(interview_id)
        waiting = now.waiting
        question_id = now.question_id
        # Keep what was said before anything that can fail.
        seq = self.store.record_answer(
            interview_id,
            question_id=question_id,
            text=text[:MAX_STORED],
            by=by,
            at=at,
            values=values,
        )
        if waiting is None:
            if record.status == "cancelled":
                return [Ended(text="This interview was cancelled. Start a new one to begin again.")]
            return self._where(interview_id)
        payload = {"text": text[:MAX_TEXT], "values": values, "by": by, "at": at, "seq": seq}
        return self._run(interview_id, Command(resume=payload), before=now.outbox)

    def recover(self, interview_id: str) -> list[Turn]:
        """Take the answer a stopped process saved but never got to (killed between saving
        it and the next checkpoint), so nobody types it twice. ``[]`` when there is none."""
        now = self._now(interview_id)
        if now.seq is None:  # started before seqs were kept: cannot tell
            return []
        answers = self.store.answers(interview_id)
        if now.waiting is None or not answers:
            return []
        last = answers[-1]
        if last.seq <= now.seq or last.question_id != now.question_id:
            return []
        log.info("interview %s: taking answer #%d saved before a stop", interview_id, last.seq)
        payload = {
            "text": last.text[:MAX_TEXT],
            "values": last.values,
            "by": last.by,
            "at": last.at,
            "seq": last.seq,
        }
        said = last.text if len(last.text) <= 120 else last.text[:119] + "…"
        note = Reply(text=f"Picking up your last answer, saved before the stop: “{said}”")
        return [note, *self._run(interview_id, Command(resume=payload), before=now.outbox)]

    def _run(self, interview_id: str, graph_input: Any, *, before: int = 0) -> list[Turn]:
        """Run the graph to its next interrupt; the turns are the outbox items added after
        ``before`` and the question it now waits on."""
        config = self._config(interview_id)
        try:
            result = self.graph.invoke(graph_input, config, durability="sync", version="v2")
        except Exception:
            log.exception("interview %s: step failed", interview_id)
            turns: list[Turn] = [
                Reply(
                    text="Something went wrong on my side. Your answer is saved; "
                    "please send it again, or type 'memo' to finish with what I have."
                )
            ]
            pending = self.pending(interview_id)
            return [*turns, pending] if pending is not None else turns
        values: dict[str, Any] = result.value
        out: list[Turn] = []
        for item in values.get("outbox", [])[before:]:
            turn = self._turn(item)
            if turn is not None:
                out.append(turn)
        for item in result.interrupts:
            if isinstance(item.value, dict) and item.value.get("kind") == "question":
                out.append(Question.model_validate({**item.value, "seq": values.get("seq") or 0}))
        self._sync_record(interview_id, values, out)
        if values.get("phase") in ("done", "cancelled"):
            # A finished interview needs only its latest checkpoint; keeps growth bounded.
            compact_thread(self._saver, interview_id)
        return out

    def _turn(self, item: dict[str, Any]) -> Turn | None:
        kind = item.get("kind")
        if kind == "reply":
            return Reply.model_validate(item)
        if kind == "ended":
            return Ended.model_validate(item)
        if kind == "memo":
            memo = self.store.get_memo(item["memo_id"])
            if memo is None:
                return None
            return MemoReady(
                memo_id=memo.id,
                markdown=memo.markdown,
                assessment=memo.assessment,
                use_case=memo.use_case,
                status=memo.status,
                decided_by=memo.decided_by,
            )
        return None

    def _sync_record(self, interview_id: str, values: dict[str, Any], out: list[Turn]) -> None:
        """Copy the title and status to the interview's row; skipped when neither changed
        (record_answer has already moved its clock)."""
        record = self.store.get_interview(interview_id)
        if record is None:
            return
        changes: dict[str, Any] = {}
        profile = values.get("profile")
        if profile and profile.get("use_case") != record.use_case:
            changes["use_case"] = profile["use_case"]
        if any(isinstance(turn, Ended) for turn in out):
            changes["status"] = "cancelled"
        at = values.get("at")
        if changes or (at and at > record.updated_at):
            self.store.update_interview(interview_id, at=at, **changes)

    # -- the graph --------------------------------------------------------------------

    def _build(self) -> Any:
        builder = StateGraph(State)
        nodes = ["intake", "assess", "write_memo", "review"]
        builder.add_node("intake", self._intake)
        for spec in catalog.CATALOG:
            node: Any = self._question_node(spec.id)
            builder.add_node(f"q_{spec.id}", node)
            nodes.append(f"q_{spec.id}")
        builder.add_node("assess", self._assess)
        builder.add_node("write_memo", self._write_memo)
        builder.add_node("review", self._review)
        builder.add_edge(START, "intake")
        targets = [n for n in nodes if n != "write_memo"] + [END]
        for name in nodes:
            if name == "assess":
                builder.add_edge("assess", "write_memo")
            elif name == "write_memo":
                builder.add_edge("write_memo", "review")
            else:
                builder.add_conditional_edges(name, self._route, targets)
        return builder.compile(checkpointer=self._saver)

    def _route(self, state: State) -> str:
        phase = state.get("phase")
        if phase == "cancelled":
            return END
        if state.get("profile") is None:
            return "intake"
        if phase == "done":
            return "review"
        if phase == "assess" or state.get("finish"):
            return "assess"
        if state.get("ask_next"):
            return f"q_{state['ask_next']}"
        spec = catalog.next_question(_profile(state), _settled(state))
        return f"q_{spec.id}" if spec is not None else "assess"

    # intake -------------------------------------------------------------------------

    def _use_case_question(self, state: State) -> Question:
        total = 1 + catalog.remaining_estimate(Profile(use_case="?"), set())
        return catalog.to_turn(catalog.USE_CASE, 1, total, hint=state.get("hint", ""))

    def _intake(self, state: State) -> dict[str, Any]:
        if state.get("profile") is not None:
            # The use case came with start(); let the LLM (if any) read more out of the whole
            # opening text (the profile holds only its title).
            profile = _profile(state)
            opening = next(
                (p["said"] for p in state.get("provenance", []) if p["field"] == USE_CASE_ID),
                profile.use_case,
            )
            return self._extracted(
                state, profile, opening, by=state.get("started_by", ""), pending=None
            )
        payload = interrupt(self._use_case_question(state).model_dump(mode="json"))
        return {**self._use_case_answer(state, payload), "seq": _seq(payload, state)}

    def _use_case_answer(self, state: State, payload: dict[str, Any]) -> dict[str, Any]:
        raw = str(payload.get("text") or "")
        text = " ".join(raw.split())
        by, at = str(payload["by"]), str(payload["at"])
        command = parse_command(text)
        if command is not None and command.kind == "cancel":
            return self._cancel(at)
        if command is not None and command.kind == "help":
            return {"at": at, "outbox": [_reply(HELP)]}
        if command is not None and command.kind == "ask":
            return {"at": at, "outbox": [self._ask(command.text, catalog.USE_CASE, state)]}
        if command is not None and command.kind in ("skip", "back", "memo", "change"):
            return {
                "at": at,
                "hint": "First tell me what the model is for, in a line.",
            }
        if not text:
            return {"at": at, "hint": "In a line: what goes in, and what should come out?"}
        profile, records = _use_case(raw, by=by, at=at)
        update: dict[str, Any] = {
            "at": at,
            "hint": "",
            "asked_use_case": True,
            "profile": profile.model_dump(mode="json"),
            "provenance": [
                *state.get("provenance", []),
                *(r.model_dump(mode="json") for r in records),
            ],
        }
        merged: State = {**state, **update}  # type: ignore[typeddict-item]
        extra = self._extracted(merged, profile, text, by=by, pending=None)
        extra_outbox = extra.pop("outbox", [])
        return {**update, **extra, "outbox": extra_outbox}

    def _extracted(
        self, state: State, profile: Profile, text: str, *, by: str, pending: str | None
    ) -> dict[str, Any]:
        """What the optional LLM reads out of the opening ``text``, merged with provenance and
        reported. When the opening was too long to be its own title, the model's one-line
        summary replaces the offline title (the whole text stays in the provenance)."""
        if self.llm is None:
            return {}
        titled = profile.use_case != " ".join(text.split())
        found = self._llm_extract(text, profile, pending, state, title=titled)
        provenance = list(state.get("provenance", []))
        noted: dict[str, Any] = {}
        title = " ".join(str(found.pop(USE_CASE_ID, "") or "").split())
        if title and title != profile.use_case:
            profile = profile.model_copy(update={USE_CASE_ID: title})
            # Retitle the opening's own record: the title was derived, nobody said it.
            index = max(i for i, p in enumerate(provenance) if p["field"] == USE_CASE_ID)
            provenance[index] = {**provenance[index], "value": title}
            noted[USE_CASE_ID] = title
        profile, records, applied = _merge_each(
            profile, found, by=by, at=state.get("at", ""), said=text
        )
        noted.update(applied)
        if not noted:
            return {}
        return {
            "profile": profile.model_dump(mode="json"),
            "provenance": [*provenance, *(r.model_dump(mode="json") for r in records)],
            "outbox": [_reply(f"I noted: {_noted(noted)}. Reply 'change …' if that's wrong.")],
        }

    def _llm_extract(
        self,
        text: str,
        profile: Profile,
        pending: str | None,
        state: State,
        *,
        title: bool = False,
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

    # questions ----------------------------------------------------------------------

    def _question_turn(self, spec: Any, state: State) -> Question:
        profile = _profile(state)
        settled = _settled(state)
        number = len(state.get("history", [])) + 1 + int(state.get("asked_use_case", False))
        remaining = catalog.remaining_estimate(profile, settled)
        total = max(number, number - 1 + remaining)
        return catalog.to_turn(spec, number, total, hint=state.get("hint", ""))

    def _question_node(self, question_id: str) -> Callable[[State], dict[str, Any]]:
        def node(state: State) -> dict[str, Any]:
            spec = catalog.spec(question_id)
            # Nothing with side effects before this line: a resumed node reruns from the top.
            payload = interrupt(self._question_turn(spec, state).model_dump(mode="json"))
            return {**self._answer(spec, state, payload), "seq": _seq(payload, state)}

        node.__name__ = f"q_{question_id}"
        return node

    def _answer(self, spec: Any, state: State, payload: dict[str, Any]) -> dict[str, Any]:
        text = " ".join(str(payload.get("text") or "").split())
        by, at = str(payload["by"]), str(payload["at"])
        base: dict[str, Any] = {"at": at, "hint": "", "ask_next": None}
        values = payload.get("values")
        profile = _profile(state)
        if values is not None:
            parsed = parse_choice(spec, [str(v) for v in values])
            settled = self._settle(spec, state, profile, parsed, {}, text, by, at)
            return {**base, **settled, "clash": None}
        command = parse_command(text)
        if command is not None:
            return {**base, **self._command(command, spec, state, profile, by, at)}
        asked = state.get("clash") or {}
        asked = asked if asked.get("question") == spec.id else {}
        picked = _pick_reading(text, asked.get("readings") or {})
        if picked:  # "the first" / "the second": one of the two readings we offered
            parsed, extracted = Parsed(values=picked), {}
        else:
            wanted = catalog.missing_fields(spec, profile, _settled(state)) or None
            parsed = parse_answer(spec, text, fields=wanted)
            extracted = (
                self._llm_extract(text, profile, spec.id, state)
                if self.llm is not None and _needs_model(parsed, text)
                else {}
            )
        confirm = ""
        taken: dict[str, Any] = dict(picked or {})
        if extracted and parsed.ok and not parsed.skipped:
            clash = conflicts(extracted, parsed.values)
            for name in clash:
                extracted.pop(name, None)
            if clash and not asked:
                # Ask once which reading is meant; keep the rest of the answer meanwhile.
                confirm = clash_text(clash)
                rest = {k: v for k, v in parsed.values.items() if k not in clash}
                parsed = Parsed(values=rest, missing=list(clash), hint=confirm)
                asked = {
                    "question": spec.id,
                    "readings": {n: [a, b] for n, (a, b) in clash.items()},
                }
            elif clash:  # asked already: the words as the offline parser reads them stand
                taken.update({name: parsed.values[name] for name in clash})
        update = self._settle(spec, state, profile, parsed, extracted, text, by, at, confirm)
        done = any(h["question"] == spec.id for h in update.get("history", []))
        update["clash"] = None if done else (asked or None)
        if taken and done:
            note = _reply(f"Going with {_noted(taken)}. Reply 'change …' if you meant otherwise.")
            update["outbox"] = [*update.get("outbox", []), note]
        return {**base, **update}

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
        confirm: str = "",
    ) -> dict[str, Any]:
        """Apply one answer to the pending question (plus anything the LLM read).

        The question is settled (never routed to again) when the answer gave a value, said
        skip, or was complete. A partial answer ("82% against 95%") is kept and the question
        asked once more for what is missing; a second partial answer settles it. ``confirm``
        (the LLM and the parser read a field two ways) keeps what was read and asks again.
        """
        outbox: list[dict[str, Any]] = []
        history = list(state.get("history", []))
        updates: dict[str, Any] = dict(extracted)
        if parsed.ok and not parsed.skipped:
            updates.update(parsed.values)  # the offline reading wins for the pending question
        profile, records, applied = _merge_each(profile, updates, by=by, at=at, said=said)
        result: dict[str, Any] = {
            "profile": profile.model_dump(mode="json"),
            "provenance": [
                *state.get("provenance", []),
                *(r.model_dump(mode="json") for r in records),
            ],
            "partial": None,
        }
        earlier = state.get("partial") or {}
        fields = (
            [*earlier.get("fields", []), *applied] if earlier.get("question") == spec.id else []
        )
        fields = list(dict.fromkeys([*fields, *applied]))
        if extracted and applied:
            outbox.append(_reply(f"I noted: {_noted(applied)}. Reply 'change …' if that's wrong."))
        elif applied and not spec.options:
            outbox.append(_reply(f"Noted: {_noted(applied)}."))
        still = catalog.missing_fields(spec, profile, _settled(state))
        answered = any(name in applied for name in spec.fields)
        if confirm:
            result["partial"] = {"question": spec.id, "fields": fields}
            result["hint"] = confirm
        elif parsed.skipped and not answered:
            history.append({"question": spec.id, "fields": fields, "skipped": True})
            outbox.append(_reply("Skipped: it goes on the memo's open questions."))
        elif answered and still and parsed.missing and earlier.get("question") != spec.id:
            result["partial"] = {"question": spec.id, "fields": fields}
            result["hint"] = _hint(parsed) or "What about the rest of the question?"
        elif answered or (parsed.ok and not parsed.skipped):
            history.append({"question": spec.id, "fields": fields, "skipped": False})
        else:
            result["hint"] = _hint(parsed) or (
                "I couldn't read that. Pick an option by number or answer in a few words."
            )
            if earlier.get("question") == spec.id:
                result["partial"] = earlier
        return {**result, "history": history, "outbox": outbox}

    # commands -----------------------------------------------------------------------

    def _command(
        self,
        command: UserCommand,
        spec: Any,
        state: State,
        profile: Profile,
        by: str,
        at: str,
    ) -> dict[str, Any]:
        kind = command.kind
        history = list(state.get("history", []))
        if kind == "skip":
            history.append({"question": spec.id, "fields": [], "skipped": True})
            return {
                "history": history,
                "outbox": [_reply("Skipped: it goes on the memo's open questions.")],
            }
        if kind == "back":
            return self._back(state, profile, by, at)
        if kind == "change":
            return self._change(command, state, profile, by, at, pending=spec.id)
        if kind == "memo":
            return {
                "finish": True,
                "outbox": [
                    _reply("Writing the memo now; anything still unknown becomes an open question.")
                ],
            }
        if kind == "cancel":
            return self._cancel(at)
        if kind == "help":
            return {"outbox": [_reply(HELP)]}
        # "ask": a question to the advisor; the pending question is asked again afterwards.
        return {"outbox": [self._ask(command.text, spec, state)]}

    def _back(self, state: State, profile: Profile, by: str, at: str) -> dict[str, Any]:
        history = list(state.get("history", []))
        if not history:
            return {
                "outbox": [_reply("This is the first question; there is nothing to go back to.")]
            }
        last = history.pop()
        cleared = {name: None for name in last.get("fields", []) if name in FIELDS}
        cleared.pop(USE_CASE_ID, None)
        provenance = list(state.get("provenance", []))
        if cleared:
            profile, records = merge(profile, cleared, by=by, at=at, said="back")
            provenance += [r.model_dump(mode="json") for r in records]
        return {
            "profile": profile.model_dump(mode="json"),
            "provenance": provenance,
            "history": history,
            "ask_next": last["question"],
            "clash": None,
            "outbox": [_reply("Going back one question.")],
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
                    _reply(
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
                    _reply(
                        f"I couldn't read '{raw}' as {FIELD_LABELS.get(field, field)}. "
                        "Try again, for example 'change volume to 50k'."
                    )
                ],
                "ask_next": pending,
            }
        try:
            profile, records = merge(profile, value_updates, by=by, at=at, said=command.text)
        except ValueError:
            return {
                "outbox": [_reply(f"'{raw}' is not a valid {FIELD_LABELS.get(field, field)}.")],
                "ask_next": pending,
            }
        done = state.get("phase") == "done"
        text = f"Changed {_noted(value_updates)}."
        if done:
            text += " Writing a revised memo."
        still_open = (
            pending is not None
            and pending != USE_CASE_ID
            and any(getattr(profile, f) is None for f in catalog.spec(pending).fields)
        )
        update: dict[str, Any] = {
            "profile": profile.model_dump(mode="json"),
            "provenance": [
                *state.get("provenance", []),
                *(r.model_dump(mode="json") for r in records),
            ],
            "outbox": [_reply(text)],
            "ask_next": pending if still_open else None,
        }
        if done:
            update["phase"] = "assess"
        return update

    def _cancel(self, at: str) -> dict[str, Any]:
        ended = Ended(
            text="Interview cancelled. Nothing more will be asked and no memo was written."
        )
        return {"at": at, "phase": "cancelled", "outbox": [ended.model_dump(mode="json")]}

    def _ask(self, question: str, spec: Any, state: State) -> dict[str, Any]:
        """A follow-up question, answered from the knowledge cards with citations."""
        if spec is not None and _is_why(question):
            cited = card_citation(spec.why_card) if getattr(spec, "why_card", None) else None
            return _reply(f"Why I ask: {spec.why}", [cited] if cited else [])
        subject = _defined(question)
        try:
            with self._knowledge_lock:
                hits = search(self._knowledge, question, k=5 if subject else 3)
        except Exception:
            log.exception("knowledge search failed")
            hits = []
        if subject:
            hits = _definition_first(hits, subject)[:3]
        if not hits:
            return _reply(
                "I have no guidance on that. Try asking about prompting, RAG, fine-tuning, "
                "eval sets, costs or data."
            )
        if self.llm is not None:
            try:
                answered = self.llm.answer(
                    question, hits, interview_id=state.get("interview_id", "")
                )
            except Exception:
                log.exception("llm answer failed")
                answered = None
            if answered:
                text, ids = answered
                found = [c for c in (self._hit_citation(h) for h in hits if h.id in ids) if c]
                return _reply(text, found)
        top = hits[0]
        lines = [f"{top.title}: {_excerpt(top.text)}"]
        if len(hits) > 1:
            lines.append("See also: " + "; ".join(h.title for h in hits[1:]) + ".")
        found = [c for c in (self._hit_citation(h) for h in hits) if c]
        return _reply("\n".join(lines), found)

    @staticmethod
    def _hit_citation(hit: Hit) -> Citation | None:
        return card_citation(hit.id) or Citation(
            id=hit.id, title=hit.title, sources=list(hit.sources)
        )

    # assess, memo, review -----------------------------------------------------------

    def _assess(self, state: State) -> dict[str, Any]:
        assessment = assess(_profile(state), self.prices)
        return {
            "assessment": assessment.model_dump(mode="json"),
            "phase": "assess",
            "finish": False,
            "ask_next": None,
            "hint": "",
        }

    def _write_memo(self, state: State) -> dict[str, Any]:
        profile = _profile(state)
        assessment = Assessment.model_validate(state["assessment"])
        provenance = [Provenance.model_validate(p) for p in state.get("provenance", [])]
        interview_id = state.get("interview_id", "")
        version = state.get("memo_version", 0) + 1
        prose = None
        if self.llm is not None:
            try:
                prose = self.llm.write_prose(
                    profile, assessment, interview_id=interview_id, answers=provenance
                )
            except Exception:
                log.exception("llm prose failed")
        memo_id = memo_id_for(interview_id, version)
        deciders = list(
            dict.fromkeys(
                [state.get("started_by", ""), *(p.by for p in provenance if p.said != "back")]
            )
        )
        markdown = render_memo(
            profile,
            assessment,
            provenance,
            status="proposed",
            date=state.get("at", "")[:10],
            deciders=[d for d in deciders if d],
            thread_link=state.get("thread_link") or None,
            citations_lookup=lambda card_id: card_citation(card_id, for_memo=True),
            question_for=_question_text,
            prose=prose,
            memo_ref=f"`{memo_id}` (version {version})",
        )
        record = self.store.save_memo(
            interview_id=interview_id,
            version=version,
            markdown=markdown,
            assessment=assessment.model_dump(mode="json"),
            use_case=profile.use_case,
            at=state.get("at"),
        )
        return {
            "memo_version": version,
            "memo_id": record.id,
            "phase": "done",
            "outbox": [{"kind": "memo", "memo_id": record.id}],
        }

    def _review(self, state: State) -> dict[str, Any]:
        payload = interrupt({"kind": "done", "memo_id": state.get("memo_id")})
        return {**self._after_memo(state, payload), "seq": _seq(payload, state)}

    def _after_memo(self, state: State, payload: dict[str, Any]) -> dict[str, Any]:
        text = " ".join(str(payload.get("text") or "").split())
        by, at = str(payload["by"]), str(payload["at"])
        base: dict[str, Any] = {"at": at}
        command = parse_command(text) if payload.get("values") is None else None
        profile = _profile(state)
        if command is not None and command.kind == "change":
            return {**base, **self._change(command, state, profile, by, at, pending=None)}
        if command is not None and command.kind == "ask":
            return {**base, "outbox": [self._ask(command.text, None, state)]}
        if command is not None and command.kind == "memo" and state.get("memo_id"):
            return {**base, "outbox": [{"kind": "memo", "memo_id": state["memo_id"]}]}
        return {**base, "outbox": [_reply(DONE_TEXT)]}


# helpers -------------------------------------------------------------------------------


def _seq(payload: dict[str, Any], state: State) -> int:
    """The store seq of the answer a node took (payloads from before seqs keep the old)."""
    return int(payload.get("seq") or state.get("seq") or 0)


_ABBREVIATION = re.compile(r"(?:^|\s)[A-Z][\w.]{0,3}\.$")
_SENTENCE_END = re.compile(r"\n|(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


def _title(raw: str) -> str:
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


def _use_case(raw: str, *, by: str, at: str) -> tuple[Profile, list[Provenance]]:
    """The opening text as a profile: its title, with the whole text as what was said."""
    title = _title(raw)
    profile = Profile(use_case=title)
    said = " ".join(raw.split())
    return profile, [Provenance(field=USE_CASE_ID, value=title, by=by, at=at, said=said)]


def _needs_model(parsed: Parsed, text: str) -> bool:
    """Whether a reply is worth an LLM call: the offline parser could not read it all, or
    it says more than a short answer does."""
    return not parsed.ok or bool(parsed.missing) or len(text.split()) > MODEL_WORDS


_FIRST = re.compile(r"(?:the )?(?:first|former|1st)(?: one| reading)?")
_SECOND = re.compile(r"(?:the )?(?:second|latter|2nd)(?: one| reading)?")


def _pick_reading(text: str, readings: dict[str, list[Any]]) -> dict[str, Any] | None:
    """After a clash, 'the first' picks the offline reading and 'the second' the LLM's."""
    if not readings:
        return None
    said = re.sub(r"[^a-z0-9 ]+", " ", text.lower())
    said = " ".join(w for w in said.split() if w not in ("i", "meant", "mean", "please"))
    for pattern, index in ((_FIRST, 0), (_SECOND, 1)):
        if pattern.fullmatch(said):
            return {name: pair[index] for name, pair in readings.items()}
    return None


def _merge_each(
    profile: Profile, updates: dict[str, Any], *, by: str, at: str, said: str
) -> tuple[Profile, list[Provenance], dict[str, Any]]:
    """Merge what validates; a bad value for one field never loses the others."""
    records: list[Provenance] = []
    applied: dict[str, Any] = {}
    for name, value in updates.items():
        try:
            profile, found = merge(profile, {name: value}, by=by, at=at, said=said)
        except ValueError:
            log.info("dropped invalid value for %s: %r", name, value)
            continue
        records += found
        applied[name] = found[0].value
    return profile, records, applied


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


def _hint(parsed: Parsed) -> str:
    return parsed.hint.strip() if parsed.hint else ""


def _is_why(text: str) -> bool:
    words = re.findall(r"[a-z']+", text.lower())
    return (
        bool(words)
        and " ".join(words).startswith(_WHY_START)
        and len(words) <= 6
        and set(words) <= _WHY_WORDS
    )


_DEFINITIONAL = re.compile(
    r"\s*(?:what\s+is|what's|whats|what\s+are|define)\s+(?:an?\s+|the\s+)?(?P<subject>.+)",
    re.IGNORECASE,
)


# Words around a subject that do not change what is being defined ("what is RAG, exactly?").
_FILLER = frozenset(
    {"a", "an", "the", "exactly", "really", "actually", "again", "briefly", "simply", "in"}
    | {"short", "plain", "simple", "terms", "words"}
)


def _defined(question: str) -> list[str]:
    """The words of X in "what is X?", "what's X", "what are X", "define X"; else []."""
    found = _DEFINITIONAL.fullmatch(question.replace("’", "'"))
    words = re.findall(r"[a-z0-9]+", found["subject"].lower()) if found else []
    return [word for word in words if word not in _FILLER]


def _definition_first(hits: Sequence[Hit], subject: list[str]) -> list[Hit]:
    """The hits with the card that defines the subject first, when one is among them.

    Defining cards are named ``what-is-<topic>``; the topic must be the whole subject (its
    words, or its acronym: "rag" for "retrieval augmented generation"), so "what is the
    difference between RAG and fine-tuning?" keeps the search order.
    """
    initials = "".join(word[0] for word in subject) if len(subject) > 1 else ""

    def defines(hit: Hit) -> bool:
        if not hit.id.startswith("what-is-"):
            return False
        topic = hit.id.removeprefix("what-is-").split("-")
        return set(topic) == set(subject) or "".join(topic) == initials

    first = next((hit for hit in hits if defines(hit)), None)
    return list(hits) if first is None else [first, *(hit for hit in hits if hit is not first)]


def clash_text(clash: dict[str, tuple[Any, Any]]) -> str:
    """One line asking the user to settle the readings :func:`graph.profile.conflicts` found."""
    parts = [
        f"{FIELD_LABELS.get(name, name)}: {value_text(name, a)} or {value_text(name, b)}"
        for name, (a, b) in clash.items()
    ]
    return "I read your answer two ways (" + "; ".join(parts) + "). Which did you mean?"
