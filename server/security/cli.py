"""``quidditch users``: manage the file-realm users of a data dir, offline (like ``elasticsearch-users``).

A running server notices the changes on its next authenticated request; with ``security_enabled: auto``
a server started without users turns security on only at its next start.
"""

from __future__ import annotations

from typing import Annotated

import typer

from server.security.users import UserStore

__all__ = ["users_app"]

users_app = typer.Typer(add_completion=False, help="Manage the users of a data dir (basic authentication).")

_DataDir = Annotated[str | None, typer.Option("--data-dir", help="The server's data dir (or QUIDDITCH_DATA_DIR)")]
_Password = Annotated[
    str | None, typer.Option("--password", "-p", help="The password (asked for, without echo, when not given)")
]


def _store(data_dir: str | None) -> UserStore:
    from server.settings import load_settings

    return UserStore(load_settings({"data_dir": data_dir}).data_dir)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"ERROR: {message}", err=True)
    return typer.Exit(code=1)


def _password(given: str | None) -> str:
    if given is not None:
        return given
    password: str = typer.prompt("Enter new password", hide_input=True, confirmation_prompt="Retype new password")
    return password


def _roles(text: str) -> list[str]:
    return [r for r in text.split(",") if r.strip()]


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The user name")],
    password: _Password = None,
    roles: Annotated[str, typer.Option("--roles", "-r", help="Comma-separated roles")] = "superuser",
    data_dir: _DataDir = None,
) -> None:
    """Add a user."""
    store = _store(data_dir)
    first = not store.has_users()
    try:
        store.add(name, _password(password), _roles(roles))
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"added user [{name}]")
    if first:
        typer.echo("the first user: a server on this data dir requires authentication from its next start")


@users_app.command("passwd")
def passwd(name: Annotated[str, typer.Argument()], password: _Password = None, data_dir: _DataDir = None) -> None:
    """Change a user's password."""
    store = _store(data_dir)
    if name not in store.users():
        raise _fail(f"user [{name}] doesn't exist")
    try:
        store.passwd(name, _password(password))
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"changed the password of [{name}]")


@users_app.command("roles")
def roles(
    name: Annotated[str, typer.Argument()],
    roles: Annotated[str, typer.Option("--roles", "-r", help="Comma-separated roles (replacing the old ones)")],
    data_dir: _DataDir = None,
) -> None:
    """Set a user's roles."""
    try:
        _store(data_dir).set_roles(name, _roles(roles))
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"set the roles of [{name}]")


@users_app.command("delete")
def delete(name: Annotated[str, typer.Argument()], data_dir: _DataDir = None) -> None:
    """Delete a user."""
    try:
        _store(data_dir).delete(name)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"deleted user [{name}]")


@users_app.command("list")
def list_users(data_dir: _DataDir = None) -> None:
    """List the users and their roles."""
    users = _store(data_dir).users()
    if not users:
        typer.echo("No users found")
        return
    width = max(len(n) for n in users)
    for name in sorted(users):
        typer.echo(f"{name.ljust(width)} : {','.join(users[name].roles) or '-'}")
