"""The ``advisor`` command line: one click group; each area registers its commands below."""

from __future__ import annotations

import click

from bot.assess_command import assess_command
from bot.db_commands import db
from bot.evidence_commands import evidence
from bot.knowledge_commands import knowledge
from bot.serve import serve
from bot.terminal import chat, memo


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="advisor")
def cli() -> None:
    """advisor: decide between prompting, RAG and fine-tuning, and write the decision down.

    \b
    Start here:
      advisor chat                 run the interview in this terminal
      advisor serve                run the Slack app (needs Slack tokens)
      advisor knowledge search Q   ask the guidance a question
    """


# Each area's commands live beside the code they drive; registration order is help order.
cli.add_command(knowledge)
cli.add_command(assess_command)
cli.add_command(serve)
cli.add_command(chat)
cli.add_command(memo)
cli.add_command(db)
cli.add_command(evidence)
