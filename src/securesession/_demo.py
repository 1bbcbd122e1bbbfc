"""``securesession demo``: mutual TLS end to end on 127.0.0.1, nothing to prepare.

A local CA, an mTLS server that requires a client certificate from it, a client
key encrypted with a random password, one verified request, and the same request
without the certificate, refused. Everything lives in a temporary directory and
is removed at the end; nothing leaves this machine.
"""

from __future__ import annotations

import secrets
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._localserver import Reply, common_name, serve
from ._tlsinfo import of_response

__all__ = ["run_demo"]


def _hello(path: str, client: dict[str, Any] | None) -> Reply:
    return 200, {"Content-Type": "text/plain"}, f"hello, {common_name(client)}".encode()


def run_demo(out: Callable[[str], None] = print) -> int:
    """Run the demo, reporting each step through ``out``; return the exit code (0)."""
    from ._config import ClientCert
    from ._session import SecureSession
    from .certs import LocalCA
    from .errors import TLSError

    out("securesession demo: mutual TLS on 127.0.0.1; nothing leaves this machine.")
    with tempfile.TemporaryDirectory(prefix="securesession-demo-") as tmp:
        d = Path(tmp)
        ca = LocalCA.create("securesession demo CA")
        (d / "ca.pem").write_bytes(ca.cert_pem)
        out(f"1. Local CA created: {ca.certificate.subject.rfc4514_string()} (EC P-256).")

        server_pair = ca.issue_server_cert("localhost", "127.0.0.1", "::1")
        server_pair.write(d / "server.pem", d / "server-key.pem")
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(d / "server.pem", d / "server-key.pem")
        server_ctx.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no handshake
        server_ctx.load_verify_locations(d / "ca.pem")

        password = secrets.token_urlsafe(24)
        client_pair = ca.issue_client_cert("demo-client")
        client_pair.write(d / "client.pem", d / "client-key.pem", password=password)
        identity = ClientCert(d / "client.pem", d / "client-key.pem", password=password)
        out(
            "2. Client certificate issued to CN=demo-client; its key is encrypted with a "
            "random password (PKCS#8, AES-256) and stored 0600."
        )

        with serve(server_ctx, _hello) as server:
            url = server.url_for("/hello")
            out(f"3. mTLS server listening on {url}; it requires a certificate from the CA.")
            with SecureSession(ca_bundle=d / "ca.pem", client_cert=identity) as session:
                response = session.get(url, timeout=10)
            info = of_response(response)
            out(f"4. GET {url} with {identity!r}")
            out(f"   -> {response.status_code} {response.reason}: {response.text!r}")
            if info is not None:
                out(
                    f"   TLS: {info.version}, {info.cipher}, session resumed: {info.session_reused}"
                )
                out(f"   server certificate: {info.subject}, issued by {info.issuer}")
                out(f"   server pin: {info.pin}")
            seen = server.requests[-1][1] if server.requests else "nobody"
            out(f"   the server authenticated the client as: CN={seen}")
            with SecureSession(ca_bundle=d / "ca.pem") as anonymous:
                try:
                    anonymous.get(url, timeout=10)
                    out("5. Without the client certificate: unexpectedly accepted")
                    return 1
                except TLSError as exc:
                    out(f"5. Without the client certificate: refused, {type(exc).__name__}:")
                    out(f"   {exc}")
    out("6. Server stopped; temporary CA, certificates and keys removed. Done.")
    return 0
