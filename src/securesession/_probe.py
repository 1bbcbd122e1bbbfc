"""The diagnostic probe: one extra handshake that sees what a failing server presents.

Made only after a connection failed, to the same host and port, by `_diagnose`
(and by ``securesession inspect``). Without a context it verifies nothing, on
purpose: it must see the certificate that failed verification. It never sends
application data and closes at once. It records the server's certificate chain
(from CPython's TLS message hook), whether the server asked for a client
certificate, the version and cipher it chose, and, when asked to listen,
whether the server hung up by itself after the handshake (how TLS 1.3 servers
refuse a client certificate). Its result only ever feeds an error message.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
from typing import Any

from ._tlsinfo import CertFacts, cert_facts

__all__ = ["VERSION_NAMES", "Probe", "facts_or_none", "probe"]

VERSION_NAMES = {0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2", 0x0304: "TLS 1.3"}
_SOCKET_VERSION_NAMES = {
    "TLSv1": "TLS 1.0",
    "TLSv1.1": "TLS 1.1",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.3": "TLS 1.3",
}


@dataclasses.dataclass
class Probe:
    """What one diagnostic handshake saw."""

    chain: tuple[bytes, ...] = ()
    version: str | None = None  # what the server chose, e.g. "TLS 1.2"
    cipher: str | None = None
    cert_requested: bool = False
    error: str | None = None
    hung_up: bool | None = None  # after the handshake, did the server close on its own?

    @property
    def leaf(self) -> CertFacts | None:
        """Facts about the server's own certificate, if it sent one we can read."""
        return facts_or_none(self.chain[0]) if self.chain else None


def facts_or_none(der: bytes) -> CertFacts | None:
    """`cert_facts`, or None for a certificate cryptography cannot parse (OpenSSL can)."""
    try:
        return cert_facts(der)
    except Exception:  # the message just says less
        return None


def _parse_certificate_message(data: bytes, tls13: bool) -> tuple[bytes, ...]:
    """Extract the DER certificates of a TLS Certificate handshake message."""
    if len(data) >= 4 and data[0] == 11 and int.from_bytes(data[1:4], "big") == len(data) - 4:
        data = data[4:]  # handshake header: type and length
    pos = 0
    if tls13:
        pos = 1 + data[0]  # certificate_request_context
    end = pos + 3 + int.from_bytes(data[pos : pos + 3], "big")
    pos += 3
    certs = []
    while pos + 3 <= end:
        size = int.from_bytes(data[pos : pos + 3], "big")
        certs.append(bytes(data[pos + 3 : pos + 3 + size]))
        pos += 3 + size
        if tls13:
            pos += 2 + int.from_bytes(data[pos : pos + 2], "big")  # per-certificate extensions
    return tuple(certs)


def probe(
    host: str,
    port: int,
    server_hostname: str,
    timeout: float,
    *,
    legacy: bool,
    context: ssl.SSLContext | None = None,
    listen: float = 0.0,
) -> Probe:
    """Handshake with ``host:port`` once, to see what the server presents and speaks.

    Diagnostic only: without ``context`` it verifies nothing on purpose (it must see a
    certificate that failed verification); it never sends application data and is
    closed at once; its result only ever feeds an error message. With ``listen``, it
    then waits that long to see whether the server hangs up by itself (how TLS 1.3
    servers refuse a client certificate) or waits for a request.
    """
    result = Probe()
    if context is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # diagnostic probe only; see the docstring
        if legacy:  # to name the version of a server that speaks only TLS 1.0/1.1
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    else:
        ctx = context  # shared and read-only: no message hook, and no resumed session

    def record(
        conn: Any, direction: str, version: Any, content_type: Any, msg_type: Any, data: bytes
    ) -> None:
        if direction != "read" or content_type != 22:  # handshake messages from the server
            return
        if msg_type == 2:  # ServerHello
            result.version = VERSION_NAMES.get(int(version), str(version))
        elif msg_type == 11:  # Certificate
            result.chain = _parse_certificate_message(data, int(version) == 0x0304)
        elif msg_type == 13:  # CertificateRequest
            result.cert_requested = True

    if context is None and hasattr(ctx, "_msg_callback"):  # CPython's TLS message hook
        ctx._msg_callback = record
    try:
        with (
            socket.create_connection((host.strip("[]"), port), timeout=timeout) as raw,
            # Unbound call: skips our wrap_socket, which would offer a cached session
            # (a resumed handshake shows nothing about a certificate).
            ssl.SSLContext.wrap_socket(ctx, raw, server_hostname=server_hostname) as sock,
        ):
            if listen:
                result.hung_up = _hangs_up(sock, listen)
            if not result.chain:
                der = sock.getpeercert(binary_form=True)
                result.chain = (der,) if der else ()
            cipher = sock.cipher()
            result.cipher = cipher[0] if cipher else None
            negotiated = sock.version()  # what the handshake settled on: "TLSv1", "TLSv1.2"
            if negotiated:
                result.version = _SOCKET_VERSION_NAMES.get(negotiated, negotiated)
    except (OSError, ValueError) as exc:
        result.error = getattr(exc, "reason", None) or type(exc).__name__
    return result


def _hangs_up(sock: ssl.SSLSocket, seconds: float) -> bool:
    """Whether the server closes (or sends an alert) within ``seconds`` of the handshake."""
    sock.settimeout(seconds)
    try:
        return sock.recv(1) == b""  # data before any request would be odd: not a hang-up
    except TimeoutError:
        return False  # it waits for a request, as a server that accepted us does
    except OSError:
        return True  # an alert or a reset
