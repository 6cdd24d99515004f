"""The ``quidditch`` command."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, help="Quidditch: an Elasticsearch-compatible search server.")


@app.callback()
def _main() -> None:
    """Quidditch: an Elasticsearch-compatible search server."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port")] = None,
    data_dir: Annotated[str | None, typer.Option("--data-dir", help="Where indices live")] = None,
) -> None:
    """Run every role (master, data, coordinator) in one process."""
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    from server.app import create_app
    from server.settings import load_settings

    overrides = {k: v for k, v in {"host": host, "port": port, "data_dir": data_dir}.items() if v is not None}
    settings = load_settings(overrides)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = Config()
    config.bind = [f"{settings.host}:{settings.port}"]
    config.accesslog = None
    config.keep_alive_timeout = 75
    config.graceful_timeout = 5

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await hypercorn_serve(create_app(settings), config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    asyncio.run(run())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
