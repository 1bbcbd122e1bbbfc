"""Test servers with TLS postures, for the pytest plugin: a local badssl.

Everything here is made at run time (trustme and cryptography), lives in a
temporary directory the caller owns, and listens on 127.0.0.1 only.
Requires the ``securesession[pytest]`` extra (trustme, pytest-httpserver).
"""

from __future__ import annotations

import datetime
import functools
import ssl
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from pytest_httpserver import HTTPServer

from . import errors
from .certs import _general_names

if TYPE_CHECKING:
    from werkzeug import Request, Response

__all__ = ["SERVER_NAMES", "CertPosture", "TLSTestServer", "client_certificate", "make_server"]

CertPosture = Literal[
    "valid",
    "expired",
    "not_yet_valid",
    "wrong_host",
    "self_signed",
    "untrusted_root",
    "incomplete_chain",
    "revoked",
]
POSTURES: tuple[CertPosture, ...] = CertPosture.__args__  # type: ignore[attr-defined]
SERVER_NAMES = ("localhost", "127.0.0.1", "::1")
_DAY = datetime.timedelta(days=1)

_EXPECTED_ERRORS: dict[str, type[errors.TLSError] | None] = {
    "valid": None,
    "expired": errors.CertificateExpiredError,
    "not_yet_valid": errors.CertificateNotYetValidError,
    "wrong_host": errors.HostnameMismatchError,
    "self_signed": errors.SelfSignedCertificateError,
    "untrusted_root": errors.UnknownIssuerError,
    "incomplete_chain": errors.IncompleteChainError,
    "revoked": errors.CertificateRevokedError,
}


class TLSTestServer(HTTPServer):
    """A pytest-httpserver `HTTPServer` serving HTTPS, with what a client needs to know.

    Attributes:
        posture: The certificate posture it was made with ("valid", "expired", ...).
        ca_bundle: Path to the PEM file that vouches for this server's certificate
            (the issuing root; for "self_signed", the certificate itself).
        crl: Path to a CRL revoking the certificate ("revoked" only), else None.
        expected_error: The `securesession.TLSError` subclass a session trusting
            ``tls_ca`` (and, for "revoked", ``crl``) gets; None when it should work.
        default_body: Body of the 200 answer to requests no handler matches; None
            keeps pytest-httpserver's behaviour (500 and a failed check).
    """

    posture: str = "valid"
    ca_bundle: str | None = None
    crl: str | None = None
    expected_error: type[errors.TLSError] | None = None
    default_body: str | None = None

    def thread_target(self) -> None:  # documented pytest-httpserver hook
        """Serve with a short poll interval, so that `stop` takes milliseconds, not 0.5 s."""
        if self.server is not None:
            self.server.serve_forever(poll_interval=0.02)

    def respond_nohandler(self, request: Request, extra_message: str = "") -> Response:
        """Answer unmatched requests with `default_body` when it is set."""
        if self.default_body is None:
            return super().respond_nohandler(request, extra_message)
        from werkzeug import Response

        return Response(self.default_body, 200, content_type="text/plain")


def client_certificate(request: Request) -> dict[str, Any] | None:
    """The client certificate the connection of ``request`` presented, as `ssl.SSLSocket.getpeercert` gives it, or None."""  # noqa: E501
    sock = request.environ.get("werkzeug.socket")
    cert = sock.getpeercert() if isinstance(sock, ssl.SSLSocket) else None
    return cert or None


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_leaf(
    subject_key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, Any],
    names: tuple[str, ...],
    *,
    aia_url: str | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(issuer[0])
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + 30 * _DAY)
        .add_extension(x509.SubjectAlternativeName(_general_names(names)), critical=False)
    )
    if aia_url is not None:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(aia_url),
                    )
                ]
            ),
            critical=False,
        )
    return builder.sign(issuer[1], hashes.SHA256())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _ca_signer(ca: trustme.CA) -> tuple[x509.Name, Any]:
    cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    return cert.subject, serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)


def crl(ca: trustme.CA, revoked_pems: list[bytes]) -> bytes:
    """A CRL from ``ca`` revoking the given PEM certificates (PEM bytes)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    subject, key = _ca_signer(ca)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(subject)
        .last_update(now - datetime.timedelta(hours=1))
        .next_update(now + 7 * _DAY)
    )
    for pem in revoked_pems:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(x509.load_pem_x509_certificate(pem).serial_number)
            .revocation_date(now - datetime.timedelta(minutes=5))
            .build()
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _material(posture: str, ca: trustme.CA) -> tuple[bytes, bytes, bytes, bytes | None]:
    """(chain PEM the server sends, key PEM, PEM that vouches for it, CRL PEM or None)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    root = ca.cert_pem.bytes()
    leaf: trustme.LeafCert
    if posture in ("valid", "revoked"):
        leaf = ca.issue_cert(*SERVER_NAMES)
    elif posture == "expired":
        leaf = ca.issue_cert(*SERVER_NAMES, not_before=now - 60 * _DAY, not_after=now - _DAY)
    elif posture == "not_yet_valid":
        leaf = ca.issue_cert(*SERVER_NAMES, not_before=now + 10 * _DAY, not_after=now + 60 * _DAY)
    elif posture == "wrong_host":
        leaf = ca.issue_cert("wrong.host.example")
    elif posture == "untrusted_root":
        stranger = trustme.CA(organization_name="securesession untrusted root")
        leaf = stranger.issue_cert(*SERVER_NAMES)
        root = stranger.cert_pem.bytes()
    elif posture == "self_signed":
        key = ec.generate_private_key(ec.SECP256R1())
        cert = make_leaf(key, (_name(SERVER_NAMES[0]), key), SERVER_NAMES)
        pem = cert.public_bytes(serialization.Encoding.PEM)
        return pem, _pem_key(key), pem, None
    elif posture == "incomplete_chain":
        intermediate = ca.create_child_ca()
        key = ec.generate_private_key(ec.SECP256R1())
        cert = make_leaf(
            key,
            _ca_signer(intermediate),
            SERVER_NAMES,
            aia_url="http://pki.invalid/securesession-intermediate.crt",
        )
        # The server sends its leaf only: the intermediate is the missing piece.
        return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key), root, None
    else:
        msg = f"cert must be one of {', '.join(POSTURES)}, got {posture!r}"
        raise ValueError(msg)
    chain = b"".join(p.bytes() for p in leaf.cert_chain_pems)
    revocations = crl(ca, [leaf.cert_chain_pems[0].bytes()]) if posture == "revoked" else None
    return chain, leaf.private_key_pem.bytes(), root, revocations


_VERSIONS = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1}


def _version(value: ssl.TLSVersion | str | None) -> ssl.TLSVersion | None:
    if value is None or isinstance(value, ssl.TLSVersion):
        return value
    name = value.strip().lower().removeprefix("tlsv")
    if name in _VERSIONS:
        return _VERSIONS[name]
    return {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[name]


def _allow_legacy(
    ctx: ssl.SSLContext, low: ssl.TLSVersion | None, high: ssl.TLSVersion | None
) -> None:
    """Set versions; for TLS 1.0/1.1 also lower OpenSSL's security level (test servers only)."""
    legacy = any(v is not None and v < ssl.TLSVersion.TLSv1_2 for v in (low, high))
    with warnings.catch_warnings():
        # Python deprecates naming TLS 1.0/1.1; a deliberately bad test server must.
        warnings.simplefilter("ignore", DeprecationWarning)
        if legacy:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        if low is not None:
            ctx.minimum_version = low
        if high is not None:
            ctx.maximum_version = high


@functools.lru_cache(maxsize=4)
def legacy_supported(version: ssl.TLSVersion) -> bool:
    """Whether this OpenSSL can still complete a handshake at ``version`` (1.0/1.1)."""
    ca = trustme.CA()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(server)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(client)
    for ctx in (server, client):
        _allow_legacy(ctx, version, version)
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname="localhost")
    s = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):  # a handshake takes a handful of round trips
        done = 0
        for obj, out, peer_in in ((c, c_out, s_in), (s, s_out, c_in)):
            try:
                obj.do_handshake()
                done += 1
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError:
                return False
            peer_in.write(out.read())
        if done == 2:
            return True
    return False


def make_server(
    directory: Path,
    ca: trustme.CA,
    *,
    cert: str = "valid",
    minimum_version: ssl.TLSVersion | str | None = None,
    maximum_version: ssl.TLSVersion | str | None = None,
    require_client_cert: bool = False,
    default_body: str | None = None,
) -> TLSTestServer:
    """Start a `TLSTestServer` on 127.0.0.1 with the given posture; the caller stops it.

    Raises:
        ValueError: an unknown posture or version.
        RuntimeError: a legacy version this OpenSSL cannot speak (the plugin skips).
    """
    chain, key, vouch, crl = _material(cert, ca)
    directory.mkdir(parents=True, exist_ok=True)
    index = len(list(directory.glob("server-*.pem")))
    server_pem = directory / f"server-{index}.pem"
    server_pem.write_bytes(chain + key)
    server_pem.chmod(0o600)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(server_pem)
    low, high = _version(minimum_version), _version(maximum_version)
    legacy = [v for v in (low, high) if v is not None and v in _VERSIONS.values()]
    if legacy and not all(legacy_supported(v) for v in legacy):
        msg = f"this OpenSSL ({ssl.OPENSSL_VERSION}) cannot serve {legacy[0].name}"
        raise RuntimeError(msg)
    _allow_legacy(ctx, low, high)
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(ctx)
    server = TLSTestServer(host="127.0.0.1", port=0, ssl_context=ctx, threaded=True)
    server.posture = cert
    server.default_body = default_body
    server.ca_bundle = str(directory / f"server-{index}-ca.pem")
    Path(server.ca_bundle).write_bytes(vouch)
    if crl is not None:
        server.crl = str(directory / f"server-{index}.crl")
        Path(server.crl).write_bytes(crl)
    expected = _EXPECTED_ERRORS[cert]
    if expected is None and high is not None and high < ssl.TLSVersion.TLSv1_2:
        expected = errors.ProtocolVersionError  # securesession speaks TLS 1.2+ only
    if expected is None and require_client_cert:
        expected = errors.ClientCertificateRequiredError
    server.expected_error = expected
    server.start()
    return server
