"""A keep-alive HTTPS server on 127.0.0.1 that counts TLS connections.

It answers 'ok [client CN]', or a 302 for /redirect/<quoted URL>.

pytest-httpserver (werkzeug) closes every connection after one response, so it
cannot show whether a client reuses a pooled connection; this server keeps
connections open (HTTP/1.1) and records each accepted TLS connection and the
client certificate it presented.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Iterator


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server: KeepAliveHTTPSServer

    def do_GET(self) -> None:
        peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        cn = ""
        if peer:
            cn = next(v for rdn in peer["subject"] for k, v in rdn if k == "commonName")
        self.server.requests.append((self.path, cn))
        if self.path.startswith("/redirect/"):  # /redirect/<quoted absolute URL>
            self.send_response(302)
            self.send_header("Location", urllib.parse.unquote(self.path[len("/redirect/") :]))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = f"ok {cn}".strip().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # stdlib name
        pass


class KeepAliveHTTPSServer(http.server.ThreadingHTTPServer):
    """Serves 'ok [client CN]' over keep-alive TLS; counts handshakes in `connections`."""

    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.connections = 0
        self.requests: list[tuple[str, str]] = []
        self.close_anonymous = False  # hang up on clients that sent no certificate
        self._lock = threading.Lock()

    def finish_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: object
    ) -> None:  # type: ignore[override]
        # Handshake in the connection's own thread, not in the accept loop.
        assert isinstance(request, socket.socket)
        request.settimeout(10)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with self._lock:
            self.connections += 1
        if self.close_anonymous and not tls.getpeercert():
            tls.close()  # no alert, no close_notify: the client just sees the connection end
            return
        with tls:
            self.RequestHandlerClass(tls, client_address, self)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that go away mid-request are part of the tests

    def url_for(self, path: str = "/") -> str:
        return f"https://127.0.0.1:{self.server_address[1]}{path}"


@contextlib.contextmanager
def keepalive_server(context: ssl.SSLContext) -> Iterator[KeepAliveHTTPSServer]:
    """Run a `KeepAliveHTTPSServer` for the duration of the block."""
    server = KeepAliveHTTPSServer(context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
