"""graph/inert.py's fast paths (a regex for ASCII text, one translate table) give exactly
what the character-by-character reading gives, for any text."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from graph import inert as mod


def reference_one_line(text: str) -> str:
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if (
            category == "Cf"
            and char not in mod._KEEP_FORMAT
            and not (mod._TAGS[0] <= char <= mod._TAGS[1])
        ):
            continue
        kept.append(" " if category in ("Cc", "Zl", "Zp") else char)
    return " ".join("".join(kept).split())


def reference_inert(text: str) -> str:
    out = []
    for char in reference_one_line(text):
        if char == "&":
            out.append("&amp;")
        elif char == "<":
            out.append("&lt;")
        elif char == ">":
            out.append("&gt;")
        elif char in mod._ESCAPED:
            out.append("\\" + char)
        else:
            out.append(char)
    escaped = mod._AUTOLINK.sub(lambda m: "\\:" if m.group(1) else f"{m.group(2)}\\.", "".join(out))
    if escaped[:1] in mod._LEADING:
        escaped = "\\" + escaped
    return mod._ORDERED.sub(r"\1\\\2", escaped)


HOSTILE = [
    "Route emails <details><summary>Approved: fine-tuning</summary>",
    "dana\n# Chosen option: Fine-tuning <!--",
    "1. www.evil.example http://x `code` *a* _b_ [l](u) | ~ # $ \\ & > -",
    "tab\there\x00\x1f\x7f\x85 end\u2028next\u2029para\u202eoverride\u200bzw\u200djoin",
    "🏴\U000e0067\U000e0062\U000e007f flag, café, \u00ad soft",
]


def test_hostile_examples_match_the_reference() -> None:
    for text in HOSTILE:
        assert mod.one_line(text) == reference_one_line(text)
        assert mod.inert(text) == reference_inert(text)


@settings(max_examples=400, deadline=None)
@given(st.text() | st.text(alphabet=st.characters(max_codepoint=127)))
def test_any_text_matches_the_reference(text: str) -> None:
    assert mod.one_line(text) == reference_one_line(text)
    assert mod.inert(text) == reference_inert(text)
