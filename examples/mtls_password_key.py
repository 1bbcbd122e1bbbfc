"""Mutual TLS with a password-protected client key: no prompt, no plaintext key on disk.

Starts an HTTPS server on 127.0.0.1 that requires a client certificate from a
throwaway CA (trustme), writes the client's certificate and its key encrypted
with a password, and calls the server with SecureSession. The password comes from
the environment (MTLS_KEY_PASSWORD) here, as it would from a secret store.

Run: python examples/mtls_password_key.py   (needs the [pytest] extra)
"""

from __future__ import annotations

import os
import secrets
import ssl
import tempfile
from pathlib import Path

import trustme
from cryptography.hazmat.primitives import serialization
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from securesession import ClientCert, SecureSession


def who_is_calling(request: Request) -> Response:
    peer = request.environ["werkzeug.socket"].getpeercert()
    name = next(value for rdn in peer["subject"] for key, value in rdn if key == "commonName")
    return Response(f"hello, {name}")


def main() -> None:
    ca = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    server_context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no handshake
    ca.configure_trust(server_context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=server_context)
    server.expect_request("/whoami").respond_with_handler(who_is_calling)
    server.start()

    password = os.environ.setdefault("MTLS_KEY_PASSWORD", secrets.token_urlsafe(16))
    client = ca.issue_cert("billing-service@example.test", common_name="billing-service")
    key = serialization.load_pem_private_key(client.private_key_pem.bytes(), None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            ca.cert_pem.write_to_path(d / "ca.pem")
            client.cert_chain_pems[0].write_to_path(d / "client.pem")
            encrypted = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(password.encode()),
            )
            (d / "client-key.pem").write_bytes(encrypted)
            (d / "client-key.pem").chmod(0o600)

            identity = ClientCert(
                d / "client.pem",
                d / "client-key.pem",
                password=lambda: os.environ["MTLS_KEY_PASSWORD"],
            )
            print(f"identity: {identity!r}")  # the password never shows
            with SecureSession(ca_bundle=d / "ca.pem", client_cert=identity) as session:
                response = session.get(server.url_for("/whoami"), timeout=10)
            print(f"server says: {response.status_code} {response.text}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
