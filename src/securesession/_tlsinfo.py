"""TLSInfo (what a connection negotiated and whom it talked to) and SPKI pins."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import functools
import hashlib
import ssl
from typing import Any

__all__ = ["CertFacts", "TLSInfo", "cert_facts", "pin_of", "tls_info"]


@dataclasses.dataclass(frozen=True)
class CertFacts:
    """What a certificate says, for messages and `TLSInfo` (parsed once per certificate)."""

    subject: str
    issuer: str
    san: tuple[str, ...]
    not_before: datetime.datetime
    not_after: datetime.datetime
    spki_sha256: str  # base64, as in curl's pins
    self_issued: bool
    ca_issuers: tuple[str, ...]  # AIA caIssuers URLs: where browsers fetch missing intermediates
    key_type: str = ""  # "RSA", "EC secp256r1", "Ed25519", ...
    key_bits: int = 0
    signature_hash: str | None = None  # "sha256", "sha1", ...; None for Ed25519/Ed448

    @property
    def names(self) -> tuple[str, ...]:
        """The names the certificate is valid for: its SANs, else its subject CN."""
        if self.san:
            return self.san
        cn = [part[3:] for part in self.subject.split(",") if part.startswith("CN=")]
        return tuple(cn)

    @property
    def weakness(self) -> str | None:
        """What is below OpenSSL's security level 2 (RSA/DSA < 2048 bits, SHA-1), if anything."""
        floor = 224 if self.key_type.startswith("EC") else _KEY_FLOORS.get(self.key_type, 0)
        if self.key_bits < floor:
            return f"has a {self.key_bits}-bit {self.key_type} key"
        if self.signature_hash in ("md5", "sha1") and not self.self_issued:  # anchors' go unchecked
            return f"is signed with {self.signature_hash.upper().replace('SHA1', 'SHA-1')}"
        return None


_KEY_FLOORS = {"RSA": 2048, "DSA": 2048}  # bits; EC keys need 224


@functools.lru_cache(maxsize=256)
def cert_facts(der: bytes) -> CertFacts:
    """Parse a DER certificate (cached: a server presents the same one again and again)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import AuthorityInformationAccessOID

    cert = x509.load_der_x509_certificate(der)
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        san = tuple(
            [*ext.get_values_for_type(x509.DNSName)]
            + [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]
        )
    except x509.ExtensionNotFound:
        san = ()
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        ca_issuers = tuple(
            d.access_location.value
            for d in aia
            if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
        )
    except x509.ExtensionNotFound:
        ca_issuers = ()
    key = cert.public_key()
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        digest = cert.signature_hash_algorithm
    except Exception:  # an algorithm cryptography does not know: the message says less
        digest = None
    return CertFacts(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        san=san,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        spki_sha256=base64.b64encode(hashlib.sha256(spki).digest()).decode(),
        self_issued=cert.issuer == cert.subject,
        ca_issuers=ca_issuers,
        key_type=_key_type(key),
        key_bits=getattr(key, "key_size", 0),
        signature_hash=digest.name if digest is not None else None,
    )


def _key_type(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    return type(key).__name__.removeprefix("_").removesuffix("PublicKey")


def pin_of(der: bytes) -> str:
    """The curl-style SPKI pin of a DER certificate: ``sha256//<base64>``."""
    return f"sha256//{cert_facts(der).spki_sha256}"


@dataclasses.dataclass(frozen=True)
class TLSInfo:
    """What a response's connection negotiated, captured when it was made.

    Attributes:
        version: The TLS version, e.g. ``"TLSv1.3"``.
        cipher: The cipher suite, e.g. ``"TLS_AES_256_GCM_SHA384"``.
        peer_certificate_der: The server's certificate, DER.
        subject: The server certificate's subject (RFC 4514).
        issuer: Its issuer (RFC 4514).
        san: Its subjectAltName DNS names and IP addresses.
        not_before: Start of its validity (UTC).
        not_after: End of its validity (UTC).
        spki_sha256: Base64 SHA-256 of its public key, the value `TLSConfig.pins` takes.
        session_reused: Whether the TLS session was resumed.
    """

    version: str
    cipher: str
    peer_certificate_der: bytes = dataclasses.field(repr=False)
    subject: str
    issuer: str
    san: tuple[str, ...]
    not_before: datetime.datetime
    not_after: datetime.datetime
    spki_sha256: str
    session_reused: bool

    @property
    def pin(self) -> str:
        """The server's pin in `TLSConfig.pins` format: ``sha256//<base64>``."""
        return f"sha256//{self.spki_sha256}"


def tls_info(sock: Any) -> TLSInfo | None:
    """Capture `TLSInfo` from a connected `ssl.SSLSocket` (or urllib3's SSLTransport).

    None when there is no certificate, or one that `cryptography` cannot parse
    (OpenSSL is more lenient): a response is never lost for want of its details.
    """
    der = sock.getpeercert(binary_form=True)
    cipher = sock.cipher()
    if not der or not cipher:
        return None
    try:
        facts = cert_facts(der)
    except Exception:  # any parse failure: no details, not no response
        return None
    return TLSInfo(
        version=sock.version() or "",
        cipher=cipher[0],
        peer_certificate_der=der,
        subject=facts.subject,
        issuer=facts.issuer,
        san=facts.san,
        not_before=facts.not_before,
        not_after=facts.not_after,
        spki_sha256=facts.spki_sha256,
        session_reused=bool(getattr(sock, "session_reused", False)),
    )


def of_response(response: Any) -> TLSInfo | None:
    """``response.tls``, typed (requests' Response class does not declare it)."""
    info = vars(response).get("tls")
    return info if isinstance(info, TLSInfo) else None


class PinCheckFailed(ssl.SSLError):
    """Raised inside the handshake path when no pin matches; translated to PinMismatchError."""

    def __init__(self, expected: tuple[str, ...], actual: str, der: bytes) -> None:
        super().__init__(f"SPKI pin mismatch: got {actual}, expected one of {', '.join(expected)}")
        self.expected = expected
        self.actual = actual
        self.der = der


def check_pins(sock: Any, pins: tuple[str, ...]) -> None:
    """Raise `PinCheckFailed` unless the peer's SPKI pin is one of ``pins`` (fails closed)."""
    der = sock.getpeercert(binary_form=True)
    try:
        actual = pin_of(der) if der else "(no certificate)"
    except Exception:  # a key we cannot read cannot match a pin
        actual = "(a certificate that cannot be parsed)"
    if actual not in pins:
        raise PinCheckFailed(pins, actual, der or b"")
