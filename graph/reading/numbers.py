"""The one number reader: numbers in every shape people type them, for the answer parser and
for the Claude adapter's checks.

:func:`spell_out` turns words into digits first ("twelve thousand" -> "12000", "three
quarters" -> "75%", "four out of five" -> "80%", "a couple hundred" -> "200"), then
:func:`numbers` finds every number with what is written around it:

- separators: "1,500" and "1.500" and "25 000" (thousands), "91,5" and "0.82" (decimals);
- multipliers: "3k", "1.2M", "2 bn", "1.5 lakh", "2 crore", "five hundred";
- percentages ("82%", "82 percent", "91,5 %"), money ("$0.02", "€300");
- ranges, read as their lower end: "2-3k", "60-65%", "300 to 400", "between 300 and 400"
  (advisor never overstates: the gates are thresholds);
- approximations ("~3k", "ca. 8.000", "about", "4-ish", "90+"): a rough number is still a
  number; hedges ("maybe 300?") are the clause reader's business, not this one's.

The scan is one regex pass over the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_NUMBER_WORD = "|".join([*_UNITS, *_TENS, *_SCALES])
_WORD_RUN = re.compile(
    rf"(?<![\w-])(?:{_NUMBER_WORD})(?:(?:\s+and\s+|[\s-]+)(?:{_NUMBER_WORD}))*(?![\w-])"
)
_FRACTIONS = {
    "three quarters": 75, "three-quarters": 75, "three fourths": 75, "two thirds": 67,
    "two-thirds": 67, "a third": 33, "one third": 33, "a quarter": 25, "one quarter": 25,
    "a fifth": 20, "one fifth": 20, "half": 50,
}  # fmt: skip
_FRACTION = re.compile(
    r"(?<![\w-])(?:" + "|".join(sorted(_FRACTIONS, key=len, reverse=True)) + r")(?![\w-])"
    r"(?!\s+(?:a|an)\s+(?:hundred|thousand|million|billion|dozen)\b)"
    r"(?!\s+(?:the\s+)?(?:hour|day|week|month|year|time|dozen)s?\b)"
)
_OUT_OF = re.compile(
    rf"(?<![\w.,])(\d+|{_NUMBER_WORD})\s+(out\s+of|in|of\s+every)\s+(\d+|{_NUMBER_WORD})"
    r"(?![\w.,%])"
)
_SLASH_FRACTION = re.compile(r"(?<![\w./,])(\d{1,3})\s*/\s*(4|5|10|20|100)(?![\w./,])")
# Amounts said with a vague word: read as a low figure, and flagged so readers confirm.
_VAGUE_SCALED = re.compile(
    r"(?<![\w-])(?:a\s+)?(couple|few|handful|several)(?:\s+of)?\s+"
    r"(hundred|thousand|million|billion)s?(?![\w-])"
)
_VAGUE_COUNT = {"couple": 2, "few": 2, "handful": 5, "several": 3}  # the lower end
_PLURAL_SCALES = re.compile(
    r"(?<![\w-])(tens|hundreds)\s+of\s+(thousands|millions)(?![\w-])|"
    r"(?<![\w-])(dozens|hundreds|thousands|millions|billions)(?![\w-])"
)
_PLURAL = {"dozens": 24, "hundreds": 200, "thousands": 2_000, "millions": 2_000_000,
           "billions": 2_000_000_000}  # fmt: skip
_OF_PLURAL = {"tens": 20, "hundreds": 200}
_OF_SCALE = {"thousands": 1_000, "millions": 1_000_000}
VAGUE_MARK = "\u2248"  # written before a number spell_out made up from a vague word


def _word_value(run: str) -> int | None:
    """'twelve thousand' -> 12000; 'two hundred and fifty' -> 250; 'one' alone -> None."""
    tokens = [t for t in re.split(r"[\s-]+", run) if t and t != "and"]
    if tokens == ["one"]:
        return None  # "no one", "we have one": not a number
    total = current = 0
    for token in tokens:
        if token in _UNITS:
            current += _UNITS[token]
        elif token in _TENS:
            current += _TENS[token]
        elif token == "hundred":
            current = max(current, 1) * 100
        else:
            total += max(current, 1) * _SCALES[token]
            current = 0
    return total + current


def _small(token: str) -> int | None:
    return int(token) if token.isdigit() else _UNITS.get(token, _TENS.get(token))


def spell_out(text: str) -> str:
    """Number words and fractions as digits (lower-cased text in, same text out)."""
    text = re.sub(r"\bhalf\s+an?\s+(hundred|thousand|million|billion)\b", r"0.5 \1", text)
    text = re.sub(r"\b(?:a|one)\s+(hundred|thousand|million|billion)\b", r"1 \1", text)
    text = re.sub(r"\ba\s+dozen\b", "12", text)
    text = _VAGUE_SCALED.sub(
        lambda m: f"{VAGUE_MARK}{_VAGUE_COUNT[m.group(1)] * _SCALES[m.group(2)]}", text
    )
    text = _PLURAL_SCALES.sub(_plural, text)

    def out_of(m: re.Match[str]) -> str:
        a, b = _small(m.group(1)), _small(m.group(3))
        limit = 20 if m.group(2) == "in" else 1000
        if a is None or b is None or not 0 < b <= limit or a > b:
            return m.group(0)
        return f"{round(100 * a / b)}%"

    text = _OUT_OF.sub(out_of, text)
    text = _FRACTION.sub(lambda m: f"{_FRACTIONS[m.group(0)]}%", text)

    def words(m: re.Match[str]) -> str:
        first = m.group(0).split()[0].split("-")[0]
        if first in _SCALES and re.search(r"\d\s*$", text[: m.start()]):
            return m.group(0)  # "0.5 million": the scale of the number before it
        value = _word_value(m.group(0))
        return m.group(0) if value is None else str(value)

    return _WORD_RUN.sub(words, text)


def _plural(m: re.Match[str]) -> str:
    if m.group(1):  # "tens of thousands" -> 20000, read low
        return f"{VAGUE_MARK}{_OF_PLURAL[m.group(1)] * _OF_SCALE[m.group(2)]}"
    return f"{VAGUE_MARK}{_PLURAL[m.group(3)]}"


_SCALE = {
    "k": 1e3, "thousand": 1e3, "grand": 1e3, "m": 1e6, "mm": 1e6, "mn": 1e6, "mil": 1e6,
    "mio": 1e6, "mln": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9,
    "mrd": 1e9, "mld": 1e9, "hundred": 1e2,
    "lakh": 1e5, "lakhs": 1e5, "lac": 1e5, "lacs": 1e5, "crore": 1e7, "crores": 1e7,
}  # fmt: skip
_DIGITS = (
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?"  # 1,500 / 1,500.5
    r"|\d{1,3}(?:['’]\d{3})+(?![\d'’])"  # 3'500 (Swiss thousands)
    r"|[1-9]\d{0,2}(?:\.\d{3})+(?![.,]?\d)"  # 8.000 / 60.000 (thousands dots)
    r"|\d+,\d{1,2}(?![\d])"  # 91,5 (a decimal comma)
    r"|\d+\.\d+|\.\d+|\d+)"
)
_NUMBER = re.compile(
    r"(?P<approx>(?:~|\bca\s|\bcirca\s|\bapprox(?:imately|imatively)?\s|\babout\s|"
    r"\baround\s|\broughly\s|\bnearly\s|\balmost\s|\bsome\s|\blike\s)\s*)?"
    rf"(?P<vague>{VAGUE_MARK})?"
    r"(?P<cur>[$€£]\s?)?(?<![\w.,/])" + _DIGITS + r"(?![0-9])"
    r"(?:\s?(?P<suf>k|m|mm|mn|mil|mio|mln|mrd|mld|b|bn|thousand|grand|million|billion|hundred|lakhs?|"
    r"lacs?|crores?)(?![a-z]))?"
    r"(?:\s?(?P<suf2>thousand|million)(?![a-z]))?"
    r"(?P<ish>-?ish(?![a-z])|\+)?"
    r"(?P<pct>\s?(?:%|percent(?![a-z])|per\s?cent(?![a-z])|pct(?![a-z])))?"
    r"(?![a-z0-9])",
    re.IGNORECASE,
)
_RANGE = re.compile(r"\s*(?:-|–|to(?!\w))\s*")
_BETWEEN = re.compile(r"\bbetween\s*$")
# "went from 70% to 82%" is a change, not a range ("from 60 to 80 percent" alone is one)
_FROM = re.compile(
    r"\b(?:went|gone|go|moved|improved|jumped|dropped|increased|rose|fell|climbed|got|grew|"
    r"switched|upgraded|changed|improve|went up|went down)\s+(?:\S+\s+){0,2}from\s+(?:\S+\s+){0,2}$"
)


@dataclass(frozen=True)
class Num:
    """One number as written. ``value`` is the lower end of a range."""

    value: float
    start: int
    end: int
    text: str
    pct: bool = False
    decimal: bool = False  # written with decimals and no multiplier ("0.82", "86.4")
    unit: float = 1.0  # the precision it is stated to (3k -> 1000, 0.82 -> 0.01)
    money: bool = False
    approx: bool = False
    vague: bool = False  # made up from a vague word ("a few hundred")
    high: float | None = None  # the upper end of a range
    scaled: bool = False  # had a multiplier

    @property
    def is_int(self) -> bool:
        return not self.pct and not self.decimal and float(self.value).is_integer()

    @property
    def score(self) -> float | None:
        """A score 0-1 from "82%", "82 percent", "0.82" or ".82"; None when not one."""
        if self.pct:
            return self.value / 100 if self.value <= 100 else None
        if self.decimal and self.value <= 1:
            return self.value
        return None


def _parse_digits(raw: str) -> tuple[float, int]:
    """The value and number of decimals of one digit group in any of the shapes above."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
        raw = raw.replace(",", "")
    elif re.fullmatch(r"\d{1,3}(?:['’]\d{3})+", raw):
        raw = raw.replace("'", "").replace("’", "")
    elif re.fullmatch(r"[1-9]\d{0,2}(?:\.\d{3})+", raw):
        raw = raw.replace(".", "")
    elif re.fullmatch(r"\d+,\d{1,2}", raw):
        raw = raw.replace(",", ".")
    decimals = len(raw.split(".")[1]) if "." in raw else 0
    return float(raw), decimals


def _one(m: re.Match[str]) -> Num:
    value, decimals = _parse_digits(m.group("num"))
    scale = 1.0
    if m.group("suf"):
        scale = _SCALE[m.group("suf").lower()]
    if m.group("suf2"):
        scale *= _SCALE[m.group("suf2").lower()]
    return Num(
        value=value * scale,
        start=m.start("cur") if m.group("cur") else m.start("num"),
        end=m.end(),
        text=m.group(0).strip(),
        pct=bool(m.group("pct")),
        decimal=decimals > 0 and scale == 1.0,
        unit=scale * 10.0**-decimals,
        money=bool(m.group("cur")),
        approx=bool(m.group("approx") or m.group("ish")),
        vague=bool(m.group("vague")),
        scaled=scale != 1.0,
    )


def numbers(text: str, *, ranges: bool = True) -> list[Num]:
    """Every number in ``text`` (see the module doc); with ``ranges`` a range is one number
    at its lower end, else each end is its own number."""
    found = [_one(m) for m in _NUMBER.finditer(text)]
    if not ranges:
        return found
    out: list[Num] = []
    i = 0
    while i < len(found):
        a = found[i]
        b = found[i + 1] if i + 1 < len(found) else None
        if b is None:
            out.append(a)
            break
        between = _BETWEEN.search(text, max(0, a.start - 12), a.start)
        dash = _RANGE.fullmatch(text, a.end, b.start) is not None
        if dash and "to" in text[a.end : b.start] and _FROM.search(text, 0, a.start):
            dash = False
        joined = dash or (
            between is not None and re.fullmatch(r"\s+and\s+", text[a.end : b.start]) is not None
        )
        if joined and not a.money ^ b.money:
            a_value = a.value
            if not a.scaled and b.scaled and a.value <= _unscaled(b):
                a_value = a.value * (b.value / _unscaled(b))  # "2-3k": the k is both ends'
            pct = a.pct or b.pct
            low, high = min(a_value, b.value), max(a_value, b.value)
            if (a.pct and not b.pct) and b.value > 100:
                out.append(a)
                i += 1
                continue
            start = between.start() if between is not None else a.start
            out.append(
                Num(
                    value=low,
                    start=start,
                    end=b.end,
                    text=text[start : b.end],
                    pct=pct,
                    decimal=a.decimal and b.decimal,
                    unit=min(a.unit, b.unit) if a.scaled == b.scaled else b.unit,
                    money=a.money,
                    approx=True,
                    vague=a.vague or b.vague,
                    high=high,
                    scaled=a.scaled or b.scaled,
                )
            )
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def _unscaled(n: Num) -> float:
    digits = re.search(_DIGITS, n.text)
    return _parse_digits(digits.group("num"))[0] if digits else n.value


__all__ = ["VAGUE_MARK", "Num", "numbers", "spell_out"]
