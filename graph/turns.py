"""What the interview says back: the typed messages every front end renders.

The terminal, ``--jsonl`` and Slack all receive a list of these from one step of the
interview, so the conversation logic lives once, in ``graph``, and front ends only draw.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field


class Option(BaseModel):
    value: str
    label: str


class Citation(BaseModel):
    """A knowledge card (or team passage) that backs a statement."""

    id: str
    title: str
    sources: list[str] = Field(default_factory=list)


class Question(BaseModel):
    """The pending question. ``options`` is empty for free-text questions.

    With ``confirm`` it asks to confirm a reading rather than for an answer: ``read_values``
    holds the profile values understood (``None`` = noted as not sure), ``read`` the option
    values to show ticked (for a question without options, the values as short text), and
    ``read_text`` the reading in words. ``yes``, ``ok`` or an empty reply keeps it (or
    :meth:`graph.interview.Interviews.confirm`, or buttons/checkboxes equal to ``read``);
    anything else is read as a new answer.
    """

    kind: Literal["question"] = "question"
    id: str
    fields: list[str]
    text: str
    why: str = ""  # one line: why we ask, grounded in a card
    why_card: str | None = None  # card id behind ``why``
    options: list[Option] = Field(default_factory=list)
    multi: bool = False  # several options may be chosen
    example: str = ""  # what a good free-text answer looks like
    hint: str = ""  # set when the last answer could not be read
    number: int = 1  # "question 4 of about 10"
    total: int = 1
    # The interview's answer seq when this was asked (set by Interviews): with ``id`` it
    # names one asking of the question, so a re-ask differs and a rewording does not.
    seq: int = 0
    confirm: bool = False
    read: list[str] = Field(default_factory=list)
    read_values: dict[str, Any] = Field(default_factory=dict)
    read_text: str = ""


class Reply(BaseModel):
    """Anything the advisor says that is not a question: noted values, follow-up answers,
    problems with an answer, confirmations."""

    kind: Literal["reply"] = "reply"
    text: str
    citations: list[Citation] = Field(default_factory=list)


class MemoReady(BaseModel):
    """The interview is over and its decision memo is stored under ``memo_id``.

    The engine does not read the memo back to say so: ``assessment`` and ``use_case`` come
    from the interview's own state. A front end that needs the markdown, status or decider
    reads the stored record (``Store.get_memo``) once.
    """

    kind: Literal["memo"] = "memo"
    memo_id: str
    assessment: dict[str, Any]
    use_case: str = ""


# What a cancelled interview says when anyone writes to it again (Slack and the terminal).
CANCELLED_TEXT = "This interview was cancelled. Start a new one to begin again."


class Ended(BaseModel):
    """The interview was cancelled; nothing more will be asked."""

    kind: Literal["ended"] = "ended"
    text: str


Turn = Annotated[Question | Reply | MemoReady | Ended, Field(discriminator="kind")]
