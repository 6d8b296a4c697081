"""What a card says beyond a line the team has already read.

A question's "Why we ask" line is one sentence distilled from its card; when the team asks
"why?" they want more than that sentence again. ``beyond`` picks the card's sentences that
add something to a known line: a figure the line does not give, a caveat, another
document's view or a disagreement between documents, preferring sentences whose words are
new. Pure: text in, sentences out.
"""

from __future__ import annotations

import re

from graph.reading.text import wordset

# Words that carry no meaning of their own when comparing two sentences.
_STOP = wordset(
    """
    a an and are as at be been but by can do does for from has have if in into is it its
    it's of on or so such than that the their them then there these they this those to was
    were what when where which while who will with would you your our we us not no any all
    each every more most much many also only one says said say
    """
)
_WORD = re.compile(r"[a-z][a-z'-]+")
# A figure: 200, 1,000+, 5%, 3 to 6, "two to four" (spelt-out counts carry figures too).
_FIGURE = re.compile(
    r"\d[\d,.]*\s*%?|\b(?:two|three|four|five|six|eight|ten|twelve|hundreds|thousands|"
    r"millions|tenth|half)\b",
    re.IGNORECASE,
)
# A caveat limits or qualifies the advice.
_CAVEAT = re.compile(
    r"\b(?:but|though|although|unless|however|yet|rather than|instead|only|never|not|"
    r"warns?|mistakes?|risk|cannot|stops?|wasted?|fails?|stale|below|at least)\b",
    re.IGNORECASE,
)
# Another document's view: agreement, disagreement or a different figure.
_OTHER_VIEW = re.compile(
    r"\b(?:disagree\w*|differ\w*|overlap\w*|higher|lower|whereas|agrees?|also|adds?|"
    r"no threshold|other documents?|the currat blog|the practitioner essay|softsages|"
    r"the tooling vendor blog)\b",
    re.IGNORECASE,
)
_NAMES_ITS_SOURCE = re.compile(
    r"(?:the )?(currat blog|practitioner essay|softsages|tooling vendor blog|"
    r"engineering handbook|handbook)\b",
    re.IGNORECASE,
)
_CROSS_REFERENCE = re.compile(r"\(see [a-z-]+\)|\bcard covers\b|^compare\b", re.IGNORECASE)
_LONG = 280  # characters: past this a sentence crowds out a second point
_MARKDOWN = re.compile(r"[*_`#>]+")
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)%][.!?])\s+(?=[A-Z])")
_LIST_ITEM = re.compile(r"^\s*(?:[-*]|\d+[.)])\s+")


def _words(text: str) -> set[str]:
    return {w.strip("'-") for w in _WORD.findall(text.lower())} - _STOP


def _figures(text: str) -> set[str]:
    return {f.strip(" ,.").lower() for f in _FIGURE.findall(text)}


def sentences(body: str) -> list[str]:
    """The card body as whole sentences: prose split at sentence ends, each list item one
    sentence (capitalised and closed with a full stop so it reads on its own)."""
    return [sentence for sentence, _ in _sentences(body)]


def _sentences(body: str) -> list[tuple[str, bool]]:
    """Each sentence and whether it was a list item."""
    out: list[tuple[str, bool]] = []
    named = ""  # the document the card last named: what a leading "Its" / "It says" means
    for block in re.split(r"\n\s*\n", body):
        lines = [line for line in block.splitlines() if line.strip()]
        if lines and all(_LIST_ITEM.match(line) for line in lines):
            for line in lines:
                item = _MARKDOWN.sub("", _LIST_ITEM.sub("", line)).strip().rstrip(";,.")
                if item:
                    item = item[0].upper() + item[1:]
                    out.append((item if item.endswith(("?", "!")) else item + ".", True))
            continue
        plain = _MARKDOWN.sub("", " ".join(block.split()))
        for sentence in _SENTENCE_END.split(plain):
            sentence = sentence.strip()
            if len(sentence) > _LONG and ";" in sentence:
                # A long run of clauses: its first clause states the point on its own.
                sentence = sentence.split(";", 1)[0].rstrip(" ,") + "."
            if sentence:
                out.append((_resolve(sentence, named), False))
            named = _last_named(sentence) or named
    return out


# Verbs a document is the subject of: "It warns that ...", "It says ...".
_DOCUMENT_VERB = re.compile(
    r"It (?=(?:says|warns|adds|gives|counts|lists|notes|calls|describes|suggests|treats|"
    r"recommends|frames|puts|closes|offers|urges)\b)"
)
_SOURCE_NAMES = {
    "handbook": "the engineering handbook",
    "engineering handbook": "the engineering handbook",
    "currat blog": "the Currat blog",
    "practitioner essay": "the practitioner essay",
    "softsages": "SoftSages",
    "tooling vendor blog": "the tooling vendor blog",
}


def _last_named(sentence: str) -> str:
    names = [m.group(1).lower() for m in _NAMES_ITS_SOURCE.finditer(sentence)]
    return _SOURCE_NAMES.get(names[-1], "") if names else ""


def _resolve(sentence: str, named: str) -> str:
    """A sentence that opens on the document named before it ("Its fourth question",
    "It warns") names that document, so it reads on its own."""
    if not named:
        return sentence
    subject = named[0].upper() + named[1:]
    if sentence.startswith("Its "):
        return f"{subject}'s {sentence.removeprefix('Its ')}"
    return _DOCUMENT_VERB.sub(f"{subject} ", sentence, count=1)


def _score(sentence: str, listed: bool, known_words: set[str], known_figures: set[str]) -> float:
    words = _words(sentence)
    if len(sentence) < 60 or sentence.endswith(":") or not words:
        return 0.0  # too short to say anything, or the lead-in to a list
    new = len(words - known_words) / len(words)
    if new < 0.5:
        return 0.0  # mostly the known line again
    score = new
    if _figures(sentence) - known_figures:
        score += 1.5
    if _CAVEAT.search(sentence):
        score += 0.75
    if _OTHER_VIEW.search(sentence):
        score += 0.75
    if _CROSS_REFERENCE.search(sentence):
        score -= 1.0  # points at another card instead of saying something
    if len(sentence) > _LONG:
        score -= 1.5  # a long sentence crowds out a second point
    if listed and not _NAMES_ITS_SOURCE.match(sentence):
        score -= 1.0  # a list item out of its list rarely reads on its own
    if sentence.startswith(("It ", "Its ", "They ", "This ")):
        score -= 0.75  # leans on the sentence before it
    return score


def beyond(body: str, known: str, *, limit: int = 420, most: int = 3) -> list[str]:
    """Up to ``most`` sentences of ``body`` that add to ``known``, in the card's order and
    within ``limit`` characters; [] when the card says nothing more.

    Greedy: each pick is the best sentence against the known line *and* the picks so far,
    so a second sentence must add something the first did not.
    """
    found = _sentences(body)
    candidates = [sentence for sentence, _ in found]
    known_words, known_figures = _words(known), _figures(known)
    chosen: list[int] = []
    used = 0
    while len(chosen) < most:
        best: tuple[float, int] | None = None
        for index, sentence in enumerate(candidates):
            if index in chosen or (chosen and used + 1 + len(sentence) > limit):
                continue
            score = _score(sentence, found[index][1], known_words, known_figures)
            if score > 0 and (best is None or score > best[0]):
                best = (score, index)
        if best is None:
            break
        index = best[1]
        if len(candidates[index]) > limit:  # only ever the first pick
            candidates[index] = candidates[index][:limit].rsplit(" ", 1)[0] + "…"
        chosen.append(index)
        used += len(candidates[index]) + 1
        known_words |= _words(candidates[index])
        known_figures |= _figures(candidates[index])
    return [candidates[index] for index in sorted(chosen)]


__all__ = ["beyond", "sentences"]
