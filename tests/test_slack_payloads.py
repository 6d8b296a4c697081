"""Reading Slack payloads (bot/slack/payloads.py), as pure functions: which thread and person
a request is about, what was typed, pressed or ticked, and what is left alone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.slack import payloads
from bot.slack.payloads import Choice, Ignored, Said, Where

BOT = "U0BOT"


def event(**fields: Any) -> dict[str, Any]:
    return {"type": "message", "channel": "C0CHAN", "user": "U0ANA", "ts": "1.2", **fields}


# --- the slash command --------------------------------------------------------------------


def test_a_command_names_its_channel_person_and_use_case() -> None:
    said = payloads.command(
        {"text": "  Route <@U0BOT> tickets &amp; emails ", "channel_id": "C0CHAN",
         "user_id": "U0ANA", "trigger_id": "13.42"},
        BOT,
    )  # fmt: skip
    assert said.where == Where("C0CHAN", None, "U0ANA")
    assert said.text == "Route tickets & emails"
    assert said.key == "start:13.42"


def test_a_command_without_a_channel_still_says_what_was_asked_for() -> None:
    said = payloads.command({"text": "HELP", "user_id": "U0ANA"}, BOT)
    assert said.where is None and said.word in payloads.HELP_WORDS


@pytest.mark.parametrize("user", [None, "", "not an id", 42, ["U0ANA"]])
def test_a_command_from_no_recognisable_person_has_no_where(user: Any) -> None:
    assert (
        payloads.command({"text": "x", "channel_id": "C0CHAN", "user_id": user}, BOT).where is None
    )


# --- mentions and replies -----------------------------------------------------------------


def test_a_mention_in_a_channel_starts_a_thread_at_its_own_message() -> None:
    said = payloads.mention({"event_id": "Ev1"}, event(text=f"<@{BOT}> route tickets"), BOT)
    assert said == Said(Where("C0CHAN", "1.2", "U0ANA"), "route tickets", False, "Ev1", ts="1.2")


def test_a_mention_inside_a_thread_belongs_to_that_thread() -> None:
    said = payloads.mention({}, event(text=f"<@{BOT}> skip", thread_ts="1.0"), BOT)
    assert isinstance(said, Said) and said.in_thread and said.where.thread_ts == "1.0"
    assert said.text == "skip" and said.event_id is None


@pytest.mark.parametrize(
    "fields", [{"subtype": "message_changed"}, {"bot_id": "B0OTHER"}, {"user": None}]
)
def test_mentions_by_bots_and_edits_are_not_for_us(fields: dict[str, Any]) -> None:
    assert payloads.mention({}, event(text=f"<@{BOT}> x", **fields), BOT) is None


def test_a_mention_without_a_usable_channel_or_timestamp_is_ignored_as_not_from_slack() -> None:
    assert isinstance(payloads.mention({}, event(channel=5), BOT), Ignored)
    assert isinstance(payloads.mention({}, event(ts="yesterday"), BOT), Ignored)


def test_a_reply_in_a_thread_is_read_as_said_by_its_author() -> None:
    said = payloads.reply(
        {"event_id": "Ev2"}, event(text="about 3,000, clean", thread_ts="1.0"), BOT
    )
    assert said == Said(
        Where("C0CHAN", "1.0", "U0ANA"), "about 3,000, clean", True, "Ev2", ts="1.2"
    )


def test_also_sent_to_the_channel_is_still_a_reply() -> None:
    said = payloads.reply({}, event(text="yes", thread_ts="1.0", subtype="thread_broadcast"), BOT)
    assert isinstance(said, Said) and said.text == "yes"


@pytest.mark.parametrize(
    "fields",
    [
        {"thread_ts": "1.0", "subtype": "message_changed"},
        {"thread_ts": "1.0", "subtype": "message_deleted"},
        {"thread_ts": "1.0", "subtype": "channel_join"},
        {"thread_ts": "1.0", "user": BOT},  # our own message
        {"thread_ts": "1.0", "bot_id": "B0OTHER"},
        {},  # a top-level message, not in a thread
        {"thread_ts": "1.2"},  # the thread's parent itself
        {"thread_ts": "1.0", "text": f"<@{BOT}> skip"},  # the mention event carries it
    ],
)
def test_what_is_not_a_persons_reply_in_a_thread_is_left_alone(fields: dict[str, Any]) -> None:
    assert payloads.reply({}, event(**{"text": "skip", **fields}), BOT) is None


def test_a_reply_without_a_channel_is_ignored_as_not_from_slack() -> None:
    assert isinstance(payloads.reply({}, event(thread_ts="1.0", channel=None), BOT), Ignored)


def test_only_the_home_tab_of_a_real_user_is_answered() -> None:
    assert payloads.home_opened({"user": "U0CHI", "tab": "home"}) == "U0CHI"
    assert payloads.home_opened({"user": "U0CHI", "tab": "messages"}) is None
    assert isinstance(payloads.home_opened({"tab": "home"}), Ignored)


# --- clicks -------------------------------------------------------------------------------


def click(value: Any, **body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    action = {"action_id": "advisor_answer:0", "value": value, "text": {"text": "Yes"}}
    base = {
        "type": "block_actions",
        "user": {"id": "U0BEN"},
        "container": {"channel_id": "C0CHAN", "thread_ts": "1.0", "message_ts": "1.5"},
        "message": {"text": "Question 3", "blocks": [{"type": "section"}, "junk"]},
        "actions": [action],
    }
    return {**base, **body}, action


def test_a_button_press_answers_its_question_with_the_label_shown() -> None:
    body, action = click(json.dumps({"question_id": "stable", "value": "yes"}))
    choice = payloads.answer_pressed(body, action)
    assert choice == Choice(
        Where("C0CHAN", "1.0", "U0BEN", "1.5"),
        "stable",
        ["yes"],
        ["Yes"],
        {"text": "Question 3", "blocks": [{"type": "section"}]},  # only blocks that are objects
    )


@pytest.mark.parametrize("value", ["null", "[]", "5", "{oops", "1" * 5000])
def test_a_button_whose_value_is_not_our_json_object_is_ignored(value: str) -> None:
    body, action = click(value)
    assert isinstance(payloads.answer_pressed(body, action), Ignored)


def test_a_click_outside_a_thread_answers_nothing() -> None:
    body, action = click(json.dumps({"question_id": "stable", "value": "yes"}), container={})
    body["message"] = {}
    assert payloads.answer_pressed(body, action) is None


def test_where_a_click_happened_falls_back_to_the_message_and_channel() -> None:
    body = {
        "channel": {"id": "C0CHAN"},
        "user": {"id": "U0ANA"},
        "message": {"ts": "1.7", "thread_ts": "1.0"},
        "container": {"thread_ts": "not a ts"},
    }
    assert payloads.clicked(body) == Where("C0CHAN", "1.0", "U0ANA", "1.7")


def ticks(*options: Any, action_id: str = "advisor_checks:0") -> dict[str, Any]:
    state = {"type": "checkboxes", "selected_options": list(options)}
    return {"values": {"b0": {action_id: state}}}


def option(value: str, label: str) -> dict[str, Any]:
    return {"value": value, "text": {"type": "plain_text", "text": label}}


def test_submit_answers_with_every_box_ticked() -> None:
    body, action = click(
        json.dumps({"question_id": "problems"}),
        state=ticks(option("accuracy", "Accuracy"), option("cost", "Too expensive")),
    )
    choice = payloads.submit_pressed(body, action)
    assert isinstance(choice, Choice)
    assert (choice.values, choice.labels) == (["accuracy", "cost"], ["Accuracy", "Too expensive"])


def test_submit_with_nothing_ticked_says_none_of_these() -> None:
    body, action = click(json.dumps({"question_id": "problems"}), state=ticks())
    choice = payloads.submit_pressed(body, action)
    assert isinstance(choice, Choice) and (choice.values, choice.labels) == ([], ["none of these"])


def test_ticks_of_another_question_element_are_not_read() -> None:
    state = ticks(option("x", "X"), action_id="someone_elses")
    assert payloads.ticked({"state": state}) == ([], [])


@pytest.mark.parametrize(
    "state",
    [
        ticks({"text": {"text": "no value"}}),
        {"values": {"b0": {"advisor_checks:0": {"selected_options": "accuracy"}}}},
    ],
)
def test_ticks_of_a_shape_slack_never_sends_answer_nothing(state: dict[str, Any]) -> None:
    body, action = click(json.dumps({"question_id": "problems"}), state=state)
    assert payloads.ticked(body) is None
    assert isinstance(payloads.submit_pressed(body, action), Ignored)


def test_where_to_apologise_is_found_in_any_kind_of_request() -> None:
    body, _ = click("{}")
    assert payloads.anywhere(body) == Where("C0CHAN", "1.0", "U0BEN", "1.5")
    in_thread = {"event": {"channel": "C0CHAN", "ts": "1.2", "thread_ts": "1.0", "user": "U0A"}}
    assert payloads.anywhere(in_thread) == Where("C0CHAN", "1.0", "U0A")
    assert payloads.anywhere({"channel_id": "C0CHAN", "user_id": "U0A"}) == Where(
        "C0CHAN", None, "U0A"
    )
    assert payloads.anywhere({"event": {"channel": 5}}) is None


# --- what the inbox keeps -----------------------------------------------------------------


def test_an_inbox_payload_keeps_where_it_came_from() -> None:
    where = Where("C0CHAN", "1.0", "U0BEN", "1.5")
    kept = payloads.kept(where, {"text": "skip"})
    assert kept["text"] == "skip" and payloads.where_kept(json.loads(json.dumps(kept))) == where


def test_a_threads_interview_id_is_team_channel_and_thread() -> None:
    assert payloads.interview_id("T0TEAM", "C0CHAN", "1.0") == "T0TEAM:C0CHAN:1.0"
