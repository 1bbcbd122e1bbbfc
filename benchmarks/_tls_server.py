"""A threaded keep-alive HTTPS server for benchmarks, run in its own process.

Usage: python _tls_server.py CERT_CHAIN_PEM KEY_PEM
Prints the port it listens on (127.0.0.1) on the first line of stdout, then serves
until its stdin closes. A request with ``Connection: close`` closes its connection,
which is how the benchmarks force new connections.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import sys
import threading

_BODY = b"ok"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(_BODY)))
        self.end_headers()
        self.wfile.write(_BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context

    def finish_request(self, request, client_address):  # type: ignore[no-untyped-def]
        request.settimeout(30)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with tls:
            self.RequestHandlerClass(tls, client_address, self)

    def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
        pass


def main() -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    server = _Server(context)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()  # the parent closes our stdin to stop us
    server.shutdown()
    server.server_close()
    socket.setdefaulttimeout(None)


if __name__ == "__main__":
    main()
