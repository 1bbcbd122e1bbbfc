"""build_ssl_context: one pure builder from a `TLSConfig` to a sealed `ssl.SSLContext`.

Why a cache: requests loads a CA bundle into a fresh context for every new
connection (~45 ms for certifi's 146 roots). Here a context is built once per
distinct `TLSConfig` and shared by every session, adapter and thread that uses an
equal configuration; `_cache` keeps them and notices rotated files. The pieces
live beside this module: `_trust` loads CA files and CRLs, `_identity` client
identities, `_sealed` is the read-only context class itself.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import ssl
import warnings
from typing import TYPE_CHECKING

from . import _cache  # a cycle by modules only: _cache calls build() at run time
from ._config import ClientCert, TLSConfig
from ._files import FileStamp
from ._resume import SessionCache
from ._sealed import SealedSSLContext
from ._trust import load_crls, load_trust
from .errors import CertificateExpiresSoonWarning, TLSConfigError

if TYPE_CHECKING:
    from ._identity import Identity

__all__ = ["Built", "build", "build_ssl_context", "describe_trust"]

log = logging.getLogger("securesession")


@dataclasses.dataclass(frozen=True)
class Built:
    """What `build` made: the context, the stamps of every file read, the identity loaded."""

    context: SealedSSLContext
    stamps: tuple[FileStamp, ...]
    identity: Identity | None = None
    # Set when the client identity did not load and ``last_identity`` stood in for it.
    identity_error: Exception | None = None


_warned_expiry: set[tuple[str, datetime.datetime]] = set()


def _warn_if_expiring(subject: str, not_after: datetime.datetime, days: int | None) -> None:
    """Warn once per certificate and process when it expires within ``days``."""
    if days is None:
        return
    left = not_after - datetime.datetime.now(datetime.timezone.utc)
    key = (subject, not_after)
    if left > datetime.timedelta(days=days) or key in _warned_expiry:
        return
    _warned_expiry.add(key)
    msg = (
        f"client certificate {subject} expires in {max(left.days, 0)} day(s), on "
        f"{not_after:%Y-%m-%d %H:%M} UTC; renew it"
    )
    log.warning(msg)
    warnings.warn(msg, CertificateExpiresSoonWarning, stacklevel=2)


def _load_identity(
    ctx: ssl.SSLContext,
    tls: TLSConfig,
    cert: ClientCert,
    stamps: list[FileStamp],
    last: Identity | None,
) -> tuple[Identity, Exception | None]:
    from ._identity import load_into_context, read_identity

    error: Exception | None = None
    try:
        # Read again rather than trust what ClientCert saw: files rotate.
        identity = read_identity(*cert._sources(), cert.password)
    except Exception as exc:  # a password callable may raise anything
        if last is None:
            raise
        # Presenting the previous certificate widens nothing; the server decides.
        identity, error = last, exc
        stamps.extend(last.stamps)
    else:
        stamps.extend(identity.stamps)
    load_into_context(ctx, identity)
    leaf = identity.leaf  # the file's current certificate, after any rotation
    _warn_if_expiring(leaf.subject.rfc4514_string(), leaf.not_valid_after_utc, tls.warn_expiry_days)
    return identity, error


_keylog_warned: set[str] = set()


def _enable_keylog(ctx: ssl.SSLContext, path: str) -> None:
    try:
        # Session secrets decrypt all traffic: create the file 0600 before OpenSSL
        # opens it (it would create it with the umask, typically 0644).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NONBLOCK, 0o600)
        try:
            st = os.fstat(fd)
            if st.st_mode & 0o077 and hasattr(os, "getuid") and st.st_uid == os.getuid():
                os.fchmod(fd, 0o600)  # an existing file others can read: ours, so tighten it
                log.warning("keylog_file: %s was readable by others; made it 0600", path)
        finally:
            os.close(fd)
        ctx.keylog_filename = path
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte or a lone surrogate
        msg = f"keylog_file: cannot write {path!r}: {getattr(exc, 'strerror', None) or exc}"
        raise TLSConfigError(msg) from exc
    if path not in _keylog_warned:  # once per file and process: it is loud on purpose
        _keylog_warned.add(path)
        log.warning("TLS key logging is ON: session secrets are written to %s", path)


def build(tls: TLSConfig, last_identity: Identity | None = None) -> Built:
    """Build a sealed context for ``tls``.

    Args:
        tls: The configuration.
        last_identity: The client identity of the previous build (a reload): used,
            and the failure reported in `Built.identity_error`, when the client
            identity no longer loads. Trust never falls back: it is always current.

    Raises:
        TLSConfigError: a trust source, CRL, the key log or (on a first build) the
            client identity does not load.
    """
    # PROTOCOL_TLS_CLIENT starts secure: CERT_REQUIRED, check_hostname on,
    # SSLv2/SSLv3 and TLS compression (CRIME) off, Python's vetted cipher list.
    ctx = SealedSSLContext(ssl.PROTOCOL_TLS_CLIENT)
    stamps: list[FileStamp] = []
    # TLS 1.0/1.1 are deprecated (RFC 8996); TLSConfig never goes below 1.2.
    ctx.minimum_version = tls.minimum_version  # type: ignore[assignment]  # normalized by TLSConfig
    if tls.maximum_version is not None:
        ctx.maximum_version = tls.maximum_version  # type: ignore[assignment]  # normalized by TLSConfig
    # RFC 6125: names come from subjectAltName only; browsers dropped the CN fallback.
    ctx.hostname_checks_common_name = False
    # Trust an intermediate that the user put in the bundle as an anchor, like curl
    # and Python 3.13's defaults; a chain must still end at something configured.
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    if tls.ciphers is not None:
        ctx.set_ciphers(tls.ciphers)
    # urllib3 speaks HTTP/1.1 only and sets this again on every connection.
    ctx.set_alpn_protocols(["http/1.1"])
    if tls.verify:
        load_trust(ctx, tls, stamps)
        if not tls.check_hostname:
            ctx.check_hostname = False  # explicit user request; the chain is still verified
    else:
        # Explicit user request (TLSConfig(verify=False) or verify=False per request).
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        log.warning("building a TLS context with certificate verification DISABLED")
    if tls.crl is not None and tls.verify:
        crls = load_crls(ctx, tls.crl, stamps)  # type: ignore[arg-type]  # normalized to a tuple
        ctx._securesession_crls = crls
    if tls.keylog_file:
        _enable_keylog(ctx, tls.keylog_file)  # type: ignore[arg-type]  # normalized to str
    identity, identity_error = None, None
    if tls.client_cert is not None:
        identity, identity_error = _load_identity(
            ctx,
            tls,
            tls.client_cert,  # type: ignore[arg-type]  # normalized by TLSConfig
            stamps,
            last_identity,
        )
    ctx._securesession_tls = tls
    if tls.resume_sessions:
        ctx._securesession_sessions = SessionCache()
    ctx._seal()
    log.debug(
        "built TLS context: trust=%s versions=%s..%s verify=%s check_hostname=%s files=%d",
        describe_trust(tls),
        tls.minimum_version.name,  # type: ignore[union-attr]  # normalized by TLSConfig
        tls.maximum_version.name if tls.maximum_version else "max",  # type: ignore[union-attr]
        tls.verify,
        tls.check_hostname,
        len(stamps),
    )
    return Built(ctx, tuple(stamps), identity, identity_error)


def describe_trust(tls: TLSConfig) -> str:
    """The trust of ``tls`` in a few words, for logs."""
    if not tls.verify:
        return "none (verify=False)"
    if tls.ca_bundle is None:
        return "certifi (default)"
    return ", ".join(
        f"<{len(s)} bytes>" if isinstance(s, bytes) else s if isinstance(s, str) else repr(s)
        for s in tls._trust_sources or ()
    )


def build_ssl_context(tls: TLSConfig) -> ssl.SSLContext:
    """Return the shared, read-only `ssl.SSLContext` for ``tls`` (same as `TLSConfig.ssl_context`).

    Args:
        tls: The configuration to build from.

    Returns:
        The cached context: the same object for equal configurations until one of
        its files changes.

    Raises:
        CertificateFileError: a CA file or directory holds no usable certificate,
            or no longer does since it was last loaded (trust fails closed).
        TLSConfigError: OpenSSL rejects part of ``tls``.
    """
    if not isinstance(tls, TLSConfig):
        msg = f"build_ssl_context() takes a TLSConfig, got {type(tls).__name__}"
        raise TypeError(msg)
    return _cache.CACHE.get(tls)
