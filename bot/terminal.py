"""The interview in a terminal (``advisor chat``); the memo commands are in memo_commands.py.

Two faces over the same service: a friendly interactive one, and ``--jsonl`` for scripts
(DESIGN.md section 7): one JSON object per line out, one plain answer per line in.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import click

from bot.errors import database_errors, database_message, is_full
from bot.invocation import advisor_command, who
from bot.llm import optional_llm
from bot.memo_files import MEMO_DIR, write_memo
from bot.terminal_evidence import evidence_path, share_file
from graph.interview import Interviews
from graph.memo import APPROACH_NAMES, RUNG_NAMES
from graph.session_lock import SessionLock, SessionLost, SessionOpen
from graph.store import Store
from graph.turns import Ended, MemoReady, Question, Reply, Turn
from knowledge.cards import source_for_title

HELP_LINE = (
    "Type 'why?' to see why I ask, 'back', 'change volume to 50k', "
    "'memo' to finish early, or 'cancel'."
)


def _short(title: str) -> str:
    """A guidance document's short name ("engineering handbook") for one terminal line."""
    try:
        return source_for_title(title).short
    except KeyError:
        return title


# the two faces -------------------------------------------------------------------------


class Pretty:
    """The interactive terminal: numbered options, progress, why we ask."""

    jsonl = False

    def __init__(self, out: TextIO, memo_dir: Path, resume_cmd: str) -> None:
        self.out = out
        self.memo_dir = memo_dir
        self.resume_cmd = resume_cmd

    def say(self, text: str = "", **style: Any) -> None:
        click.echo(click.style(text, **style) if style else text, file=self.out)

    def intro(self, interview_id: str, resumed: bool) -> None:
        if resumed:
            self.say(f"Resuming interview {interview_id}.", bold=True)
        else:
            self.say("advisor · prompting, RAG or fine-tuning?", bold=True)
            self.say("I'll ask about ten short questions, then write a decision memo.")
        self.say(HELP_LINE, dim=True)
        self.say(f"Interview {interview_id} — to continue later: {self.resume_cmd}", dim=True)

    def question(self, q: Question) -> None:
        if q.confirm:
            self.say(confirm_line(q), fg="cyan")
            return
        self.say()
        if q.hint:
            self.say(f"Hmm. {q.hint}", fg="yellow")
        self.say(f"Question {q.number} of about {max(q.total, q.number)}", dim=True)
        self.say(q.text, bold=True)
        for i, option in enumerate(q.options, 1):
            self.say(f"  {i}. {option.label}")
        if q.multi:
            self.say("  (pick any that apply, e.g. 1,3 — or say them in words)", dim=True)
        elif q.example:
            self.say(f"  e.g. {q.example}", dim=True)
        if q.why:
            self.say(f"  Why we ask: {q.why}", dim=True)

    def reply(self, r: Reply) -> None:
        self.say(r.text, fg="cyan")
        for c in r.citations:
            sources = f" ({', '.join(_short(t) for t in c.sources)})" if c.sources else ""
            self.say(f"  · {c.title} [{c.id}]{sources}", dim=True)

    def memo(self, m: MemoReady, path: Path) -> None:
        approach = str(m.assessment.get("approach", ""))
        rung = m.assessment.get("next_rung")
        self.say()
        self.say(f"Decision: {APPROACH_NAMES.get(approach, approach)}", bold=True, fg="green")
        if rung:
            self.say(f"Next rung: {RUNG_NAMES.get(rung, rung)}")
        steps = m.assessment.get("next_steps") or []
        for step in steps[:3]:
            self.say(f"  • {step}")
        self.say(f"Memo {m.memo_id} written to {path}", bold=True)
        self.say(f"Export it again any time: {advisor_command()} memo export {m.memo_id}", dim=True)

    def memo_unwritten(self, m: MemoReady, reason: str) -> None:
        self.say()
        self.say(
            f"Memo {m.memo_id} is saved, but its file could not be written: {reason}.", fg="yellow"
        )
        self.say(
            f"Write it anywhere with: {advisor_command()} memo export {m.memo_id} -o FILE",
            bold=True,
        )

    def ended(self, e: Ended) -> None:
        self.say(e.text, fg="yellow")

    def paused(self, interview_id: str, unsaved: str = "") -> None:
        self.say()
        if unsaved:  # never "saved" for the reply that was not
            self.say(
                f"Paused. Your answers before “{unsaved}” are saved; that reply was not. "
                f"Continue with: {self.resume_cmd}",
                fg="yellow",
            )
            return
        self.say(f"Paused. Your answers are saved; continue with: {self.resume_cmd}", fg="yellow")

    def not_saved(self, text: str, reply: str) -> None:
        self.say(text, fg="red", bold=True)

    def usage(self, totals: dict[str, int]) -> None:
        self.say(usage_line(totals), dim=True)

    def read(self, prompt: str = "> ") -> str | None:
        try:
            return input(prompt)
        except (EOFError, KeyboardInterrupt):
            return None


class Jsonl:
    """``--jsonl``: DESIGN.md section 7, one JSON object per line, flushed at once."""

    jsonl = True

    def __init__(self, out: TextIO, inp: TextIO, memo_dir: Path, resume_cmd: str) -> None:
        self.out = out
        self.inp = inp
        self.memo_dir = memo_dir
        self.resume_cmd = resume_cmd

    def emit(self, obj: dict[str, Any]) -> None:
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.out.flush()

    def intro(self, interview_id: str, resumed: bool) -> None:
        verb = "Resuming" if resumed else "Started"
        self.emit(
            {
                "type": "reply",
                "text": f"{verb} interview {interview_id}; continue later with: {self.resume_cmd}",
                "interview_id": interview_id,
            }
        )

    def question(self, q: Question) -> None:
        if q.hint:
            self.emit({"type": "reply", "text": q.hint, "hint": True})
        line: dict[str, Any] = {
            "type": "question",
            "id": q.id,
            "fields": q.fields,
            "text": q.text,
            "options": [{"value": o.value, "label": o.label} for o in q.options],
        }
        if q.confirm:  # DESIGN.md section 7: a reading to keep ("yes" or an empty line)
            line.update(confirm=True, read=q.read, values=q.read_values, read_text=q.read_text)
        self.emit(line)

    def reply(self, r: Reply) -> None:
        self.emit(
            {
                "type": "reply",
                "text": r.text,
                "citations": [c.model_dump(mode="json") for c in r.citations],
            }
        )

    def memo(self, m: MemoReady, path: Path) -> None:
        self.emit({"type": "reply", "text": f"Memo {m.memo_id} written.", "memo_id": m.memo_id})
        self.emit({"type": "memo", "path": str(path), "assessment": m.assessment})

    def memo_unwritten(self, m: MemoReady, reason: str) -> None:
        text = (
            f"Memo {m.memo_id} is saved, but its file could not be written: {reason}. "
            f"Write it with: advisor memo export {m.memo_id} -o FILE"
        )
        self.emit({"type": "reply", "text": text, "memo_id": m.memo_id})
        self.emit({"type": "memo", "path": None, "error": reason, "assessment": m.assessment})

    def ended(self, e: Ended) -> None:
        self.emit({"type": "ended", "text": e.text})

    def not_saved(self, text: str, reply: str) -> None:
        self.emit({"type": "reply", "text": text, "error": "not_saved", "reply": reply})

    def paused(self, interview_id: str, unsaved: str = "") -> None:
        self.emit(
            {
                "type": "reply",
                "text": f"Paused before the end; continue with: {self.resume_cmd}",
                "interview_id": interview_id,
            }
        )

    def read(self, prompt: str = "") -> str | None:
        line = self.inp.readline()
        if not line:
            return None
        return line.rstrip("\r\n")


Face = Pretty | Jsonl


def confirm_line(q: Question) -> str:
    """A confirmation in the terminal: "I read: few-shot, structured output — Enter to keep,
    or type the numbers" (or, after the model and the parser disagreed, both readings)."""
    fix = "type the numbers" if q.options else "type the right answer"
    if q.hint.startswith("I read your answer two ways"):
        return f"{q.hint} (Enter keeps it.)"
    return f"I read: {q.read_text} — Enter to keep, or {fix}"


def usage_line(totals: dict[str, int]) -> str:
    """One interview's Claude usage (``Store.usage``) as one sentence."""
    calls = totals.get("calls", 0)
    return (
        f"Claude: {calls:,} call{'' if calls == 1 else 's'}, "
        f"{totals.get('input_tokens', 0):,} in / {totals.get('output_tokens', 0):,} out tokens, "
        f"{totals.get('cache_read_tokens', 0):,} read from cache."
    )


class Shown(NamedTuple):
    wrote: bool  # a memo was written
    ended: bool  # the interview was cancelled


def _show(face: Face, turns: Sequence[Turn], store: Store) -> Shown:
    """Draw the turns."""
    wrote = ended = False
    for turn in turns:
        if isinstance(turn, Question):
            face.question(turn)
        elif isinstance(turn, Reply):
            face.reply(turn)
        elif isinstance(turn, MemoReady):
            record = store.get_memo(turn.memo_id)  # the one read of the memo in this turn
            if record is not None:
                try:
                    path = write_memo(record, face.memo_dir)
                except OSError as exc:  # a link planted in memos/, a full disk: say it
                    face.memo_unwritten(turn, exc.strerror or str(exc))
                else:
                    face.memo(turn, path)
                wrote = True
        elif isinstance(turn, Ended):
            face.ended(turn)
            ended = True
    return Shown(wrote, ended)


def _still_ours(face: Face, lock: SessionLock, answer: str) -> None:
    """Stop, keeping the reply on screen, when another session took the interview over
    while this one was stopped for longer than the lease (Ctrl-Z)."""
    try:
        lock.check()
    except SessionLost:
        raise click.ClickException(
            f"Another session took over interview {lock.interview_id} while this one was "
            f"stopped; your reply was not applied: “{answer}”. Continue in that session, or "
            f"end it and run again: {face.resume_cmd}"
        ) from None


def _not_saved(face: Face, error: BaseException, answer: str) -> str:
    """The database could not keep a reply: say what failed and give the reply back. A full
    disk can be waited out (free space, type it again); anything else ends the session."""
    if isinstance(error, OSError) and not is_full(error):
        raise error
    reason = "the disk is full" if is_full(error) else database_message(error)
    text = (
        f"Could not save your answer: {reason}. Nothing was lost from before; "
        f"your reply was: “{answer}”"
    )
    if not is_full(error):
        raise click.ClickException(f"{text}. Continue later with: {face.resume_cmd}") from error
    face.not_saved(
        f"{text}. Free some space and type it again, or stop (Ctrl-D) and continue later "
        f"with: {face.resume_cmd}",
        answer,
    )
    return answer


# commands ------------------------------------------------------------------------------


@click.command("chat")
@click.argument("use_case", nargs=-1)
@click.option("--jsonl", is_flag=True, help="Speak JSON lines on stdin/stdout, for scripts.")
@click.option("--resume", "resume_id", metavar="ID", help="Continue an unfinished interview.")
@click.option(
    "--memo-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=MEMO_DIR,
    show_default=True,
    help="Where the finished memo is written.",
)
@click.option("--name", help="Who is answering (default: your login name).")
@click.option(
    "--evidence",
    "evidence",
    multiple=True,
    metavar="FILE",
    help="An eval or training file to measure (repeatable); see 'advisor evidence check'.",
)
def chat(
    use_case: tuple[str, ...],
    jsonl: bool,
    resume_id: str | None,
    memo_dir: Path,
    name: str | None,
    evidence: tuple[str, ...] = (),
) -> None:
    """Run the interview in this terminal and write the decision memo to memos/.

    \b
    advisor chat                          asks what the model is for first
    advisor chat "route support tickets"  starts with that use case
    advisor chat --resume cli:3f2a...     continues an interview you stopped
    """
    by = who(name)
    llm = optional_llm()
    # A database that cannot be used is one line, not a traceback (bot/errors.py).
    with database_errors():
        service = Interviews(llm=llm)
        resumed = resume_id is not None
        if resume_id is not None:
            if not service.exists(resume_id):
                raise click.ClickException(
                    f"No interview with id {resume_id!r}. Start a new one with: "
                    f"{advisor_command()} chat"
                )
            interview_id = resume_id
        else:
            interview_id = f"cli:{uuid.uuid4().hex}"
        resume_cmd = (
            f"{advisor_command()} chat{' --jsonl' if jsonl else ''} --resume {interview_id}"
        )
        out = sys.stdout
        face: Face = (
            Jsonl(out, sys.stdin, memo_dir, resume_cmd)
            if jsonl
            else Pretty(out, memo_dir, resume_cmd)
        )
        lock = SessionLock(service.store, interview_id)
        try:
            lock.acquire()
        except SessionOpen as exc:
            raise click.ClickException(
                f"Interview {interview_id} is already open in another session "
                f"({exc.holder.where()}); answering it from two places would mix up the answers. "
                f"Answer it there, or end that session (Ctrl-D) and run again: {resume_cmd}"
            ) from None
        try:
            face.intro(interview_id, resumed)
            text = " ".join(use_case).strip()
            _converse(
                face,
                service,
                interview_id,
                by,
                use_case="" if resumed else text,
                resumed=resumed,
                lock=lock,
                files=evidence,
            )
        finally:
            lock.release()
        if llm is not None and isinstance(face, Pretty):
            face.usage(service.store.usage(interview_id))


def _converse(
    face: Face,
    service: Interviews,
    interview_id: str,
    by: str,
    *,
    use_case: str,
    resumed: bool,
    lock: SessionLock | None = None,
    files: Sequence[str] = (),
) -> None:
    """Ask and answer until the interview ends or input runs out. After the memo the
    session goes on: ``change …``, ``back``, ``why?`` and questions work as before, a change
    that makes a skipped question matter asks it, and a revision ends with a new memo. In
    the terminal an empty line then finishes; with ``--jsonl`` the end of input does (and
    ends with exit code 1 when a question is still waiting: the script stopped early)."""
    unsaved = ""  # the last reply, when the database could not keep it
    # A reply saved just before a crash is taken now rather than asked for again.
    turns = (service.recover(interview_id) if resumed else []) or service.start(
        interview_id, use_case=use_case, by=by
    )
    # --evidence: measured before the first answer, so it skips questions; the question
    # each file leaves waiting is shown once, after the last file, not once per file.
    if files and not any(isinstance(t, Ended) for t in turns):
        for path in files:
            turns = [t for t in turns if not isinstance(t, Question)]
            turns += share_file(service, interview_id, path, by=by)
    if _show(face, turns, service.store).ended:
        return
    while True:
        waiting = service.pending(interview_id)
        if waiting is None and isinstance(face, Pretty):
            record = service.store.get_interview(interview_id)  # not the memo: it was read
            if record is None or not record.memo_id:
                return
            face.say()
            face.say(
                "Anything to change? e.g. 'change volume to 50k' or 'back' — "
                "or press Enter to finish."
            )
            answer = face.read()
            if answer is None or not answer.strip():
                return
        else:
            answer = face.read()
            if answer is None:
                if waiting is None:
                    return  # after the memo, the end of input ends the session
                face.paused(interview_id, unsaved)
                if face.jsonl:
                    sys.exit(1)
                return
            if not answer.strip() and (waiting is None or not waiting.confirm):
                if isinstance(face, Pretty):
                    face.say("(type an answer, or 'help')", dim=True)
                if waiting is None or isinstance(face, Pretty):
                    continue  # an empty line keeps a reading; otherwise it says nothing
        try:
            if lock is not None:
                _still_ours(face, lock, answer)
            shared = evidence_path(answer)
            if shared is not None:
                turns = share_file(service, interview_id, shared, by=by)
            else:
                turns = service.reply(interview_id, answer, by=by)
        except (sqlite3.Error, OSError) as exc:
            unsaved = _not_saved(face, exc, answer)
            again = service.pending(interview_id)  # reads work on a full disk
            if again is not None:
                face.question(again)
            continue
        unsaved = ""
        if _show(face, turns, service.store).ended:
            return
