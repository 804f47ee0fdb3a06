"""The chat pipeline: retrieve the figures, build the prompt, ask Claude within the budget, record it.

Knows nothing of HTTP. When there is no key, or the API fails in any way, the answer is a plain summary
of the retrieved figures, flagged `degraded`, delivered within the same time budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from app.chat import conversations, stats
from app.chat.client import ClaudeClient, ClaudeFailure, Completion, Usage
from app.chat.facts import Section
from app.chat.prompt import PromptRequest, Turn, build_request
from app.chat.retrieval import Context, build_context, estimate_tokens, match_categories, tokenize
from app.db import Database
from app.settings import Settings

log = logging.getLogger(__name__)

_SPANISH = frozenset(
    {
        "que", "cual", "cuales", "cuando", "como", "donde", "cuanto", "cuanta", "el", "la", "los", "las",
        "del", "hoy", "precio", "precios", "mejor", "es", "esta", "hay", "para", "por", "produccion",
        "ahorro", "tiempo", "temperatura", "alertas", "manana", "dia", "semana", "hora", "horas",
    }
)  # fmt: skip
_ENGLISH = frozenset(
    {
        "what", "which", "when", "how", "where", "much", "the", "is", "are", "today", "price", "prices",
        "best", "of", "for", "should", "production", "savings", "weather", "temperature", "alerts",
        "tomorrow", "day", "week", "hour", "hours",
    }
)  # fmt: skip

_REASONS = {
    "es": {
        "no_key": "No hay clave de la API de Claude configurada",
        "default": "Claude no está disponible ahora mismo ({kind})",
        "intro": "Estas son las cifras de la base de datos de la fábrica:",
        "cut": "[respuesta interrumpida]",
    },
    "en": {
        "no_key": "No Claude API key is configured",
        "default": "Claude is not available right now ({kind})",
        "intro": "These are the figures from the factory database:",
        "cut": "[answer interrupted]",
    },
}


def language_of(question: str) -> Literal["es", "en"]:
    tokens = tokenize(question)
    spanish = sum(token in _SPANISH for token in tokens)
    english = sum(token in _ENGLISH for token in tokens)
    return "es" if spanish > english else "en"


def fallback_answer(context: Context, failure: str, language: Literal["es", "en"]) -> str:
    """The retrieved figures as a plain summary, saying why the model did not answer."""
    words = _REASONS[language]
    reason = words["no_key"] if failure == "no_key" else words["default"].format(kind=failure)
    return "\n".join([f"{reason}. {words['intro']}", *context.figure_lines()])


def unavailable_context(question: str) -> Context:
    """The context when the database cannot be read: no figures, and a line saying so."""
    section = Section("overview", "Factory data", ["the factory database could not be read just now"])
    text = f"## {section.title}\n- {section.lines[0]}"
    return Context(match_categories(question) or ["overview"], [section], text, estimate_tokens(text))


@dataclass
class Timings:
    """Where an answer's time went, in milliseconds."""

    retrieval_ms: float = 0.0
    history_ms: float = 0.0
    prompt_ms: float = 0.0
    model_ms: float = 0.0
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
    context_truncated: bool
    usage: Usage
    cost_eur: float
    latency_ms: float
    model: str
    degraded: bool
    failure: str | None
    timings: Timings = field(default_factory=Timings)


@dataclass
class Prepared:
    question: str
    conversation_id: str
    context: Context
    request: PromptRequest
    started: float
    deadline: float
    timings: Timings


StreamItem = tuple[Literal["meta", "delta", "done"], object]


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


class ChatService:
    def __init__(self, db: Database, settings: Settings, client: ClaudeClient) -> None:
        self.db = db
        self.settings = settings
        self.client = client

    async def prepare(self, question: str, conversation_id: str | None) -> Prepared:
        """Retrieval, history and prompt: everything before the model is asked."""
        started = time.perf_counter()
        timings = Timings()
        mark = time.perf_counter()
        try:
            context = await build_context(self.db, self.settings, question)
        except Exception:  # the answer says the figures are unavailable rather than failing
            log.exception("chat: could not read the factory data")
            context = unavailable_context(question)
        timings.retrieval_ms = _ms(mark)
        conversation = conversation_id or uuid.uuid4().hex
        mark = time.perf_counter()
        history: list[Turn] = []
        if conversation_id:
            try:
                history = await conversations.recent_turns(
                    self.db, conversation, self.settings.chat_conversation_turns
                )
            except Exception:  # answer without the earlier turns rather than fail
                log.exception("chat: could not read the conversation's earlier turns")
        timings.history_ms = _ms(mark)
        mark = time.perf_counter()
        request = build_request(context.text, question, history, self.settings.chat_cache_min_prefix_tokens)
        timings.prompt_ms = _ms(mark)
        return Prepared(
            question=question,
            conversation_id=conversation,
            context=context,
            request=request,
            started=started,
            deadline=started + self.settings.chat_answer_budget_seconds,
            timings=timings,
        )

    def _remaining(self, prepared: Prepared) -> float:
        return max(0.05, prepared.deadline - time.perf_counter())

    async def ask(self, question: str, conversation_id: str | None, identity: str) -> ChatResult:
        prepared = await self.prepare(question, conversation_id)
        mark = time.perf_counter()
        completion: Completion | None = None
        failure: str | None = None
        try:
            if not self.client.key_configured:
                raise ClaudeFailure("no_key")
            async with asyncio.timeout(self._remaining(prepared)):
                completion = await self.client.complete(prepared.request)
        except (ClaudeFailure, TimeoutError) as error:
            failure = error.kind if isinstance(error, ClaudeFailure) else "timeout"
            if failure != "no_key":
                log.warning("chat: model gave no answer (%s): %s", failure, error)
        prepared.timings.model_ms = _ms(mark)
        if completion is not None:
            answer = completion.text
        else:
            answer = fallback_answer(prepared.context, failure or "api_error", language_of(question))
        return await self._finish(prepared, identity, answer, completion, failure, streamed=False)

    async def stream(
        self, question: str, conversation_id: str | None, identity: str
    ) -> AsyncIterator[StreamItem]:
        """("meta", {...}) first, then ("delta", text) pieces, then ("done", ChatResult)."""
        prepared = await self.prepare(question, conversation_id)
        yield (
            "meta",
            {
                "conversation_id": prepared.conversation_id,
                "categories": prepared.context.categories,
                "context_tokens": prepared.context.tokens,
                "model": self.client.model,
            },
        )
        mark = time.perf_counter()
        pieces: list[str] = []
        completion: Completion | None = None
        failure: str | None = None
        if not self.client.key_configured:
            failure = "no_key"
        else:
            queue: asyncio.Queue[str | Completion | ClaudeFailure] = asyncio.Queue()
            producer = asyncio.create_task(self._produce(prepared.request, queue))
            try:
                while True:
                    try:
                        item = await asyncio.wait_for(queue.get(), self._remaining(prepared))
                    except TimeoutError:
                        failure = "timeout"
                        break
                    if isinstance(item, ClaudeFailure):
                        failure = item.kind
                        log.warning("chat: stream gave no complete answer (%s): %s", item.kind, item)
                        break
                    if isinstance(item, Completion):
                        completion = item
                        break
                    pieces.append(item)
                    yield ("delta", item)
            finally:
                producer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await producer
        prepared.timings.model_ms = _ms(mark)
        if completion is not None:
            answer = completion.text
        else:
            words = _REASONS[language_of(question)]
            summary = fallback_answer(prepared.context, failure or "api_error", language_of(question))
            tail = f"\n\n{words['cut']}\n{summary}" if pieces else summary
            yield ("delta", tail)
            answer = "".join(pieces) + tail
        result = await self._finish(prepared, identity, answer, completion, failure, streamed=True)
        yield ("done", result)

    async def _produce(
        self, request: PromptRequest, queue: asyncio.Queue[str | Completion | ClaudeFailure]
    ) -> None:
        try:
            async for item in self.client.stream(request):
                queue.put_nowait(item)
        except ClaudeFailure as failure:
            queue.put_nowait(failure)
        except Exception as error:  # never let a stream error escape as a 5xx
            queue.put_nowait(ClaudeFailure("api_error", f"{type(error).__name__}: {error}"))

    async def _finish(
        self,
        prepared: Prepared,
        identity: str,
        answer: str,
        completion: Completion | None,
        failure: str | None,
        *,
        streamed: bool,
    ) -> ChatResult:
        usage = completion.usage if completion else Usage()
        model = completion.model if completion else self.client.model
        cost = stats.cost_eur(usage, model, self.settings.chat_model_prices, self.settings.chat_usd_to_eur)
        latency_ms = _ms(prepared.started)
        result = ChatResult(
            answer=answer,
            conversation_id=prepared.conversation_id,
            categories=prepared.context.categories,
            context_tokens=prepared.context.tokens,
            context_truncated=prepared.context.truncated,
            usage=usage,
            cost_eur=round(cost, 8),
            latency_ms=round(latency_ms, 1),
            model=model,
            degraded=completion is None,
            failure=failure,
            timings=prepared.timings,
        )
        mark = time.perf_counter()
        try:
            await stats.record(
                self.db,
                stats.QuestionRecord(
                    asked_at=datetime.now(UTC),
                    identity=identity,
                    conversation_id=prepared.conversation_id,
                    model=model,
                    categories=prepared.context.categories,
                    streamed=streamed,
                    api_called=failure != "no_key",
                    degraded=result.degraded,
                    failure=failure,
                    usage=usage,
                    context_tokens=prepared.context.tokens,
                    cost_eur=cost,
                    latency_ms=latency_ms,
                ),
            )
            if completion is not None:
                await conversations.add_turn(
                    self.db,
                    prepared.conversation_id,
                    prepared.question,
                    completion.text,
                    self.settings.chat_conversation_turns,
                )
        except Exception:  # the user still gets the answer; the failure is logged
            log.exception("chat: could not record the answer's stats")
        prepared.timings.stats_ms = _ms(mark)
        prepared.timings.total_ms = _ms(prepared.started)
        return result
