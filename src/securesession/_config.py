"""TLSConfig, ClientCert and the trust-store sentinels: pure, validated values.

The validators of single fields live in `_validate`; this module composes them.

Nothing here holds an `ssl.SSLContext`; `_context` turns a `TLSConfig` into one.
Validation is cheap (types, versions, paths that must exist, the shape of
in-memory certificates); reading and parsing file contents happens once, when
the context is built, which `TLSAdapter` and `SecureSession` do at construction.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import os
import ssl
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from ._files import read_file
from ._validate import (
    _cert_source,
    _check_certificate_bytes,
    _check_ciphers,
    _check_path,
    _check_server_hostname,
    _describe_bytes,
    _normalize_crl,
    _normalize_pins,
    _normalize_version,
    _refuse_pkcs12,
)
from .errors import CertificateFileError, TLSConfigError

__all__ = [
    "DEFAULT_CAS",
    "SYSTEM_CAS",
    "CABundleSource",
    "ClientCert",
    "Password",
    "TLSConfig",
]


class _TrustStore(enum.Enum):
    """The built-in trust stores a `TLSConfig.ca_bundle` can name."""

    DEFAULT = "certifi"
    SYSTEM = "system"

    def __repr__(self) -> str:
        return "DEFAULT_CAS" if self is _TrustStore.DEFAULT else "SYSTEM_CAS"

    __str__ = __repr__


DEFAULT_CAS = _TrustStore.DEFAULT
"""certifi's CA bundle (Mozilla's roots): what requests trusts by default."""

SYSTEM_CAS = _TrustStore.SYSTEM
"""The operating system's trust store, as OpenSSL's compiled-in default paths name it."""

Password: TypeAlias = "str | bytes | Callable[[], str | bytes]"  # noqa: S105  # a type, not a secret
CABundleSource: TypeAlias = "str | os.PathLike[str] | bytes | _TrustStore"
_VersionInput: TypeAlias = "ssl.TLSVersion | str | None"  # as in _validate


def _normalize_ca_bundle(value: object) -> tuple[str | bytes | _TrustStore, ...] | None:
    if value is None:
        return None
    items: Sequence[object]
    if isinstance(value, (str, bytes, bytearray, memoryview, os.PathLike, _TrustStore)):
        items = (value,)
    elif isinstance(value, Sequence):
        items = value
    else:
        msg = (
            "ca_bundle must be a path, bytes, DEFAULT_CAS, SYSTEM_CAS or a sequence of "
            f"these, got {type(value).__name__}"
        )
        raise TypeError(msg)
    if not items:
        msg = "ca_bundle: an empty sequence trusts nothing; pass None for certifi's bundle"
        raise TLSConfigError(msg)
    out: list[str | bytes | _TrustStore] = []
    for item in items:
        if isinstance(item, _TrustStore):
            out.append(item)
        elif isinstance(item, (bytes, bytearray, memoryview)):
            out.append(_check_certificate_bytes("ca_bundle", bytes(item)))
        elif isinstance(item, (str, os.PathLike)):
            out.append(_check_path("ca_bundle", item, allow_dir=True))
        else:
            msg = f"ca_bundle: unsupported item of type {type(item).__name__}"
            raise TypeError(msg)
    # Order matters for nothing OpenSSL does with a trust store, but duplicates
    # would make equal configurations compare unequal and build two contexts.
    return tuple(dict.fromkeys(out))


@dataclasses.dataclass(frozen=True)
class ClientCert:
    """A client certificate and its private key, to present for mutual TLS.

    The certificate and key are read, decrypted and cross-checked when the
    ClientCert is built, so every problem surfaces here as a typed error, never
    as a terminal prompt or a failed handshake.

    Args:
        cert: Path to, or bytes of, PEM data holding the certificate, optionally
            followed by its intermediates (and the private key when ``key`` is None).
        key: Path to, or bytes of, the PEM private key (PKCS#8 or traditional
            OpenSSL, plain or encrypted); None when it sits in ``cert``.
        password: Password of an encrypted key: str, bytes, or a callable
            returning either. Never shown in repr, str, errors or logs.

    Raises:
        CertificateFileError: a file is missing or holds no certificate or key.
        KeyPasswordError: the key is encrypted and the password is missing or wrong.
        KeyMismatchError: the key does not belong to the certificate.
        TLSConfigError: the certificate has already expired.
    """

    # Paths are normalized to str, so after construction these are str or bytes.
    cert: str | os.PathLike[str] | bytes
    key: str | os.PathLike[str] | bytes | None = None
    password: Password | None = dataclasses.field(default=None, repr=False)
    # Facts about the certificate (never the key), for expiry warnings and messages.
    subject: str = dataclasses.field(init=False, compare=False, repr=False, default="")
    not_after: datetime.datetime = dataclasses.field(
        init=False, compare=False, repr=False, default=datetime.datetime.max
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "cert", _cert_source("client_cert", self.cert))
        if self.key is not None:
            object.__setattr__(self, "key", _cert_source("client_cert key", self.key))
        password = self.password
        if not (password is None or isinstance(password, (str, bytes)) or callable(password)):
            msg = (
                "client_cert password must be str, bytes or a callable returning either, "
                f"got {type(password).__name__}"
            )
            raise TypeError(msg)
        from ._identity import read_identity  # lazily: it needs cryptography

        leaf = read_identity(*self._sources(), password).leaf
        object.__setattr__(self, "subject", leaf.subject.rfc4514_string())
        object.__setattr__(self, "not_after", leaf.not_valid_after_utc)

    def _sources(self) -> tuple[str | bytes, str | bytes | None]:
        return self.cert, self.key  # type: ignore[return-value]  # normalized in __post_init__

    @classmethod
    def from_pkcs12(
        cls, data_or_path: str | os.PathLike[str] | bytes, password: Password | None = None
    ) -> ClientCert:
        """Load a PKCS#12 (.p12/.pfx) bundle: its certificate, chain and key.

        The bundle is decrypted in memory; the key is kept encrypted with the
        bundle's password and never reaches the disk in clear (see
        `securesession._identity`).

        Args:
            data_or_path: Path to the bundle, or its bytes.
            password: The bundle's password (str, bytes or a callable); None tries
                no password and the empty password, as OpenSSL does.

        Raises:
            CertificateFileError: the file is missing or not PKCS#12.
            KeyPasswordError: the password is missing or wrong.
        """
        from ._identity import pkcs12_to_pem

        if isinstance(data_or_path, (bytes, bytearray, memoryview)):
            data, source = bytes(data_or_path), f"<{len(data_or_path)} bytes of PKCS#12>"
        else:
            path = _check_path("client_cert", data_or_path, allow_dir=False)
            data, _ = read_file(path, "client_cert")
            source = path
        chain, key = pkcs12_to_pem(data, password, source)
        return cls(chain, key, password=password)

    def __repr__(self) -> str:
        def show(value: object) -> str:
            return f"<{len(value)} bytes>" if isinstance(value, bytes) else repr(value)

        hidden = ", password=***" if self.password is not None else ""
        return f"ClientCert(cert={show(self.cert)}, key={show(self.key)}{hidden})"


def _normalize_client_cert(value: object) -> ClientCert | None:
    if value is None or isinstance(value, ClientCert):
        return value
    if isinstance(value, (str, os.PathLike, bytes)):
        if not isinstance(value, bytes):
            _refuse_pkcs12("client_cert", os.fspath(value))
        return ClientCert(value if isinstance(value, bytes) else os.fspath(value))
    if isinstance(value, tuple) and len(value) in (2, 3):
        cert, key = value[0], value[1]
        if isinstance(cert, (str, os.PathLike)):
            _refuse_pkcs12("client_cert", os.fspath(cert))
            _cert_source("client_cert", cert)  # a missing certificate is named first
        if isinstance(key, str) and "-----BEGIN" not in key and not os.path.exists(key):
            # Never echo it: in (cert, key) position people pass passwords too.
            msg = (
                "client_cert: the second element of the (cert, key) tuple is not an existing "
                "file (its value is not shown, in case it is a password); pass "
                "(cert, key, password), or ClientCert(cert, key, password=...)"
            )
            raise CertificateFileError(msg)
        return ClientCert(*value)
    msg = (
        "client_cert must be a ClientCert, a path, or a tuple (cert, key) or "
        f"(cert, key, password), got {type(value).__name__}"
    )
    raise TypeError(msg)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TLSConfig:
    """One validated TLS posture: trust, identity, versions and verification.

    Equal configurations share one cached `ssl.SSLContext` process-wide (see
    `ssl_context`). Values are normalized on construction: ``ca_bundle`` becomes a
    tuple, versions become `ssl.TLSVersion`, a client certificate tuple becomes a
    `ClientCert`.

    Attributes:
        ca_bundle: Trust anchors. None means certifi's bundle (and lets the
            ``REQUESTS_CA_BUNDLE``-style environment variables apply in a
            `SecureSession`). Otherwise a path to a PEM/DER file or a directory of
            them, bytes of PEM or DER data, `DEFAULT_CAS`, `SYSTEM_CAS`, or a
            sequence mixing these; an explicit value replaces the defaults, so
            ``[DEFAULT_CAS, "corp.pem"]`` adds a private CA to certifi's.
        client_cert: A `ClientCert`, a path, or ``(cert, key)`` /
            ``(cert, key, password)`` as in requests and httpx.
        minimum_version: Lowest TLS version: "1.2" (default) or "1.3".
        maximum_version: Highest TLS version, or None for the newest available.
        ciphers: OpenSSL cipher string for TLS 1.2 suites; None keeps Python's
            secure default.
        verify: False disables certificate verification entirely (urllib3 warns
            on every request; nothing else ever turns it off).
        check_hostname: False skips the hostname check; the chain is still verified.
        server_hostname: Name to send in SNI and to verify the certificate against,
            while connecting to the URL's host (connect by IP, verify as a name).
        pins: SPKI pins, ``"sha256//<base64>"`` as curl takes them; checked on every
            new connection after the handshake and before any request byte, in
            addition to normal verification.
        crl: CRL file(s) or bytes (PEM or DER). The leaf certificate is checked for
            revocation; a leaf whose issuer has no CRL here fails to verify.
        keylog_file: Write TLS secrets to this NSS key log (for Wireshark).
            None reads ``$SSLKEYLOGFILE`` when the config is built.
        resume_sessions: Resume TLS sessions (tickets) on new connections to the same
            server name and port under this very posture; `TLSInfo.session_reused`
            says when it happened.
        warn_expiry_days: Warn (`CertificateExpiresSoonWarning` and a log record)
            when the client certificate expires within this many days; None = off.
    """

    ca_bundle: CABundleSource | Sequence[CABundleSource] | None = None
    client_cert: ClientCert | tuple[Any, ...] | str | None = None
    minimum_version: _VersionInput = "1.2"
    maximum_version: _VersionInput = None
    ciphers: str | None = None
    verify: bool = True
    check_hostname: bool = True
    server_hostname: str | None = None
    pins: tuple[str, ...] | list[str] | str = ()
    crl: str | os.PathLike[str] | bytes | Sequence[str | os.PathLike[str] | bytes] | None = None
    keylog_file: str | os.PathLike[str] | None = None
    warn_expiry_days: int | None = 14
    resume_sessions: bool = True

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalization has to bypass __setattr__
        set_(self, "ca_bundle", _normalize_ca_bundle(self.ca_bundle))
        set_(self, "client_cert", _normalize_client_cert(self.client_cert))
        minimum = _normalize_version("minimum_version", self.minimum_version)
        if minimum is None:
            minimum = ssl.TLSVersion.TLSv1_2
        maximum = _normalize_version("maximum_version", self.maximum_version)
        if maximum is not None and maximum < minimum:
            msg = (
                f"maximum_version {maximum.name} is lower than minimum_version {minimum.name}: "
                "no TLS version is left"
            )
            raise TLSConfigError(msg)
        set_(self, "minimum_version", minimum)
        set_(self, "maximum_version", maximum)
        set_(self, "ciphers", _check_ciphers(self.ciphers))
        set_(self, "server_hostname", _check_server_hostname(self.server_hostname))
        set_(self, "pins", _normalize_pins(self.pins))
        set_(self, "crl", _normalize_crl(self.crl))
        keylog = (
            self.keylog_file if self.keylog_file is not None else os.environ.get("SSLKEYLOGFILE")
        )
        set_(self, "keylog_file", os.fspath(keylog) if keylog else None)
        days = self.warn_expiry_days
        if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
            msg = f"warn_expiry_days must be an int or None, got {type(days).__name__}"
            raise TypeError(msg)
        if days is not None and days < 0:
            msg = f"warn_expiry_days must be >= 0 or None, got {days}"
            raise TLSConfigError(msg)
        for name in ("verify", "check_hostname", "resume_sessions"):
            if not isinstance(getattr(self, name), bool):
                msg = f"{name} must be a bool, got {type(getattr(self, name)).__name__}"
                raise TypeError(msg)

    def __repr__(self) -> str:
        # Only the fields that differ from the defaults, and bytes as a length:
        # a repr that prints a 200 kB bundle helps nobody.
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            default = getattr(_DEFAULT_CONFIG, f.name)
            if value == default:
                continue
            if f.name == "ca_bundle":
                shown = (
                    "("
                    + ", ".join(
                        _describe_bytes(v) if isinstance(v, bytes) else repr(v) for v in value
                    )
                    + ("," if len(value) == 1 else "")
                    + ")"
                )
            else:
                shown = repr(value)
            parts.append(f"{f.name}={shown}")
        return f"TLSConfig({', '.join(parts)})"

    @property
    def _identity(self) -> ClientCert | None:
        return self.client_cert  # type: ignore[return-value]  # normalized in __post_init__

    @property
    def _version_range(self) -> tuple[ssl.TLSVersion, ssl.TLSVersion | None]:
        return self.minimum_version, self.maximum_version  # type: ignore[return-value]  # normalized

    @property
    def _trust_sources(self) -> tuple[str | bytes | _TrustStore, ...] | None:
        return self.ca_bundle  # type: ignore[return-value]  # normalized in __post_init__

    def replace(self, **changes: Any) -> TLSConfig:
        """Return a copy with ``changes`` applied and validated again."""
        return dataclasses.replace(self, **changes)

    def ssl_context(self) -> ssl.SSLContext:
        """Return the process-wide cached, read-only `ssl.SSLContext` for this config.

        Equal configurations get the same object. A context built from files is
        rebuilt when one of the files changes (checked at most once a second).
        The context can be handed to urllib3 or httpx as it is; it refuses to be
        mutated, because every user of an equal configuration shares it.

        Raises:
            CertificateFileError: a file holds no usable certificate.
            TLSConfigError: OpenSSL rejects part of the configuration.
        """
        from ._context import build_ssl_context  # here, because _context imports this module

        return build_ssl_context(self)


_DEFAULT_CONFIG = TLSConfig()
