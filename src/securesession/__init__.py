"""securesession: TLS for requests done right.

One validated `TLSConfig` becomes one cached, read-only `ssl.SSLContext`, applied by
`TLSAdapter` and `SecureSession` with exact trust and pools isolated by posture.
"""

from ._adapter import TLSAdapter
from ._config import DEFAULT_CAS, SYSTEM_CAS, ClientCert, TLSConfig
from ._context import build_ssl_context
from ._session import SecureSession
from ._tlsinfo import TLSInfo
from .errors import (
    CertificateExpiredError,
    CertificateExpiresSoonWarning,
    CertificateFileError,
    CertificateNotYetValidError,
    CertificateRevokedError,
    CertificateVerificationError,
    ClientCertificateRequiredError,
    HostnameMismatchError,
    IncompleteChainError,
    KeyMismatchError,
    KeyPasswordError,
    PinMismatchError,
    ProtocolVersionError,
    SecureSessionError,
    SelfSignedCertificateError,
    TLSConfigError,
    TLSError,
    UnknownIssuerError,
    UntrustedCertificateError,
)

__all__ = [
    "DEFAULT_CAS",
    "SYSTEM_CAS",
    "CertificateExpiredError",
    "CertificateExpiresSoonWarning",
    "CertificateFileError",
    "CertificateNotYetValidError",
    "CertificateRevokedError",
    "CertificateVerificationError",
    "ClientCert",
    "ClientCertificateRequiredError",
    "HostnameMismatchError",
    "IncompleteChainError",
    "KeyMismatchError",
    "KeyPasswordError",
    "PinMismatchError",
    "ProtocolVersionError",
    "SecureSession",
    "SecureSessionError",
    "SelfSignedCertificateError",
    "TLSAdapter",
    "TLSConfig",
    "TLSConfigError",
    "TLSError",
    "TLSInfo",
    "UnknownIssuerError",
    "UntrustedCertificateError",
    "build_ssl_context",
]
