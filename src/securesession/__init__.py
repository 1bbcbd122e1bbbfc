"""securesession: TLS for requests done right.

One validated `TLSConfig` becomes one cached, read-only `ssl.SSLContext`, applied by
`TLSAdapter` and `SecureSession` with exact trust and pools isolated by posture.
"""

from ._adapter import TLSAdapter
from ._config import DEFAULT_CAS, SYSTEM_CAS, ClientCert, TLSConfig
from ._context import build_ssl_context
from ._session import SecureSession
from .errors import (
    CertificateExpiresSoonWarning,
    CertificateFileError,
    KeyMismatchError,
    KeyPasswordError,
    SecureSessionError,
    TLSConfigError,
)

__all__ = [
    "DEFAULT_CAS",
    "SYSTEM_CAS",
    "CertificateExpiresSoonWarning",
    "CertificateFileError",
    "ClientCert",
    "KeyMismatchError",
    "KeyPasswordError",
    "SecureSession",
    "SecureSessionError",
    "TLSAdapter",
    "TLSConfig",
    "TLSConfigError",
    "build_ssl_context",
]
