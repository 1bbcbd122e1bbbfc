"""Trust exactly one private CA, with a drop-in requests.Session.

Starts an HTTPS server on 127.0.0.1 with a certificate from a throwaway CA
(trustme), then shows that a SecureSession trusting that CA gets through, that
the same session rejects a server signed by another CA, and that its trust store
holds exactly one root (requests would have loaded certifi's ~120 on top).

Run: python examples/private_ca.py   (needs the [pytest] extra: trustme, pytest-httpserver)
"""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

import requests
import trustme
from pytest_httpserver import HTTPServer

from securesession import SecureSession


def start_server(ca: trustme.CA) -> HTTPServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.expect_request("/hello").respond_with_data("hello from the private CA's server")
    server.start()
    return server


def main() -> None:
    corp_ca, other_ca = trustme.CA(), trustme.CA()
    corp_server, other_server = start_server(corp_ca), start_server(other_ca)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bundle = Path(tmp) / "corp-root.pem"
            corp_ca.cert_pem.write_to_path(bundle)

            with SecureSession(ca_bundle=bundle, minimum_version="1.2") as session:
                response = session.get(corp_server.url_for("/hello"), timeout=10)
                print(f"corp server: {response.status_code} {response.text!r}")
                try:
                    session.get(other_server.url_for("/hello"), timeout=10)
                except requests.exceptions.SSLError:
                    print("other server: rejected (not signed by the configured CA)")
                roots = session.tls.ssl_context().cert_store_stats()["x509_ca"]
                print(f"roots trusted: {roots}")
    finally:
        corp_server.stop()
        other_server.stop()


if __name__ == "__main__":
    main()
