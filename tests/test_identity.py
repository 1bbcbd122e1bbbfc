"""Client identities in every form, against a real server that requires one.

The server (CERT_REQUIRED, trusting only `ca`) answers 'ok <client CN>', so each
test sees which certificate was actually presented in the handshake.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import stat
import subprocess
import sys
import textwrap
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from securesession import (
    CertificateExpiresSoonWarning,
    CertificateFileError,
    ClientCert,
    KeyMismatchError,
    KeyPasswordError,
    SecureSession,
    TLSConfig,
    TLSConfigError,
    _memfile,
)

from ._server import KeepAliveHTTPSServer
from .conftest import KeepAliveFactory

PASSWORD = "correct horse battery staple"
KEY_TYPES = [trustme.KeyType.ECDSA, trustme.KeyType.RSA]


@pytest.fixture
def mtls(make_keepalive: KeepAliveFactory, ca: trustme.CA) -> KeepAliveHTTPSServer:
    return make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca, require_client_cert=True)


def issue(ca: trustme.CA, name: str, key_type: trustme.KeyType = KEY_TYPES[0], **kw: object):  # type: ignore[no-untyped-def]
    return ca.issue_cert(f"{name}@example.test", common_name=name, key_type=key_type, **kw)


def encrypted_key(leaf: trustme.LeafCert, password: bytes, fmt: str = "pkcs8") -> bytes:
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    private_format = {
        "pkcs8": serialization.PrivateFormat.PKCS8,
        "traditional": serialization.PrivateFormat.TraditionalOpenSSL,
    }[fmt]
    return key.private_bytes(
        serialization.Encoding.PEM, private_format, serialization.BestAvailableEncryption(password)
    )


def get(mtls: KeepAliveHTTPSServer, ca_path: str, **tls: object) -> str:
    with SecureSession(ca_bundle=ca_path, **tls) as session:  # type: ignore[arg-type]
        return session.get(mtls.url_for("/"), timeout=10).text


# --- every form ------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES, ids=["ecdsa", "rsa"])
def test_separate_pem_files(
    mtls: KeepAliveHTTPSServer, ca: trustme.CA, ca_path: str, tmp_path: Path, key_type: object
) -> None:
    leaf = issue(ca, "alice", key_type)
    leaf.cert_chain_pems[0].write_to_path(tmp_path / "alice.pem")
    leaf.private_key_pem.write_to_path(tmp_path / "alice-key.pem")
    pair = (str(tmp_path / "alice.pem"), str(tmp_path / "alice-key.pem"))
    assert get(mtls, ca_path, client_cert=pair) == "ok alice"
    assert get(mtls, ca_path, client_cert=ClientCert(*pair)) == "ok alice"


def test_combined_pem_file(
    mtls: KeepAliveHTTPSServer, ca: trustme.CA, ca_path: str, tmp_path: Path
) -> None:
    leaf = issue(ca, "combined")
    leaf.private_key_and_cert_chain_pem.write_to_path(tmp_path / "both.pem")
    assert get(mtls, ca_path, client_cert=str(tmp_path / "both.pem")) == "ok combined"


@pytest.mark.parametrize("key_type", KEY_TYPES, ids=["ecdsa", "rsa"])
def test_in_memory_bytes(
    mtls: KeepAliveHTTPSServer, ca: trustme.CA, ca_path: str, key_type: object
) -> None:
    leaf = issue(ca, "memory", key_type)
    cert = ClientCert(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())
    assert get(mtls, ca_path, client_cert=cert) == "ok memory"


def test_chain_with_intermediate_in_cert_file(
    mtls: KeepAliveHTTPSServer, ca: trustme.CA, ca_path: str, tmp_path: Path
) -> None:
    intermediate = ca.create_child_ca()
    leaf = issue(intermediate, "chained")
    assert len(leaf.cert_chain_pems) == 2  # leaf + intermediate; the server knows only the root
    chain = tmp_path / "chain.pem"
    chain.write_bytes(b"".join(p.bytes() for p in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(tmp_path / "key.pem")
    assert get(mtls, ca_path, client_cert=(str(chain), str(tmp_path / "key.pem"))) == "ok chained"


@pytest.mark.parametrize("fmt", ["pkcs8", "traditional"])
@pytest.mark.parametrize("key_type", KEY_TYPES, ids=["ecdsa", "rsa"])
@pytest.mark.parametrize(
    "password",
    [PASSWORD, PASSWORD.encode(), lambda: PASSWORD, lambda: PASSWORD.encode()],
    ids=["str", "bytes", "callable-str", "callable-bytes"],
)
def test_encrypted_keys(
    mtls: KeepAliveHTTPSServer,
    ca: trustme.CA,
    ca_path: str,
    tmp_path: Path,
    fmt: str,
    key_type: object,
    password: object,
) -> None:
    leaf = issue(ca, "locked", key_type)
    leaf.cert_chain_pems[0].write_to_path(tmp_path / "c.pem")
    key = encrypted_key(leaf, PASSWORD.encode(), fmt)
    assert (b"ENCRYPTED PRIVATE KEY" in key) == (fmt == "pkcs8")
    assert (b"Proc-Type: 4,ENCRYPTED" in key) == (fmt == "traditional")
    (tmp_path / "k.pem").write_bytes(key)
    triple = (str(tmp_path / "c.pem"), str(tmp_path / "k.pem"), password)
    assert get(mtls, ca_path, client_cert=triple) == "ok locked"


def test_encrypted_key_inside_combined_file(
    mtls: KeepAliveHTTPSServer, ca: trustme.CA, ca_path: str, tmp_path: Path
) -> None:
    leaf = issue(ca, "combo")
    both = tmp_path / "both.pem"
    both.write_bytes(leaf.cert_chain_pems[0].bytes() + encrypted_key(leaf, PASSWORD.encode()))
    assert get(mtls, ca_path, client_cert=ClientCert(str(both), password=PASSWORD)) == "ok combo"


def _p12(ca: trustme.CA, name: str, password: bytes | None, key_type: object) -> bytes:
    intermediate = ca.create_child_ca()
    leaf = issue(intermediate, name, key_type)
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    from cryptography import x509

    cert, *chain = (x509.load_pem_x509_certificate(p.bytes()) for p in leaf.cert_chain_pems)
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(name.encode(), key, cert, chain, encryption)  # type: ignore[arg-type]


@pytest.mark.parametrize("key_type", KEY_TYPES, ids=["ecdsa", "rsa"])
def test_pkcs12_path_and_bytes_with_chain(
    mtls: KeepAliveHTTPSServer, ca: trustme.CA, ca_path: str, tmp_path: Path, key_type: object
) -> None:
    data = _p12(ca, "pfx", PASSWORD.encode(), key_type)
    (tmp_path / "id.p12").write_bytes(data)
    from_path = ClientCert.from_pkcs12(tmp_path / "id.p12", password=PASSWORD)
    assert get(mtls, ca_path, client_cert=from_path) == "ok pfx"  # needs the intermediate
    from_bytes = ClientCert.from_pkcs12(data, password=lambda: PASSWORD.encode())
    assert get(mtls, ca_path, client_cert=from_bytes) == "ok pfx"
    assert "PRIVATE KEY" not in repr(from_bytes)


def test_pkcs12_without_password(mtls: KeepAliveHTTPSServer, ca: trustme.CA, ca_path: str) -> None:
    cert = ClientCert.from_pkcs12(_p12(ca, "open", None, trustme.KeyType.ECDSA))
    assert get(mtls, ca_path, client_cert=cert) == "ok open"


def test_no_certificate_is_refused(mtls: KeepAliveHTTPSServer, ca_path: str) -> None:
    with pytest.raises(requests.exceptions.RequestException):
        get(mtls, ca_path)


def test_per_request_cert_tuple_with_password(
    mtls: KeepAliveHTTPSServer, ca: trustme.CA, ca_path: str, tmp_path: Path
) -> None:
    leaf = issue(ca, "request")
    leaf.cert_chain_pems[0].write_to_path(tmp_path / "c.pem")
    (tmp_path / "k.pem").write_bytes(encrypted_key(leaf, b"pw"))
    with SecureSession(ca_bundle=ca_path) as session:
        cert = (str(tmp_path / "c.pem"), str(tmp_path / "k.pem"), "pw")
        assert session.get(mtls.url_for("/"), cert=cert).text == "ok request"


# --- per-host identity ---------------------------------------------------------------


def test_mounted_identity_is_presented_only_to_its_prefix(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str, tmp_path: Path
) -> None:
    api = make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca)  # CERT_OPTIONAL
    other = make_keepalive(ca.issue_cert("127.0.0.1"), client_ca=ca)
    leaf = issue(ca, "api-client")
    identity = ClientCert(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())
    with SecureSession(ca_bundle=ca_path) as session:
        session.mount_tls(api.url_for("/"), session.tls.replace(client_cert=identity))
        assert session.get(api.url_for("/")).text == "ok api-client"
        assert session.get(other.url_for("/")).text == "ok"
        # a redirect from the mounted host to another host does not carry the identity
        target = urllib.parse.quote(other.url_for("/landed"), safe="")
        response = session.get(api.url_for(f"/redirect/{target}"))
        assert response.text == "ok"
        assert response.history[0].status_code == 302
    assert other.requests[-1] == ("/landed", "")
    assert api.requests[-1][1] == "api-client"


# --- errors ----------------------------------------------------------------------


def test_encrypted_key_without_password(ca: trustme.CA, tmp_path: Path) -> None:
    leaf = issue(ca, "nopw")
    leaf.cert_chain_pems[0].write_to_path(tmp_path / "c.pem")
    (tmp_path / "k.pem").write_bytes(encrypted_key(leaf, PASSWORD.encode()))
    with pytest.raises(KeyPasswordError, match=r"k\.pem is encrypted") as info:
        SecureSession(client_cert=(str(tmp_path / "c.pem"), str(tmp_path / "k.pem")))
    assert isinstance(info.value, TLSConfigError)


@pytest.mark.parametrize("fmt", ["pkcs8", "traditional"])
def test_wrong_password(ca: trustme.CA, tmp_path: Path, fmt: str) -> None:
    leaf = issue(ca, "wrong")
    leaf.cert_chain_pems[0].write_to_path(tmp_path / "c.pem")
    (tmp_path / "k.pem").write_bytes(encrypted_key(leaf, PASSWORD.encode(), fmt))
    with pytest.raises(KeyPasswordError, match="wrong password") as info:
        ClientCert(str(tmp_path / "c.pem"), str(tmp_path / "k.pem"), password="not-the-pw-42")
    assert "not-the-pw-42" not in str(info.value)
    assert PASSWORD not in str(info.value)


def test_wrong_password_in_combined_file(ca: trustme.CA, tmp_path: Path) -> None:
    leaf = issue(ca, "combo")
    both = tmp_path / "both.pem"
    both.write_bytes(leaf.cert_chain_pems[0].bytes() + encrypted_key(leaf, PASSWORD.encode()))
    with pytest.raises(KeyPasswordError, match=r"both\.pem"):
        ClientCert(str(both), password="nope-nope")
    with pytest.raises(KeyPasswordError, match="no password"):
        ClientCert(str(both))


def test_key_mismatch(ca: trustme.CA, tmp_path: Path) -> None:
    alice, bob = issue(ca, "alice"), issue(ca, "bob")
    alice.cert_chain_pems[0].write_to_path(tmp_path / "alice.pem")
    bob.private_key_pem.write_to_path(tmp_path / "bob-key.pem")
    with pytest.raises(KeyMismatchError, match=r"bob-key\.pem does not belong.*alice"):
        TLSConfig(client_cert=(str(tmp_path / "alice.pem"), str(tmp_path / "bob-key.pem")))


def test_certificate_file_errors(ca: trustme.CA, tmp_path: Path) -> None:
    leaf = issue(ca, "x")
    leaf.private_key_pem.write_to_path(tmp_path / "key.pem")
    (tmp_path / "junk.pem").write_text("hello")
    with pytest.raises(CertificateFileError, match=r"missing\.pem"):
        ClientCert(str(tmp_path / "missing.pem"), str(tmp_path / "key.pem"))
    with pytest.raises(CertificateFileError, match=r"junk\.pem holds no PEM certificate"):
        ClientCert(str(tmp_path / "junk.pem"), str(tmp_path / "key.pem"))
    leaf.cert_chain_pems[0].write_to_path(tmp_path / "cert.pem")
    with pytest.raises(CertificateFileError, match="no PEM private key"):
        ClientCert(str(tmp_path / "cert.pem"))  # no key= and no key inside
    with pytest.raises(CertificateFileError, match="no PEM private key"):
        ClientCert(str(tmp_path / "cert.pem"), str(tmp_path / "junk.pem"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(ca: trustme.CA, tmp_path: Path) -> None:
    leaf = issue(ca, "x")
    leaf.private_key_and_cert_chain_pem.write_to_path(tmp_path / "both.pem")
    (tmp_path / "both.pem").chmod(0)
    with pytest.raises(CertificateFileError, match="not readable"):
        ClientCert(str(tmp_path / "both.pem"))


def test_pkcs12_errors(ca: trustme.CA, tmp_path: Path) -> None:
    data = _p12(ca, "p", b"secret-p12", trustme.KeyType.ECDSA)
    with pytest.raises(KeyPasswordError, match="password-protected"):
        ClientCert.from_pkcs12(data)
    with pytest.raises(KeyPasswordError, match="wrong password") as info:
        ClientCert.from_pkcs12(data, password="guess-123")
    assert "guess-123" not in str(info.value)
    with pytest.raises(CertificateFileError, match="not a PKCS#12"):
        ClientCert.from_pkcs12(b"garbage")
    with pytest.raises(KeyPasswordError):
        ClientCert.from_pkcs12(data[: len(data) // 2], password="secret-p12")  # truncated
    with pytest.raises(CertificateFileError, match=r"nope\.p12"):
        ClientCert.from_pkcs12(tmp_path / "nope.p12")


def test_wrong_password_types() -> None:
    with pytest.raises(TypeError):
        ClientCert(b"-----BEGIN CERTIFICATE-----", password=123)  # type: ignore[arg-type]


def test_callable_returning_wrong_type(ca: trustme.CA) -> None:
    leaf = issue(ca, "cb")
    key = encrypted_key(leaf, b"pw")
    with pytest.raises(TypeError, match="neither str nor bytes"):
        ClientCert(leaf.cert_chain_pems[0].bytes(), key, password=lambda: 42)  # type: ignore[arg-type, return-value]


# --- expiry ------------------------------------------------------------------------


def _dated(ca: trustme.CA, days_left: float) -> ClientCert:
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = issue(
        ca,
        f"dated{days_left}",
        not_before=now - datetime.timedelta(days=30),
        not_after=now + datetime.timedelta(days=days_left),
    )
    return ClientCert(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())


def test_expired_client_certificate_is_a_config_error(ca: trustme.CA) -> None:
    with pytest.raises(TLSConfigError, match="expired on"):
        _dated(ca, -1)


def test_expiring_soon_warns_once(ca: trustme.CA, caplog: pytest.LogCaptureFixture) -> None:
    cert = _dated(ca, 3)
    with pytest.warns(CertificateExpiresSoonWarning, match="expires in 2 day"):
        SecureSession(client_cert=cert).close()
    assert "expires in" in caplog.text
    SecureSession(client_cert=cert, minimum_version="1.3").close()  # filterwarnings=error: silent


def test_expiry_warning_is_configurable(ca: trustme.CA) -> None:
    SecureSession(client_cert=_dated(ca, 20)).close()  # beyond the default 14 days: silent
    with pytest.warns(CertificateExpiresSoonWarning):
        SecureSession(client_cert=_dated(ca, 25), warn_expiry_days=30).close()
    SecureSession(client_cert=_dated(ca, 1), warn_expiry_days=None).close()


# --- no prompt, no plaintext key on disk ---------------------------------------------


_NO_TTY_SCRIPT = textwrap.dedent(
    """
    import sys
    from securesession import ClientCert, KeyPasswordError
    try:
        ClientCert(sys.argv[1], password=sys.argv[2] or None)
    except KeyPasswordError as exc:
        print("KeyPasswordError:", exc)
    """
)


@pytest.mark.parametrize("password", ["", "wrong-password"])
def test_never_prompts_without_a_terminal(ca: trustme.CA, tmp_path: Path, password: str) -> None:
    leaf = issue(ca, "tty")
    both = tmp_path / "both.pem"
    both.write_bytes(leaf.cert_chain_pems[0].bytes() + encrypted_key(leaf, b"pw", "traditional"))
    result = subprocess.run(
        [sys.executable, "-c", _NO_TTY_SCRIPT, str(both), password],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,  # no controlling terminal: /dev/tty cannot be opened
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "KeyPasswordError:" in result.stdout
    assert "Enter PEM pass phrase" not in result.stdout + result.stderr


def _plaintext_key(data: bytes) -> bool:
    return any(
        marker in data
        for marker in (b"BEGIN PRIVATE KEY", b"BEGIN EC PRIVATE KEY", b"BEGIN RSA PRIVATE KEY")
    ) or (b"PRIVATE KEY" in data and b"ENCRYPTED" not in data)


@pytest.fixture
def watched_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    watched = tmp_path / "watched-tmp"
    watched.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(watched))
    return watched


def _memory_identities(ca: trustme.CA) -> list[Callable[[], ClientCert]]:
    leaf = issue(ca, "mem")
    data = _p12(ca, "p12", b"pw", trustme.KeyType.ECDSA)
    return [
        lambda: ClientCert(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes()),
        lambda: ClientCert.from_pkcs12(data, password="pw"),
    ]


def test_memfd_path_writes_no_file(
    ca: trustme.CA, watched_tmp: Path, mtls: KeepAliveHTTPSServer, ca_path: str
) -> None:
    if not _memfile.USE_MEMFD:
        pytest.skip("no memfd_create on this platform")
    for make in _memory_identities(ca):
        cert = make()
        assert get(mtls, ca_path, client_cert=cert).startswith("ok ")
    assert list(watched_tmp.iterdir()) == []
    leaked = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the fd of listdir itself is gone by now
            if "securesession" in os.readlink(f"/proc/self/fd/{fd}"):
                leaked.append(fd)
    assert leaked == []


def test_tempfile_fallback_never_holds_a_plaintext_key(
    ca: trustme.CA,
    watched_tmp: Path,
    mtls: KeepAliveHTTPSServer,
    ca_path: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_memfile, "USE_MEMFD", False)
    seen: list[tuple[bytes, int]] = []
    real_unlink = os.unlink

    def unlink_spy(path: str, *args: object, **kwargs: object) -> None:
        # Called right after OpenSSL read the file: what did it contain, how was it protected?
        if str(path).startswith(str(watched_tmp)):
            seen.append((Path(path).read_bytes(), stat.S_IMODE(os.stat(path).st_mode)))
        real_unlink(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "unlink", unlink_spy)
    for make in _memory_identities(ca):
        assert get(mtls, ca_path, client_cert=make()).startswith("ok ")
    assert len(seen) == 2
    for content, mode in seen:
        assert b"ENCRYPTED PRIVATE KEY" in content
        assert not _plaintext_key(content)
        assert mode == 0o600
    assert list(watched_tmp.iterdir()) == []


# --- secrets stay secret -------------------------------------------------------------


def test_password_and_key_never_in_repr_or_logs(
    mtls: KeepAliveHTTPSServer,
    ca: trustme.CA,
    ca_path: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="securesession")
    leaf = issue(ca, "secret")
    key = encrypted_key(leaf, PASSWORD.encode())
    cert = ClientCert(leaf.cert_chain_pems[0].bytes(), key, password=PASSWORD)
    session = SecureSession(ca_bundle=ca_path, client_cert=cert)
    assert session.get(mtls.url_for("/")).text == "ok secret"
    texts = [repr(cert), str(cert), repr(session.tls), repr(session), caplog.text]
    texts += [repr(a) for a in session.adapters.values()]
    session.close()
    for text in texts:
        assert PASSWORD not in text
        assert "PRIVATE KEY" not in text
        assert leaf.private_key_pem.bytes().decode()[40:80] not in text
