"""A private CA bundle, the requests way (`verify=`) and the securesession way (`ca_bundle=`).

Makes a CA and a server certificate with `securesession.certs`, serves HTTPS on
127.0.0.1, and calls it three ways that all trust exactly that CA.

Run: python examples/custom_ca_bundle.py   (needs the [pytest] extra for the server)
"""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

from pytest_httpserver import HTTPServer

from securesession import SecureSession
from securesession.certs import LocalCA


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        ca = LocalCA.load_or_create(d / "ca")  # ca.pem + ca-key.pem, reused if present
        ca.issue_server_cert("127.0.0.1", "localhost").write(d / "srv.pem", d / "srv-key.pem")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(d / "srv.pem", d / "srv-key.pem")
        server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
        server.expect_request("/").respond_with_data("trusted")
        server.start()
        try:
            url, bundle = server.url_for("/"), str(ca.cert_path)
            with SecureSession() as session:  # requests style: per-request verify=
                print("verify= per request:", session.get(url, verify=bundle).text)
                session.verify = bundle  # requests style: on the session
                print("session.verify:     ", session.get(url).text)
            with SecureSession(ca_bundle=bundle) as session:  # securesession style
                print("ca_bundle=:         ", session.get(url).text)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
