"""Hostile input: only TLSConfigError subclasses (or TypeError for wrong types), never a
crash, a hang, a prompt, or a secret in a message. Bounded hypothesis runs."""

from __future__ import annotations

import datetime
import ssl
import tempfile
from collections.abc import Callable
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from securesession import ClientCert, TLSConfig, TLSConfigError, build_ssl_context
from securesession._testing import crl

FUZZ = settings(
    max_examples=150,
    deadline=datetime.timedelta(seconds=5),  # a hang would blow through this
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples every run: a CI failure reproduces
)
ALLOWED = (TLSConfigError, TypeError)

_CA = trustme.CA()
_LEAF = _CA.issue_cert("fuzz@example.test", common_name="fuzz")
CERT = _LEAF.cert_chain_pems[0].bytes()
KEY = _LEAF.private_key_pem.bytes()
SECRET = "hunter2-fuzz-secret"
ENCRYPTED_KEY = serialization.load_pem_private_key(KEY, None).private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.BestAvailableEncryption(SECRET.encode()),
)


def mutate(data: bytes, draw: st.DrawFn) -> bytes:
    """Flip, drop or truncate bytes of ``data``."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        if not out:
            break
        i = draw(st.integers(0, len(out) - 1))
        action = draw(st.sampled_from(["flip", "drop", "truncate"]))
        if action == "flip":
            out[i] ^= draw(st.integers(1, 255))
        elif action == "drop":
            del out[i]
        else:
            del out[i:]
    return bytes(out)


@st.composite
def mangled(draw: st.DrawFn, data: bytes) -> bytes:
    return mutate(data, draw)


def must_fail_cleanly(fn: object, *args: object, **kwargs: object) -> BaseException | None:
    try:
        fn(*args, **kwargs)  # type: ignore[operator]
    except ALLOWED as exc:
        return exc
    return None


@FUZZ
@given(st.one_of(st.binary(max_size=2048), mangled(CERT), mangled(_CA.cert_pem.bytes())))
def test_ca_bundle_bytes(data: bytes) -> None:
    error = must_fail_cleanly(lambda: build_ssl_context(TLSConfig(ca_bundle=data)))
    if error is None:  # accepted: it really held a certificate
        assert TLSConfig(ca_bundle=data).ssl_context().cert_store_stats()["x509"] >= 1


@FUZZ
@given(mangled(CERT), mangled(KEY))
def test_client_cert_and_key_bytes(cert: bytes, key: bytes) -> None:
    must_fail_cleanly(ClientCert, cert, key)


PASSWORDS = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.binary(max_size=40),
    st.integers(),
    st.floats(allow_nan=True),
    st.lists(st.text(max_size=5), max_size=3),
    st.builds(
        lambda v: lambda: v, st.one_of(st.text(max_size=20), st.binary(max_size=20), st.integers())
    ),
    st.just(SECRET),
    st.just(SECRET.encode()),
    st.just(lambda: SECRET),
)


@FUZZ
@given(PASSWORDS)
def test_passwords_of_every_type(password: object) -> None:
    error = must_fail_cleanly(ClientCert, CERT, ENCRYPTED_KEY, password=password)
    if error is None:
        return  # the right password, in some form
    text = str(error) + repr(error)
    assert SECRET not in text
    if isinstance(password, (str, bytes)) and len(password) >= 4:
        assert (password if isinstance(password, str) else repr(password)[2:-1]) not in text


@FUZZ
@given(
    st.one_of(st.binary(max_size=4096), mangled(b"0" * 64)),
    st.one_of(st.none(), st.text(max_size=10)),
)
def test_pkcs12_garbage_and_truncation(data: bytes, password: str | None) -> None:
    must_fail_cleanly(ClientCert.from_pkcs12, data, password=password)


def _real_p12() -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12

    return pkcs12.serialize_key_and_certificates(
        b"f",
        serialization.load_pem_private_key(KEY, None),  # type: ignore[arg-type]
        x509.load_pem_x509_certificate(CERT),
        None,
        serialization.BestAvailableEncryption(b"p12-pass"),
    )


P12 = _real_p12()


@FUZZ
@given(mangled(P12))
def test_pkcs12_mutations(data: bytes) -> None:
    must_fail_cleanly(ClientCert.from_pkcs12, data, password="p12-pass")


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.binary(max_size=30),
    st.lists(st.text(max_size=10), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(list(ssl.TLSVersion)),
)
FIELDS = [
    "ca_bundle",
    "client_cert",
    "minimum_version",
    "maximum_version",
    "ciphers",
    "verify",
    "check_hostname",
    "server_hostname",
    "pins",
    "crl",
    "warn_expiry_days",
    "resume_sessions",
]


@FUZZ
@given(st.sampled_from(FIELDS), VALUES)
def test_absurd_config_values(field: str, value: object) -> None:
    must_fail_cleanly(lambda: TLSConfig(**{field: value}).ssl_context())


@FUZZ
@given(st.text(max_size=80))
def test_pins_text(pin: str) -> None:
    must_fail_cleanly(TLSConfig, pins=[pin])


@pytest.mark.parametrize("field", ["minimum_version", "maximum_version"])
def test_every_tls_version_is_handled(field: str) -> None:
    for version in ssl.TLSVersion:
        error = must_fail_cleanly(TLSConfig, **{field: version})
        if version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            assert error is None


@FUZZ
@given(st.one_of(mangled(CERT), mangled(_CA.cert_pem.bytes() + CERT), st.binary(max_size=512)))
def test_ca_bundle_files(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "bundle.pem"
    path.write_bytes(data)
    must_fail_cleanly(lambda: TLSConfig(ca_bundle=path).ssl_context())
    must_fail_cleanly(lambda: TLSConfig(crl=path).ssl_context())


# --- Targets shared with benchmarks/fuzz.py (which runs >= 10,000 examples) ------------

_CRL_PEM = crl(_CA, [CERT])
_CRL_DER = x509.load_pem_x509_crl(_CRL_PEM).public_bytes(serialization.Encoding.DER)
_CA_DER = x509.load_pem_x509_certificate(_CA.cert_pem.bytes()).public_bytes(
    serialization.Encoding.DER
)
_CA_FILE = tempfile.NamedTemporaryFile(suffix=".pem", delete=False)  # noqa: SIM115  # process-long
_CA_FILE.write(_CA.cert_pem.bytes())
_CA_FILE.close()
PASSWORD_TEXT = st.text(alphabet=st.characters(codec="utf-8") | st.just("\x00"), max_size=20)


def _ca_bytes(data: bytes) -> object:
    error = must_fail_cleanly(lambda: TLSConfig(ca_bundle=data).ssl_context())
    if error is None:  # accepted: it really held a certificate
        assert TLSConfig(ca_bundle=data).ssl_context().cert_store_stats()["x509"] >= 1
    return error


def _crl_bytes(data: bytes) -> object:
    return must_fail_cleanly(lambda: TLSConfig(ca_bundle=_CA_FILE.name, crl=data).ssl_context())


def _encrypted_key(args: tuple[bytes, object]) -> object:
    key, password = args
    return must_fail_cleanly(ClientCert, CERT, key, password=password)


def _pkcs12(args: tuple[bytes, object]) -> object:
    data, password = args
    return must_fail_cleanly(ClientCert.from_pkcs12, data, password=password)


def _field(args: tuple[str, object]) -> object:
    field, value = args
    return must_fail_cleanly(lambda: TLSConfig(**{field: value}).ssl_context())


TARGETS: list[tuple[str, st.SearchStrategy[Any], Callable[[Any], object]]] = [
    (
        "ca_bundle bytes",
        st.one_of(
            st.binary(max_size=2048),
            mangled(_CA.cert_pem.bytes()),
            mangled(_CA_DER),
            mangled(_CA_DER + b"\x30\x03\x02\x01\x00"),
        ),
        _ca_bytes,
    ),
    (
        "crl bytes",
        st.one_of(st.binary(max_size=1024), mangled(_CRL_PEM), mangled(_CRL_DER)),
        _crl_bytes,
    ),
    (
        "encrypted keys",
        st.tuples(mangled(ENCRYPTED_KEY), st.one_of(st.just(SECRET), PASSWORD_TEXT)),
        _encrypted_key,
    ),
    (
        "pkcs12",
        st.tuples(
            st.one_of(mangled(P12), st.binary(max_size=512)),
            st.one_of(st.just("p12-pass"), st.none(), PASSWORD_TEXT, st.binary(max_size=10)),
        ),
        _pkcs12,
    ),
    ("passwords", st.tuples(st.just(ENCRYPTED_KEY), PASSWORDS), _encrypted_key),
    ("every field", st.tuples(st.sampled_from(FIELDS), VALUES), _field),
    (
        "ciphers and names",
        st.tuples(
            st.sampled_from(["ciphers", "server_hostname", "pins"]),
            st.text(alphabet="ALNUMDEHCSGK-+!:@=._0123 \x00ßé\ud800", max_size=30),
        ),
        _field,
    ),
]


@FUZZ
@pytest.mark.parametrize(("name", "strategy", "target"), TARGETS, ids=[t[0] for t in TARGETS])
@given(data=st.data())
def test_targets(
    name: str,
    strategy: st.SearchStrategy[Any],
    target: Callable[[Any], object],
    data: st.DataObject,
) -> None:
    target(data.draw(strategy))
