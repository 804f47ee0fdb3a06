"""The chat pipeline: the model answers through the query tools, within a budget; else the keyword path.

Knows nothing of HTTP. With a key, the tool loop (`app/chat/loop.py`) asks Claude, runs the tools it
asks for and returns its answer, whose figures are then checked against the tool results
(`app/chat/grounding.py`). Without a key, or when the API gives no usable answer in any way, the answer
comes from the keyword path (`app/chat/fallback.py`) over the same tools, flagged `degraded`, within the
same time budget. Usage and cost add up over every model turn, including a cut or abandoned one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from app.bi import queries
from app.bi.tariff import SPAIN
from app.chat import conversations, fallback, grounding, periods, stats, tools
from app.chat.client import ClaudeClient, ClaudeFailure, Usage
from app.chat.loop import ToolCall, ToolLoop
from app.chat.prompt import Turn, build_request, estimate_tokens, today_block
from app.db import Database
from app.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Timings:
    """Where an answer's time went, in milliseconds."""

    history_ms: float = 0.0
    prompt_ms: float = 0.0
    model_ms: float = 0.0
    tools_ms: float = 0.0
    grounding_ms: float = 0.0
    fallback_ms: float = 0.0
    stats_ms: float = 0.0
    total_ms: float = 0.0

    @property
    def overhead_ms(self) -> float:
        """The pipeline's own time: everything but waiting for the model."""
        return self.total_ms - self.model_ms


@dataclass
class ChatResult:
    answer: str
    conversation_id: str
    categories: list[str]
    context_tokens: int
    usage: Usage
    cost_eur: float
    latency_ms: float
    model: str
    degraded: bool
    failure: str | None
    grounded: bool | None = None
    unsupported_figures: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    model_turns: int = 0
    timings: Timings = field(default_factory=Timings)


@dataclass
class Prepared:
    question: str
    identity: str
    conversation_id: str
    history: list[Turn]
    previous_topics: list[str]
    now: datetime
    started: float
    deadline: float
    timings: Timings


#: Tasks recording aborted answers, kept referenced until they finish.
_BACKGROUND: set[asyncio.Task[ChatResult]] = set()

StreamItem = tuple[Literal["meta", "delta", "tool", "done"], object]


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


class ChatService:
    def __init__(self, db: Database, settings: Settings, client: ClaudeClient) -> None:
        self.db = db
        self.settings = settings
        self.client = client

    # --- before the model ---------------------------------------------------------------------------------
    async def prepare(
        self, question: str, conversation_id: str | None, identity: str, now: datetime | None = None
    ) -> Prepared:
        """The conversation (a new one unless `identity` owns the id sent) and its recent turns."""
        started = time.perf_counter()
        timings = Timings()
        conversation = uuid.uuid4().hex
        history: list[Turn] = []
        previous_topics: list[str] = []
        if conversation_id:
            try:
                if await conversations.owner(self.db, conversation_id) == identity:
                    conversation = conversation_id
                    turns = await conversations.recent_turns(
                        self.db, conversation, self.settings.chat_conversation_turns
                    )
                    history = [turn for turn, _ in turns]
                    previous_topics = turns[-1][1] if turns else []
            except Exception:  # answer without the earlier turns rather than fail
                log.exception("chat: could not read the conversation's earlier turns")
        timings.history_ms = _ms(started)
        return Prepared(
            question=question,
            identity=identity,
            conversation_id=conversation,
            history=history,
            previous_topics=previous_topics,
            now=(now or datetime.now(UTC)).astimezone(UTC),
            started=started,
            deadline=started + self.settings.chat_answer_budget_seconds,
            timings=timings,
        )

    def _remaining(self, prepared: Prepared) -> float:
        return max(0.05, prepared.deadline - time.perf_counter())

    def _loop(self, prepared: Prepared, stream: bool, emit: Any = None) -> ToolLoop:
        mark = time.perf_counter()
        request = build_request(
            self.settings, prepared.now, prepared.question, prepared.history, tools.definitions()
        )
        prepared.timings.prompt_ms = _ms(mark)
        context = tools.ToolContext(self.db, self.settings, prepared.now)
        loop = ToolLoop(self.client, context, request, self.settings.chat_max_turns, stream=stream)
        if emit is not None:
            loop.emit = emit
        return loop

    # --- answers ------------------------------------------------------------------------------------------
    async def ask(
        self, question: str, conversation_id: str | None, identity: str, now: datetime | None = None
    ) -> ChatResult:
        prepared = await self.prepare(question, conversation_id, identity, now)
        loop = self._loop(prepared, stream=False)
        answer: str | None = None
        failure: str | None = None
        mark = time.perf_counter()
        try:
            if not self.client.key_configured:
                raise ClaudeFailure("no_key")
            async with asyncio.timeout(self._remaining(prepared)):
                answer = await loop.run()
        except (ClaudeFailure, TimeoutError) as error:
            failure = error.kind if isinstance(error, ClaudeFailure) else "timeout"
            if failure != "no_key":
                log.warning("chat: model gave no answer (%s): %s", failure, error)
        except Exception:  # never a 5xx: the keyword path answers
            failure = "api_error"
            log.exception("chat: the tool loop failed")
        prepared.timings.model_ms = min(_ms(mark), loop.model_ms) if loop.turns else 0.0
        prepared.timings.tools_ms = loop.tools_ms
        if answer is None:
            answer, topics = await self._fallback(prepared, failure or "api_error", loop)
        else:
            topics = fallback.topics_of(question) or prepared.previous_topics
        return await self._finish(prepared, answer, loop, failure, topics, streamed=False)

    async def stream(
        self, question: str, conversation_id: str | None, identity: str, now: datetime | None = None
    ) -> AsyncIterator[StreamItem]:
        """("meta", {...}); ("tool", {name, status}) as tools run; ("delta", text); ("done", ChatResult)."""
        prepared = await self.prepare(question, conversation_id, identity, now)
        yield ("meta", {"conversation_id": prepared.conversation_id, "model": self.client.model})
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        loop = self._loop(prepared, stream=True, emit=lambda kind, payload: queue.put_nowait((kind, payload)))
        pieces: list[str] = []
        done = False
        try:
            answer: str | None = None
            failure: str | None = None
            mark = time.perf_counter()
            if not self.client.key_configured:
                failure = "no_key"
            else:
                producer = asyncio.create_task(self._produce(loop, queue))
                try:
                    while True:
                        try:
                            kind, payload = await asyncio.wait_for(queue.get(), self._remaining(prepared))
                        except TimeoutError:
                            failure = "timeout"
                            break
                        if kind == "failure":
                            failure = payload.kind
                            log.warning(
                                "chat: stream gave no complete answer (%s): %s", payload.kind, payload
                            )
                            break
                        if kind == "answer":
                            answer = payload
                            break
                        if kind == "delta":
                            pieces.append(payload)
                        yield (kind, payload)  # type: ignore[misc]
                finally:
                    producer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await producer
            prepared.timings.model_ms = min(_ms(mark), loop.model_ms) if loop.turns else 0.0
            prepared.timings.tools_ms = loop.tools_ms
            if answer is not None:
                topics = fallback.topics_of(question) or prepared.previous_topics
            else:
                summary, topics = await self._fallback(prepared, failure or "api_error", loop)
                cut = fallback.words(fallback.language_of(question))["cut"]
                tail = f"\n\n{cut}\n{summary}" if pieces else summary
                yield ("delta", tail)
                answer = "".join(pieces) + tail
            done = True
            result = await self._finish(prepared, answer, loop, failure, topics, streamed=True)
            yield ("done", result)
        finally:
            if not done:  # the client went away: what the model used is still recorded
                self._record_aborted(prepared, "".join(pieces), loop)

    def _record_aborted(self, prepared: Prepared, text: str, loop: ToolLoop) -> None:
        """Record an answer whose client left mid-stream, in a task of its own (the request's is ending)."""
        task = asyncio.create_task(self._finish(prepared, text, loop, "aborted", [], streamed=True))
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)

    async def _produce(self, loop: ToolLoop, queue: asyncio.Queue[tuple[str, Any]]) -> None:
        try:
            queue.put_nowait(("answer", await loop.run()))
        except ClaudeFailure as failure:
            queue.put_nowait(("failure", failure))
        except Exception as error:  # never let a stream error escape as a 5xx
            queue.put_nowait(("failure", ClaudeFailure("api_error", f"{type(error).__name__}: {error}")))

    async def _fallback(self, prepared: Prepared, failure: str, loop: ToolLoop) -> tuple[str, list[str]]:
        """The keyword path's answer and its topics; its tool calls join the loop's, its time is apart."""
        mark = time.perf_counter()
        language = fallback.language_of(prepared.question)
        today = prepared.now.astimezone(SPAIN).date()
        try:
            products = await queries.product_names(self.db)
        except Exception:  # the plan does without product names; the tools report the database
            products = []
        try:
            chosen = fallback.plan(
                prepared.question,
                prepared.previous_topics,
                today,
                self.settings.chat_batch_hours,
                prepared.now,
                products,
            )
        except Exception:  # a question the parser trips on still gets the current figures
            log.exception("chat: the keyword path could not plan an answer")
            chosen = fallback.Plan(["status"], periods.Parsed(), [("get_status", {})])
        context = tools.ToolContext(self.db, self.settings, prepared.now)
        try:
            async with asyncio.timeout(max(0.5, prepared.deadline - time.perf_counter())):
                outcomes = await tools.call_many(context, chosen.calls)
        except TimeoutError:
            outcomes = [tools.ToolError("the factory database did not answer in time")] * len(chosen.calls)
        for (name, arguments), outcome in zip(chosen.calls, outcomes, strict=True):
            if isinstance(outcome, tools.ToolError):
                loop.calls.append(ToolCall(name, arguments, None, str(outcome), 0.0, by_model=False))
            else:
                loop.calls.append(ToolCall(name, arguments, outcome, None, 0.0, by_model=False))
        text = fallback.answer(
            failure,
            language,
            [(name, outcome) for (name, _), outcome in zip(chosen.calls, outcomes, strict=True)],
        )
        prepared.timings.fallback_ms = _ms(mark)
        return text, chosen.topics

    def _grounding(self, prepared: Prepared, answer: str, loop: ToolLoop) -> grounding.Grounding:
        evidence = grounding.Evidence()
        for call in loop.calls:
            evidence.add(call.result)
            evidence.add(call.input)
        evidence.add(prepared.question)
        evidence.add(today_block(self.settings, prepared.now))
        for turn in prepared.history:
            evidence.add(turn.answer)
        return grounding.check(answer, evidence)

    async def _finish(
        self,
        prepared: Prepared,
        answer: str,
        loop: ToolLoop,
        failure: str | None,
        topics: list[str],
        *,
        streamed: bool,
    ) -> ChatResult:
        usage = loop.usage
        model = loop.model or self.client.model
        cost = stats.cost_eur(usage, model, self.settings.chat_model_prices, self.settings.chat_usd_to_eur)
        degraded = failure is not None
        mark = time.perf_counter()
        checked = None if degraded else self._grounding(prepared, answer, loop)
        prepared.timings.grounding_ms = _ms(mark)
        tool_text = "".join(json.dumps(call.result or call.error) for call in loop.calls)
        latency_ms = _ms(prepared.started)
        result = ChatResult(
            answer=answer,
            conversation_id=prepared.conversation_id,
            categories=[call.name for call in loop.calls] or topics,
            context_tokens=estimate_tokens(tool_text),
            usage=usage,
            cost_eur=round(cost, 8),
            latency_ms=round(latency_ms, 1),
            model=model,
            degraded=degraded,
            failure=failure,
            grounded=checked.grounded if checked else None,
            unsupported_figures=checked.unsupported_figures if checked else [],
            tool_calls=loop.calls,
            model_turns=loop.turns,
            timings=prepared.timings,
        )
        mark = time.perf_counter()
        record = stats.QuestionRecord(
            asked_at=datetime.now(UTC),
            identity=prepared.identity,
            conversation_id=prepared.conversation_id,
            model=model,
            categories=result.categories,
            streamed=streamed,
            api_called=failure != "no_key",
            degraded=degraded,
            failure=failure,
            usage=usage,
            context_tokens=result.context_tokens,
            cost_eur=cost,
            latency_ms=latency_ms,
            tool_calls=sum(call.by_model for call in loop.calls),
            grounded=result.grounded,
            unsupported_figures=len(result.unsupported_figures) if checked else None,
        )
        keep_turn = failure != "aborted"  # an answer nobody received is no turn of the conversation

        async def write(conn: AsyncConnection) -> None:  # one transaction: one write per answer
            await stats.record_in(conn, record)
            if keep_turn:
                await conversations.add_turn_in(
                    conn,
                    prepared.conversation_id,
                    prepared.identity,
                    prepared.question,
                    answer,
                    topics,
                    self.settings.chat_conversation_turns,
                )

        try:
            # While a CSV import holds the write lock, the stats and the turn land once it is released.
            await self.db.write_eventually(write, "chat stats")
        except Exception:  # the user still gets the answer; the failure is logged
            log.exception("chat: could not record the answer's stats")
        prepared.timings.stats_ms = _ms(mark)
        prepared.timings.total_ms = _ms(prepared.started)
        return result
