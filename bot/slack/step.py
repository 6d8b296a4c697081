"""One kept inbox item through the engine: start, reply or choose, and the plan of what the
thread gets, written to the outbox in the same transaction that marks the item handled.

A step runs on its thread's work queue and holds the thread across processes
(bot/slack/runner.py). It is safe to run again: an item whose earlier try got through the
engine and died before its messages were queued is not answered twice, the thread is only
caught up with where the interview stands. A database that stays busy means "later", not
"lost": the item stays in the inbox and is tried again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from functools import partial
from typing import Any, Protocol

from bot.slack import blocks
from bot.slack import plan as planning
from bot.slack.delivery import Delivery, Outbox, describe
from bot.slack.faults import fault
from bot.slack.files import PAST_QUESTIONS, TEXT_NOT_READ, SlackFiles
from bot.slack.payloads import Where, where_kept
from bot.slack.plan import CANCELLED, Plan
from bot.slack.runner import Runner
from bot.slack.tables import Busy, InboxItem, SlackTables, is_busy
from bot.slack.webapi import BotIdentity, Names, WebApi
from graph.decisions import set_status
from graph.evidence import EvalEvidence, TrainingEvidence
from graph.store import MemoStatus, Store
from graph.turns import CANCELLED_TEXT, Ended, Question, Reply, Turn

log = logging.getLogger("advisor.slack")


class Engine(Protocol):
    """What the Slack app needs from ``graph.interview.Interviews``."""

    store: Store

    def start(
        self,
        interview_id: str,
        *,
        use_case: str,
        by: str,
        origin: dict[str, str] | None = None,
        author_id: str = "",
    ) -> list[Any]: ...

    def reply(
        self,
        interview_id: str,
        text: str,
        *,
        by: str,
        author_id: str = "",
        pending: Question | None = None,
    ) -> list[Any]: ...

    def choose(
        self,
        interview_id: str,
        question_id: str,
        values: list[str],
        *,
        by: str,
        author_id: str = "",
    ) -> list[Any]: ...

    def amend(
        self, interview_id: str, seq: int, text: str | None, *, by: str, author_id: str = ""
    ) -> list[Any]: ...

    def confirm(
        self, interview_id: str, question_id: str, *, by: str, author_id: str = ""
    ) -> list[Any]: ...

    def add_evidence(
        self, interview_id: str, result: EvalEvidence | TrainingEvidence, *, by: str
    ) -> list[Any]: ...

    def pending(self, interview_id: str) -> Question | None: ...

    def recover(self, interview_id: str) -> list[Any]: ...

    def exists(self, interview_id: str) -> bool: ...


BUSY_KEPT = (
    "I'm busy right now, so your reply is waiting in line. It is saved; "
    "I'll answer here as soon as I can."
)
WORKING = "is thinking…"
WORKING_KINDS = ("start", "reply", "choose", "confirm", "edit", "delete")
ALREADY_ANSWERED = (
    "That question was already answered, so I left it as it was. "
    "The current question is the latest one in this thread."
)


LATE_REPLY = (
    "A reply reached me late, after the replies sent after it, so I did not apply it to "
    "the current question: it was typed for an earlier one. If it answers the current "
    "question, please send it again."
)

ANSWERED_BEFORE_YOU = (
    "Someone answered the question you replied to just before you, so I did not apply "
    "your reply to the next question. If it answers the current question, please send it "
    "again; to change the earlier answer, say `change <what> to <value>`."
)


class Steps:
    """Inbox items -> engine -> outbox, one thread at a time."""

    def __init__(
        self,
        engine: Engine,
        tables: SlackTables,
        runner: Runner,
        outbox: Outbox,
        api: WebApi,
        names: Names,
        bot: BotIdentity,
        timings: Delivery,
        files: SlackFiles | None = None,
    ) -> None:
        self.engine = engine
        self.files = files or SlackFiles(api.client)
        self.store = engine.store
        self.tables = tables
        self.runner = runner
        self.outbox = outbox
        self.api = api
        self.names = names
        self.bot = bot
        self.timings = timings
        self._busy_tries: dict[int, int] = {}
        self._lock = threading.Lock()

    def queue(self, item: InboxItem) -> None:
        """Handle ``item`` behind its thread's earlier work; say sorry there if it fails."""
        where = where_kept(item.payload)
        iid = item.interview_id
        apologise = partial(self.api.apologise, where, None)
        self.runner.submit(iid, partial(self.handle, item), label=iid, failed=apologise)

    def handle(self, item: InboxItem) -> None:
        """One kept reply, click or start: the engine step and its messages, queued in the
        outbox in one transaction; then sent."""
        where = where_kept(item.payload)
        try:
            self._step(item, where)
        except Exception as err:
            if is_busy(err):
                self._busy_later(item, where)
                return
            with contextlib.suppress(Exception):  # a poisoned item is not replayed forever
                self.tables.finish_inbox(item.id, error=describe(err))
            raise
        with self._lock:
            self._busy_tries.pop(item.id, None)
        fault("before_post")
        self.outbox.deliver_quietly(item.interview_id)

    def _step(self, item: InboxItem, where: Where) -> None:
        iid = item.interview_id
        thread = (where.channel, where.thread_ts or "")
        with self.runner.holding(iid, wait=self.timings.hold_wait, thread=thread):
            # A thread's items run in Slack's order (their ts), whichever process or worker
            # kept them: while this one waits, the thread's first waiting item goes first.
            tried: set[int] = set()
            while True:
                mine = self.tables.inbox_item(item.id)
                if mine is None or mine.done_at is not None:
                    return
                first = self.tables.next_inbox(iid) or mine
                if first.id == mine.id:
                    self._step_one(mine, where)
                    continue
                if first.id in tried:  # it failed and could not even be marked failed
                    raise RuntimeError(f"inbox item #{first.id} ahead of #{item.id} is stuck")
                tried.add(first.id)
                try:
                    self._step_one(first, where_kept(first.payload))
                except Exception as err:
                    if is_busy(err):
                        raise
                    self._failed_other(first, err)

    def _failed_other(self, item: InboxItem, err: Exception) -> None:
        """An earlier item of the thread, run ahead of ours, failed: it is marked so (not
        replayed forever) and the person who sent it hears sorry, as if it had run alone."""
        log.error("advisor: handler failed for thread %s: %r", item.interview_id, err, exc_info=err)
        with contextlib.suppress(Exception):
            self.tables.finish_inbox(item.id, error=describe(err))
        with contextlib.suppress(Exception):
            self.api.apologise(where_kept(item.payload), None)

    def _step_one(self, item: InboxItem, where: Where) -> None:
        iid = item.interview_id
        pending = self.engine.pending(iid)  # read once per step: each read costs
        key = self._shown_key(iid, pending)
        if item.started_key is not None and not planning.same_shown(item.started_key, key):
            # An earlier try got through the engine and died before its messages were
            # queued: do not answer twice, just make sure the thread shows where it is.
            plan = self._catch_up(iid, where, pending, key)
        else:
            self.tables.start_inbox(item.id, key)
            fault("before_answer")
            working = self._working(where, item.kind)
            stale = self._not_for_pending(item, where, pending)
            # A retried reply whose first try saved the answer and died before the engine
            # applied it: take the saved answer rather than saving the reply a second time.
            taken = self._taken(item, where, pending, stale)
            if taken is not None:
                plan = taken
            elif item.kind == "reply" and item.payload.get("files"):
                plan = self._with_files(item, where, pending, stale=stale)
            else:
                plan = stale or self._run(item, where, pending)
            fault("after_answer")
            if working and not any(kind == "post" for kind, _ in plan.items):
                self.api.set_status(where, "")  # nothing posted clears it: clear it here
        self.tables.enqueue(
            iid,
            plan.items,
            shown_key=plan.shown,
            forget_question=plan.forget_question,
            finish_inbox=item.id,
        )

    def _not_for_pending(
        self, item: InboxItem, where: Where, pending: Question | None
    ) -> Plan | None:
        """A typed reply meant for a question already answered, which must not become the
        answer to the current one: it reached us after a later reply was applied (Slack
        redelivered it, or it raced), or someone else answered the question it was typed
        under first (two people answering together). The thread is told; None otherwise.
        One person's replies in a row answer the questions in turn."""
        if item.kind != "reply" or not item.order_ts:
            return None
        iid = item.interview_id
        if self.tables.handled_later(iid, item.order_ts):
            log.info("advisor: reply #%d in thread %s came late; not applied", item.id, iid)
            return Plan([planning.post(where, blocks.notice(LATE_REPLY))])
        typed = self.tables.question_before(iid, item.order_ts)
        if typed is None or pending is None or typed[0].split(":")[1:2] == [pending.id]:
            return None
        others = self.tables.repliers_between(iid, typed[1], item.order_ts)
        if not others or where.user in others:
            return None
        log.info("advisor: reply #%d in thread %s was for an answered question", item.id, iid)
        return Plan([planning.post(where, blocks.notice(ANSWERED_BEFORE_YOU))])

    def _working(self, where: Where, kind: str) -> bool:
        """While Claude reads or writes, the thread says so (Slack clears the status when
        the reply lands). Only with Claude configured: offline steps take milliseconds."""
        if getattr(self.engine, "llm", None) is None or kind not in WORKING_KINDS:
            return False
        return self.api.set_status(where, WORKING)

    def _run(self, item: InboxItem, where: Where, pending: Question | None) -> Plan:
        data, iid = item.payload, item.interview_id
        if item.kind == "start":
            use_case, intro = str(data.get("use_case") or ""), bool(data.get("intro"))
            return self._start(iid, where, use_case, intro, pending)
        if item.kind == "reply":
            plan = self._reply(iid, where, str(data.get("text") or ""), pending)
            self._note_answer(iid, where, data)
            return plan
        if item.kind in ("edit", "delete"):
            text = None if item.kind == "delete" else str(data.get("text") or "")
            return self._amend(iid, where, str(data.get("ts") or ""), text)
        if item.kind in ("choose", "confirm"):
            return self._choose(
                iid,
                where,
                str(data.get("question_id") or ""),
                [str(v) for v in data.get("values") or []],
                [str(v) for v in data.get("labels") or []],
                data.get("message") or {},
                pending,
                confirm=item.kind == "confirm",
            )
        log.warning("advisor: unknown inbox item %s for thread %s", item.kind, iid)
        return Plan()

    def _note_answer(self, iid: str, where: Where, data: dict[str, Any]) -> None:
        """Which answer this message gave, for its edits and deletion."""
        if data.get("ts"):
            last = self.store.last_answer(iid)
            if last is not None and last.author_id == where.user:
                self.tables.note_answer(iid, str(data["ts"]), last.seq)

    # -- the three kinds of input ------------------------------------------------------

    def _start(
        self, iid: str, where: Where, use_case: str, intro: bool, pending: Question | None
    ) -> Plan:
        if self.engine.exists(iid):
            return self._catch_up(iid, where, pending)
        assert where.thread_ts is not None
        first = [planning.post(where, blocks.parent_message(use_case, where.user))] if intro else []
        origin = {
            "source": "slack",
            "team_id": self.bot.team_id,
            "channel_id": where.channel,
            "thread_ts": where.thread_ts,
            "user_id": where.user,
        }
        link = self.api.permalink(where.channel, where.thread_ts)
        if link:
            origin["permalink"] = link
        # People are known by their user id; the name is only a snapshot for the memo.
        turns = self.engine.start(
            iid, use_case=use_case, by=self.names(where.user), origin=origin, author_id=where.user
        )
        plan = planning.of_turns(where, turns)
        plan.items[:0] = first
        return plan

    def _taken(
        self, item: InboxItem, where: Where, pending: Question | None, stale: Plan | None
    ) -> Plan | None:
        if item.started_key is None or item.kind != "reply" or stale is not None:
            return None
        if item.payload.get("files") or pending is None:
            return None
        # recover() opens with "Picking up your last answer…": in Slack the reply is right
        # there in the thread, so only what follows is posted
        turns = self.engine.recover(item.interview_id)[1:]
        if not turns:
            return None
        text = str(item.payload.get("text") or "")
        plan = self._reply_plan(item.interview_id, where, pending, turns, text)
        self._note_answer(item.interview_id, where, item.payload)
        return plan

    def _reply(self, iid: str, where: Where, text: str, before: Question | None) -> Plan:
        if before is None and not self.engine.exists(iid):
            return Plan()
        if not text:  # a bare @advisor in the thread: show where the interview stands
            return planning.of_turns(where, [before] if before else [])
        turns = self.engine.reply(
            iid, text, by=self.names(where.user), author_id=where.user, pending=before
        )
        return self._reply_plan(iid, where, before, turns, text)

    def _reply_plan(
        self, iid: str, where: Where, before: Question | None, turns: list[Any], text: str
    ) -> Plan:
        live = planning.live_question(self.tables.thread(iid))
        retire, forget = planning.retire_typed(where, before, planning.asked(turns), live, text)
        plan = planning.of_turns(where, turns)
        # The next question first, the old question's buttons off after: what the team is
        # waiting for arrives one Web API call sooner.
        plan.items.extend(retire)
        plan.forget_question = forget
        return plan

    def _with_files(
        self, item: InboxItem, where: Where, before: Question | None, *, stale: Plan | None
    ) -> Plan:
        """A reply with files shared. Each file is measured into the interview first (the
        download happens here, on the thread's queue, never in the listener); then the
        text answers the question it was typed under, if that question is still waiting.
        When a file settled it, the text was most likely about the file ("here is our
        eval") and is not read as an answer to a question the person has not seen yet. A
        message that is only a file is never an answer: the waiting question is asked
        again. A reply that came late (``stale``) still has its files measured."""
        data, iid = item.payload, item.interview_id
        if before is None and not self.engine.exists(iid):
            return Plan()
        text = str(data.get("text") or "")
        files = [f for f in data.get("files") or [] if isinstance(f, dict)]
        said: list[Turn]
        if before is None:  # a memo (or a cancellation): nothing a file could settle
            said, added = [Reply(text=PAST_QUESTIONS)], False
        else:
            by, retry = self.names(where.user), item.started_key is not None
            said, added = self.files.share(self.engine, iid, files, by=by, retry=retry)
        lines = [t for t in said if not isinstance(t, Question)]
        now = self.engine.pending(iid) if added else before
        same = before is not None and now is not None and now.id == before.id
        if text and stale is None and (before is None or same):
            plan = self._reply(iid, where, text, now)
            plan.items[:0] = planning.of_turns(where, lines).items
            self._note_answer(iid, where, data)
            return plan
        if text and stale is None and before is not None and now is not None:
            lines.append(Reply(text=TEXT_NOT_READ))  # the file settled what it replied to
        plan = planning.of_turns(where, [*lines, now] if now is not None else lines)
        if stale is not None and text:
            plan.items[:0] = stale.items
        live = planning.live_question(self.tables.thread(iid))
        retire, plan.forget_question = planning.retire_settled(where, before, now, live)
        plan.items.extend(retire)
        return plan

    def _amend(self, iid: str, where: Where, ts: str, text: str | None) -> Plan:
        """A reply edited or deleted: if it was an answer, the interview re-reads it."""
        seq = self.tables.answer_of(iid, ts) if ts else None
        if seq is None:
            return Plan()  # not an answer (a remark, a message from before the interview)
        turns = self.engine.amend(iid, seq, text, by=self.names(where.user), author_id=where.user)
        return planning.of_turns(where, turns)

    def _choose(
        self,
        iid: str,
        where: Where,
        question_id: str,
        values: list[str],
        labels: list[str],
        message: dict[str, Any],
        pending: Question | None,
        *,
        confirm: bool = False,
    ) -> Plan:
        if confirm and pending is not None and pending.id == question_id:
            labels = [pending.read_text or "confirmed"]
        if pending is None or pending.id != question_id or (confirm and not pending.confirm):
            # A second click, or a click on an old question: nothing to answer. Take the
            # buttons off that message and tell only the person who clicked.
            try:
                self.api.ephemeral(where, blocks.notice(ALREADY_ANSWERED))
            except Exception as exc:  # a private note is a nicety; the tidy-up still goes out
                log.warning("advisor: no ephemeral note in thread %s: %s", iid, exc)
            return Plan(planning.strip_buttons(where, message))
        by = self.names(where.user)
        if confirm:  # keep the reading shown, as the person confirmed it
            turns = self.engine.confirm(iid, question_id, by=by, author_id=where.user)
        else:
            turns = self.engine.choose(iid, question_id, values, by=by, author_id=where.user)
        live = planning.live_question(self.tables.thread(iid))
        answered = ", ".join(labels)
        done, forget = planning.retire_clicked(
            where, pending, planning.asked(turns), live, answered
        )
        plan = planning.of_turns(where, turns)
        plan.items[:0] = done
        plan.forget_question = forget
        return plan

    # -- where a thread stands ---------------------------------------------------------

    def _shown_key(self, iid: str, pending: Question | None) -> str | None:
        record = None if pending is not None else self.store.get_interview(iid)
        return planning.shown_key(pending, record)

    def _catch_up(
        self, iid: str, where: Where, pending: Question | None, key: str | None = None
    ) -> Plan:
        """Messages a thread is missing because a process died between an engine step and
        queueing what it said: the pending question, or the memo, or the cancellation."""
        record = None if pending is not None else self.store.get_interview(iid)
        key = key or planning.shown_key(pending, record)
        thread = self.tables.thread(iid)
        if key is None or (thread is not None and planning.same_shown(thread.shown_key, key)):
            return Plan()
        if pending is not None:
            return planning.of_turns(where, [pending])
        if key == CANCELLED:
            return planning.of_turns(where, [Ended(text=CANCELLED_TEXT)])
        if record is None or not record.memo_id:
            return Plan()
        return planning.of_memo(where, record.memo_id)

    def reconcile(self, iid: str, where: Where) -> None:
        """At start-up: queue what this thread should show but was never queued."""
        thread = self.tables.thread(iid)
        if thread is not None and planning.same_shown(
            thread.shown_key, self._shown_key(iid, self.engine.pending(iid))
        ):
            self.outbox.deliver_quietly(iid)
            return
        try:
            with self.runner.holding(iid, wait=0.0):
                plan = self._catch_up(iid, where, self.engine.pending(iid))
                self.tables.enqueue(iid, plan.items, shown_key=plan.shown)
        except Busy:
            return  # another process is working on it and will queue what it shows
        self.outbox.deliver_quietly(iid)

    def _busy_later(self, item: InboxItem, where: Where) -> None:
        """The database stayed locked: the item is kept in the inbox; try again shortly,
        and tell the thread once that its reply is waiting."""
        with self._lock:
            tries = self._busy_tries.get(item.id, 0) + 1
            self._busy_tries[item.id] = tries
        log.warning(
            "advisor: database busy handling %s #%d in thread %s (try %d); retrying",
            item.kind,
            item.id,
            item.interview_id,
            tries,
        )
        if tries == 1 and item.kind != "start":
            self.api.say(where, blocks.notice(BUSY_KEPT))
        delay = min(self.timings.cap, self.timings.base * 2 ** (tries - 1))
        self.runner.later(delay, partial(self.queue, item))

    # -- the memo's buttons (not engine steps) ------------------------------------------

    def decide(self, iid: str, where: Where, memo_id: str, status: MemoStatus) -> None:
        """Accept or reject a memo: the summary shows it, and the file goes up again."""
        memo = self.store.get_memo(memo_id)
        if memo is None:
            self.api.ephemeral(where, blocks.notice("I can't find that memo any more."))
            return
        if memo.status == status:
            self.api.ephemeral(where, blocks.notice(f"This memo is already {status}."))
            return
        memo = set_status(self.store, memo.id, status, self.names(where.user))
        self.outbox.send_now(iid, planning.decided(where, memo))

    def revise(self, iid: str, where: Where) -> None:
        self.outbox.send_now(iid, [planning.post(where, blocks.revise_help())])
