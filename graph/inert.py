"""Text from people, files and models, made inert for a markdown memo.

A memo is read on GitHub, in editors and in Slack, all of which render markdown and some raw
HTML. Anything advisor did not write itself (a use case, an answer, a display name, a
model's paragraph or owner) goes through :func:`inert` on its way in: one line, every
markdown and HTML character escaped, safe inside a table cell, so what a reader sees is
exactly the characters that were typed, never a heading, a link, a tag or a hidden block.
"""

from __future__ import annotations

import re
import unicodedata

# Backslash-escaped wherever they appear: emphasis, code, links, images, tables,
# strikethrough, headings, math, and the backslash itself. ("&", "<" and ">" become entities.)
_ESCAPED = frozenset("\\`*_[]|~#$")
# At the start of a block these open a list, a quote or a setext underline.
_LEADING = frozenset("-+=>!:")
_ORDERED = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
# GFM turns these into links without any markup ("http://…", "www.…").
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<![\w.])(www)(\.)")
# Invisible characters that can reorder or hide text (bidi overrides, zero-width spaces),
# except the joiner emoji need.
_KEEP_FORMAT = frozenset({"\u200d"})
_TAGS = ("\U000e0020", "\U000e007f")  # the tag characters of flag emoji


# Cc (C0, DEL, C1), Zl and Zp: the characters one_line turns into spaces.
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# What inert escapes wherever it appears, as one str.translate table.
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", **{c: "\\" + c for c in _ESCAPED}})


def one_line(text: str) -> str:
    """Every line break, tab and control character as a single space; format characters
    that reorder or hide text dropped; runs of spaces collapsed."""
    text = str(text)
    if text.isascii():  # no format characters: a regex instead of a loop (memos render often)
        return " ".join(_BREAKS.sub(" ", text).split())
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cf" and char not in _KEEP_FORMAT and not _TAGS[0] <= char <= _TAGS[1]:
            continue
        kept.append(" " if category in ("Cc", "Zl", "Zp") else char)
    return " ".join("".join(kept).split())


def inert(text: object) -> str:
    """``text`` as one line of markdown that renders as exactly its own characters."""
    escaped = one_line(str(text)).translate(_ESCAPE)
    escaped = _AUTOLINK.sub(lambda m: "\\:" if m.group(1) else f"{m.group(2)}\\.", escaped)
    if escaped[:1] in _LEADING:
        escaped = "\\" + escaped
    return _ORDERED.sub(r"\1\\\2", escaped)


def code(text: object) -> str:
    """``text`` as an inline code span (ids, commands), whatever backticks it holds."""
    line = one_line(str(text))
    longest = max((len(run) for run in re.findall(r"`+", line)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{fence}{pad}{line}{pad}{fence}"
