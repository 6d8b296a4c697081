"""The ``advisor`` command line: one click group whose commands load only when used.

Each area's commands live beside the code they drive and are named here by import path
(click's lazy-loading pattern), so ``advisor --version``, ``assess`` or ``memo list`` never
import LangGraph, Bolt or the Claude SDK. ``advisor --help`` loads them all to list them.
"""

from __future__ import annotations

import importlib
import sqlite3
from typing import Any

import click

# name -> "module:attribute" of its click command; bench/cli.py times what each one loads.
COMMANDS = {
    "assess": "bot.assess_command:assess_command",
    "chat": "bot.terminal:chat",
    "db": "bot.db_commands:db",
    "evidence": "bot.evidence_commands:evidence",
    "knowledge": "bot.knowledge_commands:knowledge",
    "memo": "bot.memo_commands:memo",
    "serve": "bot.serve:serve",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported the first time they are asked for."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        module, _, name = self.lazy[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), name)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """A last net: a database error no command turned into words is still one line."""
        try:
            return super().invoke(ctx)
        except sqlite3.Error as exc:
            from bot.errors import database_message  # loads only on the error

            raise click.ClickException(database_message(exc)) from exc


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="advisor")
def cli() -> None:
    """advisor: decide between prompting, RAG and fine-tuning, and write the decision down.

    \b
    Start here:
      advisor chat                 run the interview in this terminal
      advisor serve                run the Slack app (needs Slack tokens)
      advisor knowledge search Q   ask the guidance a question
    """
