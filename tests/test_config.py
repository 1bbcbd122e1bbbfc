"""TLSConfig: normalization, validation at construction, hashing, repr."""

from __future__ import annotations

import pickle
import ssl
from pathlib import Path

import pytest
import trustme

from securesession import (
    DEFAULT_CAS,
    SYSTEM_CAS,
    CertificateFileError,
    ClientCert,
    SecureSession,
    TLSConfig,
    TLSConfigError,
)


def test_defaults_are_secure() -> None:
    tls = TLSConfig()
    assert tls.ca_bundle is None
    assert tls.minimum_version is ssl.TLSVersion.TLSv1_2
    assert tls.maximum_version is None
    assert tls.verify is True
    assert tls.check_hostname is True
    ctx = tls.ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert ctx.hostname_checks_common_name is False
    assert ctx.options & ssl.OP_NO_COMPRESSION
    assert ctx.verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN


def test_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        TLSConfig("ca.pem")  # type: ignore[misc]
    tls = TLSConfig()
    with pytest.raises(AttributeError):
        tls.verify = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.2", ssl.TLSVersion.TLSv1_2),
        ("TLSv1.3", ssl.TLSVersion.TLSv1_3),
        (" tlsv1.2 ", ssl.TLSVersion.TLSv1_2),
        (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3),
    ],
)
def test_versions_normalize(value: str | ssl.TLSVersion, expected: ssl.TLSVersion) -> None:
    assert TLSConfig(minimum_version=value).minimum_version is expected
    assert TLSConfig(maximum_version=value).maximum_version is expected


def test_maximum_supported_means_no_cap() -> None:
    assert TLSConfig(maximum_version=ssl.TLSVersion.MAXIMUM_SUPPORTED).maximum_version is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"minimum_version": "1.1"}, "minimum_version"),
        ({"minimum_version": ssl.TLSVersion.TLSv1}, "minimum_version"),
        ({"maximum_version": "2.0"}, "maximum_version"),
        ({"minimum_version": "1.3", "maximum_version": "1.2"}, "maximum_version"),
        ({"ciphers": "NO-SUCH-CIPHER"}, "ciphers"),
        ({"ca_bundle": []}, "ca_bundle"),
        ({"ca_bundle": b"hello"}, "ca_bundle"),
    ],
)
def test_bad_values_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(TLSConfigError, match=field):
        TLSConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"verify": "yes"},
        {"check_hostname": 1},
        {"ca_bundle": 42},
        {"ca_bundle": [None]},
        {"minimum_version": 1.2},
        {"ciphers": b"HIGH"},
        {"client_cert": 3},
    ],
)
def test_wrong_types_raise_type_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        TLSConfig(**kwargs)  # type: ignore[arg-type]


def test_missing_paths_name_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(CertificateFileError, match="nope.pem") as info:
        TLSConfig(ca_bundle=missing)
    assert isinstance(info.value, OSError)  # as requests raises for a bad verify= path
    with pytest.raises(CertificateFileError, match="nope.pem"):
        TLSConfig(client_cert=(str(missing), str(missing)))


def test_file_without_certificate_fails_when_the_session_is_built(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN NOTHING-----\nabc\n-----END NOTHING-----\n")
    tls = TLSConfig(ca_bundle=junk)  # exists: the content is read when the context is built
    with pytest.raises(CertificateFileError, match="junk.pem"):
        SecureSession(tls)


def test_empty_directory_fails(tmp_path: Path) -> None:
    with pytest.raises(CertificateFileError, match="no certificate"):
        SecureSession(ca_bundle=tmp_path)


def test_bad_der_bytes_fail_when_built() -> None:
    with pytest.raises(CertificateFileError, match="DER"):
        SecureSession(ca_bundle=b"\x30\x03garbage")


def test_normalization_makes_equal_configs_equal(ca: trustme.CA, ca_path: str) -> None:
    assert TLSConfig(ca_bundle=ca_path) == TLSConfig(ca_bundle=[ca_path])
    assert TLSConfig(ca_bundle=Path(ca_path)) == TLSConfig(ca_bundle=(ca_path, ca_path))
    assert hash(TLSConfig(ca_bundle=ca.cert_pem.bytes())) == hash(
        TLSConfig(ca_bundle=[bytearray(ca.cert_pem.bytes())])
    )
    assert TLSConfig(ca_bundle=[DEFAULT_CAS, ca_path]).ca_bundle == (DEFAULT_CAS, ca_path)


def test_replace_validates_again(ca_path: str, tmp_path: Path) -> None:
    tls = TLSConfig(ca_bundle=ca_path)
    assert tls.replace(minimum_version="1.3").minimum_version is ssl.TLSVersion.TLSv1_3
    assert tls.replace(minimum_version="1.3").ca_bundle == (ca_path,)
    with pytest.raises(CertificateFileError):
        tls.replace(ca_bundle=tmp_path / "missing.pem")


def test_repr_is_short_and_hides_passwords(ca: trustme.CA, tmp_path: Path) -> None:
    cert = ca.issue_cert("client")
    cert_path = tmp_path / "c.pem"
    cert.cert_chain_pems[0].write_to_path(cert_path)
    tls = TLSConfig(
        ca_bundle=[ca.cert_pem.bytes(), SYSTEM_CAS],
        client_cert=ClientCert(
            str(cert_path), cert.private_key_pem.bytes(), password="hunter2-secret"
        ),
    )
    text = repr(tls) + str(tls) + repr(tls.client_cert)
    assert "hunter2-secret" not in text
    assert "password=***" in text
    assert f"<{len(ca.cert_pem.bytes())} bytes>" in text
    assert "PRIVATE KEY" not in text
    assert "SYSTEM_CAS" in text
    assert repr(TLSConfig()) == "TLSConfig()"


def test_pickles(ca_path: str) -> None:
    tls = TLSConfig(ca_bundle=[ca_path, DEFAULT_CAS], maximum_version="1.3")
    assert pickle.loads(pickle.dumps(tls)) == tls
