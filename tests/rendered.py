"""A memo as a reader sees it: rendered by cmark-gfm (GitHub's own markdown engine) with raw
HTML allowed and no tag filter, the worst case, then read back as elements and text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

from graph.store import Store

EXTENSIONS = ["table", "autolink", "strikethrough"]  # GFM, minus its tag filter
BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "pre", "summary"}


def stored_markdown(store: Store, memo_id: str) -> str:
    """A memo's markdown as front ends read it: from the store, by the id its turn gives
    (``MemoReady`` carries no markdown)."""
    stored = store.get_memo(memo_id)
    assert stored is not None, f"memo {memo_id} is not stored"
    return stored.markdown


def to_html(markdown: str) -> str:
    return cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=Options.CMARK_OPT_UNSAFE, extensions=EXTENSIONS
    )


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class Rendered:
    html: str
    elements: list[Element] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)  # visible text, one entry per block

    @property
    def text(self) -> str:
        return "\n".join(self.blocks)

    def tags(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]

    def headings(self) -> list[str]:
        return [e.text for e in self.elements if re.fullmatch(r"h[1-6]", e.tag)]

    def words(self) -> list[str]:
        return [w for w in self.text.split() if re.search(r"\w", w)]

    def cells(self) -> list[list[str]]:
        """Every table row's cells (header rows included)."""
        rows: list[list[str]] = []
        for element in self.elements:
            if element.tag == "tr":
                rows.append([])
            elif element.tag in ("td", "th") and rows:
                rows[-1].append(element.text)
        return rows


class _Reader(HTMLParser):
    def __init__(self, out: Rendered) -> None:
        super().__init__(convert_charrefs=True)
        self.out = out
        self.open: list[Element] = []
        self.block: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.out.elements.append(element)
        if tag in BLOCKS:
            self._flush()
        self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self._flush()
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i].tag == tag:
                del self.open[i:]
                break

    def handle_data(self, data: str) -> None:
        self.block.append(data)
        for element in self.open:
            element.text += data

    def handle_comment(self, data: str) -> None:
        self.out.comments.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self.block).split())
        if text:
            self.out.blocks.append(text)
        self.block = []

    def close(self) -> None:
        super().close()
        self._flush()


def view(markdown: str) -> Rendered:
    out = Rendered(html=to_html(markdown))
    reader = _Reader(out)
    reader.feed(out.html)
    reader.close()
    for element in out.elements:
        element.text = " ".join(element.text.split())
    return out


def body(markdown: str) -> str:
    """The memo before its appendix (answers as recorded, sources, the profile)."""
    return markdown.split("\n## Answers as recorded")[0]
