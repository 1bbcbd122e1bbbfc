"""The keep-alive HTTPS test server: securesession's own local server plus a redirect route.

pytest-httpserver (werkzeug) closes every connection after one response, so it
cannot show whether a client reuses a pooled connection; this server keeps
connections open (HTTP/1.1), counts TLS handshakes in ``connections`` and records
``(path, client CN)`` of each request. It answers 'ok [client CN]', or a 302 for
/redirect/<quoted URL>.
"""

from __future__ import annotations

import contextlib
import ssl
import urllib.parse
from collections.abc import Iterator
from typing import Any

from securesession._localserver import LocalHTTPSServer, Reply, common_name, serve

KeepAliveHTTPSServer = LocalHTTPSServer


def _routes(path: str, client: dict[str, Any] | None) -> Reply:
    if path.startswith("/redirect/"):
        return 302, {"Location": urllib.parse.unquote(path[len("/redirect/") :])}, b""
    return 200, {"Content-Type": "text/plain"}, f"ok {common_name(client)}".strip().encode()


@contextlib.contextmanager
def keepalive_server(context: ssl.SSLContext) -> Iterator[LocalHTTPSServer]:
    """Run a keep-alive test server for the duration of the block."""
    with serve(context, _routes) as server:
        yield server
