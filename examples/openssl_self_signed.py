"""A self-signed certificate made with the openssl command line, trusted via ca_bundle.

Run: python examples/openssl_self_signed.py   (needs the openssl binary and the [pytest] extra)
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

from pytest_httpserver import HTTPServer

from securesession import SecureSession, SelfSignedCertificateError


def main() -> int:
    openssl = shutil.which("openssl")
    if openssl is None:
        print("skipped: no openssl binary on this machine")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        subprocess.run(
            [
                openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"),
                "-days", "30", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(d / "cert.pem", d / "key.pem")
        server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
        server.expect_request("/").respond_with_data("self-signed but trusted")
        server.start()
        try:
            with SecureSession() as session:
                try:
                    session.get(server.url_for("/"))
                except SelfSignedCertificateError as exc:
                    print("not trusted yet:", type(exc).__name__)
            with SecureSession(ca_bundle=d / "cert.pem") as session:  # trust that one cert
                print("with ca_bundle=cert.pem:", session.get(server.url_for("/")).text)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
