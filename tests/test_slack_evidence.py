"""A file shared in a Slack interview thread becomes measured evidence (issue 15 item 2,
DESIGN.md section 8), as ``evidence PATH`` does in the terminal: checked by what Slack says
of it before any download, downloaded from ``url_private`` with the bot token, measured, and
its facts fill the profile with who shared it; the questions it settles are skipped. Each
test drives the real app against tests/slack_fake.py with files the test makes itself."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from evidence_files import eval_rows, training_rows, write_csv, write_jsonl
from slack_fake import BOT_TOKEN, BOT_USER, SIGN_IN_PAGE, TEAM, FakeSlack, Serve
from slack_harness import CHANNEL, Running, answer, app, fake, last_id, run_to_memo, start

from bot.slack import files as files_module
from bot.slack import payloads
from bot.slack.files import FileRefused, SlackFiles
from bot.slack.payloads import interview_id
from bot.slack.webapi import make_client
from graph.interview_evidence import evidence_rows
from graph.store import Store

__all__ = ["app", "fake"]  # fixtures

JSONL = {"mimetype": "text/plain", "filetype": "text"}  # what Slack calls a .jsonl upload


@pytest.fixture
def eval_csv(tmp_path: Path) -> bytes:
    """400 items, 328 right (82 %), lowest F1 on 'billing'."""
    return write_csv(tmp_path / "eval.csv", eval_rows()).read_bytes()


@pytest.fixture
def train_jsonl(tmp_path: Path) -> bytes:
    """3,000 examples with planted duplicates, conflicts, empty outputs and personal data."""
    pairs, _ = training_rows()
    rows = [{"input": i, "output": o} for i, o in pairs]
    return write_jsonl(tmp_path / "train.jsonl", rows).read_bytes()


def _said(fake: FakeSlack, thread: str) -> list[str]:
    return [str(m.get("text")) for m in fake.replies(CHANNEL, thread)]


def _posted(fake: FakeSlack) -> str:
    """Everything the app put in front of anyone: messages, edits, private notes."""
    calls = [*fake.called("chat.postMessage"), *fake.called("chat.update")]
    calls += fake.called("chat.postEphemeral")
    return "\n".join(json.dumps(c.args) for c in calls)


def _until(app: Running, fake: FakeSlack, thread: str, qid: str) -> None:
    """Answer by typing until ``qid`` is the question waiting."""
    for _ in range(20):
        if last_id(fake, thread) == qid:
            return
        answer(app, fake, thread, press_buttons=False, user="U0BEN")
    raise AssertionError(f"{qid} was never asked")


def _share(
    app: Running, fake: FakeSlack, thread: str, files: list[dict[str, Any]], text: str = ""
) -> None:
    sent = app.send.file_reply(text, thread_ts=thread, user="U0ANA", files=files)
    assert sent.status == 200 and sent.seconds < 3  # acked before any download
    app.idle()


def test_an_eval_file_with_the_target_settles_the_eval_question(
    app: Running, fake: FakeSlack, eval_csv: bytes
) -> None:
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    _until(app, fake, thread, "eval")
    asked = len(fake.questions(CHANNEL, thread))
    # The file says how many items and the score; the text says the score needed.
    _share(app, fake, thread, [fake.share_file("eval.csv", eval_csv)], "need 95%")
    said = _said(fake, thread)
    measured = [t for t in said if t.startswith("Measured from eval.csv")]
    assert measured == [
        "Measured from eval.csv: 400 items, 82.0 % exact match; "
        "per-label F1 lowest on 'billing' (0.60)"
    ]
    profile = app.engine.profile(iid)
    assert profile is not None
    scores = (profile.eval_set_size, profile.baseline_score, profile.target_score)
    assert scores == (400, 0.82, 0.95)
    # The thread moved on past eval, asked once more only for the next question.
    assert last_id(fake, thread) != "eval"
    assert len(fake.questions(CHANNEL, thread)) == asked + 1
    provenance = {p.field: p for p in app.engine.provenance(iid)}
    assert provenance["eval_set_size"].by == "Ana Lopez"  # who shared it
    assert provenance["eval_set_size"].said.startswith("measured from `eval.csv`, sha256 ")
    assert provenance["target_score"].by == "Ana Lopez"  # the text, as an answer
    # Downloaded once, with the bot token, from url_private.
    [download] = fake.downloads()
    assert download.token == f"Bearer {BOT_TOKEN}"
    assert [r["file"] for r in evidence_rows(app.engine.store, iid)] == ["eval.csv"]
    asked_after = run_to_memo(app, fake, thread, buttons=True)
    assert "eval" not in asked_after
    [memo] = [f for f in fake.files.values() if f.get("name") == "decision-memo.md"]
    markdown = memo["content"].decode()
    assert "**Measured** from `eval.csv`, sha256 " in markdown
    assert "(shared by Ana Lopez)" in markdown
    # After the memo a file settles nothing: it is not even downloaded.
    _share(app, fake, thread, [fake.share_file("later.csv", eval_csv)])
    assert len(fake.downloads()) == 1
    assert any(t.startswith("This interview is past its questions") for t in _said(fake, thread))


def test_a_file_alone_is_not_an_answer_and_the_question_comes_back(
    app: Running, fake: FakeSlack, eval_csv: bytes
) -> None:
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    assert last_id(fake, thread) == "task"
    answers = len(app.engine.store.answers(iid))
    _share(app, fake, thread, [fake.share_file("eval.csv", eval_csv)])
    said = _said(fake, thread)
    assert any(t.startswith("Measured from eval.csv: 400 items, 82.0 %") for t in said)
    assert len(app.engine.store.answers(iid)) == answers  # nothing read as an answer
    asked = [m["metadata"]["event_payload"]["question_id"] for m in fake.questions(CHANNEL, thread)]
    assert asked == ["task", "task"]  # the waiting question, asked again under the measured line
    profile = app.engine.profile(iid)
    assert profile is not None and (profile.eval_set_size, profile.baseline_score) == (400, 0.82)


def test_a_training_file_reports_personal_data_as_counts_never_values(
    app: Running, fake: FakeSlack, train_jsonl: bytes
) -> None:
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    _share(app, fake, thread, [fake.share_file("train.jsonl", train_jsonl, **JSONL)])
    said = "\n".join(_said(fake, thread))
    assert "Measured from train.jsonl: 3,000 examples, 2,950 unique inputs" in said
    assert "Risk: Training data `train.jsonl` holds personal data: email addresses in 12 rows" in (
        said
    )
    profile = app.engine.profile(iid)
    assert profile is not None and profile.labeled_examples == 3000
    _, planted = training_rows()
    posted = _posted(fake)
    assert "jo.0@example.org" not in posted
    for value in planted["values"]:
        assert value not in posted


def test_a_clean_training_file_settles_the_examples_question_and_the_text_is_not_misread(
    app: Running, fake: FakeSlack, tmp_path: Path
) -> None:
    pairs, _ = training_rows()
    clean = write_jsonl(tmp_path / "t.jsonl", [{"input": i, "output": o} for i, o in pairs[:2000]])
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    _until(app, fake, thread, "examples")
    answers = len(app.engine.store.answers(iid))
    file = fake.share_file("clean.jsonl", clean.read_bytes(), **JSONL)
    _share(app, fake, thread, [file], "here is our training data, 2000 rows")
    said = _said(fake, thread)
    assert any(t.startswith("Measured from clean.jsonl: 2,000 examples") for t in said)
    assert any("did not read its text as an answer" in t for t in said)
    # The file answered "examples"; the text was about the file, not the next question.
    assert last_id(fake, thread) != "examples"
    assert len(app.engine.store.answers(iid)) == answers
    profile = app.engine.profile(iid)
    assert profile is not None and (profile.labeled_examples, profile.labels_clean) == (2000, True)


def test_an_oversized_file_is_refused_from_its_size_without_a_download(
    app: Running, fake: FakeSlack, eval_csv: bytes
) -> None:
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    big = fake.share_file("big.csv", eval_csv, size=60_000_000)
    _share(app, fake, thread, [big])
    assert "Cannot use big.csv: too large (60.0 MB; the limit is 50 MB)." in _said(fake, thread)
    assert fake.downloads() == []
    assert evidence_rows(app.engine.store, iid) == []
    assert last_id(fake, thread) == "task"  # asked again: nothing lost


def test_an_image_is_refused_with_one_line_and_the_text_still_answers(
    app: Running, fake: FakeSlack
) -> None:
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    png = b"\x89PNG\r\n\x1a\n"
    shot = fake.share_file("chart.png", png, mimetype="image/png", filetype="png")
    pdf = fake.share_file(
        "<!channel> report.pdf", b"%PDF-1.7", mimetype="application/pdf", filetype="pdf"
    )
    _share(app, fake, thread, [shot, pdf], "classification")
    said = _said(fake, thread)
    assert [t for t in said if t.startswith("Cannot use")] == [
        "Cannot use chart.png: it is an image; share the eval results or training data as "
        "a UTF-8 CSV with a header row, JSONL, or a JSON list of objects.",
        "Cannot use &lt;!channel&gt; report.pdf: it is a PDF; share the eval results or "
        "training data as a UTF-8 CSV with a header row, JSONL, or a JSON list of objects.",
    ]  # a name is shown as text: it pings no one
    assert fake.downloads() == []
    profile = app.engine.profile(iid)
    assert profile is not None and profile.task_type == "classification"
    assert last_id(fake, thread) != "task"


@pytest.mark.parametrize(
    ("serving", "expected"),
    [
        ({"status": 403}, "Slack would not let me download it (HTTP 403)"),
        ({"status": 404}, "Slack could not find it (HTTP 404)"),
        ({"content_type": "text/html", "body": SIGN_IN_PAGE}, "Slack sent a web page"),
        ({"content_type": "text/csv", "body": SIGN_IN_PAGE}, "Slack sent a web page"),
    ],
)
def test_a_failed_download_gets_one_line_and_the_reply_still_counts(
    app: Running, fake: FakeSlack, eval_csv: bytes, serving: dict[str, Any], expected: str
) -> None:
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    file = fake.share_file("eval.csv", eval_csv, **serving)
    _share(app, fake, thread, [file], "classification")
    said = _said(fake, thread)
    refused = [t for t in said if t.startswith("Cannot use eval.csv")]
    assert len(refused) == 1 and expected in refused[0]
    if "web page" in expected:
        assert "files:read" in refused[0]
    assert len(fake.downloads()) == 1
    assert evidence_rows(app.engine.store, iid) == []
    profile = app.engine.profile(iid)
    assert profile is not None and profile.task_type == "classification"  # the text answered


def test_a_download_that_hangs_times_out_and_the_question_is_asked_again(
    app: Running, fake: FakeSlack, eval_csv: bytes
) -> None:
    app.advisor.steps.files.timeout = 0.3
    thread = start(app, fake)
    _share(app, fake, thread, [fake.share_file("eval.csv", eval_csv, delay=2)])
    assert any("the download from Slack timed out" in t for t in _said(fake, thread))
    assert last_id(fake, thread) == "task"


def test_a_check_file_info_stub_is_looked_up_with_files_info(
    app: Running, fake: FakeSlack, eval_csv: bytes
) -> None:
    thread = start(app, fake)
    file = fake.share_file("eval.csv", eval_csv)
    stub = {"id": file["id"], "file_access": "check_file_info", "created": file["created"]}
    _share(app, fake, thread, [stub])
    assert [c.args["file"] for c in fake.called("files.info")] == [file["id"]]
    assert any(t.startswith("Measured from eval.csv: 400 items") for t in _said(fake, thread))


def test_a_missing_files_read_scope_tells_the_admin_to_reinstall(
    app: Running, fake: FakeSlack, eval_csv: bytes
) -> None:
    thread = start(app, fake)
    fake.errors["files.info"] = "missing_scope"
    first, second = fake.share_file("a.csv", eval_csv), fake.share_file("b.csv", eval_csv)
    stubs = [{"id": f["id"], "file_access": "check_file_info"} for f in (first, second)]
    _share(app, fake, thread, stubs)
    lines = [t for t in _said(fake, thread) if "files:read" in t]
    assert len(lines) == 1  # once, not once per file
    assert "reinstalling advisor with the `files:read` scope" in lines[0]
    assert fake.downloads() == []
    assert last_id(fake, thread) == "task"


def test_the_same_file_shared_twice_is_measured_once(
    app: Running, fake: FakeSlack, eval_csv: bytes
) -> None:
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    _share(app, fake, thread, [fake.share_file("eval.csv", eval_csv)])
    _share(app, fake, thread, [fake.share_file("eval copy.csv", eval_csv)])
    assert len(evidence_rows(app.engine.store, iid)) == 1
    [again] = [t for t in _said(fake, thread) if "measured already" in t]
    assert again.startswith("Measured from eval.csv: 400 items")  # what it measured, again
    assert "eval copy.csv: measured already in this interview (same contents)" in again


def test_the_bot_token_goes_only_to_slack(fake: FakeSlack) -> None:
    files = SlackFiles(make_client(BOT_TOKEN, fake.url))
    elsewhere = {"name": "eval.csv", "url_private": "https://files.example.com/eval.csv"}
    with pytest.raises(FileRefused, match="its address is not Slack's"):
        files.download(elsewhere)
    plain = {"name": "eval.csv", "url_private": "http://files.slack.com/eval.csv"}
    with pytest.raises(FileRefused, match="its address is not Slack's"):
        files.download(plain)  # not over https


def test_a_redirect_to_another_host_does_not_carry_the_token(
    app: Running, fake: FakeSlack, eval_csv: bytes
) -> None:
    with FakeSlack() as elsewhere:
        target = elsewhere.share_file("eval.csv", eval_csv)
        thread = start(app, fake)
        moved = fake.share_file("eval.csv", eval_csv, redirect=target["url_private"])
        _share(app, fake, thread, [moved])
        assert elsewhere.calls == []  # not followed: neither the token nor a request went there
    assert any("an address that is not Slack's" in t for t in _said(fake, thread))


def test_a_redirect_between_slack_hosts_drops_the_token() -> None:
    handler = files_module._SameHostAuth("eval.csv", "")
    request = urllib.request.Request(
        "https://files.slack.com/files-pri/T-F1/eval.csv",
        headers={"Authorization": f"Bearer {BOT_TOKEN}"},
    )
    new = handler.redirect_request(
        request, io.BytesIO(), 302, "Found", {}, "https://files-origin.slack.com/T-F1/eval.csv"
    )
    assert new is not None and not new.has_header("Authorization")
    same = handler.redirect_request(
        request, io.BytesIO(), 302, "Found", {}, "https://files.slack.com/files-pri/T-F1/x.csv"
    )
    assert same is not None and same.get_header("Authorization") == f"Bearer {BOT_TOKEN}"


def test_a_file_shared_with_a_mention_in_the_thread_is_kept_with_it() -> None:
    event = {
        "type": "app_mention",
        "subtype": "file_share",
        "text": f"<@{BOT_USER}> here is our eval",
        "user": "U0ANA",
        "ts": "1700000002.000200",
        "thread_ts": "1700000001.000100",
        "channel": "C0CHAN",
        "files": [{"id": "F0EVAL", "name": "eval.csv", "filetype": "csv", "size": 9}],
    }
    said = payloads.mention({"event_id": "Ev1"}, event, BOT_USER)
    assert isinstance(said, payloads.Said) and said.in_thread
    assert said.data()["files"] == [
        {"id": "F0EVAL", "name": "eval.csv", "filetype": "csv", "size": 9}
    ]


def test_slack_hears_back_before_the_download_starts(
    app: Running, fake: FakeSlack, eval_csv: bytes
) -> None:
    thread = start(app, fake)
    slow = fake.share_file("eval.csv", eval_csv, delay=2)
    sent = app.send.file_reply("", thread_ts=thread, user="U0ANA", files=[slow])
    assert sent.status == 200 and sent.seconds < 1.5  # the ack did not wait for the file
    app.idle()
    assert any(t.startswith("Measured from eval.csv") for t in _said(fake, thread))


@pytest.mark.parametrize("no_length", [False, True])
def test_a_file_larger_than_it_said_is_cut_off_at_the_limit(
    app: Running, fake: FakeSlack, eval_csv: bytes, no_length: bool
) -> None:
    app.advisor.steps.files.max_bytes = 1_000
    thread = start(app, fake)
    iid = interview_id(TEAM, CHANNEL, thread)
    liar = fake.share_file("eval.csv", eval_csv, size=900, no_length=no_length)
    _share(app, fake, thread, [liar])
    [refused] = [t for t in _said(fake, thread) if t.startswith("Cannot use eval.csv: too large")]
    # Told by Content-Length before reading, or counted while reading: never read past it.
    told = f"too large ({len(eval_csv):,} bytes; the limit is 1,000 bytes)"
    assert ("over the limit of 1,000 bytes" in refused) is no_length
    assert (told in refused) is not no_length
    assert evidence_rows(app.engine.store, iid) == []


def test_killed_after_measuring_the_restart_says_what_was_measured_once(
    fake: FakeSlack, eval_csv: bytes
) -> None:
    store = Store()  # the ADVISOR_DB the processes use
    serve = Serve(fake, fault="after_answer:2")  # the second engine step: the file
    try:
        serve.send.command("classify support emails into 12 categories")
        thread = fake.wait_for(lambda: fake.parents())[0]
        fake.wait_for(lambda: fake.questions(CHANNEL, thread))
        file = fake.share_file("eval.csv", eval_csv)
        with contextlib.suppress(http.client.RemoteDisconnected, ConnectionError):
            serve.send.file_reply("", thread_ts=thread, files=[file])
        assert serve.died() == 137  # measured and added, nothing it says queued yet
    finally:
        serve.kill()
    iid = interview_id(TEAM, CHANNEL, thread)
    assert len(evidence_rows(store, iid)) == 1
    serve = Serve(fake)  # picks up the unfinished reply
    try:
        fake.wait_for(lambda: len(fake.questions(CHANNEL, thread)) == 2, timeout=20)
    finally:
        serve.stop()
    said = _said(fake, thread)
    assert [t for t in said if t.startswith("Measured from eval.csv")] == [
        "Measured from eval.csv: 400 items, 82.0 % exact match; "
        "per-label F1 lowest on 'billing' (0.60)"
    ]  # said once, as if nothing had happened
    assert len(evidence_rows(store, iid)) == 1  # and added once
