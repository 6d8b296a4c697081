"""The cost delta (question five) and the dated prices file behind it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from graph.cost import (
    Prices,
    PricesError,
    break_even_months,
    cost_delta,
    default_prices_path,
    load_prices,
    usd,
)
from graph.profile import Profile


def make(**fields: Any) -> Profile:
    """A profile from plain JSON-like values, as the CLI and the interview would build it."""
    return Profile.model_validate({"use_case": "x", **fields})


PRICES_TOML = """
as_of = "2025-01-31"
payback_horizon_months = 6

[prompted]
model = "big"
input_per_mtok_usd = 10.0
output_per_mtok_usd = 30.0

[fine_tuned]
model = "small"
input_per_mtok_usd = 1.0
output_per_mtok_usd = 2.0
prompt_share = 0.5

[one_off]
training_usd = 1000
data_work_usd = 2000
eval_setup_usd = 1000

[retraining]
per_year = 4
cost_per_retrain_usd = 1500
"""


def write(tmp_path: Path, text: str, name: str = "prices.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def custom(tmp_path: Path) -> Prices:
    return load_prices(write(tmp_path, PRICES_TOML))


def test_packaged_prices_are_dated_and_follow_the_handbooks_retraining_cadence() -> None:
    prices = load_prices()
    assert prices.as_of.isoformat() == "2026-11-20"
    assert 2 <= prices.retraining.per_year <= 4  # 003: plan for 2-4 retrains a year
    assert prices.source == "knowledge/prices.toml"
    # The packaged file documents each figure's basis in a comment.
    text = default_prices_path().read_text(encoding="utf-8")
    assert text.count("# Basis:") >= 8
    assert tomllib.loads(text)["as_of"] == "2026-11-20"


def test_prices_come_from_the_path_then_the_environment_then_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = write(tmp_path, PRICES_TOML.replace("2025-01-31", "2025-02-01"), "env.toml")
    explicit = write(tmp_path, PRICES_TOML, "explicit.toml")
    assert load_prices().as_of.isoformat() == "2026-11-20"
    monkeypatch.setenv("ADVISOR_PRICES", str(from_env))
    assert load_prices().as_of.isoformat() == "2025-02-01"
    assert load_prices(explicit).as_of.isoformat() == "2025-01-31"
    assert load_prices(str(explicit)).source == str(explicit)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("as_of = [", "not valid TOML"),
        (PRICES_TOML.replace("input_per_mtok_usd = 10.0", "input_per_mtok_usd = -1"), "prompted"),
        (PRICES_TOML.replace('as_of = "2025-01-31"', 'as_of = "soon"'), "as_of"),
        (PRICES_TOML.replace("per_year = 4", "per_year = 4\nper_yaer = 3"), "per_yaer"),
        (PRICES_TOML.replace("[one_off]", "[one_of]"), "one_off"),
    ],
)
def test_a_bad_prices_file_says_which_file_and_what_is_wrong(
    tmp_path: Path, text: str, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PricesError) as info:
        load_prices(path)
    assert str(path) in str(info.value)
    assert words in str(info.value)


def test_a_missing_prices_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PricesError, match="does not exist"):
        load_prices(tmp_path / "nope.toml")


def test_per_call_and_per_month_costs_follow_tokens_prices_and_volume(custom: Prices) -> None:
    profile = make(avg_input_tokens=2_000, avg_output_tokens=500, monthly_volume=100_000)
    cost, missing = cost_delta(profile, custom)
    assert missing == [] and cost is not None
    prompted = (2_000 * 10.0 + 500 * 30.0) / 1e6  # $0.035
    tuned = (2_000 * 0.5 * 1.0 + 500 * 2.0) / 1e6  # half the prompt: $0.002
    assert cost.prompted.per_call_usd == pytest.approx(prompted)
    assert cost.fine_tuned.per_call_usd == pytest.approx(tuned)
    assert cost.prompted.per_month_usd == pytest.approx(prompted * 100_000)
    assert cost.fine_tuned.per_month_usd == pytest.approx(tuned * 100_000)
    assert cost.saving_per_call_usd == pytest.approx(prompted - tuned)
    assert cost.saving_per_month_usd == pytest.approx((prompted - tuned) * 100_000)
    assert cost.one_off_usd == 4_000
    assert cost.retrains_per_year == 4
    assert cost.retraining_per_year_usd == 6_000
    net = (prompted - tuned) * 100_000 - 6_000 / 12
    assert cost.break_even_months == pytest.approx(4_000 / net, abs=0.01)
    assert cost.prices_as_of == "2025-01-31"
    assert any("2025-01-31" in line for line in cost.assumptions)


def test_a_saving_that_does_not_cover_retraining_never_breaks_even(custom: Prices) -> None:
    # 5 cents a day is not worth a fine-tune.
    profile = make(avg_input_tokens=100, avg_output_tokens=10, monthly_volume=50)
    cost, _ = cost_delta(profile, custom)
    assert cost is not None
    assert 0 < cost.saving_per_month_usd < 6_000 / 12
    assert cost.break_even_months is None


def test_break_even_is_one_off_over_the_net_monthly_saving() -> None:
    assert break_even_months(1_200, 600, 1_200) == pytest.approx(2.4)
    assert break_even_months(1_200, 100, 1_200) is None
    assert break_even_months(1_200, 0, 0) is None


@pytest.mark.parametrize(
    ("known", "missing"),
    [
        ({}, ["avg_input_tokens", "avg_output_tokens", "monthly_volume"]),
        ({"avg_input_tokens": 10, "avg_output_tokens": 5}, ["monthly_volume"]),
        ({"avg_output_tokens": 5, "monthly_volume": 10}, ["avg_input_tokens"]),
    ],
)
def test_unknown_tokens_or_volume_give_no_numbers_and_name_what_is_missing(
    custom: Prices, known: dict[str, int], missing: list[str]
) -> None:
    cost, names = cost_delta(make(**known), custom)
    assert cost is None
    assert names == missing


def test_zero_volume_costs_nothing_and_never_pays_back(custom: Prices) -> None:
    profile = make(avg_input_tokens=1_000, avg_output_tokens=100, monthly_volume=0)
    cost, _ = cost_delta(profile, custom)
    assert cost is not None
    assert cost.prompted.per_month_usd == 0
    assert cost.break_even_months is None


def test_dollar_amounts_read_well_at_any_size() -> None:
    assert usd(2460) == "$2,460"
    assert usd(12.5) == "$12.50"
    assert usd(0.0075) == "$0.0075"
    assert usd(0.00069) == "$0.00069"
    assert usd(0) == "$0"
    assert usd(-1500) == "-$1,500"
