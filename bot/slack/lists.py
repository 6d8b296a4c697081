"""``/advisor list`` and the App Home: the interviews of a channel, or of a person, with
their status and a link to each thread. Read-only; answered directly, not through the outbox."""

from __future__ import annotations

from slack_bolt.context.respond import Respond

from bot.slack import blocks
from bot.slack.blocks import Row
from bot.slack.payloads import Where, interview_id
from bot.slack.webapi import BotIdentity, Names, WebApi
from graph.store import InterviewRecord, Store


class Lists:
    def __init__(self, store: Store, api: WebApi, names: Names, bot: BotIdentity) -> None:
        self.store = store
        self.api = api
        self.names = names
        self.bot = bot

    def channel(self, where: Where, respond: Respond | None) -> None:
        """The channel's latest interviews, privately to whoever asked."""
        prefix = interview_id(self.bot.team_id, where.channel, "")
        records = self.store.list_interviews(prefix=prefix, limit=15)
        self.api.ephemeral(where, blocks.list_message([self._row(r) for r in records]), respond)

    def home(self, user: str) -> None:
        """The App Home: interviews this person started, or answered in, newest first. By
        user id only: a shared or changed display name shows nobody else's interviews (a
        private channel's use case and link stay with the people who took part)."""
        records = self.store.list_interviews(
            prefix=f"{self.bot.team_id}:", involving=user, limit=25
        )
        view = blocks.home_view([self._row(r) for r in records])
        self.api.client.views_publish(user_id=user, view=view)

    def _row(self, record: InterviewRecord) -> Row:
        memo = self.store.get_memo(record.memo_id) if record.memo_id else None
        return Row(
            use_case=record.use_case,
            status=blocks.status_line(
                record.status, memo.status if memo else None, memo.approach if memo else None
            ),
            link=record.origin.get("permalink") or None,
            started_at=record.started_at,
            started_by=record.started_by,
        )
