"""The app under benchmark, with one trivial JSON endpoint added in the same process as the ceiling.

    python -m tests.bench.ceiling_app --host 127.0.0.1 --port 8000

`/bench/ceiling` goes through the same server, middleware and event loop as the real endpoints but does
no work, so "endpoint latency / ceiling latency" measured in the same run is the cost of the endpoint's
own work, whatever the machine's noise. The server is started exactly as `python -m app` starts it (one
uvicorn worker, no proxy headers, the app's own logging), so the figures are those of the real thing.
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings

CEILING_PATH = "/bench/ceiling"


def create_bench_app(settings: Settings | None = None) -> FastAPI:
    app = create_app(settings or Settings())

    @app.get(CEILING_PATH, include_in_schema=False)
    async def ceiling() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: list[str] | None = None) -> None:
    settings = Settings()
    parser = argparse.ArgumentParser(prog="python -m tests.bench.ceiling_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.port)
    args = parser.parse_args(argv)
    uvicorn.run(
        create_bench_app(settings),
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        log_config=None,
    )


if __name__ == "__main__":
    main()
