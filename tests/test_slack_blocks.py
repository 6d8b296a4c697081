"""What people see in Slack: questions, replies, the memo summary, lists, and the limits
and escaping that keep every message postable and harmless."""

from __future__ import annotations

import json
from typing import Any

from bot.slack import blocks
from graph.turns import Citation, Ended, Option, Question, Reply

HOSTILE = "<!channel> hi <@U0123ABC> see <https://evil.example|click here> & <!here>"


def all_text(message: dict[str, Any] | blocks.Message) -> str:
    """Every string anywhere in a message or view, joined."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(dict(message))
    return "\n".join(found)


def mrkdwn_texts(message: blocks.Message) -> list[str]:
    texts = [message["text"]]
    for block in message["blocks"]:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        elif block["type"] == "context":
            texts += [e["text"] for e in block["elements"]]
    return texts


def question(**extra: Any) -> Question:
    base: dict[str, Any] = {
        "id": "volume",
        "fields": ["monthly_volume"],
        "text": "How many calls a month will this make in production?",
        "why": "Fine-tuning only pays off at volume.",
        "why_card": "gate-volume",
        "example": "about 50k a month",
        "number": 4,
        "total": 10,
    }
    base.update(extra)
    return Question(**base)


def test_user_text_echoed_back_never_pings_or_links() -> None:
    rendered = [
        blocks.parent_message(HOSTILE, "U0ANA"),
        blocks.reply_message(Reply(text=f"I couldn't read '{HOSTILE}'.")),
        blocks.question_message(question(hint=f"'{HOSTILE}' is not a number")),
        blocks.answered_message(question(), HOSTILE, "U0ANA"),
        blocks.ended_message(Ended(text=HOSTILE)),
        blocks.list_message(
            [
                {
                    "use_case": HOSTILE,
                    "status": "open",
                    "link": None,
                    "started_at": "",
                    "started_by": "",
                }
            ]
        ),
    ]
    for message in rendered:
        for text in mrkdwn_texts(message):
            assert "<!channel>" not in text and "<!here>" not in text
            assert "<@U0123ABC>" not in text
            assert "<https://evil" not in text
    assert "&lt;!channel&gt;" in rendered[0]["text"]
    # The starter is mentioned on purpose: that one is ours, not theirs.
    assert "<@U0ANA>" in rendered[0]["text"]


def test_escaping_handles_ampersands_first() -> None:
    assert blocks.escape("a & <b> &amp;") == "a &amp; &lt;b&gt; &amp;amp;"


def test_slack_formatting_in_replies_reaches_the_engine_as_plain_text() -> None:
    raw = (
        "<@U0BOT> about &lt;5k &amp; <https://x.example/a|our doc> for <#C1|ml> <!here> "
        "<mailto:a@b.c>"
    )
    assert blocks.from_slack(raw, "U0BOT") == "about <5k & our doc for #ml @here a@b.c"
    assert blocks.from_slack("<@U0ANA|ana> said so") == "@ana said so"


def test_choice_question_offers_one_button_per_option_with_its_value() -> None:
    q = question(
        id="error_cost",
        options=[Option(value=v, label=v.title()) for v in ("low", "medium", "high")],
    )
    message = blocks.question_message(q)
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == ["Low", "Medium", "High"]
    assert [json.loads(b["value"]) for b in buttons] == [
        {"question_id": "error_cost", "value": v} for v in ("low", "medium", "high")
    ]
    action_ids = [b["action_id"] for b in buttons]
    assert len(set(action_ids)) == 3 and all(a.startswith("advisor_answer") for a in action_ids)
    assert message["metadata"] == {
        "event_type": "advisor_question",
        "event_payload": {"question_id": "error_cost", "fields": ["monthly_volume"]},
    }


def test_multi_choice_question_uses_checkboxes_and_a_submit_button() -> None:
    options = [Option(value=f"p{n}", label=f"Problem {n}") for n in range(12)]
    message = blocks.question_message(question(id="problems", options=options, multi=True))
    elements = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    groups = [e for e in elements if e["type"] == "checkboxes"]
    assert [len(g["options"]) for g in groups] == [10, 2]  # Slack allows 10 per group
    assert elements[-1]["action_id"] == "advisor_submit"
    assert json.loads(elements[-1]["value"]) == {"question_id": "problems"}


def test_free_text_question_shows_example_why_and_progress() -> None:
    message = blocks.question_message(question())
    text = "\n".join(mrkdwn_texts(message))
    assert "about 50k a month" in text
    assert "Fine-tuning only pays off at volume." in text and "gate-volume" in text
    assert "Question 4 of about 10" in text
    assert not [b for b in message["blocks"] if b["type"] == "actions"]


def test_answered_question_shows_answer_and_who_and_has_no_buttons() -> None:
    q = question(options=[Option(value="a", label="A")])
    message = blocks.answered_message(q, "A", "U0BEN")
    assert not [b for b in message["blocks"] if b["type"] == "actions"]
    assert any("answered by <@U0BEN>" in t and "A" in t for t in mrkdwn_texts(message))


def test_huge_texts_are_cut_to_slack_limits() -> None:
    long = ("word " * 400 + "\n") * 60  # ~120,000 characters
    for message in (
        blocks.reply_message(Reply(text=long)),
        blocks.question_message(question(text=long, why=long, example=long, hint=long)),
        blocks.ended_message(Ended(text=long * 2)),
    ):
        assert len(message["blocks"]) <= blocks.MAX_BLOCKS
        assert len(message["text"]) <= blocks.TEXT_LIMIT
        for block in message["blocks"]:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= blocks.SECTION_LIMIT
            if block["type"] == "context":
                assert all(len(e["text"]) <= blocks.SECTION_LIMIT for e in block["elements"])


def test_cutting_never_splits_an_escaped_character() -> None:
    text = blocks.escape("<" * 5000)
    for cut in (blocks.clip(text, 3000), *blocks.split_text(text, 3000)):
        assert len(cut) <= 3000
        assert cut.rstrip("…").endswith("&lt;")


def test_long_labels_fit_in_buttons() -> None:
    q = question(options=[Option(value="x", label="L" * 200)])
    button = next(b for b in q.options)
    assert button.label  # the model keeps it; the block clips it
    message = blocks.question_message(q)
    element = message["blocks"][-3]["elements"][0]
    assert len(element["text"]["text"]) <= blocks.LABEL_LIMIT


def assessment(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "approach": "rag",
        "next_rung": "rag",
        "escalation_questions": [
            {
                "id": "eval_ceiling",
                "question": "Eval ceiling?",
                "answer": "82% vs 90%",
                "status": "yes",
            },
            {"id": "ladder_tried", "question": "Ladder?", "answer": "RAG untried", "status": "no"},
            {"id": "clean_examples", "question": "Data?", "answer": "unknown", "status": "unknown"},
            {"id": "retraining_plan", "question": "Owner?", "answer": "Ana", "status": "yes"},
            {"id": "cost_delta", "question": "Cost?", "answer": "n/a", "status": "unknown"},
        ],
    }
    data.update(extra)
    return data


def test_memo_summary_shows_approach_rung_five_questions_and_decision_buttons() -> None:
    message = blocks.memo_summary("abc123", assessment(), use_case="Route <tickets>")
    text = all_text(message)
    assert "Retrieval (RAG)" in text and "Next rung:* retrieval (RAG)" in text
    assert [t for t in mrkdwn_texts(message) if t.startswith(("✅", "❌", "❓"))] == [
        "✅ *Eval ceiling?*\n82% vs 90%",
        "❌ *Ladder?*\nRAG untried",
        "❓ *Data?*\nunknown",
        "✅ *Owner?*\nAna",
        "❓ *Cost?*\nn/a",
    ]
    assert "Route &lt;tickets&gt;" in text
    actions = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(a["action_id"], a["value"]) for a in actions] == [
        ("advisor_memo_accept", "abc123"),
        ("advisor_memo_reject", "abc123"),
        ("advisor_memo_revise", "abc123"),
    ]
    assert message["metadata"]["event_type"] == "advisor_memo"
    payload = message["metadata"]["event_payload"]
    assert (payload["approach"], payload["next_rung"]) == ("rag", "rag")


def test_memo_summary_after_a_decision_says_who_decided() -> None:
    message = blocks.memo_summary("m1", assessment(), status="accepted", decided_by="Ben <b>")
    assert "*Status:* Accepted by Ben &lt;b&gt;" in all_text(message)


def test_memo_as_text_comes_in_postable_chunks() -> None:
    markdown = "# Memo\n" + "\n".join(f"- line {n} <x>" for n in range(2000))
    chunks = blocks.memo_text_chunks(markdown)
    assert len(chunks) > 1
    assert all(len(c) <= blocks.MEMO_CHUNK for c in chunks)
    assert blocks.escape(markdown).replace("\n", "") == "".join(chunks).replace("\n", "")


def test_reply_lists_its_sources() -> None:
    reply = Reply(text="RAG fits.", citations=[Citation(id="rung-rag", title="Rung 6: retrieval")])
    assert "*Sources:* Rung 6: retrieval (`rung-rag`)" in all_text(blocks.reply_message(reply))


def test_home_view_lists_interviews_with_links_and_status() -> None:
    rows: list[blocks.Row] = [
        {
            "use_case": "Classify emails",
            "status": blocks.status_line("done", "accepted", "prompt_engineering"),
            "link": "https://acme.slack.com/archives/C1/p1",
            "started_at": "2025-01-02T03:04:05+00:00",
            "started_by": "Ana",
        }
    ]
    view = blocks.home_view(rows)
    assert view["type"] == "home"
    text = all_text(view)
    assert "<https://acme.slack.com/archives/C1/p1|Classify emails>" in text
    assert "Accepted: Prompt engineering" in text and "2025-01-02" in text
    assert "Nothing yet" in all_text(blocks.home_view([]))
