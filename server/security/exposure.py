"""What ``quidditch serve`` checks before it binds: who could reach it, and its TLS files.

A server that answers anyone must ask who they are: binding an address that is not loopback while
security is off is refused (one line, exit status 2) unless ``--insecure`` says it is meant. A host name
counts as loopback only when every address it resolves to is one.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl

__all__ = ["ExposureRefused", "check_exposure", "check_tls", "is_loopback"]


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


def check_tls(cert: str, key: str) -> bool:
    """Whether to serve HTTPS; :class:`ExposureRefused` when only one file is given or they do not load."""
    if not cert and not key:
        return False
    if not cert or not key:
        raise ExposureRefused("--tls-cert and --tls-key go together: give both files or neither")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ExposureRefused(f"cannot load the TLS certificate [{cert}] and key [{key}]: {exc}") from None
    return True
