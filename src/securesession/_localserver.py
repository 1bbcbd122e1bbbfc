"""A small threaded HTTPS server on 127.0.0.1, from the standard library only.

Used by ``securesession demo`` (which must run with nothing but the runtime
dependencies) and by the test suite and benchmarks. HTTP/1.1 keep-alive; the TLS
handshake runs in the connection's own thread, so a slow or hostile client never
blocks the accept loop; each handshake is counted and the client certificate, if
any, is handed to the handler.
"""

from __future__ import annotations

import contextlib
import http.server
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Handler", "LocalHTTPSServer", "Reply", "common_name", "serve"]

Reply = tuple[int, dict[str, str], bytes]
# handler(path, the client certificate as getpeercert() gives it or None) -> reply
Handler = Callable[[str, "dict[str, Any] | None"], Reply]


def common_name(cert: dict[str, Any] | None) -> str:
    """The commonName of a `getpeercert()` dict, or '' when there is none."""
    if not cert:
        return ""
    return next((v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"), "")


def _default_handler(path: str, client: dict[str, Any] | None) -> Reply:
    return 200, {"Content-Type": "text/plain"}, f"ok {common_name(client)}".strip().encode()


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's
    # algorithm and the client's delayed ACK stall every keep-alive response ~40 ms.
    disable_nagle_algorithm = True
    server: LocalHTTPSServer

    def do_GET(self) -> None:
        sock = self.connection
        client = sock.getpeercert() if isinstance(sock, ssl.SSLSocket) else None
        self.server.requests.append((self.path, common_name(client)))
        status, headers, body = self.server.handler(self.path, client or None)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:  # the client asked for Connection: close; say we comply,
            self.send_header("Connection", "close")  # or it may reuse a socket we close
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # stdlib's name
        pass  # quiet: the demo and the tests print what matters themselves


class LocalHTTPSServer(http.server.ThreadingHTTPServer):
    """HTTPS on 127.0.0.1 with ``context``; `connections` counts completed handshakes."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, context: ssl.SSLContext, handler: Handler = _default_handler) -> None:
        super().__init__(("127.0.0.1", 0), _RequestHandler)
        self.context = context
        self.handler = handler
        self.connections = 0
        self.requests: list[tuple[str, str]] = []  # (path, client CN) of each request
        self.close_anonymous = False  # hang up, without an alert, on clients with no cert
        self.active = 0  # TLS connections open right now
        self.max_active = 0  # the most that were ever open at once
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.server_address[1])

    def url_for(self, path: str = "/") -> str:
        """An https URL for ``path`` on this server."""
        return f"https://127.0.0.1:{self.port}{path}"

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Handshake in the connection's thread, then serve it."""
        request.settimeout(30)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that rejected us, or a port scan: nothing to serve
        with self._lock:
            self.connections += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            with tls:
                if self.close_anonymous and not tls.getpeercert():
                    return  # closing without close_notify: the client just sees the end
                self.RequestHandlerClass(tls, client_address, self)  # type: ignore[arg-type]  # typeshed: Self
        finally:
            with self._lock:
                self.active -= 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that go away mid-request."""


@contextlib.contextmanager
def serve(
    context: ssl.SSLContext, handler: Handler = _default_handler
) -> Iterator[LocalHTTPSServer]:
    """Run a `LocalHTTPSServer` in a thread for the duration of the block."""
    server = LocalHTTPSServer(context, handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
