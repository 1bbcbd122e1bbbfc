"""Errors raised by securesession.

The hierarchy::

    SecureSessionError
    ├── TLSConfigError(SecureSessionError, ValueError)     bad configuration, raised at build time
    │   ├── CertificateFileError(TLSConfigError, OSError) missing/unreadable/not a certificate
    │   ├── KeyPasswordError                              key encrypted, password missing or wrong
    │   └── KeyMismatchError                              key does not belong to the certificate
    └── TLSError(SecureSessionError, requests.exceptions.SSLError)   raised by requests
        ├── CertificateVerificationError
        │   ├── HostnameMismatchError       the certificate is for other names
        │   ├── CertificateExpiredError     past its notAfter date
        │   │   └── CertificateNotYetValidError   before its notBefore date
        │   ├── UntrustedCertificateError
        │   │   ├── SelfSignedCertificateError    a self-signed certificate nobody vouches for
        │   │   ├── UnknownIssuerError            issued by a CA that is not trusted
        │   │   └── IncompleteChainError          the server did not send its intermediate
        │   ├── CertificateRevokedError     listed in a configured CRL
        │   ├── WeakCertificateError        a key or signature below the security level
        │   │                               (RSA < 2048 bits, SHA-1)
        │   └── PinMismatchError            none of the configured SPKI pins matched
        ├── ProtocolVersionError            no TLS version both sides accept
        ├── ClientCertificateRequiredError  the server wants a client certificate we did not send
        │   └── ClientCertificateRejectedError   the server refused the certificate we sent
        └── TLSHandshakeTimeoutError        the handshake did not finish in time (also a
                                            requests.exceptions.ConnectTimeout)

    CertificateExpiresSoonWarning(UserWarning)   a certificate expires within warn_expiry_days

Configuration errors are raised where the configuration is written: when a
`TLSConfig`, `TLSAdapter` or `SecureSession` is built, never on the first request.
Runtime errors are raised by `SecureSession`/`TLSAdapter` requests; they are also
`requests.exceptions.SSLError`, so existing handlers keep working, their ``str`` is
one readable paragraph (host and port, the cause in plain words, the certificate
facts, one fix), and the original exception is chained as ``__cause__``. No message
ever contains a password or key material.
"""

from __future__ import annotations

import datetime
from typing import Any

from requests.exceptions import ConnectTimeout as _RequestsConnectTimeout
from requests.exceptions import SSLError as _RequestsSSLError

__all__ = [
    "CertificateExpiredError",
    "CertificateExpiresSoonWarning",
    "CertificateFileError",
    "CertificateNotYetValidError",
    "CertificateRevokedError",
    "CertificateVerificationError",
    "ClientCertificateRejectedError",
    "ClientCertificateRequiredError",
    "HostnameMismatchError",
    "IncompleteChainError",
    "KeyMismatchError",
    "KeyPasswordError",
    "PinMismatchError",
    "ProtocolVersionError",
    "SecureSessionError",
    "SelfSignedCertificateError",
    "TLSConfigError",
    "TLSError",
    "TLSHandshakeTimeoutError",
    "UnknownIssuerError",
    "UntrustedCertificateError",
    "WeakCertificateError",
]


class SecureSessionError(Exception):
    """Base class of every error securesession raises on purpose."""


class TLSConfigError(SecureSessionError, ValueError):
    """A TLS configuration value is invalid; raised when the configuration is built."""


class CertificateFileError(TLSConfigError, OSError):
    """A certificate file or directory is missing, unreadable or holds no certificate.

    It is also an `OSError`, as requests raises for a bad ``verify=`` or ``cert=`` path.
    """


class KeyPasswordError(TLSConfigError):
    """A private key is encrypted and its password is missing or wrong."""


class KeyMismatchError(TLSConfigError):
    """A private key does not belong to the certificate it was given with."""


class CertificateExpiresSoonWarning(UserWarning):
    """A certificate expires within `TLSConfig.warn_expiry_days` days."""


class TLSError(SecureSessionError, _RequestsSSLError):
    """A TLS connection failed; also a `requests.exceptions.SSLError`.

    Attributes:
        host: The host the request went to.
        port: The port it went to.
        verify_code: OpenSSL's X509 verify code, when verification failed.
        reason: OpenSSL's reason (e.g. ``TLSV1_ALERT_PROTOCOL_VERSION``), if any.
        peer_subject: The server certificate's subject, when it could be seen.
        peer_names: The DNS names and IP addresses the certificate is valid for.
        peer_issuer: The issuer of the server certificate.
        not_before: Start of the certificate's validity (UTC).
        not_after: End of the certificate's validity (UTC).
    """

    host: str
    port: int | None
    verify_code: int | None = None
    reason: str | None = None
    peer_subject: str | None = None
    peer_names: tuple[str, ...] = ()
    peer_issuer: str | None = None
    not_before: datetime.datetime | None = None
    not_after: datetime.datetime | None = None

    def __init__(self, message: str, *, host: str, port: int | None, **kwargs: Any) -> None:
        facts = {k: kwargs.pop(k) for k in list(kwargs) if k not in ("request", "response")}
        super().__init__(message, **kwargs)
        self.host = host
        self.port = port
        for name, value in facts.items():
            setattr(self, name, value)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CertificateVerificationError(TLSError):
    """The server's certificate did not verify."""


class HostnameMismatchError(CertificateVerificationError):
    """The certificate is valid, but not for the host that was asked for."""


class CertificateExpiredError(CertificateVerificationError):
    """The certificate is outside its validity period (expired)."""


class CertificateNotYetValidError(CertificateExpiredError):
    """The certificate is not valid yet (its notBefore date is in the future)."""


class UntrustedCertificateError(CertificateVerificationError):
    """The certificate does not chain to a trusted CA."""


class SelfSignedCertificateError(UntrustedCertificateError):
    """The server presented a self-signed certificate that is not trusted."""


class UnknownIssuerError(UntrustedCertificateError):
    """The certificate was issued by a CA that is not among the trusted ones."""


class IncompleteChainError(UntrustedCertificateError):
    """The server sent its certificate without the intermediate CA it needs."""


class CertificateRevokedError(CertificateVerificationError):
    """The certificate is listed as revoked in a configured CRL."""


class WeakCertificateError(CertificateVerificationError):
    """A certificate's key or signature is below the security level (RSA < 2048 bits, SHA-1)."""


class PinMismatchError(CertificateVerificationError):
    """The server's public key matches none of the configured pins.

    Attributes:
        expected: The configured pins, ``sha256//<base64>``.
        actual: The server's pin, in the same format.
    """

    expected: tuple[str, ...] = ()
    actual: str = ""


class ProtocolVersionError(TLSError):
    """Client and server share no TLS version."""


class ClientCertificateRequiredError(TLSError):
    """The server asked for a client certificate that was not sent, or rejected it."""


class ClientCertificateRejectedError(ClientCertificateRequiredError):
    """The server refused the client certificate that was sent (e.g. it trusts another CA)."""


class TLSHandshakeTimeoutError(TLSError, _RequestsConnectTimeout):
    """The server accepted the connection but the TLS handshake did not finish in time.

    Also a `requests.exceptions.ConnectTimeout` (and so a `requests.exceptions.Timeout`):
    the handshake is part of connecting.
    """
