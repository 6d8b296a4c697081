"""Block Kit for the Slack front end: every message and view the app posts is built here.

Pure functions over ``graph.turns`` messages and store records, no Web API calls, so the
rendering can be tested on its own. Everything that came from a person or from the engine
is escaped before it is echoed, so ``<!channel>`` or ``<@U123>`` typed in an answer never
pings anyone, and every message stays inside Slack's size limits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, NotRequired, TypedDict

from graph import labels
from graph.turns import Citation, Ended, Question, Reply

# Slack's limits (Block Kit reference): section text, blocks per message, message text,
# button/option label, checkbox options per element, elements per actions block, header.
SECTION_LIMIT = 3_000
MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100
TEXT_LIMIT = 40_000
BLOCKS_TEXT_LIMIT = 10_000  # all of a message's blocks together (bolt-js #2509, #2867)
PLAIN_LIMIT = 3_900  # a plain-text fallback, well inside msg_too_long's limit
LABEL_LIMIT = 75
CHECKBOX_LIMIT = 10
ACTIONS_LIMIT = 25
HEADER_LIMIT = 150
MEMO_CHUNK = 3_500  # memo posted as text when the upload fails: one readable message each
MARKDOWN_LIMIT = 12_000  # chat.postMessage ``markdown_text``

# Action ids. Slack wants them unique inside a message, so answer buttons and checkbox
# groups carry a ":<n>" suffix; the app matches them by prefix.
ANSWER_ACTION = "advisor_answer"
CHECKS_ACTION = "advisor_checks"
SUBMIT_ACTION = "advisor_submit"
ACCEPT_ACTION = "advisor_memo_accept"
REJECT_ACTION = "advisor_memo_reject"
REVISE_ACTION = "advisor_memo_revise"
CONFIRM_ACTION = "advisor_confirm"  # keep the reading a confirmation shows

# Message metadata event types (DESIGN.md section 7).
QUESTION_EVENT = "advisor_question"
MEMO_EVENT = "advisor_memo"

MEMO_FILENAME = "decision-memo.md"

STATUS_ICON = {"yes": "✅", "no": "❌", "unknown": "❓"}
MEMO_STATUS_LABEL = {"proposed": "Proposed", "accepted": "Accepted", "rejected": "Rejected"}
INTERVIEW_STATUS_LABEL = {"open": "in progress", "done": "memo written", "cancelled": "cancelled"}


class Message(TypedDict):
    """Keyword arguments for chat.postMessage / chat.update / chat.postEphemeral."""

    text: str
    blocks: list[dict[str, Any]]
    metadata: NotRequired[dict[str, Any]]


# --- text in and out ------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's three control characters, escaped: no mention, link or ping survives."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_USER_ID = re.compile(r"[UW][A-Z0-9]{1,20}")
_SAFE_URL = re.compile(r"https://[^\s<>|\"]+")


def mention(user_id: str) -> str:
    """``<@U123>`` for a real Slack user id; anything else (a forged or odd payload) is
    shown as escaped text, so it can never become ``<!channel>`` or a link."""
    if _USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape(user_id) or "someone"


def link(url: str | None, label: str) -> str:
    """``<url|label>`` for a plain https URL (a permalink Slack gave us), with ``label``
    already escaped; just the label for anything else."""
    if url and _SAFE_URL.fullmatch(url):
        return f"<{url}|{label}>"
    return label


_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in "…" when cut; never cuts an ``&amp;``."""
    if len(text) <= limit:
        return text
    cut = _ENTITY_TAIL.sub("", text[: limit - 1])
    return cut + "…"


_BOLD = re.compile(r"\*\*(.+?)\*\*")


def mrkdwn(text: str) -> str:
    """Engine text (CommonMark-ish) as escaped Slack mrkdwn."""
    return _BOLD.sub(r"*\1*", escape(text))


def plain(text: str, limit: int = LABEL_LIMIT) -> dict[str, Any]:
    """A plain_text object (never parsed for mentions)."""
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


_USER_REF = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL_REF = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(\w+)(?:\^[^|>]*)?(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


def from_slack(text: str, bot_user_id: str | None = None) -> str:
    """What a person typed, as plain text for the engine: the bot's own mention dropped,
    other references made readable, and Slack's escapes undone."""
    if bot_user_id:
        text = text.replace(f"<@{bot_user_id}>", " ")
    text = _USER_REF.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    text = _CHANNEL_REF.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1).removeprefix("mailto:"), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


# --- building blocks ------------------------------------------------------------------


def split_text(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at line ends where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:  # one very long line: hard cut, clear of entities
            head = _ENTITY_TAIL.sub("", line[:limit]) or line[:limit]
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head)
            line = line[len(head) :]
        if len(current) + len(line) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current.strip() or not pieces:
        pieces.append(current)
    return [p.rstrip("\n") or " " for p in pieces]


def sections(text: str) -> list[dict[str, Any]]:
    """Escaped-mrkdwn ``text`` as one section per 3,000 characters."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in split_text(mrkdwn(text), SECTION_LIMIT)
    ]


def context(*texts: str) -> dict[str, Any]:
    """A context block of already-escaped mrkdwn snippets."""
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(t, SECTION_LIMIT)} for t in texts[:10]],
    }


def block_text(block: Any) -> int:
    """How many characters of text a block (or any part of one) carries."""
    if isinstance(block, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else block_text(v)
            for k, v in block.items()
        )
    if isinstance(block, list):
        return sum(block_text(b) for b in block)
    return 0


def fit(
    blocks: list[dict[str, Any]], limit: int = MAX_BLOCKS, *, chars: int = BLOCKS_TEXT_LIMIT
) -> list[dict[str, Any]]:
    """At most ``limit`` blocks carrying at most ``chars`` characters of text in all (Slack
    refuses a message whose blocks together say much more than ~12,000, however small each
    block: msg_blocks_too_long). The longest sections are cut first, so buttons stay; a cut
    message says so in its last block."""
    cut = len(blocks) > limit
    if cut:
        blocks = blocks[: limit - 1]
    excess = block_text(blocks) - chars + (len(SHORTENED) if not cut else 0)
    if excess > 0:
        cut = True
        blocks = [dict(b) for b in blocks]
        texts = [b for b in blocks if b.get("type") == "section" and "text" in b]
        for block in sorted(texts, key=lambda b: -len(b["text"].get("text", ""))):
            if excess <= 0:
                break
            said = str(block["text"].get("text", ""))
            keep = max(100, len(said) - excess)
            block["text"] = {**block["text"], "text": clip(said, keep)}
            excess -= len(said) - len(block["text"]["text"])
    return [*blocks, context(SHORTENED)] if cut else blocks


SHORTENED = "_… shortened to fit in one Slack message._"


def plain_fallback(message: Message, question: Question | None = None) -> Message:
    """The same message as plain text only, for when Slack refuses its blocks for good
    (invalid_blocks, msg_blocks_too_long): a question lists its options to type."""
    if question is None:
        return Message(text=clip(message["text"], PLAIN_LIMIT) or " ", blocks=[])
    lines = [f"{progress(question)}: {question.text}"]
    if question.hint:
        lines.insert(0, f"⚠️ {question.hint}")
    lines += [f"• {o.label}" for o in question.options]
    lines.append(
        "Reply in this thread with your answer (`skip`, `back`, `memo` and `cancel` work too)."
    )
    return Message(text=clip(escape("\n".join(lines)), PLAIN_LIMIT), blocks=[])


def message(
    text: str, blocks: list[dict[str, Any]], metadata: dict[str, Any] | None = None
) -> Message:
    """A message with its (already escaped) notification text clipped and its blocks fitted."""
    out = Message(text=clip(text, TEXT_LIMIT) or " ", blocks=fit(blocks))
    if metadata is not None:
        out["metadata"] = metadata
    return out


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- interview turns ------------------------------------------------------------------


def question_metadata(question: Question) -> dict[str, Any]:
    payload: dict[str, Any] = {"question_id": question.id, "fields": list(question.fields)}
    if question.confirm:
        payload.update(confirm=True, read=list(question.read))
    return {"event_type": QUESTION_EVENT, "event_payload": payload}


def progress(question: Question) -> str:
    return f"Question {question.number} of about {max(question.total, question.number)}"


def _question_top(question: Question) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if question.hint:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": clip("⚠️ " + mrkdwn(question.hint), SECTION_LIMIT),
                },
            }
        )
    blocks.extend(sections(question.text))
    return blocks


def _why(question: Question) -> list[dict[str, Any]]:
    if not question.why:
        return []
    source = f" _(card: {escape(question.why_card)})_" if question.why_card else ""
    return [context(f"*Why we ask:* {mrkdwn(question.why)}{source}")]


def question_message(question: Question) -> Message:
    """A question: buttons for one choice, checkboxes and a submit button for several,
    an example answer for free text; why we ask and how far along we are underneath. A
    reading to confirm (``question.confirm``) comes back with the reading ticked (or its
    button highlighted) and a *Confirm* button; fixing the ticks answers it anew."""
    blocks = _question_top(question)
    read = set(question.read) if question.confirm else set()
    confirm: list[dict[str, Any]] = []
    if question.confirm:
        if question.read_text and not question.hint.startswith("I read"):
            said = f"I read: *{mrkdwn(question.read_text)}*"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip(said, 3000)}})
        confirm = [
            {
                "type": "button",
                "action_id": CONFIRM_ACTION,
                "text": plain("Confirm"),
                "style": "primary",
                "value": json.dumps({"question_id": question.id}),
            }
        ]
    if question.options and question.multi:
        elements: list[dict[str, Any]] = []
        for n, group in enumerate(_chunks(question.options, CHECKBOX_LIMIT)):
            shown = [{"text": plain(o.label), "value": clip(o.value, 150)} for o in group]
            box: dict[str, Any] = {
                "type": "checkboxes",
                "action_id": f"{CHECKS_ACTION}:{n}",
                "options": shown,
            }
            ticked = [b for b, o in zip(shown, group, strict=True) if o.value in read]
            if ticked:  # a reading to confirm: the boxes come ticked with it
                box["initial_options"] = ticked
            elements.append(box)
        elements.append(
            {
                "type": "button",
                "action_id": SUBMIT_ACTION,
                "text": plain("Submit"),
                "style": "primary",
                "value": json.dumps({"question_id": question.id}),
            }
        )
        elements += confirm
        for group in _chunks(elements, ACTIONS_LIMIT):
            blocks.append({"type": "actions", "elements": list(group)})
        how = "Tick all that apply and press *Submit*, or type them in this thread."
        if question.confirm:
            how = "Press *Confirm* to keep what I read, or fix the ticks and press *Submit*."
    elif question.options:
        buttons = [
            {
                "type": "button",
                "action_id": f"{ANSWER_ACTION}:{n}",
                "text": plain(o.label),
                "value": json.dumps({"question_id": question.id, "value": o.value}),
                **({"style": "primary"} if o.value in read else {}),
            }
            for n, o in enumerate(question.options)
        ]
        for group in _chunks(buttons + confirm, ACTIONS_LIMIT):
            blocks.append({"type": "actions", "elements": list(group)})
        how = "Press a button or type your answer in this thread."
        if question.confirm:
            how = "Press *Confirm* to keep what I read, or press the right answer."
    else:
        how = "Reply in this thread."
        if question.confirm:
            blocks.append({"type": "actions", "elements": confirm})
            how = "Press *Confirm* to keep what I read, or type the right answer."
        if question.example:
            blocks.append(context(f"*A good answer looks like:* _{mrkdwn(question.example)}_"))
    blocks.extend(_why(question))
    blocks.append(
        context(f"{progress(question)} · {how} `skip`, `back`, `memo` and `cancel` work too.")
    )
    text = escape(f"{progress(question)}: {question.text}")
    return message(text, blocks, question_metadata(question))


def answered_message(
    question: Question, answer: str, user_id: str, *, typed: bool = False
) -> Message:
    """The question after it was answered: the answer and who gave it, no buttons left.
    ``typed``: the answer was a reply in the thread rather than a click."""
    blocks = _question_top(question.model_copy(update={"hint": ""}))
    said = escape(clip(answer, 500))
    if typed:
        blocks.append(context(f"💬 {mention(user_id)} replied in the thread: “{said}”"))
    else:
        blocks.append(context(f"✅ *{said}* — answered by {mention(user_id)}"))
    text = escape(f"{progress(question)}: {question.text} — answered: {answer}")
    return message(text, blocks, question_metadata(question))


def superseded_message(question: Question) -> Message:
    """An earlier copy of a question that was just asked again (say, with a hint)."""
    blocks = _question_top(question.model_copy(update={"hint": ""}))
    blocks.append(context("_Asked again below._"))
    return message(
        escape(f"{progress(question)}: {question.text}"), blocks, question_metadata(question)
    )


def settled_message(question: Question) -> Message:
    """A question posted late (Slack was unreachable) that the thread has answered since."""
    blocks = _question_top(question.model_copy(update={"hint": ""}))
    blocks.append(context("_Answered in this thread since; see below._"))
    return message(
        escape(f"{progress(question)}: {question.text}"), blocks, question_metadata(question)
    )


def citations_context(citations: Sequence[Citation]) -> list[dict[str, Any]]:
    if not citations:
        return []
    names = [f"{escape(c.title)} (`{escape(c.id)}`)" for c in citations[:10]]
    return [context("*Sources:* " + "; ".join(names))]


def reply_message(reply: Reply) -> Message:
    return message(escape(reply.text), sections(reply.text) + citations_context(reply.citations))


def ended_message(ended: Ended) -> Message:
    closed = context("_This interview is closed._")
    return message(escape(ended.text), [*sections(ended.text), closed])


def notice(text: str) -> Message:
    """A short line from the app itself (apologies, stale clicks, hints)."""
    return message(escape(text), sections(text))


# --- the interview's parent message ---------------------------------------------------


def parent_message(use_case: str, user_id: str) -> Message:
    """The channel message a thread hangs from: the use case and who started it."""
    who = mention(user_id)
    if use_case:
        head = f"*Decision interview:* {escape(clip(use_case, 500))}\nStarted by {who}."
        text = f"{who} started a decision interview: {escape(use_case)}"
    else:
        head = f"*Decision interview* started by {who}. First: what is the use case?"
        text = f"{who} started a decision interview"
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": clip(head, SECTION_LIMIT)}},
        context(
            "Prompting, RAG or fine-tuning? Anyone here can answer in the thread ⤵ "
            "— the memo records who said what."
        ),
    ]
    return message(text, blocks)


# --- the memo -------------------------------------------------------------------------


def approach_label(approach: str | None) -> str:
    return labels.approach_label(approach)  # the names the memo and the terminal use


def rung_label(rung: str | None) -> str:
    if not rung:
        return f"{labels.NO_RUNG} (see the memo's next steps)"
    return labels.rung_label(rung)


def memo_metadata(memo_id: str, assessment: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_type": MEMO_EVENT,
        "event_payload": {
            "approach": assessment.get("approach"),
            "next_rung": assessment.get("next_rung"),
            "memo_id": memo_id,
        },
    }


def memo_summary(
    memo_id: str,
    assessment: dict[str, Any],
    *,
    use_case: str = "",
    status: str = "proposed",
    decided_by: str | None = None,
) -> Message:
    """Approach, next rung, the five escalation questions, status and the decision buttons."""
    approach = approach_label(assessment.get("approach"))
    next_rung = rung_label(assessment.get("next_rung"))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"Decision memo: {approach}", HEADER_LIMIT)}
    ]
    lines = []
    if use_case:
        lines.append(f"*Use case:* {escape(clip(use_case, 500))}")
    lines.append(f"*Recommended approach:* {escape(approach)}")
    lines.append(f"*Next rung:* {escape(next_rung)}")
    blocks.append(
        {"type": "section", "text": {"type": "mrkdwn", "text": clip("\n".join(lines), 3000)}}
    )
    questions = assessment.get("escalation_questions") or []
    if questions:
        blocks.append(context("*The five questions before fine-tuning*"))
    for item in questions[:5]:
        icon = STATUS_ICON.get(str(item.get("status")), "❓")
        question = mrkdwn(str(item.get("question", "")))
        body = f"{icon} *{question}*\n{mrkdwn(str(item.get('answer', '')))}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip(body, 3000)}})
    label = MEMO_STATUS_LABEL.get(status, status)
    who = f" by {escape(decided_by)}" if decided_by and status != "proposed" else ""
    blocks.append(
        context(f"*Status:* {escape(label)}{who} · full memo: `{MEMO_FILENAME}` in this thread")
    )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": ACCEPT_ACTION,
                    "text": plain("Accept"),
                    "style": "primary",
                    "value": memo_id,
                },
                {
                    "type": "button",
                    "action_id": REJECT_ACTION,
                    "text": plain("Reject"),
                    "style": "danger",
                    "value": memo_id,
                },
                {
                    "type": "button",
                    "action_id": REVISE_ACTION,
                    "text": plain("Revise"),
                    "value": memo_id,
                },
            ],
        }
    )
    text = escape(f"Decision memo ({label}): {approach}; next rung: {next_rung}")
    return message(text, blocks, memo_metadata(memo_id, assessment))


def revise_help() -> Message:
    return notice(
        "To revise the memo, reply in this thread with a correction such as "
        "'change volume to 50k' or 'change eval set to 300 items', then say 'memo' "
        "to write it again."
    )


def file_title(use_case: str) -> str:
    """The memo file's title. Titles are shown as plain text, but angle brackets are swapped
    for look-alikes anyway so no client can ever read a mention or a link into one."""
    title = f"Decision memo: {use_case}" if use_case else "Decision memo"
    return clip(title.replace("<", "‹").replace(">", "›"), 250)


def canvas_markdown(markdown: str) -> str:
    """The memo for a canvas: every ``<`` as an entity, so nothing a person typed can be read
    as a Slack ping, mention or link (``<!channel>``); the canvas shows it as typed."""
    return markdown.replace("<", "&lt;")


def canvas_link(url: str, title: str) -> Message:
    """The thread's line pointing at the memo's canvas."""
    return notice(f"The memo as a canvas (rendered, editable, searchable): {link(url, title)}")


def memo_text_chunks(markdown: str, limit: int = MEMO_CHUNK) -> list[str]:
    """The memo as escaped text messages, for when the file upload fails."""
    return split_text(escape(markdown), limit)


# --- lists: /advisor list and App Home ------------------------------------------------


class Row(TypedDict):
    """One interview as listed: use case, status line, link, start date."""

    use_case: str
    status: str
    link: str | None
    started_at: str
    started_by: str


def status_line(interview_status: str, memo_status: str | None, approach: str | None) -> str:
    if memo_status:
        return f"{MEMO_STATUS_LABEL.get(memo_status, memo_status)}: {approach_label(approach)}"
    return INTERVIEW_STATUS_LABEL.get(interview_status, interview_status)


def _row_text(row: Row) -> str:
    name = escape(clip(row["use_case"] or "(use case not given yet)", 200))
    title = link(row["link"], name)
    by = f" · started by {escape(row['started_by'])}" if row["started_by"] else ""
    return f"• {title} — {escape(row['status'])} · {escape(row['started_at'][:10])}{by}"


def list_message(rows: Sequence[Row]) -> Message:
    """``/advisor list``: recent decisions in this channel, with links and status."""
    if not rows:
        text = "No decision interviews in this channel yet. Start one with `/advisor <use case>`."
        return message(text, [context(text)])
    body = "*Recent decisions in this channel*\n" + "\n".join(_row_text(r) for r in rows)
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in split_text(body, SECTION_LIMIT)
    ]
    return message("Recent decisions in this channel", blocks)


def home_view(rows: Sequence[Row]) -> dict[str, Any]:
    """The App Home tab: this person's recent interviews and where each one stands."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain("Your decision interviews", HEADER_LIMIT)},
        context(
            "Start one in any channel with `/advisor <use case>` or by mentioning me. "
            "Answers go in the thread; the memo lands there too."
        ),
        {"type": "divider"},
    ]
    if not rows:
        blocks.append(context("Nothing yet: interviews you start or answer will show up here."))
    for row in rows:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": clip(_row_text(row), 3000)}}
        )
    return {"type": "home", "blocks": fit(blocks, MAX_HOME_BLOCKS)}


USAGE = (
    "*advisor* helps your team choose between prompt engineering, retrieval (RAG) and "
    "fine-tuning for one LLM use case, and writes the decision down.\n"
    "• `/advisor <use case>` — start an interview in a thread, e.g. "
    "`/advisor classify support emails into 12 categories`\n"
    "• `/advisor` — start one and say the use case in the thread\n"
    "• `/advisor list` — recent decisions in this channel\n"
    "• `/advisor help` — this message\n"
    "In the thread, anyone can answer. Also: `why?`, `what is RAG?`, "
    "`change volume to 50k`, `back`, `skip`, `memo`, `cancel`.\n"
    "Inside a thread, mention me instead of using the slash command."
)
