"""``advisor assess FILE [--json] [--prices FILE]``: run the policy over saved profiles."""

from __future__ import annotations

import json
from typing import IO, Any

import click
from pydantic import ValidationError

from graph.assessment import Assessment, GateStatus, Status
from graph.cost import PricesError, load_prices, usd
from graph.labels import EXCEPTION, GATE_FACT, approach_label, join, rung_label
from graph.policy import assess
from graph.profile import Profile

GATE_MARK = {GateStatus.pass_: "✅", GateStatus.fail: "❌", GateStatus.unknown: "❓"}
ANSWER_MARK = {Status.yes: "✅", Status.no: "❌", Status.unknown: "❓"}


class InputError(click.ClickException):
    """Bad input: a friendly message and exit code 2, never a traceback."""

    exit_code = 2


def read_profiles(handle: IO[str]) -> tuple[list[Profile], bool]:
    """Profiles from a JSON object or list, and whether the input was a single object."""
    name = "stdin" if handle.name in ("<stdin>", "-") else handle.name
    try:
        data: Any = json.loads(handle.read())
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{name} is not UTF-8 text.") from exc
    single = isinstance(data, dict)
    items = [data] if single else data
    if not isinstance(items, list) or not items:
        raise InputError(
            f"{name} must hold one profile (a JSON object) or a non-empty list of them."
        )
    profiles = []
    for number, item in enumerate(items, start=1):
        where = name if single else f"{name}, profile {number}"
        if not isinstance(item, dict):
            kind = type(item).__name__
            raise InputError(f"{where}: a profile must be a JSON object, not {kind}.")
        try:
            profiles.append(Profile.model_validate(item))
        except ValidationError as exc:
            raise InputError(f"{where} is not a valid profile:\n{_problems(exc)}") from exc
    return profiles, single


def _problems(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"]) or "profile"
        if err["type"] == "extra_forbidden":
            lines.append(f"  - {field}: not a profile field")
        elif err["type"] == "missing":
            lines.append(f"  - {field}: required")
        else:
            lines.append(f"  - {field}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


def summary(profile: Profile, result: Assessment) -> str:
    """A readable summary of one assessment for the terminal."""
    justified = "yes" if result.fine_tuning_justified else "no"
    if result.exception:
        justified += f" (exception {result.exception.value}: {EXCEPTION[result.exception]})"
    if result.unknowns_in_the_way:
        facts = join([GATE_FACT[gate] for gate in result.unknowns_in_the_way])
        justified += f", but it may be: confirm {facts}"
    lines = [
        f"== {' '.join(profile.use_case.split())} ==",
        f"Approach: {approach_label(result.approach)}",
        f"Next rung: {rung_label(result.next_rung)}",
        f"Fine-tuning justified: {justified}",
        "",
        "Gates:",
    ]
    for gate, gate_result in result.gate_reasons.items():
        lines.append(f"  {GATE_MARK[gate_result.status]} {gate.value}: {gate_result.reason}")
    lines += ["", "The five questions:"]
    for number, answer in enumerate(result.escalation_questions, start=1):
        lines.append(f"  {ANSWER_MARK[answer.status]} {number}. {answer.question}")
        lines.append(f"       {answer.answer}")
    if result.cost is not None:
        cost = result.cost
        lines += [
            "",
            f"Cost (prices as of {cost.prices_as_of}): prompted {usd(cost.prompted.per_month_usd)}"
            f"/month, fine-tuned {usd(cost.fine_tuned.per_month_usd)}/month, one-off "
            f"{usd(cost.one_off_usd)}, retraining {usd(cost.retraining_per_year_usd)}/year.",
        ]
    for title, items in (("Risks", result.risks), ("Open questions", result.open_questions)):
        if items:
            lines += ["", f"{title}:", *(f"  - {item}" for item in items)]
    if result.next_steps:
        lines += ["", "Next steps:"]
        lines += [f"  {n}. {step}" for n, step in enumerate(result.next_steps, start=1)]
    return "\n".join(lines)


@click.command("assess")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--json", "as_json", is_flag=True, help="Print the assessment(s) as JSON.")
@click.option(
    "--prices",
    "prices_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Prices/assumptions TOML (default: $ADVISOR_PRICES, else knowledge/prices.toml).",
)
def assess_command(file: IO[str], as_json: bool, prices_path: str | None) -> None:
    """Assess the profile(s) in FILE (one JSON object or a list; - reads stdin).

    \b
    Examples:
      advisor assess team.json
      advisor assess teams.json --json
      advisor assess team.json --prices my-prices.toml
    """
    try:
        prices = load_prices(prices_path)
    except PricesError as exc:
        raise InputError(str(exc)) from exc
    profiles, single = read_profiles(file)
    results = [assess(profile, prices) for profile in profiles]
    if as_json:
        dumped = [result.model_dump(mode="json") for result in results]
        click.echo(json.dumps(dumped[0] if single else dumped, indent=2, ensure_ascii=False))
        return
    click.echo("\n\n".join(summary(p, r) for p, r in zip(profiles, results, strict=True)))
