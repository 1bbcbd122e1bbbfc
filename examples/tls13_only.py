"""TLS 1.3 only: a session with minimum_version="1.3" refuses a TLS 1.2 server, and says why.

Run: python examples/tls13_only.py   (needs the [pytest] extra for the servers)
"""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

from pytest_httpserver import HTTPServer

from securesession import ProtocolVersionError, SecureSession
from securesession.certs import LocalCA


def start(d: Path, ca: LocalCA, version: ssl.TLSVersion) -> HTTPServer:
    name = f"srv-{version.name}"
    ca.issue_server_cert("127.0.0.1").write(d / f"{name}.pem", d / f"{name}-key.pem")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(d / f"{name}.pem", d / f"{name}-key.pem")
    context.minimum_version = context.maximum_version = version
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.expect_request("/").respond_with_data(f"spoken over {version.name}")
    server.start()
    return server


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        ca = LocalCA.create()
        servers = [start(d, ca, v) for v in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2)]
        try:
            with SecureSession(ca_bundle=ca.cert_pem, minimum_version="1.3") as session:
                print("TLS 1.3 server:", session.get(servers[0].url_for("/")).text)
                try:
                    session.get(servers[1].url_for("/"))
                except ProtocolVersionError as exc:
                    print("TLS 1.2 server: refused:", exc)
        finally:
            for server in servers:
                server.stop()


if __name__ == "__main__":
    main()
