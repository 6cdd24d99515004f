"""The ``quidditch`` command."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer

from server.security.cli import users_app

app = typer.Typer(add_completion=False, help="Quidditch: an Elasticsearch-compatible search server.")
app.add_typer(users_app, name="users")


@app.callback()
def _main() -> None:
    """Quidditch: an Elasticsearch-compatible search server."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port")] = None,
    data_dir: Annotated[str | None, typer.Option("--data-dir", help="Where indices live")] = None,
    security_enabled: Annotated[str | None, typer.Option(help="Authentication: auto, true or false")] = None,
    insecure: Annotated[
        bool | None, typer.Option("--insecure", help="Allow a non-loopback address without authentication")
    ] = None,
    tls_cert: Annotated[str | None, typer.Option("--tls-cert", help="PEM certificate: serve HTTPS")] = None,
    tls_key: Annotated[str | None, typer.Option("--tls-key", help="PEM private key of --tls-cert")] = None,
) -> None:
    """Run every role (master, data, coordinator) in one process."""
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    from server.app import create_app
    from server.security.exposure import ExposureRefused, check_exposure
    from server.security.service import Security
    from server.security.tls import check_tls, serve_tls
    from server.settings import load_settings

    given = {"host": host, "port": port, "data_dir": data_dir, "security_enabled": security_enabled,
             "insecure": insecure, "tls_cert": tls_cert, "tls_key": tls_key}  # fmt: skip
    overrides = {k: v for k, v in given.items() if v is not None}
    settings = load_settings(overrides)
    try:  # before binding anything: refuse to serve everyone without authentication
        enabled = Security.from_settings(settings).enabled
        check_exposure(settings.host, security_enabled=enabled, insecure=settings.insecure)
        tls = check_tls(settings.tls_cert, settings.tls_key)
    except (ExposureRefused, ValueError) as exc:
        typer.echo(f"ERROR: {exc}", err=True)
        raise typer.Exit(code=2) from None
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = Config()
    config.bind = [f"{settings.host}:{settings.port}"]
    config.accesslog = None
    config.keep_alive_timeout = 75
    config.graceful_timeout = 5
    if tls:
        serve_tls(config, settings.tls_cert, settings.tls_key)

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
