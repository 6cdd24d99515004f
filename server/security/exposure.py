"""What ``quidditch serve`` checks before it binds: who could reach it.

A server that answers anyone must ask who they are: binding an address that is not loopback while
security is off is refused (one line, exit status 2) unless ``--insecure`` says it is meant. A host name
counts as loopback only when every address it resolves to is one.
"""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["ExposureRefused", "check_exposure", "is_loopback"]


class ExposureRefused(Exception):
    """The one line ``quidditch serve`` prints before it exits without binding."""


def is_loopback(host: str) -> bool:
    text = host.strip().strip("[]")
    if text.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(text, None)
    except OSError:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses)


def check_exposure(host: str, *, security_enabled: bool, insecure: bool) -> None:
    if security_enabled or insecure or is_loopback(host):
        return
    raise ExposureRefused(
        f"refusing to bind [{host}] without authentication: add a user (quidditch users add NAME) "
        "or pass --insecure to serve anyone who can reach it"
    )
