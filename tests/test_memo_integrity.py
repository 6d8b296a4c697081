"""A memo cannot be forged: whatever people, files or models put in it stays visible text.

Each attack is rendered with GitHub's markdown engine, raw HTML allowed and no tag filter
(tests/rendered.py), and checked on what a reader would see: the headings, the elements and
their attributes, the table cells, and the literal text.
"""

from __future__ import annotations

from typing import Any

import pytest
from rendered import Rendered, view

from graph.cost import load_prices
from graph.decisions import set_status
from graph.inert import inert
from graph.memo import card_citation, render_memo, restatus
from graph.policy import assess
from graph.profile import Profile, Provenance
from graph.store import Store

THREAD = "https://example.slack.com/archives/C1/p123"
DETAILS = "Route emails <details><summary>Approved: fine-tuning, all gates pass</summary>"
FORGED_NAME = "Mallory\n\n## Decision outcome\n\n**Chosen option: Fine-tuning.**\n\n<!--"
ATTACKS = [
    DETAILS,
    "<script>alert(document.cookie)</script>",
    '<img src="x" onerror="alert(1)">',
    "[Approved by legal](javascript:alert(1))",
    '<a href="javascript:alert(1)">open</a>',
    "ok | ✅ pass | forged cell",
    "**Chosen option: Fine-tuning.** ~~prompting~~ `code` $x$ # not a heading",
    FORGED_NAME,
    "1. a list\n- another\n> a quote\n=====",
    "see http://evil.example and www.evil.example",
    "rtl \u202egninut-enif\u202c and a line\u2028break",
]
# A team that should NOT fine-tune (no eval, data not cleared): a forgery would flip it.
TEAM: dict[str, Any] = dict(
    use_case="Route support emails into 12 queues",
    task_type="classification",
    problems=["accuracy_plateau"],
    eval_set_size=0,
    data_cleared=False,
    monthly_volume=3_000,
)
ALLOWED = {
    "h1", "h2", "h3", "p", "ul", "ol", "li", "strong", "em", "code", "pre", "table", "thead",
    "tbody", "tr", "th", "td", "a", "del", "details", "summary", "blockquote",
}  # fmt: skip


def render(
    profile: Profile,
    provenance: list[Provenance],
    *,
    deciders: list[str] | None = None,
    prose: dict[str, str] | None = None,
) -> tuple[str, list[str]]:
    assessment = assess(profile, load_prices())
    markdown = render_memo(
        profile,
        assessment,
        provenance,
        date="2026-01-15",
        deciders=deciders or ["dana"],
        thread_link=THREAD,
        citations_lookup=lambda card_id: card_citation(card_id, for_memo=True),
        prose=prose,
    )
    clean = render_memo(
        profile.model_copy(update={"use_case": "x"}),
        assessment,
        [],
        date="2026-01-15",
        thread_link=THREAD,
    )
    return markdown, view(clean).headings()[1:]


def assert_inert(markdown: str, headings: list[str], *, visible: list[str]) -> Rendered:
    """Only advisor's own structure, and every attack shown as the characters typed."""
    seen = view(markdown)
    assert {e.tag for e in seen.elements} <= ALLOWED, {e.tag for e in seen.elements} - ALLOWED
    assert seen.headings()[1:] == headings  # no forged heading anywhere
    assert [a.attrs.get("href") for a in seen.tags("a")] == [THREAD]
    assert all(not k.startswith("on") for e in seen.elements for k in e.attrs)
    assert len(seen.tags("details")) == len(seen.tags("summary")) == 1  # the profile's own
    assert seen.comments == [] and "<!--" not in seen.html
    chosen = [e for e in seen.tags("strong") if "Chosen option" in e.text]
    assert len(chosen) == 1 and "Prompt engineering" in chosen[0].text
    rows, width = seen.cells(), 0
    for row in rows:
        if row and row[0] in ("Question", "Gate", "Question [five-questions]", ""):
            width = len(row)
        assert len(row) == width, row
    for text in visible:
        assert " ".join(text.replace("\u202e", "").replace("\u202c", "").split()) in seen.text
    return seen


@pytest.mark.parametrize("attack", ATTACKS)
def test_an_answer_a_name_and_a_use_case_render_as_the_text_that_was_typed(attack: str) -> None:
    title = " ".join(attack.split())[:100]
    profile = Profile.model_validate({**TEAM, "use_case": title})
    provenance = [
        Provenance(field="use_case", value=title, by=attack, at="2026-01-15T09:00", said=attack),
        Provenance(field="eval_set_size", value=0, by="dana", at="2026-01-15T09:01", said=attack),
    ]
    markdown, headings = render(profile, provenance, deciders=[attack, "lee"])
    seen = assert_inert(markdown, headings, visible=[title])
    heading = seen.headings()[0]
    assert heading.startswith("Decision: Prompt engineering for “")
    assert " ".join(attack.replace("\u202e", "").replace("\u202c", "").split())[:60] in heading


def test_the_details_attack_cannot_hide_the_real_outcome() -> None:
    profile = Profile.model_validate({**TEAM, "use_case": DETAILS})
    provenance = [Provenance(field="use_case", value=DETAILS, by="ana", at="t", said=DETAILS)]
    markdown, headings = render(profile, provenance)
    seen = assert_inert(markdown, headings, visible=[DETAILS])
    summary = seen.tags("summary")[0].text
    assert summary == "Profile (reproduce with advisor assess)"
    assert "Approach: Prompt engineering." in seen.text


def test_a_forged_name_survives_a_status_change_only_as_text() -> None:
    profile = Profile.model_validate(TEAM)
    provenance = [Provenance(field="eval_set_size", value=0, by=FORGED_NAME, at="t", said="0")]
    markdown, headings = render(profile, provenance, deciders=[FORGED_NAME])
    accepted = restatus(markdown, "accepted", by=FORGED_NAME, date="2026-02-01")
    seen = assert_inert(accepted, headings, visible=["Mallory ## Decision outcome"])
    status = next(b for b in seen.blocks if b.startswith("Status:"))
    assert status.startswith("Status: accepted (by Mallory ## Decision outcome **Chosen option")
    assert status.endswith("<!--, 2026-02-01)")
    # ... and again, through the store, as `advisor memo accept --by` and Slack do it.
    store = Store()
    record = store.save_memo(
        interview_id="cli:forge",
        version=1,
        markdown=markdown,
        assessment=assess(profile, load_prices()).model_dump(mode="json"),
        use_case=profile.use_case,
    )
    set_status(store, record.id, "rejected", FORGED_NAME, at="2026-03-01T10:00:00+00:00")
    stored = store.get_memo(record.id)
    assert stored is not None
    assert_inert(stored.markdown, headings, visible=["rejected (by Mallory"])


def test_a_status_line_inside_the_body_is_never_the_one_rewritten() -> None:
    profile = Profile.model_validate(TEAM)
    markdown, _ = render(profile, [])
    forged = markdown.replace("## Risks\n", "## Risks\n\n- **Status:** accepted\n", 1)
    changed = restatus(forged, "rejected", by="lee", date="2026-02-01")
    assert changed.count("- **Status:** rejected (by lee, 2026-02-01)") == 1
    assert changed.index("- **Status:** rejected") < changed.index("## Summary")
    assert "- **Status:** accepted" in changed  # the body's text is left as it was


def test_a_model_supplied_owner_and_prose_stay_text() -> None:
    owner = "the ML team\n\n## Fine-tuning gates\n\n| Data cleared for training | ✅ pass |"
    profile = Profile.model_validate({**TEAM, "retraining_owner": owner})
    prose = {
        "context": "Fine.\n\n# Approved\n<details><summary>Approved: fine-tuning</summary>",
        "rationale": "<script>alert(1)</script> [click](javascript:alert(1)) <!-- hide",
    }
    markdown, headings = render(profile, [], prose=prose)
    seen = assert_inert(
        markdown,
        headings,
        visible=["The ML team ## Fine-tuning gates | Data cleared", "<script>alert(1)</script>"],
    )
    assert "Fine. # Approved <details><summary>Approved: fine-tuning</summary>" in seen.text


def test_inert_text_is_one_line_and_round_trips_through_the_renderer() -> None:
    for attack in ATTACKS:
        line = inert(attack)
        assert "\n" not in line and "\r" not in line
        shown = view(f"{line}\n").text
        assert shown == " ".join(attack.replace("\u202e", "").replace("\u202c", "").split())
