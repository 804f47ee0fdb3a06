"""`make eval-chat`: does the assistant get the figure that answers each question?

    python -m tests.eval.chat [--out build/eval] [--model]

Loads the sample data into a fresh database at a fixed moment (tests/eval/questions.py), computes each
question's expected figure with SQL, and scores:

- `tools`: a scripted model (the Messages API stand-in replaying each case's tool calls) asks the real
  tool loop; a case passes when the tool results it got back hold the expected figure;
- `fallback`: the keyword path (no key) answers; a case passes when its answer states the expected
  figure (as written: rounding and "0,0712"/"0.0712" allowed) in the question's language;
- `model` (only with ANTHROPIC_API_KEY set, or `--model`): the real model answers through the tools; a
  case passes when its answer states the figure, and its grounding is reported.

Writes `report.json` and `report.md` under `--out` and prints the summary. Exit status 1 when the tool
path scores under 90 % or the fallback under 80 %.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.bi.sample_data import load_sample_data
from app.chat import fallback, grounding
from app.chat.client import ClaudeClient
from app.chat.service import ChatResult, ChatService
from app.db import Database
from app.settings import Settings
from tests.eval.questions import CASES, NOW, Case
from tests.standins.claude import StandinServer, StandinState

TOOLS_TARGET = 0.90
FALLBACK_TARGET = 0.80


def close(value: float, expected: float, decimals: int) -> bool:
    """`value`, written with `decimals` decimals, is `expected` rounded (half a unit of its last digit)."""
    return abs(abs(value) - abs(expected)) <= 0.5 * 10 ** (-decimals) + 1e-9 * abs(expected)


def _decimals(value: float) -> int:
    text = repr(float(value))
    return 0 if "e" in text or text.endswith(".0") else len(text.split(".")[1])


def figure_in_results(results: list[Any], expected: float) -> bool:
    """Some number of the tool results is the expected figure, as precisely as the result writes it."""
    evidence = grounding.Evidence()
    for result in results:
        evidence.add(result)
    return any(close(value, expected, _decimals(value)) for value in evidence.values)


def figure_in_text(text: str, expected: float) -> bool:
    return any(
        close(reading.value, expected, reading.decimals)
        for _, readings in grounding.figures_in(text)
        for reading in readings
    )


@dataclass
class Outcome:
    case: str
    question: str
    language: str
    expected: float
    passed: bool
    detail: str = ""
    grounded: bool | None = None


@dataclass
class Score:
    path: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return sum(o.passed for o in self.outcomes) / len(self.outcomes) if self.outcomes else 0.0

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "path": self.path,
            "questions": len(self.outcomes),
            "passed": sum(o.passed for o in self.outcomes),
            "rate": round(self.rate, 3),
            "failed": [o.case for o in self.outcomes if not o.passed],
        }
        checked = [o.grounded for o in self.outcomes if o.grounded is not None]
        if checked:
            summary["grounded"] = sum(checked)
            summary["grounded_rate"] = round(sum(checked) / len(checked), 3)
        return summary


@contextmanager
def scripted_model() -> Iterator[str]:
    """The Messages API stand-in on a free port in this process; yields its URL."""
    server = StandinServer(("127.0.0.1", 0), StandinState(), quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, chat_rate_limit_requests=10_000, **values)  # type: ignore[call-arg]


async def _ask_in_order(
    service: ChatService, identity: str, on_case: Any = None
) -> dict[str, tuple[Case, ChatResult]]:
    """Every case, a follow-up right after the case it follows and in its conversation."""
    answered: dict[str, tuple[Case, ChatResult]] = {}
    by_id = {case.id: case for case in CASES}
    for case in CASES:
        conversation = None
        if case.follows:
            previous = by_id[case.follows]
            if on_case:
                await on_case(previous)
            conversation = (await service.ask(previous.question, None, identity, NOW)).conversation_id
        if on_case:
            await on_case(case)
        answered[case.id] = (case, await service.ask(case.question, conversation, identity, NOW))
    return answered


async def evaluate(model: bool) -> tuple[list[Score], dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="eval-chat-") as workdir:
        db = Database(f"sqlite+aiosqlite:///{Path(workdir) / 'eval.db'}")
        try:
            await db.migrate()
            await load_sample_data(db, 30, NOW)
            expected: dict[str, float] = {}
            async with db.connect() as conn:
                for case in CASES:
                    expected[case.id] = await case.expected(conn)
            scores = [await _tools(db, expected), await _fallback(db, expected)]
            if model:
                scores.append(await _model(db, expected))
        finally:
            await db.dispose()
    return scores, expected


async def _tools(db: Database, expected: dict[str, float]) -> Score:
    score = Score("tools")
    with scripted_model() as url:
        settings = _settings(anthropic_api_key="scripted", anthropic_base_url=url, chat_max_retries=0)
        client = ClaudeClient(settings)
        try:
            async with httpx.AsyncClient(base_url=url) as control:

                async def script(case: Case) -> None:
                    turn = {"tool_calls": [{"name": name, "input": args} for name, args in case.calls]}
                    (await control.post("/control/script", json={"turns": [turn]})).raise_for_status()

                answered = await _ask_in_order(ChatService(db, settings, client), "eval:tools", script)
        finally:
            await client.close()
    for case, result in answered.values():
        results = [call.result for call in result.tool_calls if call.result is not None]
        errors = [call.error for call in result.tool_calls if call.error]
        passed = not result.degraded and figure_in_results(results, expected[case.id])
        detail = "; ".join(errors) or (result.failure or "")
        score.outcomes.append(
            Outcome(case.id, case.question, case.language, expected[case.id], passed, detail)
        )
    return score


async def _fallback(db: Database, expected: dict[str, float]) -> Score:
    score = Score("fallback")
    settings = _settings(anthropic_api_key="")
    client = ClaudeClient(settings)
    answered = await _ask_in_order(ChatService(db, settings, client), "eval:fallback")
    for case, result in answered.values():
        in_language = fallback.language_of(case.question) == case.language and result.answer.startswith(
            fallback.words(case.language)["no_key"]
        )
        passed = in_language and figure_in_text(result.answer, expected[case.id])
        score.outcomes.append(
            Outcome(case.id, case.question, case.language, expected[case.id], passed, result.answer)
        )
    return score


async def _model(db: Database, expected: dict[str, float]) -> Score:
    score = Score("model")
    settings = Settings()
    client = ClaudeClient(settings)
    try:
        answered = await _ask_in_order(ChatService(db, settings, client), "eval:model")
    finally:
        await client.close()
    for case, result in answered.values():
        passed = not result.degraded and figure_in_text(result.answer, expected[case.id])
        detail = f"unsupported={result.unsupported_figures} {result.answer}"
        score.outcomes.append(
            Outcome(case.id, case.question, case.language, expected[case.id], passed, detail, result.grounded)
        )
    return score


def report_markdown(scores: list[Score]) -> str:
    lines = [
        "# Chat evaluation",
        "",
        "| path | questions | right figure | rate | grounded |",
        "|---|---|---|---|---|",
    ]
    for score in scores:
        s = score.summary()
        grounded = f"{s['grounded']} ({s['grounded_rate'] * 100:.1f} %)" if "grounded" in s else "—"
        lines.append(
            f"| {s['path']} | {s['questions']} | {s['passed']} | {s['rate'] * 100:.1f} % | {grounded} |"
        )
    for score in scores:
        failed = [o for o in score.outcomes if not o.passed]
        if failed:
            lines += ["", f"## {score.path}: missed", ""]
            lines += [
                f"- `{o.case}` {o.question!r}: expected {o.expected:.5g}. {o.detail[:300]!r}" for o in failed
            ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.eval.chat", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("build/eval"))
    parser.add_argument(
        "--model", action="store_true", help="also ask the real model (needs ANTHROPIC_API_KEY)"
    )
    args = parser.parse_args(argv)
    use_model = args.model or bool(os.environ.get("ANTHROPIC_API_KEY"))
    scores, expected = asyncio.run(evaluate(use_model))
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "now": NOW.isoformat(),
        "questions": len(CASES),
        "spanish": sum(c.language == "es" for c in CASES),
        "follow_ups": sum(c.follows is not None for c in CASES),
        "typos": sum("typo" in c.tags for c in CASES),
        "scores": [score.summary() for score in scores],
        "outcomes": {score.path: [asdict(o) for o in score.outcomes] for score in scores},
    }
    (args.out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    (args.out / "report.md").write_text(report_markdown(scores))
    for score in scores:
        s = score.summary()
        print(
            f"{s['path']:>8}: {s['passed']}/{s['questions']} ({s['rate'] * 100:.1f} %)  missed: {s['failed']}"
        )
    rates = {score.path: score.rate for score in scores}
    ok = rates["tools"] >= TOOLS_TARGET and rates["fallback"] >= FALLBACK_TARGET
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
