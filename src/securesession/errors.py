"""Errors raised by securesession.

The hierarchy::

    SecureSessionError
    └── TLSConfigError(SecureSessionError, ValueError)      bad configuration, raised at build time
        ├── CertificateFileError(TLSConfigError, OSError)  missing/unreadable/not a certificate
        ├── KeyPasswordError       key encrypted and password missing or wrong
        └── KeyMismatchError       private key does not belong to the certificate

    CertificateExpiresSoonWarning(UserWarning)   a certificate expires within warn_expiry_days

Configuration errors are raised where the configuration is written: when a
`TLSConfig`, `TLSAdapter` or `SecureSession` is built, never on the first request.
Every message names the field, the path or the environment variable at fault and
never contains a password or key material.
"""

from __future__ import annotations

__all__ = [
    "CertificateExpiresSoonWarning",
    "CertificateFileError",
    "KeyMismatchError",
    "KeyPasswordError",
    "SecureSessionError",
    "TLSConfigError",
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
