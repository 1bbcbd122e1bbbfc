"""A minimal CONNECT proxy on 127.0.0.1, optionally spoken to over TLS (an HTTPS proxy).

Only what the proxy tests need: it records each CONNECT target, refuses anything but
loopback targets, relays bytes until either side closes or stays idle, and stops
with the test.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator

_IDLE_TIMEOUT = 60.0  # churn tests keep a thousand tunnels open for a while


class _Handler(socketserver.BaseRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        client: socket.socket = self.request
        # Small relayed writes would otherwise wait for delayed ACKs (~40 ms each).
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.server.tls is None:
            self._serve(client)
            return
        # wrap_socket detaches the raw socket socketserver will close: close ours.
        with self.server.tls.wrap_socket(client, server_side=True) as tls_client:
            self.server.client_certs.append(tls_client.getpeercert() or None)
            self._serve(tls_client)

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(_IDLE_TIMEOUT)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        host, _, port = target.rpartition(":")
        if method != "CONNECT" or host not in ("127.0.0.1", "localhost"):
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        self.server.targets.append(target)
        with socket.create_connection(("127.0.0.1", int(port)), timeout=_IDLE_TIMEOUT) as upstream:
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._relay(client, upstream)

    @staticmethod
    def _relay(client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        # A selector, not select(): churn tests hold descriptors numbered past 1024.
        with selectors.DefaultSelector() as selector:
            for sock in peers:
                selector.register(sock, selectors.EVENT_READ)
            while True:
                ready = selector.select(_IDLE_TIMEOUT)
                if not ready:
                    return
                for key, _ in ready:
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
                    # TLS may hold decrypted bytes that the selector cannot see.
                    while isinstance(sock, ssl.SSLSocket) and sock.pending():
                        peers[sock].sendall(sock.recv(sock.pending()))


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.tls = tls
        self.targets: list[str] = []
        self.client_certs: list[dict[str, object] | None] = []  # what each client presented

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that rejects our certificate is what some tests are about.
        pass

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"


@contextlib.contextmanager
def connect_proxy(tls: ssl.SSLContext | None = None) -> Iterator[_ProxyServer]:
    """Run a CONNECT proxy for the duration of the block."""
    server = _ProxyServer(tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
