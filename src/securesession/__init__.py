"""securesession: TLS for requests done right.

One validated `TLSConfig` becomes one cached, read-only `ssl.SSLContext`, applied by
`TLSAdapter` and `SecureSession` with exact trust and pools isolated by posture.

The public names below are imported on first use (PEP 562), so that
``import securesession`` (and the pytest plugin, which lives in this package) costs
next to nothing until a name is used; type checkers see ordinary imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        ClientCertificateRejectedError,
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
        TLSHandshakeTimeoutError,
        UnknownIssuerError,
        UntrustedCertificateError,
        WeakCertificateError,
    )

# Where each public name lives; __getattr__ imports the module when the name is first used.
_EXPORTS = {
    "DEFAULT_CAS": "._config",
    "SYSTEM_CAS": "._config",
    "CertificateExpiredError": ".errors",
    "CertificateExpiresSoonWarning": ".errors",
    "CertificateFileError": ".errors",
    "CertificateNotYetValidError": ".errors",
    "CertificateRevokedError": ".errors",
    "CertificateVerificationError": ".errors",
    "ClientCert": "._config",
    "ClientCertificateRejectedError": ".errors",
    "ClientCertificateRequiredError": ".errors",
    "HostnameMismatchError": ".errors",
    "IncompleteChainError": ".errors",
    "KeyMismatchError": ".errors",
    "KeyPasswordError": ".errors",
    "PinMismatchError": ".errors",
    "ProtocolVersionError": ".errors",
    "SecureSession": "._session",
    "SecureSessionError": ".errors",
    "SelfSignedCertificateError": ".errors",
    "TLSAdapter": "._adapter",
    "TLSConfig": "._config",
    "TLSConfigError": ".errors",
    "TLSError": ".errors",
    "TLSHandshakeTimeoutError": ".errors",
    "TLSInfo": "._tlsinfo",
    "UnknownIssuerError": ".errors",
    "UntrustedCertificateError": ".errors",
    "WeakCertificateError": ".errors",
    "build_ssl_context": "._context",
}

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
    "ClientCertificateRejectedError",
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
    "TLSHandshakeTimeoutError",
    "TLSInfo",
    "UnknownIssuerError",
    "UntrustedCertificateError",
    "WeakCertificateError",
    "build_ssl_context",
]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        msg = f"module 'securesession' has no attribute {name!r}"
        raise AttributeError(msg) from None
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
