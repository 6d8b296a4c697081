"""The decision memo: markdown in the shape of a MADR decision record (DESIGN.md section 5).

Decision first: the summary under the title gives the approach, the next rung, the reason
and what is still open. The body (up to the appendix) stays short and says only what is
particular to this team; every statement that rests on the guidance carries its card id
where it is made ("[gate-clean-examples]"), and *Sources* lists exactly the cards cited.

Rendering is a pure function of the profile, the assessment and who said what. Every value
that came from a person, a file or a model passes through :func:`graph.inert.inert` (one
line, markdown and HTML escaped), so no answer, name or paragraph can add markup.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graph.assessment import Approach, Assessment, Gate, GateStatus, QuestionId, Status
from graph.inert import code, inert, one_line
from graph.labels import (
    APPROACH,
    EXCEPTION,
    FIELD,
    GATE,
    GATE_FACT,
    QUESTION,
    RUNG,
    capital,
    join,
    months,
    value_text,
)
from graph.memo_evidence import evidence_lines, weakest_labels_line
from graph.memo_parts import (
    Cites,
    aligned,
    cited,
    context,
    cost_lines,
    cost_notes,
    cost_summary,
    drivers,
    field_of,
    open_questions,
    options,
    reason,
    validation,
)
from graph.policy import prompt_passes
from graph.profile import Profile, Provenance
from graph.reasons import EXCEPTION_CARD
from graph.turns import Citation
from knowledge import cards

__all__ = [
    "APPROACH_NAMES",
    "FIELD_LABELS",
    "RUNG_NAMES",
    "card_citation",
    "memo_title",
    "render_memo",
    "restatus",
    "value_text",
]

# Older importers read these here; the tables live in graph/labels.py.
APPROACH_NAMES = APPROACH
RUNG_NAMES = RUNG
FIELD_LABELS = FIELD

ANSWER_ICONS: dict[str, str] = {Status.yes: "✅ yes", Status.no: "❌ no", Status.unknown: "❓"}
GATE_ICONS: dict[str, str] = {
    GateStatus.pass_: "✅ pass",
    GateStatus.fail: "❌ fail",
    GateStatus.unknown: "❓ unknown",
}
# Gates whose reason is the five questions' answer (numbered as in that table).
ANSWERED_BY: dict[str, str] = {
    Gate.prompting_exhausted: "questions 1 and 2",
    Gate.enough_clean_data: "question 3",
    Gate.retraining_owner: "question 4",
}
PROSE_WORDS = 50  # each of the model's paragraphs, so the body stays short
QUOTE_CHARS = 600  # an opening up to this long is quoted under Context; longer ones, appendix
TITLE_CHARS = 100
USE_CASE_MAX = 500  # Profile.use_case's limit: the appendix's JSON must stay a valid profile
TABLE_QUOTE_CHARS = 200  # the opening, shortened in the answers table
# Replies that steer the interview rather than answer it: no row in the answers table.
COMMAND_WORDS = frozenset({"back", "skip", "memo", "cancel", "help", "undo"})
_STATUS_LINE = re.compile(r"^- \*\*Status:\*\* .*$", re.MULTILINE)
_SAFE_URL = re.compile(r"https://[A-Za-z0-9.-]+(?:/[A-Za-z0-9._~%/?=&+-]*)?")

CitationLookup = Callable[[str], Citation | None]


def card_citation(card_id: str, *, for_memo: bool = False) -> Citation | None:
    """A card as a citation (title and the guidance documents it draws on); None if unknown.
    ``for_memo`` names each document with its short name: "Title (short name)"."""
    try:
        found = cards.card(card_id)
    except (KeyError, ValueError):
        return None
    sources = []
    for title in found.sources:
        if for_memo:
            with contextlib.suppress(KeyError):
                title = f"{title} ({cards.source_for_title(title).short})"
        sources.append(title)
    return Citation(id=found.id, title=found.title, sources=sources)


# --- the title: the team's own words ----------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def team_words(profile: Profile, provenance: Sequence[Provenance]) -> str:
    """What the team said the use case is: the latest use-case answer, in full."""
    record = next((r for r in reversed(provenance) if r.field == "use_case"), None)
    if record is None or not record.said.strip() or _command(record.said):
        return profile.use_case
    said, value = one_line(record.said), one_line(str(record.value or "")).removesuffix("…")
    if value and _norm(value) in _norm(said) and not _norm(said).startswith(_norm(value)):
        return value  # "change use case to …": what they typed after the command
    return said


def team_title(profile: Profile, provenance: Sequence[Provenance]) -> str:
    """The use case as a title, always from the team's words: the profile's title when the
    team said it (or it is cut from what they said), else the start of what they said (a
    model's one-line summary never becomes the title)."""
    said = team_words(profile, provenance)
    title = one_line(profile.use_case).rstrip(".")
    if _norm(title.removesuffix("…")) in _norm(said):
        return title
    return _shorten(said.rstrip("."), TITLE_CHARS)


def memo_title(
    profile: Profile, assessment: Assessment, provenance: Sequence[Provenance] = ()
) -> str:
    """The heading, as markdown: 'Decision: Fine-tuning for “Route support tickets”'."""
    use_case = inert(team_title(profile, provenance))
    return f"Decision: {APPROACH[assessment.approach]} for “{use_case}”"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def _brief(text: str, words: int = PROSE_WORDS) -> str:
    """Whole sentences up to ``words`` words (a first sentence longer than that, cut)."""
    sentences = re.split(r"(?<=[.!?])\s+", one_line(text))
    kept: list[str] = []
    for sentence in sentences:
        if kept and len(" ".join([*kept, sentence]).split()) > words:
            break
        kept.append(sentence)
    brief = " ".join(kept)
    if len(brief.split()) > words:
        brief = " ".join(brief.split()[:words]) + "…"
    return brief


def _command(said: str) -> bool:
    return said.strip().lower().lstrip("/") in COMMAND_WORDS


# --- the status line --------------------------------------------------------------------


def restatus(markdown: str, status: str, *, by: str = "", date: str = "") -> str:
    """The memo with its status line rewritten (accepted/rejected by whom, when).

    Only the status line of the header (between the title and the first blank line) is
    rewritten, and who and when are inert text, so a name cannot add a line or a heading.
    """
    line = f"- **Status:** {inert(status)}"
    parts = [f"by {inert(by)}" if one_line(by) else "", inert(date)]
    if status != "proposed" and any(parts):
        line += " (" + ", ".join(part for part in parts if part) + ")"
    header_end = markdown.find("\n\n", markdown.find("\n") + 1)
    header = markdown if header_end < 0 else markdown[:header_end]
    if not _STATUS_LINE.search(header):
        return markdown
    header = _STATUS_LINE.sub(lambda _: line, header, count=1)
    return header if header_end < 0 else header + markdown[header_end:]


# --- sections ---------------------------------------------------------------------------


def _header(
    p: Profile,
    a: Assessment,
    provenance: Sequence[Provenance],
    *,
    title: str | None,
    status: str,
    date: str,
    deciders: Sequence[str],
    thread_link: str | None,
    memo_ref: str | None,
) -> list[str]:
    heading = inert(title) if title else memo_title(p, a, provenance)
    people = ", ".join(inert(d) for d in deciders if one_line(d)) or "not recorded"
    out = [f"# {heading}", "", f"- **Status:** {inert(status)}", f"- **Date:** {inert(date)}"]
    out.append(f"- **Deciders:** {people}")
    if thread_link:
        link = one_line(thread_link)
        shown = f"<{link}>" if _SAFE_URL.fullmatch(link) else inert(link)
        out.append(f"- **Thread:** {shown}")
    if memo_ref:
        out.append(f"- **Memo:** {memo_ref}")
    return [*out, ""]


def _memo_ref(memo_id: str | None, version: int | None, memo_ref: str | None) -> str | None:
    if memo_id:
        return code(memo_id) + (f" (version {version})" if version else "")
    if memo_ref and re.fullmatch(r"`[\w:.#-]+`(?: \(version \d+\))?", memo_ref):
        return memo_ref  # the interview's own "`id` (version n)"
    return inert(memo_ref) if memo_ref else None


def _still_open(p: Profile, a: Assessment, cite: Cites) -> str:
    if a.unknowns_in_the_way:
        facts = join([GATE_FACT[g] for g in a.unknowns_in_the_way])
        return f"fine-tuning may be justified: confirm {facts} {cite('fine-tuning-conditions')}."
    fields = open_questions(p, a)[0]
    if fields:
        shown = join([FIELD[f] for f in fields[:6]]) + (" and more" if len(fields) > 6 else "")
        return f"{capital(shown)} (see Open questions)."
    return "nothing that would change this decision."


def _next_rung(a: Assessment, p: Profile) -> str:
    if a.next_rung is not None:
        return f"Next rung: {RUNG[a.next_rung]}."
    if prompt_passes(p):
        return "Next rung: none, as the current prompt meets its target: stop climbing."
    return "Next rung: none, as every rung below fine-tuning is tried."


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(row) + " |" for row in body]


def _answers_table(
    provenance: Sequence[Provenance], question_for: Callable[[str], str] | None, opening: str
) -> list[str]:
    records = [r for r in provenance if not _command(r.said)]
    if not records:
        return ["No answers recorded."]
    latest = {r.field: i for i, r in enumerate(records)}
    last = {r.field: r for r in provenance}  # commands included: "back" clears a field
    taken_back = {name for name, r in last.items() if _command(r.said)}
    rows: list[list[str]] = [["Question", "Answer", "Recorded as", "Who", "When"]]
    group: list[tuple[int, Provenance]] = []
    for i, record in enumerate([*records, None]):
        if group and (record is None or (record.said, record.by, record.at) != _key(group)):
            rows.append(_row(group, latest, taken_back, question_for, opening))
            group = []
        if record is not None:
            group.append((i, record))
    return _table(rows)


def _key(group: list[tuple[int, Provenance]]) -> tuple[str, str, str]:
    first = group[0][1]
    return first.said, first.by, first.at


def _row(
    group: list[tuple[int, Provenance]],
    latest: dict[str, int],
    taken_back: set[str],
    question_for: Callable[[str], str] | None,
    opening: str,
) -> list[str]:
    said, by, at = _key(group)
    shown = one_line(said)
    if opening and shown == opening and len(shown) > TABLE_QUOTE_CHARS:
        shown = _shorten(shown, TABLE_QUOTE_CHARS) + " (in full under Profile)"
    first = group[0][1].field
    question = question_for(first) if question_for else FIELD.get(first, first)
    recorded = []
    for i, record in group:
        label = FIELD.get(record.field, record.field)
        text = f"{inert(label)}: {inert(value_text(record.field, record.value))}"
        if latest[record.field] != i:
            text = f"~~{text}~~ (changed later)"
        elif record.field in taken_back:
            text = f"~~{text}~~ (taken back)"
        recorded.append(text)
    when = inert(at.replace("T", " ")[:16])
    return [inert(question), inert(shown) or "—", "; ".join(recorded), inert(by), when]


def _sources(cited: Sequence[str], lookup: CitationLookup | None) -> list[str]:
    if not cited:
        return ["No knowledge cards cited."]
    lines = []
    for card_id in cited:
        found = lookup(card_id) if lookup else None
        if found is None:
            lines.append(f"- \\[{card_id}\\]")
            continue
        line = f"- \\[{card_id}\\] **{inert(found.title)}**"
        if found.sources:
            line += " — draws on " + "; ".join(f"*{inert(s)}*" for s in found.sources)
        lines.append(line)
    return lines


def _body_tables(p: Profile, a: Assessment, cite: Cites) -> list[str]:
    """The five questions, the gates, the cost, risks, open questions and validation."""
    out = ["## The five questions before fine-tuning", ""]
    rows = [[f"Question {cite('five-questions')}", "Answer", ""]]
    for q in a.escalation_questions:
        extra = [c for c in q.citations if c != "five-questions"][:1]  # the card it rests on
        answer = cited(q.answer, extra, cite)
        if q.id == QuestionId.cost_delta and a.cost is not None:  # the figures are below
            answer = f"{cost_summary(a.cost)} (see Cost delta) {cite(*extra)}"
        rows.append([QUESTION[q.id], answer, ANSWER_ICONS[q.status]])
    out += [*_table(rows), "", "## Fine-tuning gates", ""]
    rows = [["Gate", "Status", "Reason"]]
    for gate, result in a.gate_reasons.items():
        same = ANSWERED_BY.get(gate)
        why = f"As {same} above." if same else cited(result.reason, result.citations[:1], cite)
        rows.append([GATE[gate], GATE_ICONS[result.status], why])
    out += [*_table(rows), ""]
    if a.exception is not None:
        card = cite(EXCEPTION_CARD[a.exception])
        out += [f"Exception applied: {EXCEPTION[a.exception]} {card}.", ""]

    out += ["## Cost delta", "", *cost_lines(a.cost, a.cost_missing, p.monthly_volume, cite), ""]

    out += ["## Risks", ""]
    risks = zip(a.risks, aligned(a.risk_citations, a.risks), strict=True)
    out += [f"- {cited(r, c, cite)}" for r, c in risks] or ["- None particular to this team."]
    now, later = open_questions(p, a)
    out += ["", "## Open questions", ""]
    out += [f"- {inert(q)}" for q in a.open_questions if field_of(q) in now or not field_of(q)]
    if not now:
        out.append("- None that would change this decision.")
    if later:
        names = ", ".join(FIELD[f] for f in later)
        out += ["", f"Not asked, because no answer would change this decision: {names}."]
    return [*out, "", "## Validation plan", "", *(f"- {v}" for v in validation(p, a, cite)), ""]


def render_memo(
    profile: Profile,
    assessment: Assessment,
    provenance: Sequence[Provenance],
    *,
    title: str | None = None,
    status: str = "proposed",
    date: str,
    deciders: Sequence[str] = (),
    thread_link: str | None = None,
    citations_lookup: CitationLookup | None = None,
    question_for: Callable[[str], str] | None = None,
    prose: dict[str, str] | None = None,
    memo_ref: str | None = None,
    memo_id: str | None = None,
    version: int | None = None,
    evidence: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The decision memo as markdown.

    ``citations_lookup`` turns a card id into its title and guidance documents;
    ``question_for`` turns a profile field into the question that asked for it; ``prose``
    (from the optional LLM) may replace the context paragraph and add a rationale. The
    title comes from the team's words in ``provenance`` (``title`` overrides it). Pass
    ``memo_id`` and ``version`` to name the memo (``memo_ref``, preformatted, still works).
    ``evidence`` holds the files measured in the interview (graph/memo_evidence.py).
    """
    p, a, prose = profile, assessment, prose or {}
    cite = Cites()
    ref = _memo_ref(memo_id, version, memo_ref)
    out = _header(
        p,
        a,
        provenance,
        title=title,
        status=status,
        date=date,
        deciders=deciders,
        thread_link=thread_link,
        memo_ref=ref,
    )
    rung = RUNG[a.next_rung] if a.next_rung else "none, stop climbing"
    why = reason(p, a, cite)
    out += ["## Summary", "", f"- **Approach:** {APPROACH[a.approach]}."]
    out += [f"- **Next rung:** {rung}.", f"- **Why:** {capital(why)}"]
    out += [f"- **Still open:** {_still_open(p, a, cite)}", ""]

    said, title_text = team_words(p, provenance), team_title(p, provenance)
    opening = said if _norm(said) != _norm(title_text) else ""
    out += ["## Context and problem", "", f"**Use case:** {inert(title_text)}", ""]
    if opening and len(opening) <= QUOTE_CHARS:
        out += [f"> {inert(opening)}", ""]
    elif opening:
        out += ["The team's full description is under Profile, in the appendix.", ""]
    if prose.get("context"):
        out += [f"{inert(_brief(prose['context']))} *(Written by the model.)*", ""]
    else:
        out += [context(p), ""]

    out += ["## Decision drivers", ""]
    out += [f"- {d}" for d in drivers(p)] or ["- Not enough known yet; see Open questions."]
    out += ["", "## Considered options", ""]
    for approach, pros, cons in options(p, a, cite):
        chosen = " (chosen)" if approach == a.approach else ""
        out += [f"### {APPROACH[approach]}{chosen}", ""]
        out += [f"- 👍 {x}" for x in pros] + [f"- 👎 {x}" for x in cons] + [""]

    chosen = f"**Chosen option: {APPROACH[a.approach]}**, for the reason in the summary. "
    chosen += _next_rung(a, p)
    out += ["## Decision outcome", "", chosen]
    out.append("")
    if a.cost is not None and a.approach in (Approach.fine_tuning, Approach.hybrid):
        payback = a.cost.break_even_months
        if payback is None or payback > 12:
            takes = "never pays back" if payback is None else f"takes {months(payback)} to pay back"
            out += [
                f"Mind the cost: at today's volume the fine-tune {takes}; the case rests on "
                f"quality, latency or control more than on savings {cite('break-even')}.",
                "",
            ]
    if prose.get("rationale"):
        rationale = inert(_brief(prose["rationale"]))
        out += [f"{rationale} *(Written by the model.)*", ""]
    steps = zip(a.next_steps, aligned(a.step_citations, a.next_steps), strict=True)
    numbered = [f"{i}. {cited(step, cards_, cite)}" for i, (step, cards_) in enumerate(steps, 1)]
    if numbered:
        out += ["Next steps:", "", *numbered, ""]
    out += evidence_lines(provenance, evidence)
    out += _body_tables(p, a, cite)
    weakest = weakest_labels_line(evidence)
    if weakest is not None:  # the validation plan ends the body: its per-label step goes last
        out.insert(len(out) - 1, f"- {weakest}")
    # The appendix: who said what, the cards cited above, the figures behind the cost, the profile.
    out += ["## Answers as recorded", "", *_answers_table(provenance, question_for, opening), ""]
    out += ["## Sources", "", *_sources(cite.ids, citations_lookup), ""]
    notes = cost_notes(a.cost)
    if notes:
        out += ["## Cost assumptions", "", *(f"- {inert(n)}" for n in notes), ""]
    out += ["## Profile", ""]
    if opening:
        out += [f"**Use case, in the team's words:** {inert(said)}", ""]
    shown = p.model_dump(mode="json", exclude_none=True)
    if opening and len(said) <= USE_CASE_MAX:  # the use case in full, never the cut title
        shown["use_case"] = said
    profile_json = json.dumps(shown, indent=2, ensure_ascii=False)
    out += [
        "<details><summary>Profile (reproduce with <code>advisor assess</code>)</summary>",
        "",
        "```json",
        profile_json,
        "```",
        "",
        "</details>",
        "",
    ]
    return "\n".join(out)
