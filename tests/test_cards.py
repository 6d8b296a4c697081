"""The guidance cards load, validate, and cover every guidance document."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.cards import (
    CARDS_DIR,
    CardError,
    card,
    card_ids,
    load_cards,
    load_sources,
    parse_card,
    source_for_title,
)

HANDBOOK = "Prompt engineering vs fine-tuning"


def write_card(directory: Path, name: str, front_matter: str, body: str = "Some text.") -> Path:
    path = directory / f"{name}.md"
    path.write_text(f"---\n{front_matter.strip()}\n---\n{body}\n", encoding="utf-8")
    return path


def test_every_built_in_card_has_valid_front_matter_and_a_unique_id() -> None:
    cards = load_cards()
    files = sorted(CARDS_DIR.glob("*.md"))
    assert len(cards) == len(files) >= 40
    assert {c.id for c in cards} == {f.stem for f in files}
    for c in cards:
        assert c.title and c.body and c.tags, c.id


def test_every_card_says_which_questions_it_answers_in_a_teams_words() -> None:
    for c in load_cards():
        assert len(c.questions) >= 3, c.id
        assert len(set(c.questions)) == len(c.questions), c.id
        for question in c.questions:
            assert 2 <= len(question.split()) <= 25, (c.id, question)


def test_every_card_is_a_focused_retrieval_unit() -> None:
    # The catalog asks for roughly 60-250 words; far outside that, retrieval suffers.
    sizes = {c.id: len(c.body.split()) for c in load_cards()}
    assert {id: n for id, n in sizes.items() if not 40 <= n <= 350} == {}


def test_every_guidance_document_is_cited_by_some_card() -> None:
    cited = {title for c in load_cards() for title in c.sources}
    titles = {s.title for s in load_sources()}
    assert len(titles) == 5
    assert titles - cited == set()
    assert cited - titles == set()


def test_cards_can_be_looked_up_by_id() -> None:
    ids = card_ids()
    some = sorted(ids)[0]
    assert card(some).id == some
    with pytest.raises(KeyError):
        card("no-such-card")


def test_a_card_source_title_leads_to_its_document() -> None:
    source = source_for_title(HANDBOOK)
    assert source.short == "engineering handbook"
    with pytest.raises(KeyError):
        source_for_title("A document nobody wrote")


def test_a_well_formed_card_parses(tmp_path: Path) -> None:
    path = write_card(
        tmp_path,
        "gate-volume",
        f'id: gate-volume\ntitle: "Volume must matter"\ntags: [volume, cost]\n'
        f'sources:\n  - "{HANDBOOK}"',
        body="Fine-tuning to save five cents a day is not worth it.",
    )
    parsed = parse_card(path, {HANDBOOK})
    assert parsed.id == "gate-volume"
    assert parsed.tags == ["volume", "cost"]
    assert parsed.sources == [HANDBOOK]
    assert parsed.body.startswith("Fine-tuning to save")


@pytest.mark.parametrize(
    ("front_matter", "complaint"),
    [
        ("title: T\ntags: [a]\nsources: [x]", "id"),
        ("id: bad-card\ntags: [a]\nsources: [x]", "title"),
        ("id: bad-card\ntitle: T\ntags: [a]", "sources"),
        ("id: bad-card\ntitle: T\ntags: [a]\nsources: []", "sources"),
        ("id: bad-card\ntitle: T\ntags: [a]\nsources: [x]\nsource: y", "source"),
        ("id: Bad Card\ntitle: T\ntags: [a]\nsources: [x]", "id"),
        ("id: bad-card\ntitle: [unclosed\nsources: [x]", "YAML"),
        ("just a string", "mapping"),
    ],
)
def test_a_broken_card_is_refused_naming_the_file_and_the_problem(
    tmp_path: Path, front_matter: str, complaint: str
) -> None:
    write_card(tmp_path, "bad-card", front_matter.replace("[x]", f'["{HANDBOOK}"]'))
    with pytest.raises(CardError) as raised:
        load_cards(tmp_path)
    assert "bad-card.md" in str(raised.value)
    assert complaint in str(raised.value)


def test_a_card_without_front_matter_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plain.md").write_text("# Just markdown\n", encoding="utf-8")
    with pytest.raises(CardError, match=r"plain\.md: no YAML front matter"):
        load_cards(tmp_path)


def test_a_card_citing_an_unknown_document_is_refused(tmp_path: Path) -> None:
    write_card(tmp_path, "odd", 'id: odd\ntitle: T\ntags: [a]\nsources: ["Some blog"]')
    with pytest.raises(CardError, match=r"odd\.md: sources not in .*Some blog"):
        load_cards(tmp_path)


def test_a_card_whose_id_differs_from_its_file_name_is_refused(tmp_path: Path) -> None:
    write_card(tmp_path, "one", f'id: two\ntitle: T\ntags: [a]\nsources: ["{HANDBOOK}"]')
    with pytest.raises(CardError, match=r"one\.md: id 'two' does not match"):
        load_cards(tmp_path)
