"""The interview: a LangGraph state machine, and the service every front end calls.

One LangGraph thread per interview (thread id = interview id), checkpointed in SQLite (or,
with ``ADVISOR_DATABASE_URL``, LangGraph's PostgresSaver), so a process killed mid-interview
resumes at the same question. The graph has an intake node,
one node per catalog question (each with exactly one ``interrupt()`` and nothing with side
effects before it, because a resumed node runs again from its top), an assess node, a
write_memo node and a review node that waits for revisions after the memo. What a reply
does inside a node (confirmations, re-asks, commands, changes) is graph/steps.py.

State is plain JSON data. What the interview says back accumulates in ``outbox``; the
service returns the items one call added, then the pending question.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from graph import questions as catalog
from graph.amend import amended, still_shown
from graph.answers import parse_command
from graph.assessment import Assessment
from graph.cost import Prices, load_prices
from graph.evidence import EvalEvidence, TrainingEvidence
from graph.followups import FollowUps, reply
from graph.interview_evidence import add_evidence, evidence_rows
from graph.limits import MAX_REPLIES, over_limit
from graph.memo import FIELD_LABELS, card_citation, render_memo
from graph.policy import assess
from graph.profile import Profile, Provenance
from graph.retention import COMPACT_EVERY, compact_thread
from graph.steps import (
    DONE_TEXT,
    HELP,
    LLM,
    USE_CASE_ID,
    State,
    Steps,
    clash_text,
    merge_each,
    noted,
    profile_of,
    question_turn,
    settled,
    title,
    use_case_profile,
)
from graph.store import Store, memo_id_for, utc_now
from graph.turns import CANCELLED_TEXT, Ended, MemoReady, Question, Reply, Turn
from knowledge.db import connect

if TYPE_CHECKING:
    from langgraph.checkpoint.postgres import PostgresSaver

log = logging.getLogger(__name__)

MAX_TEXT = 4_000  # a reply longer than this is cut before parsing (the store keeps it whole)
MAX_STORED = 20_000


def _question_text(field: str) -> str:
    """The question that asked for ``field``, short enough for a memo table cell."""
    try:
        text = catalog.question_for_field(field).text
    except (KeyError, ValueError):
        return FIELD_LABELS.get(field, field)
    text = re.sub(r"\s*\([^)]*\)", "", text)
    return text[: text.index("?") + 1] if "?" in text else text


def _resume_with(payload: dict[str, Any]) -> Command[Any]:
    """Resume the waiting node with ``payload``; the outbox starts empty for this call, so
    a checkpoint holds one reply's output, not the whole conversation (the answers table
    keeps the transcript; carrying it in every checkpoint grew the file quadratically)."""
    return Command(resume=payload, update={"outbox": None})


class _Now(NamedTuple):
    waiting: dict[str, Any] | None  # the interrupt's value: a question, or the memo review
    outbox: int  # items in the state's outbox so far
    seq: int | None  # the latest saved answer the graph took (None: state from before seqs)

    @property
    def question_id(self) -> str:
        """What a reply now answers: the question's id, "done" after the memo, or ""."""
        return str(self.waiting.get("id") or self.waiting.get("kind", "")) if self.waiting else ""


class Interviews(Steps):
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
        self.store, self._saver = _open(db_path)
        self.clock = clock
        self.prices = prices if prices is not None else load_prices()
        self.llm = llm
        bind = getattr(llm, "bind_usage", None)
        if callable(bind) and getattr(llm, "on_usage", None) is None:
            bind(self.store.record_usage)
        # The card index is a local SQLite FTS5 file in every case (cards ship with the code).
        self.followups = FollowUps(db_path, llm)
        self.graph = self._build()

    # -- the service ------------------------------------------------------------------

    def start(
        self,
        interview_id: str,
        *,
        use_case: str,
        by: str,
        origin: dict[str, str] | None = None,
        author_id: str = "",
    ) -> list[Turn]:
        """Open an interview; with an empty ``use_case`` the first question asks for it.
        Starting an interview that exists already just shows where it stands. ``by`` is the
        person's name (shown); ``author_id`` their stable id, kept with what they say."""
        if self.exists(interview_id):
            return self._where(interview_id)
        at = self.clock()
        text = " ".join((use_case or "").split())
        self.store.create_interview(
            interview_id, use_case=title(use_case or ""), by=by, at=at, origin=origin
        )
        state: State = {
            "interview_id": interview_id,
            "started_by": by,
            "thread_link": (origin or {}).get("permalink", ""),
            "at": at,
            "profile": None,
            "provenance": [],
            "history": [],
            "attempt": None,
            "confirming": None,
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
                interview_id,
                question_id=USE_CASE_ID,
                text=use_case[:MAX_STORED],
                by=by,
                at=at,
                author_id=author_id,
            )
            profile, records = use_case_profile(use_case[:MAX_STORED], by=by, at=at)
            state["profile"] = profile.model_dump(mode="json")
            state["provenance"] = [r.model_dump(mode="json") for r in records]
        return self._run(interview_id, state)

    def reply(
        self,
        interview_id: str,
        text: str,
        *,
        by: str,
        author_id: str = "",
        pending: Question | None = None,
    ) -> list[Turn]:
        """A typed reply in the thread or terminal: an answer, a command or a question.

        ``pending`` is the question :meth:`pending` returned to a caller that has held the
        interview since (the Slack step does): it saves reading the checkpoint again."""
        now = None
        if pending is not None:
            now = _Now(pending.model_dump(mode="json", exclude={"seq"}), 0, pending.seq)
        return self._resume(
            interview_id, text=text, values=None, by=by, now=now, author_id=author_id
        )

    def choose(
        self,
        interview_id: str,
        question_id: str,
        values: list[str],
        *,
        by: str,
        author_id: str = "",
    ) -> list[Turn]:
        """A button or checkbox answer to ``question_id``."""
        now = self._now(interview_id)
        waiting = now.waiting or {}
        if waiting.get("kind") != "question" or waiting.get("id") != question_id:
            refused = self._over_limit(interview_id, now, "", is_open=False)
            if refused is not None:
                return [refused]
            self.store.record_answer(
                interview_id,
                question_id=question_id,
                text=", ".join(values),
                by=by,
                at=self.clock(),
                values=values,
                author_id=author_id,
            )
            return [
                Reply(
                    text="That question was already answered. "
                    "To change an answer, reply 'change <what> to <value>'."
                )
            ]
        return self._resume(
            interview_id,
            text=", ".join(values),
            values=values,
            by=by,
            now=now,
            author_id=author_id,
        )

    def confirm(
        self, interview_id: str, question_id: str, *, by: str, author_id: str = ""
    ) -> list[Turn]:
        """Keep the reading a confirmation of ``question_id`` shows (a Confirm button)."""
        now = self._now(interview_id)
        waiting = now.waiting or {}
        if not waiting.get("confirm") or waiting.get("id") != question_id:
            return [
                Reply(
                    text="There is no reading of that question waiting to be confirmed. "
                    "To change an answer, reply 'change <what> to <value>'."
                )
            ]
        return self._resume(
            interview_id,
            text="yes",
            values=None,
            by=by,
            now=now,
            accept=True,
            author_id=author_id,
        )

    def amend(
        self, interview_id: str, seq: int, text: str | None, *, by: str, author_id: str = ""
    ) -> list[Turn]:
        """Answer ``seq`` was edited to ``text`` or (None) deleted: the store keeps the new
        words (or none), and the interview re-reads it (graph/amend.py). ``[]`` if there is
        no such answer or the interview waits for nothing."""
        kept = self.store.answers(interview_id)
        found = next((a for a in kept if a.seq == seq), None)
        now = self._now(interview_id)
        if found is None or now.waiting is None:
            return []
        latest = found.seq == kept[-1].seq
        self.store.amend_answer(interview_id, seq, text=text)
        amend = {"question_id": found.question_id, "text": text, "said": found.text}
        payload = {
            "amend": {**amend, "latest": latest},
            "by": by,
            "at": self.clock(),
            "seq": now.seq,
        }
        pending = self.pending(interview_id)
        turns = self._run(interview_id, Command(resume=payload), before=now.outbox)
        return still_shown(turns, pending)

    def add_evidence(
        self, interview_id: str, result: EvalEvidence | TrainingEvidence, *, by: str
    ) -> list[Turn]:
        """A measured file (graph.evidence) shared by ``by``: its facts fill the profile with
        provenance and the questions they settle are skipped (graph/interview_evidence.py)."""
        return add_evidence(self, interview_id, result, by=by)

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

    def provenance(self, interview_id: str) -> list[Provenance]:
        """Every value recorded, in order: who said what (value ``None``: asked, not known)."""
        values = self.graph.get_state(self._config(interview_id)).values
        return [Provenance.model_validate(p) for p in values.get("provenance", [])]

    def close(self) -> None:
        """Close the database connections (the service is unusable afterwards)."""
        self._saver.conn.close()
        self.followups.close()
        self.store.close()

    # -- plumbing ---------------------------------------------------------------------

    @staticmethod
    def _config(interview_id: str) -> Any:
        return {"configurable": {"thread_id": interview_id}}

    def _now(self, interview_id: str) -> _Now:
        """One read of the checkpoint: what waits for an answer and how long the outbox is.
        Reading it once per reply matters: each read costs about half a millisecond."""
        config = self._config(interview_id)
        snapshot = self.graph.get_state(config)
        if snapshot.next and not snapshot.interrupts and not any(t.error for t in snapshot.tasks):
            # LangGraph saves a step's checkpoint, then its interrupt (the question) in a second
            # transaction: a process killed between the two left a step with no question.
            # Running the waiting node again asks it again (nodes re-run on every resume).
            log.warning("interview %s: its question was never saved; asking it again", interview_id)
            try:
                self.graph.invoke(None, config, durability="exit", version="v2")
            except Exception:
                log.exception("interview %s: could not ask its question again", interview_id)
            snapshot = self.graph.get_state(config)
        waiting = next((i.value for i in snapshot.interrupts if isinstance(i.value, dict)), None)
        return _Now(waiting, len(snapshot.values.get("outbox", [])), snapshot.values.get("seq"))

    def _where(self, interview_id: str) -> list[Turn]:
        """Where an existing interview stands, as turns."""
        record = self.store.get_interview(interview_id)
        pending = self.pending(interview_id)
        if pending is not None:
            return [pending]
        if record is not None and record.status == "cancelled":
            return [Ended(text=CANCELLED_TEXT)]
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
        accept: bool = False,
        author_id: str = "",
    ) -> list[Turn]:
        record = self.store.get_interview(interview_id)
        if record is None:
            return [Reply(text="I don't know that interview. Start a new one to begin.")]
        at = self.clock()
        now = now or self._now(interview_id)
        refused = self._over_limit(interview_id, now, text, is_open=record.status == "open")
        if refused is not None:
            return [refused]
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
            author_id=author_id,
        )
        if waiting is None:
            if record.status == "cancelled":
                return [Ended(text=CANCELLED_TEXT)]
            return self._where(interview_id)
        payload = {"text": text[:MAX_TEXT], "values": values, "by": by, "at": at, "seq": seq}
        if accept:
            payload["accept"] = True
        return self._run(interview_id, _resume_with(payload))

    def _over_limit(
        self, interview_id: str, now: _Now, text: str, *, is_open: bool
    ) -> Reply | None:
        """The refusal of a reply past MAX_REPLIES (graph/limits.py), or None."""
        if (now.seq or 0) < MAX_REPLIES:
            return None  # the usual case costs no store read
        memo = self.store.latest_memo(interview_id)
        return over_limit(now.seq, text, is_open=is_open, memo_id=memo.id if memo else None)

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
        return [note, *self._run(interview_id, _resume_with(payload))]

    def _run(self, interview_id: str, graph_input: Any, *, before: int = 0) -> list[Turn]:
        """Run the graph to its next interrupt; the turns are the outbox items added after
        ``before`` and the question it now waits on."""
        config = self._config(interview_id)
        try:
            # One checkpoint per call, written when the graph stops at its next question: a
            # reply is applied whole or not at all (a stop mid-step leaves the checkpoint at
            # the question, the answer is in the answers table first, and recover() takes
            # it). Per step ("sync") cost 12 writes and 1.4 checkpoints a reply, not 1 and 1.
            result = self.graph.invoke(graph_input, config, durability="exit", version="v2")
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
            turn = self._turn(item, values)
            if turn is not None:
                out.append(turn)
        for item in result.interrupts:
            if isinstance(item.value, dict) and item.value.get("kind") == "question":
                out.append(Question.model_validate({**item.value, "seq": values.get("seq") or 0}))
        self._sync_record(interview_id, values, out)
        if values.get("phase") in ("done", "cancelled"):
            # A finished interview needs only its latest checkpoint; keeps growth bounded.
            self._compact(interview_id, open_too=False)
        elif (values.get("seq") or 0) % COMPACT_EVERY == 0 and values.get("seq"):
            # An open one too, now and then: a long thread keeps a few checkpoints, not all.
            self._compact(interview_id, open_too=True)
        return out

    def _compact(self, interview_id: str, *, open_too: bool) -> None:
        if isinstance(self._saver, SqliteSaver):
            compact_thread(self._saver, interview_id, open_too=open_too)
        else:
            from graph.pg_store import compact_pg_thread

            compact_pg_thread(self._saver, interview_id)

    def _turn(self, item: dict[str, Any], values: dict[str, Any]) -> Turn | None:
        kind = item.get("kind")
        if kind == "reply":
            return Reply.model_validate(item)
        if kind == "ended":
            return Ended.model_validate(item)
        if kind == "memo":
            # From the state the memo was written from (assess always runs just before
            # write_memo), not read back: front ends read the stored memo once themselves.
            return MemoReady(
                memo_id=item["memo_id"],
                assessment=values.get("assessment") or {},
                use_case=str((values.get("profile") or {}).get("use_case") or ""),
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
        builder.add_node("intake", _changes_only(self._intake))
        for spec in catalog.CATALOG:
            node: Any = self._question_node(spec.id)
            builder.add_node(f"q_{spec.id}", _changes_only(node))
            nodes.append(f"q_{spec.id}")
        builder.add_node("assess", _changes_only(self._assess))
        builder.add_node("write_memo", _changes_only(self._write_memo))
        builder.add_node("review", _changes_only(self._review))
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
        spec = catalog.next_question(profile_of(state), settled(state))
        return f"q_{spec.id}" if spec is not None else "assess"

    # intake -------------------------------------------------------------------------

    def _use_case_question(self, state: State) -> Question:
        total = 1 + catalog.remaining_estimate(Profile(use_case="?"), set())
        return catalog.to_turn(catalog.USE_CASE, 1, total, hint=state.get("hint", ""))

    def _intake(self, state: State) -> dict[str, Any]:
        if state.get("profile") is not None:
            # The use case came with start(); let the LLM (if any) read more out of the whole
            # opening text (the profile holds only its title).
            profile = profile_of(state)
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
            return {"at": at, "outbox": [reply(HELP)]}
        if command is not None and command.kind == "ask":
            asked = self.followups.answer(
                command.text, catalog.USE_CASE, interview_id=state.get("interview_id", "")
            )
            return {"at": at, "outbox": [asked]}
        if command is not None and command.kind in ("skip", "back", "memo", "change"):
            return {
                "at": at,
                "hint": "First tell me what the model is for, in a line.",
            }
        if not text:
            return {"at": at, "hint": "In a line: what goes in, and what should come out?"}
        profile, records = use_case_profile(raw, by=by, at=at)
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
        said_values: dict[str, Any] = {}
        heading = " ".join(str(found.pop(USE_CASE_ID, "") or "").split())
        if heading and heading != profile.use_case:
            profile = profile.model_copy(update={USE_CASE_ID: heading})
            # Retitle the opening's own record: the title was derived, nobody said it.
            index = max(i for i, p in enumerate(provenance) if p["field"] == USE_CASE_ID)
            provenance[index] = {**provenance[index], "value": heading}
            said_values[USE_CASE_ID] = heading
        profile, records, applied = merge_each(
            profile, found, by=by, at=state.get("at", ""), said=text
        )
        said_values.update(applied)
        if not said_values:
            return {}
        return {
            "profile": profile.model_dump(mode="json"),
            "provenance": [*provenance, *(r.model_dump(mode="json") for r in records)],
            "outbox": [reply(f"I noted: {noted(said_values)}. Reply 'change …' if that's wrong.")],
        }

    # questions ----------------------------------------------------------------------

    def _question_node(self, question_id: str) -> Callable[[State], dict[str, Any]]:
        def node(state: State) -> dict[str, Any]:
            spec = catalog.spec(question_id)
            # Nothing with side effects before this line: a resumed node reruns from the top.
            payload = interrupt(question_turn(spec, state).model_dump(mode="json"))
            if payload.get("amend"):  # an earlier answer edited or deleted (graph/amend.py)
                return {**amended(state, payload, pending=spec.id), "seq": _seq(payload, state)}
            return {**self._answer(spec, state, payload), "seq": _seq(payload, state)}

        node.__name__ = f"q_{question_id}"
        return node

    # assess, memo, review -----------------------------------------------------------

    def _assess(self, state: State) -> dict[str, Any]:
        assessment = assess(profile_of(state), self.prices)
        return {
            "assessment": assessment.model_dump(mode="json"),
            "phase": "assess",
            "finish": False,
            "ask_next": None,
            "hint": "",
        }

    def _write_memo(self, state: State) -> dict[str, Any]:
        profile = profile_of(state)
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
            evidence=evidence_rows(self.store, interview_id),
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
        if payload.get("amend"):
            return {**amended(state, payload, pending=None), "seq": _seq(payload, state)}
        return {**self._after_memo(state, payload), "seq": _seq(payload, state)}


# helpers -------------------------------------------------------------------------------


def _changes_only(node: Callable[[State], dict[str, Any]]) -> Any:
    """``node``, returning only the keys whose value changes (and outbox items, if any).

    Every key a node returns is one more write LangGraph serialises and stores in the
    ``writes`` table; a reply's nodes return about ten, most of them unchanged (the same
    ``at``, ``hint``, ``attempt``...). Writing a value a channel already holds changes
    nothing: no node is triggered by these channels (the routing is by edges)."""

    @functools.wraps(node)
    def changed(state: State) -> dict[str, Any]:
        update = node(state)
        out: dict[str, Any] = {}
        for key, value in update.items():
            if key == "outbox":
                if value is None or value:  # None resets it; an empty list adds nothing
                    out[key] = value
            elif key not in state or state.get(key) != value:
                out[key] = value
        return out

    return changed


def _open(db_path: str | os.PathLike[str] | None) -> tuple[Store, SqliteSaver | PostgresSaver]:
    """The store and the checkpointer: SQLite (the file ``db_path``, or ``ADVISOR_DB``), or
    PostgreSQL when ``ADVISOR_DATABASE_URL`` is set and no ``db_path`` is given: the app's
    tables and LangGraph's PostgresSaver on one pool, the schema migrated first."""
    if db_path is None and (os.environ.get("ADVISOR_DATABASE_URL") or "").strip():
        from graph.pg_store import open_engine  # psycopg loads only for PostgreSQL

        return open_engine()
    return Store(db_path), SqliteSaver(connect(db_path))


def _seq(payload: dict[str, Any], state: State) -> int:
    """The store seq of the answer a node took (payloads from before seqs keep the old)."""
    return int(payload.get("seq") or state.get("seq") or 0)


__all__ = ["DONE_TEXT", "HELP", "LLM", "Interviews", "State", "clash_text"]
