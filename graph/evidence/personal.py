"""Personal data in a row of text: which kinds appear, never what they are.

One compiled pattern finds candidates cheaply (an ``@`` with a domain, an IBAN-shaped run
of letters and digits, or a run of 7 to 19 digits with the separators people type), and
only a candidate reaches a validator, so a row without one costs a single regex scan:

- email: the ``local@domain.tld`` shape (no validator library: an address has no checksum,
  and checking that the domain exists would mean a network call);
- payment card: 13-19 digits passing Luhn (``stdnum.luhn``) whose first digit is an
  ISO/IEC 7812 banking/financial industry identifier (2-6);
- IBAN: ``stdnum.iban``: the country's length and BBAN format, and the mod-97 check;
- US SSN: ``ddd-dd-dddd`` that ``stdnum.us.ssn`` accepts (no 000/666/9xx area, no 00
  group or 0000 serial, not a number known to be published as an example);
- phone: ``phonenumbers`` (Google's libphonenumber metadata) says the number is valid:
  with a leading ``+`` (or ``00``) for its own country, otherwise for ``region`` (US).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

KINDS: tuple[str, ...] = ("email", "phone", "payment_card", "iban", "us_ssn")
KIND_LABEL = {  # plural: "email addresses in 12 rows"
    "email": "email addresses",
    "phone": "phone numbers",
    "payment_card": "payment card numbers",
    "iban": "IBANs",
    "us_ssn": "US social security numbers",
}
DEFAULT_REGION = "US"

# A row is first reduced to its shape in C (digits -> "0", capitals -> "A", separators
# dropped): only a row whose shape holds an IBAN start ("AA00") or seven digits is scanned
# with the patterns, whose boundaries are then checked in Python on the rare candidates.
# The email pattern is matched outwards from each "@" so a long word cannot make it
# backtrack. Digits are ASCII digits, as in the validators.
_SHAPE = bytes.maketrans(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"0" * 10 + b"A" * 26)
_NUMBER_SEPARATORS = b" ().-"
_NUMBER = re.compile(r"[0-9](?:[ ().-]{0,2}[0-9]){6,22}")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,32}")
_LOCAL = re.compile(r"[\w.%+-]{1,64}\Z")
_DOMAIN = re.compile(r"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b")
_SSN = re.compile(r"[0-9]{3}-[0-9]{2}-[0-9]{4}")
_NOT_DIGIT = re.compile(r"[^0-9]")
_CARD_SEPARATORS = frozenset(" -")


def may_hold(raw: bytes | str) -> bool:
    """False only when ``raw`` (a record's JSON text) cannot hold any kind: no "@", no
    IBAN start, no seven digits. JSON escapes only ever put a backslash between such
    characters, which breaks a match as the decoded character would, except ``\\u``
    escapes, which could spell anything: text with one is always looked at."""
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    if b"@" in data or b"\\u" in data:
        return True
    iban, number = _shapes(data)
    return iban or number


def _shapes(data: bytes) -> tuple[bool, bool]:
    """Whether ``data`` could hold an IBAN, and a number of seven digits or more."""
    shape = data.translate(_SHAPE)
    return b"AA00" in shape, b"0000000" in shape.translate(None, _NUMBER_SEPARATORS)


def kinds_in(text: str, region: str = DEFAULT_REGION) -> set[str]:
    """The kinds of personal data that appear in ``text``."""
    found: set[str] = set()
    if "@" in text and _has_email(text):
        found.add("email")
    iban, number = _shapes(text.encode("utf-8", "surrogatepass"))
    if iban:
        for match in _IBAN.finditer(text):
            start, end = match.span()
            if _word_char(text, start - 1) or _word_char(text, end):
                continue
            if _is_iban(match.group()):
                found.add("iban")
                break
    if not number:
        return found
    for match in _NUMBER.finditer(text):
        start, end = match.span()
        before = text[start - 1] if start else ""
        if (
            (before and (before.isalnum() or before in "._-"))
            or _word_char(text, end)
            or text[end : end + 1] == "-"
        ):
            continue  # part of a word, a decimal, an id or a longer run
        prefix = "+" if text[max(0, start - 2) : start].strip().endswith("+") else ""
        kind = _number_kind(prefix + ("(" if before == "(" else "") + match.group(), region)
        if kind:
            found.add(kind)
    return found


def _word_char(text: str, index: int) -> bool:
    return 0 <= index < len(text) and (text[index].isalnum() or text[index] == "_")


def _has_email(text: str) -> bool:
    at = text.find("@")
    while at != -1:
        if _LOCAL.search(text, max(0, at - 64), at) and _DOMAIN.match(text, at + 1):
            return True
        at = text.find("@", at + 1)
    return False


def strings(value: Any) -> list[str]:
    """Every string (and integer, which may be a card or phone number) inside a record.

    An explicit stack rather than recursion: a deeply nested value cannot overflow it."""
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            found.append(item)
        elif kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is int:
            found.append(str(item))
    return found


@lru_cache(maxsize=4096)
def _is_iban(candidate: str) -> bool:
    from stdnum import iban

    compact = candidate.replace(" ", "")
    # The pattern is greedy ("DE89… BIC COBA…"): try each length an IBAN can have.
    return any(iban.is_valid(compact[:n]) for n in range(len(compact), 14, -1))


@lru_cache(maxsize=4096)
def _number_kind(candidate: str, region: str) -> str | None:
    digits = _NOT_DIGIT.sub("", candidate)
    if _SSN.fullmatch(candidate):
        from stdnum.us import ssn

        return "us_ssn" if ssn.is_valid(candidate) else None
    separators = {ch for ch in candidate if not ch.isdigit()}
    if 13 <= len(digits) <= 19 and separators <= _CARD_SEPARATORS and digits[0] in "23456":
        from stdnum import luhn

        if luhn.is_valid(digits):
            return "payment_card"
    if 7 <= len(digits) <= 15 and candidate.count(".") != 1:  # one dot: a decimal number
        return "phone" if _is_phone(candidate, region) else None
    return None


def _is_phone(candidate: str, region: str) -> bool:
    import phonenumbers

    text = candidate.strip()
    try:
        if text.startswith("+"):
            number = phonenumbers.parse(text, None)
        elif text.startswith("00"):
            number = phonenumbers.parse("+" + text[2:], None)
        else:
            number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))
