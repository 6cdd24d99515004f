"""Security as Elasticsearch has it: basic authentication against file-realm users, API keys,
``GET /_security/_authenticate``, ES's 401s, and the checks ``quidditch serve`` makes before it binds.

- :mod:`.service`: whether security is on, and who a request is (:class:`Security`);
- :mod:`.users`, :mod:`.api_keys`: the stores in ``<data_dir>/security/``;
- :mod:`.middleware`: the ASGI middleware that authenticates every request;
- :mod:`.handlers`: the ``/_security`` routes;
- :mod:`.exposure`: refuse a non-loopback address without authentication;
- :mod:`.tls`: HTTPS for ``quidditch serve``;
- :mod:`.cli`: ``quidditch users add|list|passwd|roles|delete``.
"""

from __future__ import annotations

from server.security.errors import AuthenticationFailed, SecurityDisabled
from server.security.middleware import AuthenticationMiddleware, authentication_of
from server.security.service import Authentication, Security, security_mode

__all__ = [
    "Authentication",
    "AuthenticationFailed",
    "AuthenticationMiddleware",
    "Security",
    "SecurityDisabled",
    "authentication_of",
    "security_mode",
]
