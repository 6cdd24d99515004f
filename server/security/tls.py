"""HTTPS for ``quidditch serve``: the certificate and key files checked before binding, and hypercorn set up.

hypercorn cannot pass asyncio's ``ssl_shutdown_timeout``: left at its default, a client idling on a
kept-alive TLS connection (any pooled client) holds a SIGTERM for 30 s while the server waits for its
close_notify. The default is lowered to the graceful timeout, and the one error asyncio logs for each
such connection at shutdown is dropped.
"""

from __future__ import annotations

import logging
import ssl
from asyncio import constants as asyncio_constants
from typing import Any

from server.security.exposure import ExposureRefused

__all__ = ["check_tls", "serve_tls"]


def check_tls(cert: str, key: str) -> bool:
    """Whether to serve HTTPS; :class:`ExposureRefused` when only one file is given or they do not load."""
    if not cert and not key:
        return False
    if not cert or not key:
        raise ExposureRefused("--tls-cert and --tls-key go together: give both files or neither")
    try:
        # an empty password: a passphrase-protected key fails here instead of prompting on the terminal
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key, password=lambda: b"")
    except (OSError, ssl.SSLError) as exc:
        raise ExposureRefused(f"cannot load the TLS certificate [{cert}] and key [{key}]: {exc}") from None
    return True


class _QuietSslShutdown(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, TimeoutError) and "SSL shutdown timed out" in str(exc))


def serve_tls(config: Any, cert: str, key: str) -> None:
    """Make the hypercorn ``config`` serve HTTPS with these files (see the module doc)."""
    config.certfile, config.keyfile = cert, key
    asyncio_constants.SSL_SHUTDOWN_TIMEOUT = float(config.graceful_timeout)
    logging.getLogger("asyncio").addFilter(_QuietSslShutdown())
