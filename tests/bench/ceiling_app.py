"""The app under benchmark, with one trivial JSON endpoint added in the same process as the ceiling.

    uvicorn --factory tests.bench.ceiling_app:create_bench_app

`/bench/ceiling` goes through the same server, middleware and event loop as the real endpoints but does
no work, so "endpoint latency / ceiling latency" measured in the same run is the cost of the endpoint's
own work, whatever the machine's noise.
"""

from __future__ import annotations

from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings

CEILING_PATH = "/bench/ceiling"


def create_bench_app() -> FastAPI:
    app = create_app(Settings())

    @app.get(CEILING_PATH, include_in_schema=False)
    async def ceiling() -> dict[str, str]:
        return {"status": "ok"}

    return app
