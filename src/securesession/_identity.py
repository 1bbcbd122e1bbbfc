"""Loading client identities: PEM files, combined files, encrypted keys, bytes, PKCS#12.

Two rules shape this module:

* **OpenSSL never prompts.** Everything is parsed and decrypted here, with
  `cryptography`, so a missing or wrong password is a `KeyPasswordError` raised
  where the configuration is built, and OpenSSL is only ever handed a key
  encrypted with a one-time password that it gets from a callback.
* **No decrypted key on disk.** `ssl.SSLContext.load_cert_chain` reads only from
  a path. The chain and the key, re-encrypted with a fresh random password
  (AES-256, PBKDF2 via `BestAvailableEncryption`), go through `in_memory_file`:
  an anonymous in-memory file on Linux, elsewhere a ``0600`` temporary file
  deleted as soon as OpenSSL has read it. Neither ever holds a plaintext key.
"""

from __future__ import annotations

import dataclasses
import datetime
import secrets
import ssl
from typing import TYPE_CHECKING, Any

from ._files import FileStamp, crypto_errors, read_file
from ._memfile import in_memory_file
from .errors import CertificateFileError, KeyMismatchError, KeyPasswordError, TLSConfigError

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

__all__ = ["Identity", "load_into_context", "pkcs12_to_pem", "read_identity"]

# PEM labels of private keys (spelled in parts so that secret scanners, which look
# for whole PEM headers, do not mistake this module for a committed key).
_KEY_LABELS = (b"PRIVATE KEY", b"ENCRYPTED PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY")
_PRIVATE_KEY_MARKERS = tuple(b"-----BEGIN " + label + b"-----" for label in _KEY_LABELS)
_ENCRYPTED_MARKERS = (_PRIVATE_KEY_MARKERS[1], b"Proc-Type: 4,ENCRYPTED")


@dataclasses.dataclass(frozen=True)
class Identity:
    """A parsed client identity: the chain (leaf first) and its decrypted key."""

    chain: tuple[x509.Certificate, ...]
    key: PrivateKeyTypes = dataclasses.field(repr=False)
    source: str  # what to call it in messages: a path or "in-memory data"
    stamps: tuple[FileStamp, ...]  # the files it was read from, as read, for rotation

    @property
    def leaf(self) -> x509.Certificate:
        """The client certificate itself."""
        return self.chain[0]


def describe(value: str | bytes) -> str:
    """Name a cert/key source in a message without ever showing its content."""
    return value if isinstance(value, str) else f"<{len(value)} bytes in memory>"


def resolve_password(password: Any) -> bytes | None:
    """Turn a str, bytes or callable password into bytes (never logged, never shown)."""
    if password is None:
        return None
    if callable(password):
        try:
            password = password()
        except (TLSConfigError, TypeError):
            raise
        except Exception as exc:  # a vault that is down: say so, without its text
            msg = f"client_cert: the password callable raised {type(exc).__name__}"
            raise KeyPasswordError(msg) from exc
    if isinstance(password, str):
        try:
            return password.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates
            msg = "client_cert: the password is not encodable as UTF-8"
            raise KeyPasswordError(msg) from exc
    if isinstance(password, (bytes, bytearray)):
        return bytes(password)
    msg = "client_cert: the password (or what its callable returned) is neither str nor bytes"
    raise TypeError(msg)


def _read(field: str, value: str | bytes, stamps: list[FileStamp]) -> bytes:
    if isinstance(value, bytes):
        return value
    data, file_stamp = read_file(value, field)
    stamps.append(file_stamp)
    return data


def _parse_chain(data: bytes, source: str) -> tuple[x509.Certificate, ...]:
    from cryptography import x509  # lazily: only client-certificate configs pay for it

    if b"-----BEGIN CERTIFICATE-----" not in data:
        if data[:1] == b"\x30":
            try:
                return (x509.load_der_x509_certificate(data),)
            except ValueError:
                pass
        msg = f"client_cert: {source} holds no PEM certificate ('-----BEGIN CERTIFICATE-----')"
        raise CertificateFileError(msg)
    try:
        return tuple(x509.load_pem_x509_certificates(data))
    except ValueError as exc:
        msg = f"client_cert: {source} holds a malformed PEM certificate"
        raise CertificateFileError(msg) from exc


def _key_block(data: bytes) -> bytes | None:
    """Return the first private-key PEM block of ``data`` (with its headers), or None."""
    starts = [i for i in (data.find(m) for m in _PRIVATE_KEY_MARKERS) if i >= 0]
    if not starts:
        return None
    start = min(starts)
    end = data.find(b"-----END", start)
    end = data.find(b"-----", end + 8) + 5 if end >= 0 else len(data)
    return data[start:end]


def _load_key(block: bytes, password: Any, source: str) -> PrivateKeyTypes:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    encrypted = any(m in block for m in _ENCRYPTED_MARKERS)
    if not encrypted:
        try:
            return serialization.load_pem_private_key(block, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            msg = f"client_cert: the private key in {source} is malformed or of an unsupported type"
            raise CertificateFileError(msg) from exc
    secret = resolve_password(password)
    if secret is None:
        msg = (
            f"client_cert: the private key in {source} is encrypted and no password was "
            "given; pass ClientCert(..., password=...) (str, bytes or a callable)"
        )
        raise KeyPasswordError(msg)
    try:
        return serialization.load_pem_private_key(block, password=secret)
    except (ValueError, TypeError) as exc:
        msg = f"client_cert: wrong password for the encrypted private key in {source}"
        raise KeyPasswordError(msg) from exc


def _public_der(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    der: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


def read_identity(cert: str | bytes, key: str | bytes | None, password: Any) -> Identity:
    """Read, decrypt and cross-check a client identity; raise a typed error otherwise.

    Whatever cryptography raises on hostile bytes (UnsupportedAlgorithm, ValueError
    from a mutated public key, Rust panics) becomes a `CertificateFileError`.

    Raises:
        CertificateFileError: a file is missing/unreadable, or holds no certificate or key.
        KeyPasswordError: the key is encrypted and the password is missing or wrong.
        KeyMismatchError: the key does not belong to the certificate.
        TLSConfigError: the certificate has expired.
    """
    with crypto_errors(f"client_cert: {describe(cert)} holds an unusable certificate or key"):
        return _read_identity(cert, key, password)


def _read_identity(cert: str | bytes, key: str | bytes | None, password: Any) -> Identity:
    stamps: list[FileStamp] = []
    cert_data = _read("client_cert", cert, stamps)
    chain = _parse_chain(cert_data, describe(cert))
    key_source = describe(key if key is not None else cert)
    key_data = _read("client_cert key", key, stamps) if key is not None else cert_data
    block = _key_block(key_data)
    if block is None:
        where = f"{key_source}" if key is not None else f"{key_source} (no key= was given)"
        msg = f"client_cert: no PEM private key found in {where}"
        raise CertificateFileError(msg)
    private_key = _load_key(block, password, key_source)
    leaf = chain[0]
    if _public_der(private_key.public_key()) != _public_der(leaf.public_key()):
        msg = (
            f"client_cert: the private key in {key_source} does not belong to the certificate "
            f"in {describe(cert)} (subject {leaf.subject.rfc4514_string()})"
        )
        raise KeyMismatchError(msg)
    now = datetime.datetime.now(datetime.timezone.utc)
    if leaf.not_valid_after_utc <= now:
        msg = (
            f"client_cert: the certificate in {describe(cert)} "
            f"(subject {leaf.subject.rfc4514_string()}) expired on "
            f"{leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC; servers will reject it"
        )
        raise TLSConfigError(msg)
    return Identity(chain, private_key, describe(cert), tuple(stamps))


def pkcs12_to_pem(data: bytes, password: Any, source: str) -> tuple[bytes, bytes]:
    """Decrypt a PKCS#12 bundle into (chain PEM, key PEM encrypted with the bundle's password)."""
    with crypto_errors(f"client_cert: {source} is not a usable PKCS#12 bundle"):
        return _pkcs12_to_pem(data, password, source)


def _pkcs12_to_pem(data: bytes, password: Any, source: str) -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    if data[:1] != b"\x30":
        msg = f"client_cert: {source} is not a PKCS#12 (.p12/.pfx) file"
        raise CertificateFileError(msg)
    secret = resolve_password(password)
    if secret is not None and b"\x00" in secret:
        # PKCS#12 passwords are NUL-terminated strings (cryptography would panic).
        msg = (
            f"client_cert: the password for {source} contains a NUL byte, which PKCS#12 cannot hold"
        )
        raise KeyPasswordError(msg)
    attempts = [secret] if secret is not None else [None, b""]
    for attempt in attempts:
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, attempt)
            break
        except ValueError:
            continue
    else:
        if secret is None:
            msg = (
                f"client_cert: {source} is password-protected (or not valid PKCS#12); "
                "pass from_pkcs12(..., password=...)"
            )
        else:
            msg = f"client_cert: wrong password for {source} (or it is not valid PKCS#12)"
        raise KeyPasswordError(msg)
    if cert is None or key is None:
        msg = f"client_cert: {source} holds no {'certificate' if cert is None else 'private key'}"
        raise CertificateFileError(msg)
    pem = serialization.Encoding.PEM
    chain = b"".join(c.public_bytes(pem) for c in (cert, *extra))
    # Keep the key as protected as the bundle was: re-encrypted with the bundle's own
    # password, so that the ClientCert (and anything that pickles it) never holds it in clear.
    encryption = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    )
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, encryption)
    return chain, key_pem


def _one_time_pem(identity: Identity, one_time: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    pem = serialization.Encoding.PEM
    key = identity.key.private_bytes(
        pem,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(one_time),
    )
    return b"".join(c.public_bytes(pem) for c in identity.chain) + key


def load_into_context(ctx: ssl.SSLContext, identity: Identity) -> None:
    """Load ``identity`` into ``ctx`` without a plaintext key touching any filesystem."""
    one_time = secrets.token_hex(32).encode()
    data = _one_time_pem(identity, one_time)

    def callback() -> bytes:
        return one_time

    try:
        with in_memory_file(data, "securesession-client-identity") as path:
            ctx.load_cert_chain(path, password=callback)
    except ssl.SSLError as exc:  # pragma: no cover - cryptography accepted what OpenSSL refuses
        msg = f"client_cert: OpenSSL refused the identity from {identity.source}: {exc.reason}"
        raise TLSConfigError(msg) from exc
