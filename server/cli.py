"""The ``quidditch`` command."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from server.security.cli import users_app
from server.settings import Settings

if TYPE_CHECKING:
    from cluster.cluster_node import ClusterNode

app = typer.Typer(add_completion=False, help="Quidditch: an Elasticsearch-compatible search server.")
app.add_typer(users_app, name="users")
shard_app = typer.Typer(add_completion=False, help="Offline tools for one shard (the server must be stopped).")
app.add_typer(shard_app, name="shard")


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
    node_name: Annotated[str | None, typer.Option("--node-name", help="This node's name")] = None,
    cluster_name: Annotated[str | None, typer.Option("--cluster-name", help="The cluster's name")] = None,
    roles: Annotated[str | None, typer.Option("--roles", help="Comma list of master, data (default: both)")] = None,
    transport_port: Annotated[int | None, typer.Option("--transport-port", help="gRPC port of this node")] = None,
    seed_hosts: Annotated[
        str | None, typer.Option("--seed-hosts", help="host:port[,...] of the master's transport")
    ] = None,
    state_store: Annotated[str | None, typer.Option("--state-store", help="local or etcd://host:port,...")] = None,
) -> None:
    """Run a node: every role in one process (the default), or one node of a cluster (--roles, --transport-port,
    --seed-hosts, --state-store)."""
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    from cluster.data_lock import DataDirLock, DataDirLocked
    from native.errors import QuidditchError
    from server.app import create_app
    from server.security.exposure import ExposureRefused, check_exposure
    from server.security.service import Security
    from server.security.tls import check_tls, serve_tls
    from server.settings import load_settings

    given = {"host": host, "port": port, "data_dir": data_dir, "security_enabled": security_enabled,
             "insecure": insecure, "tls_cert": tls_cert, "tls_key": tls_key, "node_name": node_name,
             "cluster_name": cluster_name, "roles": roles, "transport_port": transport_port,
             "seed_hosts": seed_hosts, "state_store": state_store}  # fmt: skip
    overrides = {k: v for k, v in given.items() if v is not None}
    try:
        settings = load_settings(overrides)
        topology = cluster_topology(settings)
    except ValueError as exc:
        typer.echo(f"ERROR: {exc}", err=True)
        raise typer.Exit(code=2) from None
    try:  # before binding anything: refuse to serve everyone without authentication
        enabled = Security.from_settings(settings).enabled
        check_exposure(settings.host, security_enabled=enabled, insecure=settings.insecure)
        tls = check_tls(settings.tls_cert, settings.tls_key)
    except (ExposureRefused, ValueError) as exc:
        typer.echo(f"ERROR: {exc}", err=True)
        raise typer.Exit(code=2) from None
    try:
        lock = DataDirLock(settings.data_dir).acquire()  # held until the process exits
    except DataDirLocked as exc:
        typer.echo(exc.reason, err=True)
        raise typer.Exit(1) from None
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
        node = None if topology is None else topology.node(settings)
        try:
            app = create_app(settings, node)
            await hypercorn_serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
        finally:
            if node is not None:
                await node.stop()

    try:
        asyncio.run(run())
    except QuidditchError as exc:  # e.g. an unreadable cluster state: say why, remove nothing
        typer.echo(f"error: {exc.reason}", err=True)
        raise typer.Exit(1) from None
    finally:
        lock.release()


@dataclass(frozen=True)
class Topology:
    """What a cluster node is, from the cluster settings (``None`` from ``cluster_topology``: embedded)."""

    roles: tuple[str, ...]
    seed_hosts: tuple[str, ...]
    state_store: str

    def node(self, settings: Settings) -> ClusterNode:
        from cluster.cluster_node import ClusterNode
        from server.app import cluster_config

        return ClusterNode(settings.data_dir, cluster_name=settings.cluster_name, node_name=settings.node_name,
                           config=cluster_config(settings), roles=self.roles, transport_host=settings.transport_host,
                           transport_port=settings.transport_port, seed_hosts=self.seed_hosts,
                           http_address=f"{settings.host}:{settings.port}", state_store=self.state_store)  # fmt: skip


def cluster_topology(settings: Settings) -> Topology | None:
    """The node's place in a cluster, or None when no cluster setting is given (the embedded server).
    Combinations that cannot form a cluster raise ``ValueError`` with the one line the CLI prints."""
    from cluster.cluster_node import parse_roles, parse_seed_hosts

    if not (settings.roles or settings.transport_port or settings.seed_hosts or settings.state_store):
        return None
    roles = parse_roles(settings.roles)
    seeds = tuple(parse_seed_hosts(settings.seed_hosts))
    store = settings.state_store or "local"
    if store.startswith("etcd://"):
        from cluster.etcd_store import parse_etcd_url
        from native.errors import QuidditchError

        try:
            parse_etcd_url(store)
        except QuidditchError as exc:
            raise ValueError(exc.reason) from None
        return Topology(roles, seeds, store)
    if store != "local":
        raise ValueError(f"--state-store must be local or etcd://host:port[,...], got [{store}]")
    if "master" in roles and seeds:
        raise ValueError("with --state-store local the master-eligible node is the master and takes no "
                         "--seed-hosts; give the other nodes its transport address as --seed-hosts")  # fmt: skip
    if "master" not in roles and not seeds:
        raise ValueError("a node without the master role needs --seed-hosts (the master's host:transport-port)")
    return Topology(roles, seeds, store)


@shard_app.command("remove-corrupted-data")
def remove_corrupted_data(
    data_dir: Annotated[str, typer.Option("--data-dir", help="The data dir of the stopped server")],
    index: Annotated[str, typer.Option("--index", help="The index name")],
    shard: Annotated[int, typer.Option("--shard", help="The shard number")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would be dropped; change nothing")] = False,
) -> None:
    """Drop the damaged part of a failed shard so it opens again, and say how much is lost."""
    from cluster.repair import repair_shard
    from native.errors import QuidditchError

    try:
        lines = repair_shard(data_dir, index, shard, dry_run=dry_run)
    except QuidditchError as exc:
        typer.echo(f"error: {exc.reason}", err=True)
        raise typer.Exit(1) from None
    for line in lines:
        typer.echo(line)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
