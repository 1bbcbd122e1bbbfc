"""Classify a failed TLS connection into a typed error that explains itself.

The class comes from what OpenSSL reported: the X509 verify code of a failed
verification, the reason (alert) of a failed handshake, our own pin check. The
facts in the message (the names a certificate is valid for, its dates, its
issuer, what the server sent, which TLS version it speaks) come from a probe
(`_probe`): one extra handshake to the same host and port, made only after a
failure. Probing after the fact keeps the success path free of any per-record
bookkeeping; a proxied request is not probed (the message then says less, never
something wrong). This module only decides the class and writes the message.
"""

from __future__ import annotations

import datetime
import http.client
import ssl
from typing import Any
from urllib.parse import urlsplit

from ._config import ClientCert, TLSConfig
from ._probe import VERSION_NAMES, Probe, facts_or_none, probe
from ._tlsinfo import CertFacts, PinCheckFailed
from .errors import (
    CertificateExpiredError,
    CertificateNotYetValidError,
    CertificateRevokedError,
    CertificateVerificationError,
    ClientCertificateRejectedError,
    ClientCertificateRequiredError,
    HostnameMismatchError,
    IncompleteChainError,
    PinMismatchError,
    ProtocolVersionError,
    SelfSignedCertificateError,
    TLSError,
    TLSHandshakeTimeoutError,
    UnknownIssuerError,
    WeakCertificateError,
)

__all__ = ["diagnose"]

# OpenSSL X509_V_ERR_* codes (stable across OpenSSL 1.1 and 3).
_NOT_YET_VALID, _EXPIRED, _SELF_SIGNED, _SELF_SIGNED_IN_CHAIN = 9, 10, 18, 19
_UNKNOWN_ISSUER = frozenset({2, 20, 21})  # no issuer cert / locally / cannot verify leaf signature
_REVOKED, _NO_CRL = 23, 3
_NAME_MISMATCH = frozenset({62, 64})  # hostname mismatch, IP address mismatch
_TOO_WEAK = frozenset({66, 67, 68})  # EE_KEY_TOO_SMALL, CA_KEY_TOO_SMALL, CA_MD_TOO_WEAK

_PROTOCOL_REASONS = frozenset(
    {
        "UNSUPPORTED_PROTOCOL",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "NO_PROTOCOLS_AVAILABLE",
        "WRONG_SSL_VERSION",
        "UNSUPPORTED_SSL_VERSION",
        "VERSION_TOO_LOW",
        "VERSION_TOO_HIGH",
    }
)
_LEGACY_VERSIONS = frozenset({"TLS 1.0", "TLS 1.1"})  # what a probe calls them
# Alerts a client receives when the server refuses its certificate (or its lack of one).
_CLIENT_CERT_REASONS = frozenset(
    {
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
        "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        "SSLV3_ALERT_CERTIFICATE_REVOKED",
        "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
        "TLSV1_ALERT_UNKNOWN_CA",
        "TLSV1_ALERT_ACCESS_DENIED",
    }
)
_EOF_TYPES = (
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
    ConnectionResetError,
    BrokenPipeError,
    http.client.RemoteDisconnected,
)
# What OpenSSL says when the bytes that came back are not TLS at all.
_NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST"}
)
_PROBE_TIMEOUT = 5.0
_LISTEN = 1.0  # how long a probe waits to see a server hang up after the handshake


def _root_cause(exc: BaseException) -> BaseException | None:
    """Find the ssl or socket error at the bottom of requests' and urllib3's wrapping."""
    queue: list[BaseException] = [exc]
    seen: set[int] = set()
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (ssl.SSLError, *_EOF_TYPES)) or (
            isinstance(current, TimeoutError) and "handshake" in str(current)
        ):
            return current
        nested = [
            getattr(current, "reason", None),
            *current.args,
            current.__cause__,
            current.__context__,
        ]
        queue.extend(e for e in nested if isinstance(e, BaseException))
    return None


def _day(value: datetime.datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"


def _facts_sentence(leaf: CertFacts | None, *, names: bool = True) -> str:
    if leaf is None:
        return ""
    valid_for = f"for {', '.join(leaf.names) or 'no names'}, " if names else ""
    return (
        f" The certificate is {valid_for}issued by {leaf.issuer}, "
        f"valid {_day(leaf.not_before)} to {_day(leaf.not_after)}."
    )


def _fact_kwargs(leaf: CertFacts | None) -> dict[str, Any]:
    if leaf is None:
        return {}
    return {
        "peer_subject": leaf.subject,
        "peer_names": leaf.names,
        "peer_issuer": leaf.issuer,
        "not_before": leaf.not_before,
        "not_after": leaf.not_after,
    }


def _trust_summary(tls: TLSConfig) -> str:
    sources = tls._trust_sources
    if sources is None:
        return "certifi's roots (the default)"
    return ", ".join(
        f"<{len(s)} bytes>" if isinstance(s, bytes) else s if isinstance(s, str) else repr(s)
        for s in sources
    )


def _versions(tls: TLSConfig) -> str:
    minimum, maximum = tls._version_range
    low = VERSION_NAMES[int(minimum)]
    high = VERSION_NAMES[int(maximum)] if maximum is not None else "TLS 1.3"
    return low if low == high else f"{low} to {high}"


def diagnose(exc: BaseException, url: str, tls: TLSConfig, **kwargs: Any) -> TLSError | None:
    """Return the typed, explained error for ``exc``, or None if it is not a TLS failure.

    Never raises: if explaining fails (a certificate `cryptography` cannot parse, a
    probe that misbehaves), the caller re-raises the original error.
    """
    try:
        return _diagnose(exc, url, tls, **kwargs)
    except Exception:  # an explanation must never replace the error
        return None


def _diagnose(
    exc: BaseException,
    url: str,
    tls: TLSConfig,
    *,
    proxied: bool,
    timeout: float | None,
    new_connection: bool,
    in_handshake: bool = False,
) -> TLSError | None:
    root = _root_cause(exc)
    if root is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 443
    where = f"{host}:{port}"
    sni = tls.server_hostname or host
    limit = min(timeout or _PROBE_TIMEOUT, _PROBE_TIMEOUT)

    def look(*, legacy: bool = False, **options: Any) -> Probe:
        return Probe() if proxied else probe(host, port, sni, limit, legacy=legacy, **options)

    if isinstance(root, TimeoutError) and not isinstance(root, ssl.SSLError):
        msg = (
            f"TLS handshake with {where} did not finish within {timeout} s: the server "
            "accepted the TCP connection but never completed TLS (an overloaded server, a "
            "firewall that lets SYN through but not data, or not a TLS port). Fix: check that "
            f"{where} serves HTTPS, or raise the connect timeout."
        )
        return TLSHandshakeTimeoutError(msg, host=host, port=port)
    if getattr(root, "reason", None) in _NOT_TLS_REASONS:
        msg = (
            f"TLS handshake with {where} failed: the server did not answer with TLS (what came "
            "back looks like plain HTTP or another protocol). Fix: use http:// if the server "
            "speaks plain HTTP there, or the port where it serves HTTPS."
        )
        return TLSError(msg, host=host, port=port, reason=getattr(root, "reason", None))
    if isinstance(root, PinCheckFailed):
        leaf = facts_or_none(root.der) if root.der else None
        msg = (
            f"TLS connection to {where} refused: the server's public key matches none of the "
            f"configured pins. Expected one of {', '.join(root.expected)}; the server presented "
            f"{root.actual}.{_facts_sentence(leaf)} No request was sent. Fix: if the server's key "
            "was rotated on purpose, add its new pin to TLSConfig(pins=...); otherwise treat "
            "this as a possible interception."
        )
        return PinMismatchError(
            msg,
            host=host,
            port=port,
            expected=root.expected,
            actual=root.actual,
            **_fact_kwargs(leaf),
        )
    if isinstance(root, ssl.SSLCertVerificationError):
        return _verification_error(root, where, host, port, sni, tls, look())
    reason = getattr(root, "reason", None) if isinstance(root, ssl.SSLError) else None
    if reason in _PROTOCOL_REASONS:
        seen = look(legacy=True)
        server = (
            f"the server speaks {seen.version} (its choice when offered every version)"
            if seen.version and seen.error is None
            else "the server accepted none of TLS 1.0 to 1.3"
            if seen.error is not None
            else "the server's versions are unknown"
        )
        fix = (
            # No setting reaches below TLS 1.2: pointing at minimum_version would point nowhere.
            "securesession refuses TLS versions below 1.2 (deprecated by RFC 8996) whatever "
            "the configuration says. Fix: upgrade the server to TLS 1.2 or 1.3."
            if seen.version in _LEGACY_VERSIONS and seen.error is None
            else "Fix: if that is acceptable, change TLSConfig(minimum_version=/maximum_version=); "
            "otherwise upgrade the server."
        )
        msg = (
            f"TLS handshake with {where} failed: no TLS version both sides accept. This session "
            f"allows {_versions(tls)}; {server}. {fix}"
        )
        return ProtocolVersionError(msg, host=host, port=port, reason=reason)
    handshake_refused = reason == "SSLV3_ALERT_HANDSHAKE_FAILURE"  # TLS 1.2 servers say this
    closed_after_handshake = new_connection and (
        isinstance(root, _EOF_TYPES) or reason == "UNEXPECTED_EOF_WHILE_READING"
    )
    if (
        reason in _CLIENT_CERT_REASONS
        or closed_after_handshake
        or (handshake_refused and tls._identity is None)
    ):
        return _client_cert_error(reason, where, host, port, tls, look)
    if in_handshake and isinstance(root, _EOF_TYPES):
        how = "reset" if isinstance(root, ConnectionResetError) else "closed"
        msg = (
            f"TLS handshake with {where} failed: the connection was {how} during the TLS "
            "handshake, before any certificate was seen (a server that is not TLS on this "
            "port, one that refused this client's hello, or a middlebox). Fix: check that "
            f"{where} serves HTTPS and what sits between; `securesession inspect` shows what "
            "the server presents."
        )
        return TLSError(msg, host=host, port=port)
    return None


def _client_cert_error(
    reason: str | None,
    where: str,
    host: str,
    port: int,
    tls: TLSConfig,
    look: Any,
) -> TLSError | None:
    identity = tls._identity
    if reason not in _CLIENT_CERT_REASONS:
        # A refused handshake (TLS 1.2), or a connection closed right after a new
        # handshake: TLS 1.3 servers judge the client certificate after the client has
        # finished its half. Confirm with a probe rather than guess from an EOF.
        if identity is None:
            seen = look(listen=_LISTEN)
            refused = reason == "SSLV3_ALERT_HANDSHAKE_FAILURE" or bool(seen.hung_up)
            if not (seen.cert_requested and refused):
                return None
        elif not look(context=tls.ssl_context(), listen=_LISTEN).hung_up:
            return None  # the server keeps a connection that shows our certificate
    if identity is not None:
        alert = f" (alert {reason})" if reason else " (it hung up after the handshake)"
        issuer = _issuer_of(identity)
        msg = (
            f"TLS connection to {where} failed: the server rejected the client certificate this "
            f"session sent, {identity.subject}, issued by {issuer}{alert}. Fix: check that the "
            f"server trusts {issuer} for client certificates (or use a certificate from a CA it "
            "trusts), and that the certificate is still valid and allows clientAuth."
        )
        return ClientCertificateRejectedError(msg, host=host, port=port, reason=reason)
    closed = reason not in _CLIENT_CERT_REASONS and reason != "SSLV3_ALERT_HANDSHAKE_FAILURE"
    how = " (TLS 1.3 reports this as the connection closing after the handshake)" if closed else ""
    msg = (
        f"TLS connection to {where} failed: the server requires a client certificate and this "
        f"session sent none{how}. Fix: pass TLSConfig(client_cert=ClientCert(...)), or "
        "mount_tls() one for this host."
    )
    return ClientCertificateRequiredError(msg, host=host, port=port, reason=reason)


def _issuer_of(cert: ClientCert) -> str:
    """The issuer of the client certificate, read again (its key is not needed for that)."""
    from ._identity import _parse_chain, _read

    try:
        source = cert._sources()[0]
        return _parse_chain(_read("client_cert", source, []), "")[0].issuer.rfc4514_string()
    except Exception:  # rotated away or unreadable since: the message says less
        return "its issuer"


def _verification_error(
    root: ssl.SSLCertVerificationError,
    where: str,
    host: str,
    port: int,
    sni: str,
    tls: TLSConfig,
    seen: Probe,
) -> TLSError:
    code = root.verify_code
    leaf = seen.leaf
    facts = _facts_sentence(leaf)
    kwargs: dict[str, Any] = {
        "verify_code": code,
        "reason": root.verify_message,
        **_fact_kwargs(leaf),
    }
    head = f"TLS certificate verification failed for {where}:"
    now = datetime.datetime.now(datetime.timezone.utc)
    if code in _NAME_MISMATCH:
        names = ", ".join(leaf.names) if leaf else "other names"
        msg = (
            f"{head} the certificate is not valid for '{sni}'; it is valid for {names}."
            f"{_facts_sentence(leaf, names=False)} "
            f"Fix: use a URL with one of those names, or, when connecting by address on purpose, "
            f"set TLSConfig(server_hostname='<one of those names>')."
        )
        return HostnameMismatchError(msg, **kwargs, host=host, port=port)
    if code == _EXPIRED:
        ago = f" ({(now - leaf.not_after).days} days ago)" if leaf else ""
        msg = (
            f"{head} the certificate has expired{ago}.{facts} Fix: renew the server's "
            f"certificate; if it looks current, check this machine's clock (now {_day(now)})."
        )
        return CertificateExpiredError(msg, **kwargs, host=host, port=port)
    if code == _NOT_YET_VALID:
        msg = (
            f"{head} the certificate is not valid yet.{facts} Fix: check this machine's clock "
            f"(now {_day(now)}) and the server's, or wait until the certificate's start date."
        )
        return CertificateNotYetValidError(msg, **kwargs, host=host, port=port)
    if code == _REVOKED:
        msg = (
            f"{head} the certificate has been revoked by its issuer (it is listed in a "
            f"configured CRL).{facts} Fix: the server needs a new certificate; do not "
            "work around this."
        )
        return CertificateRevokedError(msg, **kwargs, host=host, port=port)
    if code == _SELF_SIGNED or (code in _UNKNOWN_ISSUER and leaf is not None and leaf.self_issued):
        msg = (
            f"{head} the server presented a self-signed certificate, which nothing in this "
            f"session's trust ({_trust_summary(tls)}) vouches for.{facts} Fix: if you trust "
            "this server, add its certificate to ca_bundle (e.g. ca_bundle=[DEFAULT_CAS, "
            "'server.pem']); do not disable verification."
        )
        return SelfSignedCertificateError(msg, **kwargs, host=host, port=port)
    if code in _UNKNOWN_ISSUER and leaf is not None and len(seen.chain) == 1 and leaf.ca_issuers:
        msg = (
            f"{head} the server sent only its own certificate, not the intermediate CA "
            f"({leaf.issuer}) that links it to a trusted root. Browsers fetch a missing "
            f"intermediate from the certificate's AIA URL ({leaf.ca_issuers[0]}); Python does "
            f"not.{facts} Fix: configure the server to send its full chain (certificate "
            "followed by intermediates); as a client-side workaround, add the intermediate "
            "to ca_bundle."
        )
        return IncompleteChainError(msg, **kwargs, host=host, port=port)
    if code in _UNKNOWN_ISSUER or code == _SELF_SIGNED_IN_CHAIN:
        top = facts_or_none(seen.chain[-1]) if len(seen.chain) > 1 else None
        root_name = top.subject if top is not None else None
        issuer = root_name or (leaf.issuer if leaf else "its issuer")
        maybe = (
            f" If {leaf.issuer} is an intermediate CA, the server may also be failing to send it."
            if leaf is not None and len(seen.chain) == 1
            else ""
        )
        msg = (
            f"{head} the certificate was issued by a CA that is not trusted: {issuer} is not "
            f"among this session's trust ({_trust_summary(tls)}).{facts}{maybe} Fix: add that "
            "CA's certificate to ca_bundle (ca_bundle=[DEFAULT_CAS, 'ca.pem'] keeps certifi's)."
        )
        return UnknownIssuerError(msg, **kwargs, host=host, port=port)
    if code in _TOO_WEAK:
        msg = (
            f"{head} {_weakness(seen, tls) or root.verify_message.lower()}, below the security "
            f"level this session enforces (RSA keys of 2048 bits or more, SHA-256 or better)."
            f"{facts} Fix: reissue the certificate with an RSA key of at least 2048 bits or an "
            "ECDSA key, signed with SHA-256; securesession does not lower the security level."
        )
        return WeakCertificateError(msg, **kwargs, host=host, port=port)
    hint = (
        " No CRL in TLSConfig(crl=...) covers this certificate's issuer; add it or drop crl."
        if code == _NO_CRL
        else ""
    )
    msg = f"{head} {root.verify_message} (OpenSSL verify code {code}).{facts}{hint}"
    return CertificateVerificationError(msg, **kwargs, host=host, port=port)


def _weakness(seen: Probe, tls: TLSConfig) -> str | None:
    """Which certificate on the path is weak and how, from what was sent and what is trusted."""
    try:
        anchors = tls.ssl_context().get_ca_certs(binary_form=True)
    except Exception:  # trust no longer loads: judge what the server sent
        anchors = []
    trusted = {f.subject: f for f in map(facts_or_none, anchors) if f is not None}
    path = [f for f in map(facts_or_none, seen.chain) if f is not None]
    while path and not path[-1].self_issued and path[-1].issuer in trusted and len(path) < 10:
        path.append(trusted[path[-1].issuer])  # the CA the server did not send (the anchor)
    for depth, cert in enumerate(path):
        if cert.weakness is not None:
            who = "the server's certificate" if depth == 0 else f"its CA certificate {cert.subject}"
            return f"{who} {cert.weakness}"
    return None
