"""`python -m app [--host H] [--port P]`: serve the app with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from app.main import create_app
from app.settings import Settings


def main(argv: list[str] | None = None) -> None:
    settings = Settings()
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    args = parser.parse_args(argv)
    # The direct peer decides whose Tailscale-User-Login header is believed (app/identity.py): never
    # let X-Forwarded-For rewrite it. (Under another launcher the app still refuses to trust a request
    # carrying a forwarding header, so this is a second line, not the only one.)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        log_config=None,  # keep the app's structured logs (app/logging.py) for uvicorn's loggers too
    )


if __name__ == "__main__":
    main()
