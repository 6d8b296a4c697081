"""The cost delta behind escalation question five: prompting today vs a fine-tuned smaller model.

Prices and assumptions come from one dated TOML file (``knowledge/prices.toml`` unless the
caller or ``ADVISOR_PRICES`` names another). :func:`cost_delta` is pure; only
:func:`load_prices` reads a file.
"""

from __future__ import annotations

import math
import os
import tomllib
from datetime import date
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graph.assessment import CostDelta, CostSide
from graph.profile import Profile

PRICES_ENV = "ADVISOR_PRICES"
PRICES_FILE = "prices.toml"  # packaged in ``knowledge``

# The profile fields the delta needs, with the words used when one is missing.
COST_FIELDS: dict[str, str] = {
    "avg_input_tokens": "average input tokens per call",
    "avg_output_tokens": "average output tokens per call",
    "monthly_volume": "monthly call volume",
}


class PricesError(ValueError):
    """A prices file that cannot be used; the message names the file and the problem."""


class _Strict(BaseModel):
    # A typo in a user's override file should fail loudly, not silently use a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelPrice(_Strict):
    model: str = Field(min_length=1)
    input_per_mtok_usd: float = Field(ge=0)
    output_per_mtok_usd: float = Field(ge=0)


class FineTunedPrice(ModelPrice):
    prompt_share: float = Field(1.0, ge=0, le=1)  # share of today's input tokens still sent


class OneOff(_Strict):
    training_usd: float = Field(ge=0)
    data_work_usd: float = Field(ge=0)
    eval_setup_usd: float = Field(ge=0)

    @property
    def total(self) -> float:
        return self.training_usd + self.data_work_usd + self.eval_setup_usd


class Retraining(_Strict):
    per_year: int = Field(ge=0)
    cost_per_retrain_usd: float = Field(ge=0)


class Prices(_Strict):
    """The dated price/assumption file. Every figure is an assumption users override."""

    as_of: date
    currency: str = "USD"
    payback_horizon_months: float = Field(12, gt=0)
    prompted: ModelPrice
    fine_tuned: FineTunedPrice
    one_off: OneOff
    retraining: Retraining
    source: str = ""  # where it was loaded from; set by load_prices, not read from the file


def default_prices_path() -> Path:
    """The packaged prices file."""
    return Path(str(resources.files("knowledge").joinpath(PRICES_FILE)))


def load_prices(path: str | Path | None = None) -> Prices:
    """Read prices: ``path`` if given, else ``$ADVISOR_PRICES``, else the packaged file.

    Raises :class:`PricesError` with a readable message for a missing, unreadable, non-TOML
    or invalid file.
    """
    chosen = Path(path) if path else None
    if chosen is None and os.environ.get(PRICES_ENV):
        chosen = Path(os.environ[PRICES_ENV])
    # The memo names the file; the packaged one by its place in the repo, not this machine's path.
    label = str(chosen) if chosen else f"knowledge/{PRICES_FILE}"
    if chosen is None:
        chosen = default_prices_path()
    try:
        with chosen.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise PricesError(f"prices file {chosen} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PricesError(f"prices file {chosen} cannot be read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PricesError(f"prices file {chosen} is not valid TOML: {exc}") from exc
    data.pop("source", None)
    try:
        prices = Prices.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or 'file'}: {err['msg']}"
            for err in exc.errors()
        )
        raise PricesError(f"prices file {chosen} is invalid: {problems}") from exc
    return prices.model_copy(update={"source": label})


def missing_cost_fields(profile: Profile) -> list[str]:
    """The profile fields the delta needs that are still unknown, in a fixed order."""
    return [name for name in COST_FIELDS if getattr(profile, name) is None]


def per_call_usd(input_tokens: float, output_tokens: float, price: ModelPrice) -> float:
    """Input tokens x input price + output tokens x output price."""
    return (
        input_tokens * price.input_per_mtok_usd + output_tokens * price.output_per_mtok_usd
    ) / 1_000_000


def break_even_months(
    one_off: float, saving_per_month: float, retraining_per_year: float
) -> float | None:
    """Months until the one-off cost is repaid by the net monthly saving; None if never."""
    net = saving_per_month - retraining_per_year / 12
    if net <= 0:
        return None
    return one_off / net


def cost_delta(profile: Profile, prices: Prices) -> tuple[CostDelta | None, list[str]]:
    """Question five in numbers, or ``(None, missing field names)`` when inputs are unknown."""
    missing = missing_cost_fields(profile)
    if missing:
        return None, missing
    assert profile.avg_input_tokens is not None  # narrowed by missing_cost_fields
    assert profile.avg_output_tokens is not None
    assert profile.monthly_volume is not None
    tokens_in, tokens_out = profile.avg_input_tokens, profile.avg_output_tokens
    volume = profile.monthly_volume
    tuned = prices.fine_tuned
    prompted_call = per_call_usd(tokens_in, tokens_out, prices.prompted)
    tuned_call = per_call_usd(tokens_in * tuned.prompt_share, tokens_out, tuned)
    saving_month = (prompted_call - tuned_call) * volume
    retraining_year = prices.retraining.per_year * prices.retraining.cost_per_retrain_usd
    months = break_even_months(prices.one_off.total, saving_month, retraining_year)
    return (
        CostDelta(
            prices_as_of=prices.as_of.isoformat(),
            prompted=CostSide(
                model=prices.prompted.model,
                per_call_usd=round(prompted_call, 8),
                per_month_usd=round(prompted_call * volume, 2),
            ),
            fine_tuned=CostSide(
                model=tuned.model,
                per_call_usd=round(tuned_call, 8),
                per_month_usd=round(tuned_call * volume, 2),
            ),
            saving_per_call_usd=round(prompted_call - tuned_call, 8),
            saving_per_month_usd=round(saving_month, 2),
            one_off_usd=round(prices.one_off.total, 2),
            retraining_per_year_usd=round(retraining_year, 2),
            retrains_per_year=prices.retraining.per_year,
            break_even_months=None if months is None else round(months, 2),
            assumptions=assumptions(prices),
        ),
        [],
    )


def assumptions(prices: Prices) -> list[str]:
    """The figures behind a delta, as sentences the memo can print."""
    one_off, tuned = prices.one_off, prices.fine_tuned
    where = f" from {prices.source}" if prices.source else ""
    lines = [
        f"Prices as of {prices.as_of.isoformat()}{where}; all figures are assumptions to "
        f"override with --prices or {PRICES_ENV}.",
        f"Prompted: {prices.prompted.model} at {usd(prices.prompted.input_per_mtok_usd)} "
        f"input / {usd(prices.prompted.output_per_mtok_usd)} output per million tokens.",
        f"Fine-tuned: {tuned.model} at {usd(tuned.input_per_mtok_usd)} input / "
        f"{usd(tuned.output_per_mtok_usd)} output per million tokens, sending "
        f"{tuned.prompt_share:.0%} of today's input tokens.",
        f"One-off: {usd(one_off.training_usd)} training, {usd(one_off.data_work_usd)} data "
        f"work, {usd(one_off.eval_setup_usd)} eval set-up.",
        f"Retraining: {prices.retraining.per_year} times a year (the engineering handbook "
        f"plans for 2-4) at {usd(prices.retraining.cost_per_retrain_usd)} each.",
        f"Break-even counts the one-off cost against the monthly saving net of retraining; "
        f"'pays back' means within {prices.payback_horizon_months:g} months.",
    ]
    return lines


def usd(value: float) -> str:
    """Dollars, readable at any size: $2,460 / $12.50 / $0.0075 / $0.00069."""
    if value == 0:
        return "$0"
    sign = "-" if value < 0 else ""
    size = abs(value)
    if size >= 100:
        return f"{sign}${size:,.0f}"
    if size >= 1:
        return f"{sign}${size:,.2f}"
    # Two significant digits for fractions of a dollar (per-call prices are tiny).
    digits = -math.floor(math.log10(size)) + 1
    return f"{sign}${size:.{digits}f}"
