"""`advisor chat` (pretty and --jsonl) and `advisor memo`, driven the way a user would."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from teams import ROUTER

from bot.cli import cli
from graph.interview import Interviews
from graph.store import Store

ROOT = Path(__file__).resolve().parents[1]

TEAMS: dict[str, tuple[str, dict[str, str]]] = {
    "fine_tuning": (
        "Route support tickets to one of 12 queues",
        ROUTER,
    ),
    "rag": (
        "Answer employee questions about our HR policies",
        {
            "task": "6",
            "problems": "it doesn't know our policies and it makes things up",
            "knowledge": "yes, they change every month",
            "stable": "yes",
            "tried": "a system prompt and few-shot examples",
            "eval": "no eval yet",
            "examples": "about 50",
            "cleared": "not yet",
            "usage": "3k a month, 2,000 in, 300 out",
            "stakes": "3",
            "constraints": "a person reviews outputs",
            "owner": "nobody",
        },
    ),
    "prompt_engineering": (
        "Draft marketing emails in our voice",
        {
            "task": "4",
            "problems": "it doesn't sound like us",
            "knowledge": "no",
            "stable": "no, the brief keeps changing",
            "tried": "none yet",
            "eval": "no eval yet",
            "examples": "none yet",
            "cleared": "no",
            "usage": "2k a month",
            "stakes": "1",
            "constraints": "brand voice",
            "owner": "nobody",
        },
    ),
    "exception": (
        "Read meter values from photos on a handheld device",
        {
            "task": "2",
            "problems": "nothing built yet",
            "knowledge": "no",
            "stable": "yes",
            "tried": "none yet",
            "eval": "no eval yet",
            "examples": "5,000, clean and deduplicated",
            "cleared": "yes",
            "usage": "3k a month, 500 in, 50 out",
            "stakes": "2",
            "constraints": "it must run on the device",
            "owner": "the devices team",
        },
    ),
}


class ScriptedUser:
    """stdin and stdout of one `advisor chat --jsonl` run: reads each question line and
    answers it from a script keyed by question id (a list answers repeats in order)."""

    def __init__(self, script: dict[str, str | list[str]]) -> None:
        self.script = {k: [v] if isinstance(v, str) else list(v) for k, v in script.items()}
        self.lines: list[dict[str, Any]] = []
        self.sent: list[str] = []
        self._partial = ""
        self.stdout = _Out(self)
        self.stdin = _In(self)

    def questions(self) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["type"] == "question"]

    def asked(self) -> list[str]:
        """The questions asked, confirmations of a reading left out."""
        return [q["id"] for q in self.questions() if not q.get("confirm")]

    def answer(self) -> str:
        assert len(self.sent) < 60, "the interview does not end"
        asked = self.questions()
        if not asked or self.lines[-1]["type"] in ("memo", "ended"):
            return ""
        answers = self.script.get(asked[-1]["id"])
        assert answers, f"unscripted question {asked[-1]['id']}"
        text = answers.pop(0) if len(answers) > 1 else answers[0]
        self.sent.append(text)
        return text + "\n"


class _Out:
    def __init__(self, user: ScriptedUser) -> None:
        self.user = user

    def write(self, text: str) -> int:
        self.user._partial += text
        while "\n" in self.user._partial:
            line, self.user._partial = self.user._partial.split("\n", 1)
            if line.strip():
                self.user.lines.append(json.loads(line))  # every line must be JSON
        return len(text)

    def flush(self) -> None:
        pass


class _In:
    def __init__(self, user: ScriptedUser) -> None:
        self.user = user

    def readline(self) -> str:
        return self.user.answer()


def run_jsonl(
    monkeypatch: pytest.MonkeyPatch, script: dict[str, str | list[str]], *args: str
) -> ScriptedUser:
    user = ScriptedUser(script)
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", user.stdout)
        patch.setattr(sys, "stdin", user.stdin)
        with contextlib.suppress(SystemExit):
            cli.main(["chat", "--jsonl", "--name", "dana", *args], standalone_mode=False)
    return user


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # memos/ lands here
    return tmp_path


QUESTIONS_ASKED: dict[str, int] = {}


@pytest.mark.parametrize("team", sorted(TEAMS))
def test_scripted_team_reaches_its_approach_in_at_most_12_questions(
    team: str, monkeypatch: pytest.MonkeyPatch, in_tmp: Path
) -> None:
    use_case, script = TEAMS[team]
    user = run_jsonl(monkeypatch, dict(script), use_case)
    asked = user.asked()
    assert len(asked) == len(set(asked)) <= 12
    QUESTIONS_ASKED[team] = len(asked)
    memo = user.lines[-1]
    assert memo["type"] == "memo" and set(memo) == {"type", "path", "assessment"}
    assessment = memo["assessment"]
    if team == "exception":
        assert assessment["approach"] == "fine_tuning"
        assert assessment["exception"] == "self_hosted_small_model"
    else:
        assert assessment["approach"] == team
    path = in_tmp / memo["path"]
    assert path.parent.name == "memos" and path.exists()
    assert path.read_text(encoding="utf-8").startswith("# Decision: ")


def test_median_questions_asked_is_at_most_12(monkeypatch: pytest.MonkeyPatch) -> None:
    counts = []
    for use_case, script in TEAMS.values():
        counts.append(len(run_jsonl(monkeypatch, dict(script), use_case).asked()))
    assert statistics.median(counts) <= 12


def test_jsonl_lines_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    use_case, script = TEAMS["rag"]
    user = run_jsonl(monkeypatch, dict(script), use_case)
    for line in user.lines:
        assert line["type"] in {"question", "reply", "memo"}
        if line["type"] == "question":
            keys = {"type", "id", "fields", "text", "options"}
            if line.get("confirm"):  # a reading to keep: what was read, as options and values
                assert set(line) == keys | {"confirm", "read", "values", "read_text"}
                assert (
                    set(line["read"]) <= {o["value"] for o in line["options"]}
                    or not (line["options"])
                )
                assert set(line["values"]) <= set(line["fields"])
            else:
                assert set(line) == keys
            assert all(set(o) == {"value", "label"} for o in line["options"])
        if line["type"] == "reply":
            assert isinstance(line["text"], str) and line["text"]
    free_text = [q for q in user.questions() if q["id"] == "eval"]
    assert free_text and free_text[0]["options"] == []


def test_the_use_case_is_asked_first_when_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    _, script = TEAMS["prompt_engineering"]
    user = run_jsonl(monkeypatch, {"use_case": "Draft marketing emails", **script})
    assert user.questions()[0]["id"] == "use_case"
    assert user.lines[-1]["type"] == "memo"


def test_a_follow_up_mid_interview_is_answered_with_citations_then_re_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_case, script = TEAMS["rag"]
    user = run_jsonl(monkeypatch, {**script, "tried": ["what is RAG?", script["tried"]]}, use_case)
    ids = [line.get("id") for line in user.lines]
    at = user.sent.index("what is RAG?")
    tried_twice = [i for i, x in enumerate(ids) if x == "tried"]
    assert len(tried_twice) >= 2
    between = user.lines[tried_twice[0] + 1 : tried_twice[1]]
    replies = [line for line in between if line["type"] == "reply"]
    assert replies and replies[0]["citations"], between
    for cited in replies[0]["citations"]:
        assert cited["id"] and cited["title"] and cited["sources"]
    assert at >= 0 and user.lines[-1]["type"] == "memo"


def test_change_and_back_revise_answers_mid_interview(monkeypatch: pytest.MonkeyPatch) -> None:
    use_case, script = TEAMS["fine_tuning"]
    user = run_jsonl(
        monkeypatch,
        {
            **script,
            "stakes": ["change volume to 50k", "back", script["stakes"]],
            "usage": [script["usage"], "200k a month, ~1,500 in, 20 out"],
        },
        use_case,
    )
    ids = [q["id"] for q in user.questions()]
    # stakes, (change) stakes again, (back) usage again, then stakes once more
    at = ids.index("stakes")
    assert ids[at : at + 4] == ["stakes", "stakes", "usage", "stakes"]
    texts = [line["text"] for line in user.lines if line["type"] == "reply"]
    assert any("calls per month: 50,000" in t for t in texts)
    assert user.lines[-1]["assessment"]["cost"]["prompted"]["per_month_usd"] > 0


def test_cancel_prints_an_ended_line_and_writes_no_memo(
    monkeypatch: pytest.MonkeyPatch, in_tmp: Path
) -> None:
    user = run_jsonl(monkeypatch, {"task": "cancel"}, "Route tickets")
    assert user.lines[-1]["type"] == "ended"
    assert not (in_tmp / "memos").exists()


def test_running_out_of_input_says_how_to_resume(monkeypatch: pytest.MonkeyPatch) -> None:
    user = ScriptedUser({"task": "1"})
    user.stdin.readline = lambda: "" if user.sent else user.answer()  # type: ignore[method-assign]
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", user.stdout)
        patch.setattr(sys, "stdin", user.stdin)
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["chat", "--jsonl", "Route tickets"], standalone_mode=False)
    assert exit_info.value.code == 1
    last = user.lines[-1]
    assert last["type"] == "reply" and "--resume" in last["text"]
    assert Interviews().pending(last["interview_id"]) is not None


def test_resume_takes_a_reply_saved_just_before_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    use_case, script = TEAMS["fine_tuning"]
    user = ScriptedUser({"task": script["task"]})
    user.stdin.readline = lambda: "" if user.sent else user.answer()  # type: ignore[method-assign]
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", user.stdout)
        patch.setattr(sys, "stdin", user.stdin)
        with contextlib.suppress(SystemExit):
            cli.main(["chat", "--jsonl", use_case], standalone_mode=False)
    iid = user.lines[-1]["interview_id"]
    pending = Interviews().pending(iid)
    assert pending is not None
    # Killed after the reply was kept, before the interview moved on.
    Store().record_answer(iid, question_id=pending.id, text=script[pending.id], by="dana")

    resumed = run_jsonl(monkeypatch, dict(script), "--resume", iid)
    replies = [line["text"] for line in resumed.lines if line["type"] == "reply"]
    assert any("Picking up your last answer" in text for text in replies)
    assert pending.id not in resumed.asked()  # not asked twice (at most its reading confirmed)
    assert resumed.lines[-1]["type"] == "memo"


def _advisor(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import cli; cli()", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def test_a_killed_interview_resumes_at_the_same_question(
    monkeypatch: pytest.MonkeyPatch, in_tmp: Path, isolated_db: Path
) -> None:
    use_case, script = TEAMS["fine_tuning"]
    env = {**os.environ, "ADVISOR_DB": str(isolated_db), "PYTHONPATH": str(ROOT)}
    proc = _advisor("chat", "--jsonl", "--name", "dana", use_case, env=env, cwd=in_tmp)
    assert proc.stdin is not None and proc.stdout is not None
    interview_id = ""
    answered = 0
    pending = ""
    try:
        for raw in proc.stdout:
            line = json.loads(raw)
            interview_id = interview_id or line.get("interview_id", "")
            if line["type"] != "question":
                continue
            if answered == 4:
                pending = line["id"]
                break
            proc.stdin.write(script[line["id"]] + "\n")
            proc.stdin.flush()
            answered += 1
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert interview_id and pending

    user = run_jsonl(monkeypatch, dict(script), "--resume", interview_id)
    assert user.questions()[0]["id"] == pending
    assert user.lines[-1]["type"] == "memo"
    assert user.lines[-1]["assessment"]["approach"] == "fine_tuning"
    asked_after = set(user.asked())
    assert len(asked_after) + answered <= 12 + 2  # a confirmation or two among the first four


def test_resuming_an_unknown_interview_is_a_clear_error() -> None:
    result = CliRunner().invoke(cli, ["chat", "--resume", "cli:nope"])
    assert result.exit_code == 1
    assert "No interview with id 'cli:nope'" in result.output
    assert "Traceback" not in result.output


PRETTY_ORDER = ["task", "problems", "knowledge", "stable", "tried", "eval", "stakes", "constraints"]


def typed(script: dict[str, str], problems: str | None = None) -> list[str]:
    """The lines a person types for the prompt-engineering team in the terminal; with
    ``problems`` in words, Enter after it keeps the reading shown to confirm."""
    lines = []
    for q in PRETTY_ORDER:
        lines.append(problems if q == "problems" and problems else script[q])
        if q == "problems" and problems:
            lines.append("")
    return lines


def test_pretty_chat_greets_numbers_options_explains_and_writes_the_memo(
    in_tmp: Path,
) -> None:
    _, script = TEAMS["prompt_engineering"]
    said = "too robotic, nothing like our voice"
    answers = ["Draft marketing emails", "why?", *typed(script, problems=said), ""]
    result = CliRunner().invoke(cli, ["chat", "--name", "dana"], input="\n".join(answers))
    out = result.output
    assert result.exit_code == 0, out
    # words for a list question are read, shown, and kept with Enter
    assert "I read: off voice — Enter to keep, or type the numbers" in out
    assert "Noted: problems today: off voice." in out
    assert "prompting, RAG or fine-tuning?" in out
    assert "advisor chat --resume cli:" in out
    assert re.search(r"Question 2 of about 1[0-3]\n", out)
    assert "  1. Classification: sort inputs into fixed categories" in out
    assert "Why we ask:" in out and "Why I ask:" in out
    assert "'back'" in out and "'memo'" in out and "'cancel'" in out
    assert "Decision: Prompt engineering" in out
    memos = list((in_tmp / "memos").glob("draft-marketing-emails-*.md"))
    assert len(memos) == 1 and f"written to memos/{memos[0].name}" in out


def test_pretty_chat_end_of_input_says_how_to_resume() -> None:
    result = CliRunner().invoke(cli, ["chat", "Route tickets"], input="1\n")
    assert result.exit_code == 0
    assert "Paused. Your answers are saved; continue with: advisor chat --resume cli:" in (
        result.output
    )


def test_memo_list_export_and_status(monkeypatch: pytest.MonkeyPatch, in_tmp: Path) -> None:
    use_case, script = TEAMS["rag"]
    user = run_jsonl(monkeypatch, dict(script), use_case)
    memo_id = next(line["memo_id"] for line in user.lines if line.get("memo_id"))
    runner = CliRunner()

    listing = runner.invoke(cli, ["memo", "list"])
    assert listing.exit_code == 0
    row = next(line for line in listing.output.splitlines() if line.startswith(memo_id))
    assert "proposed" in row and "rag" in row and use_case in row
    assert listing.output.splitlines()[0].split() == [
        "ID",
        "DATE",
        "STATUS",
        "APPROACH",
        "USE",
        "CASE",
    ]

    out_file = in_tmp / "export" / "memo.md"
    exported = runner.invoke(cli, ["memo", "export", memo_id, "-o", str(out_file)])
    assert exported.exit_code == 0
    stored = Store().get_memo(memo_id)
    assert stored is not None and out_file.read_text(encoding="utf-8") == stored.markdown

    accepted = runner.invoke(cli, ["memo", "accept", memo_id, "--by", "lee"])
    assert accepted.exit_code == 0 and "accepted" in accepted.output
    printed = runner.invoke(cli, ["memo", "export", memo_id])
    assert "- **Status:** accepted (by lee, " in printed.output
    assert "accepted" in runner.invoke(cli, ["memo", "list"]).output

    missing = runner.invoke(cli, ["memo", "export", "zzzzzz"])
    assert missing.exit_code == 1 and "No memo with id 'zzzzzz'" in missing.output


def test_memo_list_with_no_memos_says_how_to_make_one() -> None:
    result = CliRunner().invoke(cli, ["memo", "list"])
    assert result.exit_code == 0 and "advisor chat" in result.output


def _interview_id(output: str) -> str:
    found = re.search(r"--resume (cli:[0-9a-f]+)", output)
    assert found, output
    return found.group(1)


def test_pretty_chat_with_claude_ends_with_its_calls_and_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import anthropic_fake as fake_api

    use_case, script = TEAMS["prompt_engineering"]
    with fake_api.running(fake_api.AdvisorModel()) as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        answers = ["what is RAG?", *typed(script), ""]
        result = CliRunner().invoke(cli, ["chat", use_case], input="\n".join(answers))
    out = result.output
    assert result.exit_code == 0, out
    usage = Store().usage(_interview_id(out))
    assert usage["calls"] == len(fake.requests) >= 3
    assert out.rstrip().endswith(  # the last line (after the "> " of the last prompt)
        f"\n> Claude: {usage['calls']} calls, {usage['input_tokens']:,} in / "
        f"{usage['output_tokens']:,} out tokens, {usage['cache_read_tokens']:,} read from cache."
    )

    listing = CliRunner().invoke(cli, ["memo", "list", "--usage"])
    assert listing.exit_code == 0, listing.output
    header, row = listing.output.splitlines()[:2]
    assert header.split()[4:-2] == ["CALLS", "INPUT", "OUTPUT", "CACHE", "WRITE", "CACHE", "READ"]
    numbers = [int(n.replace(",", "")) for n in row.split()[4:9]]
    assert numbers == [
        usage["calls"],
        usage["input_tokens"],
        usage["output_tokens"],
        usage["cache_write_tokens"],
        usage["cache_read_tokens"],
    ]
    assert use_case in row


def test_offline_chat_prints_no_claude_line_and_usage_lists_zero_calls() -> None:
    use_case, script = TEAMS["prompt_engineering"]
    result = CliRunner().invoke(cli, ["chat", use_case], input="\n".join([*typed(script), ""]))
    assert result.exit_code == 0 and "Claude:" not in result.output
    listing = CliRunner().invoke(cli, ["memo", "list", "--usage"])
    row = listing.output.splitlines()[1]
    assert row.split()[4:9] == ["0"] * 5


# --- confirmations and the conversation after the memo (--jsonl) ---------------------------


def test_a_reading_to_confirm_is_a_question_line_with_the_same_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_case, script = TEAMS["rag"]
    words = "it invents HR rules that do not exist, and it's slow"
    user = run_jsonl(monkeypatch, {**script, "problems": [words, ""]}, use_case)
    lines = [q for q in user.questions() if q["id"] == "problems"]
    assert [q.get("confirm", False) for q in lines] == [False, True]
    confirm = lines[1]
    assert confirm["read"] == ["hallucination", "too_slow"]
    assert confirm["values"] == {"problems": ["hallucination", "too_slow"]}
    assert confirm["read_text"] == "made-up facts (hallucination), too slow"
    assert confirm["options"] == lines[0]["options"]
    assert user.sent[user.sent.index(words) + 1] == ""  # an empty line kept it
    assert user.lines[-1]["type"] == "memo"


def test_anything_but_yes_at_a_confirmation_is_a_new_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_case, script = TEAMS["rag"]
    user = run_jsonl(
        monkeypatch, {**script, "problems": ["it invents HR rules and it's slow", "2"]}, use_case
    )
    assessment = user.lines[-1]["assessment"]
    assert user.lines[-1]["type"] == "memo"
    assert Interviews().profile(_jsonl_id(user)).problems == ["hallucination"]  # type: ignore[union-attr]
    assert assessment["approach"] == "rag"


def _jsonl_id(user: ScriptedUser) -> str:
    return str(next(line["interview_id"] for line in user.lines if line.get("interview_id")))


class AfterMemo(ScriptedUser):
    """A script that, when no question is waiting (the memo is out, or a finished interview
    was resumed), sends ``after`` line by line, answering any question that brings with
    ``script``; then ends its input."""

    def __init__(self, script: dict[str, str | list[str]], after: list[str]) -> None:
        super().__init__(script)
        self.after = list(after)

    def answer(self) -> str:
        assert len(self.sent) < 80, "the interview does not end"
        kinds = [line["type"] for line in self.lines]
        last_memo = max((i for i, k in enumerate(kinds) if k == "memo"), default=-1)
        last_question = max((i for i, k in enumerate(kinds) if k == "question"), default=-1)
        if last_question > last_memo:
            return super().answer()
        if not self.after:
            return ""  # end of input
        text = self.after.pop(0)
        self.sent.append(text)
        return text + "\n"


def test_after_the_memo_a_change_asks_what_became_relevant_and_ends_with_a_new_memo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_case, script = TEAMS["fine_tuning"]
    user = AfterMemo({**script, "cleared": "not yet"}, ["change cleared to yes"])
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", user.stdout)
        patch.setattr(sys, "stdin", user.stdin)
        cli.main(["chat", "--jsonl", "--name", "dana", use_case], standalone_mode=False)
    kinds = [line["type"] for line in user.lines]
    first, second = [i for i, k in enumerate(kinds) if k == "memo"]
    asked_between = [x["id"] for x in user.lines[first:second] if x["type"] == "question"]
    assert "usage" in asked_between and "owner" in asked_between
    assert "usage" not in [x["id"] for x in user.lines[:first] if x["type"] == "question"]
    assert user.lines[second]["assessment"]["approach"] == "fine_tuning"
    assert kinds[-1] == "memo"  # the end of input ended the session (exit 0)


def test_resuming_a_finished_interview_takes_changes_and_questions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_case, script = TEAMS["rag"]
    first = run_jsonl(monkeypatch, dict(script), use_case)
    iid = _jsonl_id(first)
    user = AfterMemo({}, ["what is RAG?", "change volume to 50k"])
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", user.stdout)
        patch.setattr(sys, "stdin", user.stdin)
        cli.main(["chat", "--jsonl", "--resume", iid], standalone_mode=False)
    replies = [x for x in user.lines if x["type"] == "reply" and x.get("citations")]
    assert replies  # the question was answered from the cards
    memos = [x for x in user.lines if x["type"] == "memo"]
    assert len(memos) == 1 and user.lines[-1] == memos[0]  # the revision's memo line, last
    assert Interviews().profile(iid).monthly_volume == 50_000  # type: ignore[union-attr]
    assert Store().latest_memo(iid).version == 2  # type: ignore[union-attr]
