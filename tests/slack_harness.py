"""The Slack app as ``advisor serve`` runs it, in this process: the real app behind waitress
on loopback, the Web API played by tests/slack_fake.py, Slack's requests signed as Slack
signs them. ``run_app`` starts one; the ``fake`` and ``app`` fixtures give a test one each;
the helpers start an interview and answer it the way a team would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_fake import (
    BOT_TOKEN,
    SIGNING_SECRET,
    TEAM,
    FakeSlack,
    SlackSender,
    press,
)

from bot.slack.app import SlackApp, build
from bot.slack.config import Settings
from bot.slack.delivery import Delivery
from bot.slack.http_edge import http_server
from bot.slack.payloads import interview_id
from bot.slack.registry import METHOD_SCOPES
from graph.interview import Interviews

CHANNEL = "C0CHAN"
ROOT = Path(__file__).resolve().parent.parent
USE_CASE = "classify support emails into 12 categories"

# One team's answers for "classify support emails": typed, or (when the question has
# options) the labels to press/tick.
TYPED = {
    "knowledge": "no",
    "tried": "system prompt, few-shot, structured output, chain of thought and decomposition",
    "eval": "400 items, 82% now, need 95%",
    "examples": "about 3,000, clean",
    "usage": "2M a month, ~1,500 in, 20 out",
    "owner": "the ML platform team (Priya)",
    "use_case": USE_CASE,
}
PRESSED = {
    "task": ["Classification: sort inputs into fixed categories"],
    "problems": ["Accuracy is stuck below what we need", "It's too expensive"],
    "stable": ["Yes"],
    "cleared": ["Yes"],
    "stakes": ["Some time or rework"],
    "constraints": [
        "Model spend is under pressure",
        "Answers must be fast: latency is a hard requirement",
    ],
}


@dataclass
class Running:
    advisor: SlackApp
    server: Any
    thread: threading.Thread
    send: SlackSender
    idle_timeout: float = 20.0

    @property
    def engine(self) -> Interviews:
        return self.advisor.engine  # type: ignore[return-value]

    def idle(self) -> None:
        assert self.advisor.wait_idle(self.idle_timeout), "the app did not finish its work"

    def stop(self) -> None:
        # Close waitress from inside its own loop (closing from here races its poll()).
        self.server.trigger.pull_trigger(self.server.close)
        self.thread.join(5)
        self.server.task_dispatcher.shutdown()
        self.advisor.close()


def run_app(
    fake: FakeSlack,
    engine: Interviews | None = None,
    *,
    token: str = BOT_TOKEN,
    secret: str = SIGNING_SECRET,
    threads: int = 16,
    idle_timeout: float = 20.0,
    **options: Any,
) -> Running:
    """``advisor serve``'s app behind waitress on loopback, talking to ``fake``; ``options``
    go to ``build`` (retry timings in tenths of a second unless told otherwise)."""
    settings = Settings(token, secret, None, fake.url, 0, "127.0.0.1")
    options.setdefault("delivery", Delivery(base=0.05, cap=0.5, poll=0.05))
    advisor = build(settings, engine, wait=0.01, jitter=0.01, **options)
    server = http_server(advisor, "127.0.0.1", 0, threads=threads, asyncore_loop_timeout=0.05)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}/slack/events"
    sender = SlackSender(url, fake, secret=secret)
    return Running(advisor, server, thread, sender, idle_timeout)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server
        # Whatever a test did, the app only called methods whose scopes the manifest asks for.
        manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
        scopes = set(manifest["oauth_config"]["scopes"]["bot"])
        for method in server.methods() - {"(upload)", "(download)"}:
            assert method in METHOD_SCOPES, f"{method} is not in METHOD_SCOPES"
            assert METHOD_SCOPES[method] in scopes | {None}, f"{method} needs a scope"


@pytest.fixture
def app(fake: FakeSlack) -> Iterator[Running]:
    running = run_app(fake)
    yield running
    running.stop()


def start(app: Running, fake: FakeSlack, text: str = USE_CASE, user: str = "U0ANA") -> str:
    """/advisor TEXT; returns the new thread's ts."""
    before = len(fake.parents())
    sent = app.send.command(text, user=user)
    assert sent.status == 200 and sent.body == ""
    app.idle()
    made = fake.parents()
    assert len(made) == before + 1
    return made[-1]


def last_question(fake: FakeSlack, thread_ts: str) -> dict[str, Any]:
    questions = fake.questions(CHANNEL, thread_ts)
    assert questions, "no question in the thread"
    return questions[-1]


def checkbox_state(message: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for n, block in enumerate(message["blocks"]):
        if block["type"] != "actions":
            continue
        for element in block["elements"]:
            if element["type"] == "checkboxes":
                chosen = [o for o in element["options"] if o["text"]["text"] in labels]
                state.setdefault(f"b{n}", {})[element["action_id"]] = {
                    "type": "checkboxes",
                    "selected_options": chosen,
                }
    return state


def checkbox_labels(message: dict[str, Any]) -> list[str]:
    """The labels of ``message``'s checkbox options."""
    return [
        option["text"]["text"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "checkboxes"
        for option in element["options"]
    ]


def answer(
    app: Running,
    fake: FakeSlack,
    thread_ts: str,
    *,
    press_buttons: bool,
    user: str,
    text: str | None = None,
) -> str:
    """Answer the pending question once, by button/checkbox or by typing; returns its id."""
    message = last_question(fake, thread_ts)
    qid = message["metadata"]["event_payload"]["question_id"]
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    pending = app.engine.pending(iid)
    assert pending is not None and pending.id == qid  # the thread shows what the engine waits on
    if text is not None:
        sent = app.send.reply(text, thread_ts=thread_ts, user=user)
    elif press_buttons and qid in PRESSED:
        labels = PRESSED[qid]
        if pending.multi:
            submit = press(message, "Submit")
            sent = app.send.click(message, submit, user=user, state=checkbox_state(message, labels))
        else:
            sent = app.send.click(message, press(message, labels[0]), user=user)
    else:
        text = TYPED.get(qid) or ", ".join(PRESSED.get(qid, [])) or pending.example
        sent = app.send.reply(text, thread_ts=thread_ts, user=user)
    assert sent.status == 200
    app.idle()
    return qid


def run_to_memo(app: Running, fake: FakeSlack, thread_ts: str, *, buttons: bool) -> list[str]:
    asked: list[str] = []
    iid = interview_id(TEAM, CHANNEL, thread_ts)
    for turn in range(40):
        if app.engine.pending(iid) is None:
            return asked
        user = ("U0ANA", "U0BEN", "U0CHI")[turn % 3]
        # An answer the engine could not read is asked again with a hint: skip it then.
        again = "skip" if asked and asked[-1] == last_id(fake, thread_ts) else None
        asked.append(answer(app, fake, thread_ts, press_buttons=buttons, user=user, text=again))
    raise AssertionError(f"the interview never ended: {asked}")


def last_id(fake: FakeSlack, thread_ts: str) -> str:
    return str(last_question(fake, thread_ts)["metadata"]["event_payload"]["question_id"])


def memo_summaries(fake: FakeSlack, thread_ts: str) -> list[dict[str, Any]]:
    return [
        m
        for m in fake.replies(CHANNEL, thread_ts)
        if (m.get("metadata") or {}).get("event_type") == "advisor_memo"
    ]
