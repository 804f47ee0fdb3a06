"""Request and response bodies of the chat endpoints: the OpenAPI contract the pages and tests read."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.chat.service import ChatResult
from app.inputs import Text

MAX_QUESTION_CHARS = 2000


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    question: Text = Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        description="the question, Spanish or English (valid Unicode, at most 2000 characters)",
        examples=["¿Cuándo es más barato producir hoy?"],
    )
    conversation_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="continue a conversation: the id a previous answer returned to the same asker",
    )

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question is blank")
        return value.strip()


class Tokens(BaseModel):
    input: int = Field(description="uncached input tokens, every model turn added up")
    output: int
    cache_write: int = Field(description="input tokens written to the prompt cache")
    cache_read: int = Field(description="input tokens read from the prompt cache")


class ToolCallOut(BaseModel):
    name: str
    input: object = Field(description="the input the model (or the keyword path) gave the tool")
    error: str | None = Field(description="the error sent back to the model as is_error, if any")


class AskResponse(BaseModel):
    answer: str
    conversation_id: str = Field(description="send it back to continue; only its asker can")
    categories: list[str] = Field(description="the tools called, or the keyword path's topics")
    context_tokens: int = Field(description="estimated size of the tool results the answer was built from")
    tokens: Tokens
    cost_eur: float
    latency_ms: float
    model: str
    degraded: bool = Field(description="true: the model did not answer; the keyword path did")
    failure: str | None = Field(description="why the model did not answer (no_key, timeout, overloaded...)")
    grounded: bool | None = Field(
        description="every figure of the answer was found in a tool result; null: the model did not answer"
    )
    unsupported_figures: list[str] = Field(description="figures of the answer that no tool result supports")
    tool_calls: list[ToolCallOut] = Field(description="the tools the model called, in order")
    model_turns: int = Field(description="model calls made for this answer")

    @classmethod
    def of(cls, result: ChatResult) -> AskResponse:
        return cls(
            answer=result.answer,
            conversation_id=result.conversation_id,
            categories=result.categories,
            context_tokens=result.context_tokens,
            tokens=Tokens(
                input=result.usage.input_tokens,
                output=result.usage.output_tokens,
                cache_write=result.usage.cache_write_tokens,
                cache_read=result.usage.cache_read_tokens,
            ),
            cost_eur=result.cost_eur,
            latency_ms=result.latency_ms,
            model=result.model,
            degraded=result.degraded,
            failure=result.failure,
            grounded=result.grounded,
            unsupported_figures=result.unsupported_figures,
            tool_calls=[ToolCallOut(name=c.name, input=c.input, error=c.error) for c in result.tool_calls],
            model_turns=result.model_turns,
        )


class DayFigures(BaseModel):
    questions: int
    failures: int = Field(description="answers where the API was called and failed")
    degraded: int = Field(description="answers given without the model (failures and no key)")
    tool_calls: int = Field(description="tool calls the model made")
    grounded: int = Field(description="model answers whose every figure came from a tool result")
    ungrounded: int = Field(description="model answers with at least one unsupported figure")
    unsupported_figures: int = Field(description="figures of model answers no tool result supported")
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    cost_eur: float
    latency_ms_p50: float | None
    latency_ms_p95: float | None


class DayStats(DayFigures):
    day: str = Field(description="YYYY-MM-DD, UTC")


class StatsResponse(BaseModel):
    days: int
    since: str
    totals: DayFigures
    per_day: list[DayStats]


class HealthResponse(BaseModel):
    key_configured: bool
    model: str
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_failure_kind: str | None
