"""Tokens and secrets never show up in logs, memos, messages or error replies.

Every secret below is distinctive, so a leak of any part of it is found by a plain search of
everything captured: the server's own stdout and stderr, log records at DEBUG, the messages
and files posted to the local Slack, the memos in the database, and the CLI's output when
start-up fails.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import anthropic_fake as fake_api
import pytest
from click.testing import CliRunner
from slack_fake import FakeSlack, Serve
from test_security_slack import CHANNEL, run_app, strings

from bot.cli import cli
from graph.claude import Claude, make_client
from graph.interview import Interviews
from graph.store import Store

ROOT = Path(__file__).resolve().parent.parent

BOT_TOKEN = "xoxb-4242-SECRETBOTTOKEN-q7zz81"
SIGNING_SECRET = "5ecretSIGNINGsecret0000feedface"
APP_TOKEN = "xapp-1-SECRETAPPTOKEN-x99"
API_KEY = "sk-ant-api03-SECRETAPIKEY-77zzq"
SECRETS = (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, API_KEY)
# The distinctive middle of each secret: a leak of part of one is still a leak.
MARKERS = ("SECRETBOTTOKEN", "SECRETSIGNING", "SECRETAPPTOKEN", "SECRETAPIKEY")


def leaks(text: str) -> list[str]:
    """Which secrets (or recognisable parts of them) ``text`` contains."""
    found = [s for s in SECRETS if s in text]
    found += [m for m in MARKERS if re.search(m, text, re.IGNORECASE)]
    return sorted(set(found))


def everything_posted(fake: FakeSlack) -> str:
    """Every string the app sent to Slack, file contents included."""
    texts: list[str] = []
    for call in list(fake.calls):
        texts.extend(strings(call.args))
    texts.extend(strings(list(fake.responses)))
    for item in list(fake.files.values()):
        content = item.get("content")
        texts.append(content.decode("utf-8", "replace") if content else "")
    return "\n".join(texts)


def everything_stored(db: Path) -> str:
    """Every memo and every recorded answer in the database, as text."""
    store = Store(str(db))
    try:
        rows = [dict(row) for table in ("memos", "answers") for row in store.db[table].rows]
    finally:
        store.close()
    return json.dumps(rows, ensure_ascii=False, default=str)


def memo_posted(fake: FakeSlack) -> bool:
    return any(f.get("completed") for f in list(fake.files.values()))


# --- start-up failures ----------------------------------------------------------------------

# Each case: the environment (on top of the distinctive secrets) and what the message says.
STARTUP: dict[str, tuple[dict[str, str], str]] = {
    "bot token rejected by auth.test": ({}, "Slack rejected SLACK_BOT_TOKEN (invalid_auth)"),
    "a user token where the bot token goes": (
        {"SLACK_BOT_TOKEN": "xoxp-4242-SECRETBOTTOKEN-q7zz81"},
        "not a xoxp- token",
    ),
    "the app token where the bot token goes": (
        {"SLACK_BOT_TOKEN": APP_TOKEN},
        "app-level token",
    ),
    "the bot token where the signing secret goes": (
        {"SLACK_SIGNING_SECRET": BOT_TOKEN},
        "does not look like a signing secret",
    ),
    "the bot token where the app token goes": (
        {"SLACK_APP_TOKEN": BOT_TOKEN},
        "SLACK_APP_TOKEN should be an app-level token",
    ),
}


def serve_in_process(env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["serve", "--host", "127.0.0.1", "--port", "0"], env=env)
    assert not isinstance(result.exception, KeyboardInterrupt)
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


@pytest.mark.parametrize("case", list(STARTUP))
def test_start_up_failures_say_what_is_wrong_without_the_secret(
    case: str, caplog: pytest.LogCaptureFixture
) -> None:
    extra, expected = STARTUP[case]
    caplog.set_level(logging.DEBUG)
    with FakeSlack(token="xoxb-the-one-slack-knows") as fake:
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "ANTHROPIC_API_KEY": API_KEY,
            "SLACK_API_URL": fake.url,
            **extra,
        }
        code, output = serve_in_process(env)
    assert code == 1 and expected in output, output
    assert "Traceback" not in output
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert leaks(output + logged) == [], output + logged


def test_a_rejected_app_token_is_reported_without_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeSlack(token=BOT_TOKEN) as fake:  # knows the bot token, not the app token
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": fake.url,
            "ANTHROPIC_API_KEY": API_KEY,
        }
        code, output = serve_in_process(env)
        assert "apps.connections.open" in fake.methods()  # it really tried the app token
    assert code == 1 and "Slack rejected SLACK_APP_TOKEN" in output, output
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert leaks(output + logged) == [], output + logged


def test_a_token_pasted_into_the_api_url_is_not_printed() -> None:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": APP_TOKEN,
    }
    code, output = serve_in_process(env)
    assert code == 1 and "SLACK_API_URL must be an http(s) URL" in output, output
    assert leaks(output) == [], output


def test_a_token_pasted_into_port_is_not_printed() -> None:
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "PORT": BOT_TOKEN}
    result = CliRunner().invoke(cli, ["serve", "--host", "127.0.0.1"], env=env)
    assert result.exit_code == 1 and "PORT must be a number" in result.output, result.output
    assert leaks(result.output) == [], result.output


# --- a whole interview while Claude fails ------------------------------------------------


@pytest.fixture
def failing_claude() -> Iterator[fake_api.FakeAnthropic]:
    """A Messages API that refuses the key, then falls over, turn about."""
    replies = iter([fake_api.unauthorized, fake_api.server_error] * 200)
    with fake_api.running(lambda request: next(replies)()) as server:
        yield server


def test_an_interview_with_claude_failing_leaks_no_secret(
    tmp_path: Path, failing_claude: fake_api.FakeAnthropic, isolated_db: Path
) -> None:
    with FakeSlack(token=BOT_TOKEN) as fake:
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,  # the marker secrets, not the fake's defaults
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "ANTHROPIC_API_KEY": API_KEY,
            "ANTHROPIC_BASE_URL": failing_claude.url,
            "ANTHROPIC_LOG": "debug",  # the SDK's own request logging, at its most talkative
        }
        server = Serve(fake, env=env)
        try:
            send = server.send
            assert send.command("classify support emails into 12 queues").status == 200
            thread_ts = fake.wait_for(lambda: fake.parents())[0]
            fake.wait_for(lambda: fake.questions(CHANNEL, thread_ts))
            send.reply("what is RAG?", thread_ts=thread_ts)
            send.reply("it makes things up and it is slow", thread_ts=thread_ts)
            send.reply("memo", thread_ts=thread_ts)
            fake.wait_for(lambda: memo_posted(fake), timeout=30)
        finally:
            output = server.stop(timeout=20)
    # Claude really was called with the key, and really failed.
    assert failing_claude.requests
    assert all(API_KEY in json.dumps(r.headers) for r in failing_claude.requests)
    assert "claude" in output.lower() and "failed" in output
    # Slack really was called with the token.
    assert {c.token for c in fake.calls if c.method == "chat.postMessage"} == {BOT_TOKEN}
    assert leaks(output) == [], output
    assert leaks(everything_posted(fake)) == []
    assert leaks(everything_stored(isolated_db)) == []


def test_debug_logs_of_a_failing_interview_hold_no_secret(
    failing_claude: fake_api.FakeAnthropic, caplog: pytest.LogCaptureFixture, isolated_db: Path
) -> None:
    caplog.set_level(logging.DEBUG)  # every library's debug logging too
    client = make_client(api_key=API_KEY, base_url=failing_claude.url, max_retries=1)
    with FakeSlack(token=BOT_TOKEN) as fake:
        app = run_app(fake, Interviews(llm=Claude(client)), token=BOT_TOKEN, secret=SIGNING_SECRET)
        try:
            assert app.send.command("summarise our sales calls").status == 200
            app.idle()
            thread_ts = fake.parents()[-1]
            for text in ("what is fine-tuning?", "we have 3,000 clean examples", "memo"):
                app.send.reply(text, thread_ts=thread_ts)
                app.idle()
            # A handler that fails says sorry; the apology carries no secret either.
            fake.fail_next(3, 500, method="chat.postMessage")
            app.send.reply("cancel", thread_ts=thread_ts)
            app.idle()
        finally:
            app.stop()
        posted = everything_posted(fake)
    assert memo_posted(fake) or "Decision" in posted
    assert failing_claude.requests
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {getattr(r, 'args', '')!r}"
        for r in caplog.records
    )
    assert any(r.name.startswith("anthropic") for r in caplog.records)  # the SDK did log
    assert leaks(logged) == [], [line for line in logged.splitlines() if leaks(line)][:5]
    assert leaks(posted) == []
    assert leaks(everything_stored(isolated_db)) == []


def test_an_error_reply_from_claude_quoting_the_key_is_not_passed_on(
    caplog: pytest.LogCaptureFixture, isolated_db: Path
) -> None:
    # An API (or a proxy in front of it) that echoes the key in its error message.
    def echo(request: fake_api.Request) -> fake_api.Scripted:
        key = request.headers.get("x-api-key", "")
        return fake_api.error(401, "authentication_error", f"invalid x-api-key: {key}")

    caplog.set_level(logging.DEBUG, logger="graph")
    caplog.set_level(logging.DEBUG, logger="advisor")
    with fake_api.running(echo) as server:
        engine = Interviews(llm=Claude(make_client(api_key=API_KEY, base_url=server.url)))
        turns = engine.start("cli:k", use_case="we route support emails", by="Ana")
        turns += engine.reply("cli:k", "what is RAG?", by="Ana")
        turns += engine.reply("cli:k", "memo", by="Ana")
        assert server.requests and API_KEY in json.dumps(server.requests[0].headers)
    shown = json.dumps([t.model_dump() for t in turns], ensure_ascii=False)
    ours = "\n".join(r.getMessage() for r in caplog.records)
    assert leaks(shown) == [] and leaks(ours) == [], ours
    assert leaks(everything_stored(isolated_db)) == []
