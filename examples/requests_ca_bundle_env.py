"""REQUESTS_CA_BUNDLE: honoured when you configured nothing, never over an explicit choice.

Run: python examples/requests_ca_bundle_env.py   (needs the [pytest] extra for the server)
"""

from __future__ import annotations

import os
import ssl
import tempfile
import warnings
from pathlib import Path

import requests
from pytest_httpserver import HTTPServer

from securesession import SecureSession
from securesession.certs import LocalCA


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        ours, other = LocalCA.create("our CA"), LocalCA.create("another CA")
        (d / "ours.pem").write_bytes(ours.cert_pem)
        (d / "other.pem").write_bytes(other.cert_pem)
        ours.issue_server_cert("127.0.0.1").write(d / "srv.pem", d / "srv-key.pem")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(d / "srv.pem", d / "srv-key.pem")
        server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
        server.expect_request("/").respond_with_data("hello")
        server.start()
        try:
            url = server.url_for("/")
            os.environ["REQUESTS_CA_BUNDLE"] = str(d / "ours.pem")
            with SecureSession() as session:  # nothing configured: the variable applies
                print("default config + REQUESTS_CA_BUNDLE:", session.get(url).text)

            os.environ["REQUESTS_CA_BUNDLE"] = str(d / "other.pem")
            with SecureSession(ca_bundle=d / "ours.pem") as session:  # explicit wins
                print("explicit ca_bundle beats the variable:", session.get(url).text)
            with SecureSession() as session:
                try:
                    session.get(url)
                except requests.exceptions.SSLError as exc:
                    print("variable naming the wrong CA:", type(exc).__name__)
                session.verify = False  # wins over the variable, unlike requests (#3829)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    print(
                        "session.verify=False:", session.get(url).text, f"({len(caught)} warning)"
                    )
        finally:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
            server.stop()


if __name__ == "__main__":
    main()
