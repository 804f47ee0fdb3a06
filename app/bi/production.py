"""Production batches: the one validated shape every entry path uses (API, CSV import, sample data)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel, Field, model_validator

from app.bi.tables import production_batches
from app.db import Database, inserted_id, utc_now
from app.inputs import DATE_RANGE, FiniteFloat, InRangeDatetime, Text


class BatchIn(BaseModel):
    """One production batch: when it ran, what it made, how much, and the energy it used."""

    started_at: InRangeDatetime = Field(
        description=f"start, with its UTC offset (e.g. 2026-06-10T08:00:00+02:00), {DATE_RANGE}"
    )
    ended_at: InRangeDatetime = Field(
        description="end, after started_at, at most CF_PRODUCTION_BATCH_MAX_HOURS (default 72 h) later"
    )
    product: Text = Field(min_length=1, max_length=100, description="product name, e.g. 'dark 70%'")
    kg: FiniteFloat = Field(gt=0, le=1_000_000, description="kilograms produced")
    kwh: FiniteFloat = Field(ge=0, le=10_000_000, description="electricity used by the batch, kWh")

    @model_validator(mode="after")
    def _ends_after_start(self) -> BatchIn:
        if self.ended_at <= self.started_at:
            raise ValueError("ended_at must be after started_at")
        self.product = self.product.strip()
        if not self.product:
            raise ValueError("product must not be blank")
        return self

    def duration_error(self, max_hours: float) -> str | None:
        """Why the batch is too long for `max_hours` (CF_PRODUCTION_BATCH_MAX_HOURS); None when it is not."""
        hours = (self.ended_at - self.started_at).total_seconds() / 3600
        if hours <= max_hours:
            return None
        return (
            f"a batch lasts at most {max_hours:g} h (CF_PRODUCTION_BATCH_MAX_HOURS); "
            f"this one lasts {hours:.1f} h: record it as several batches"
        )


async def insert_batches(
    db: Database, batches: Sequence[BatchIn], source: str, written_by: str
) -> tuple[list[int], int]:
    """Store batches not yet stored (same start and product) as written by `written_by` now.

    Returns (new ids, duplicates skipped); a duplicate keeps its original writer.
    """
    ids: list[int] = []
    duplicates = 0
    now = utc_now()
    async with db.begin() as conn:
        for batch in batches:
            exists = await conn.execute(
                sa.select(production_batches.c.id).where(
                    production_batches.c.started_at == batch.started_at,
                    production_batches.c.product == batch.product,
                )
            )
            if exists.first() is not None:
                duplicates += 1
                continue
            result = await conn.execute(
                production_batches.insert().values(
                    started_at=batch.started_at,
                    ended_at=batch.ended_at,
                    product=batch.product,
                    kg=batch.kg,
                    kwh=batch.kwh,
                    source=source,
                    created_at=now,
                    written_by=written_by,
                )
            )
            ids.append(inserted_id(result))
    return ids, duplicates


def overlap_hours(start: datetime, end: datetime, hour: datetime) -> float:
    """Hours of [start, end) that fall inside the hour starting at `hour` (0 to 1)."""
    lo, hi = max(start, hour), min(end, hour + timedelta(hours=1))
    return max(0.0, (hi - lo).total_seconds() / 3600)
