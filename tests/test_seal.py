"""The sealed context refuses every change: each name of ssl.SSLContext is classified.

A new Python that adds a name to `ssl.SSLContext` fails
`test_every_name_of_sslcontext_is_classified` until `_sealed` classifies it.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import certifi
import pytest
import trustme
import urllib3

from securesession import HostnameMismatchError, SecureSession, TLSConfig
from securesession._sealed import (
    GUARDED_ATTRIBUTES,
    HARMLESS,
    READ_ONLY_ATTRIBUTES,
    REFUSED_METHODS,
    SealedSSLContext,
)

from . import _certs
from .conftest import KeepAliveFactory, pem_context, server_context

CLASSES = {
    "refused": REFUSED_METHODS,
    "guarded": GUARDED_ATTRIBUTES,
    "read-only": READ_ONLY_ATTRIBUTES,
    "harmless": HARMLESS,
}


@pytest.fixture
def ctx(ca_path: str) -> SealedSSLContext:
    context = TLSConfig(ca_bundle=ca_path).ssl_context()
    assert isinstance(context, SealedSSLContext)
    return context


def snapshot(ctx: ssl.SSLContext) -> tuple[Any, ...]:
    """What a refused call must leave as it was."""
    return (
        ctx.get_ciphers(),
        ctx.cert_store_stats(),
        ctx.get_ca_certs(),
        ctx.verify_mode,
        ctx.verify_flags,
        ctx.options,
        ctx.check_hostname,
        ctx.minimum_version,
        ctx.maximum_version,
        ctx.hostname_checks_common_name,
        ctx.keylog_filename,
        ctx.sni_callback,
        ctx.sslsocket_class,
        ctx.sslobject_class,
    )


def connects(ctx: ssl.SSLContext, port: int, server_hostname: str = "127.0.0.1") -> None:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=server_hostname),
    ):
        pass


# --- the classification ---------------------------------------------------------


def test_every_name_of_sslcontext_is_classified() -> None:
    unclassified = set(dir(ssl.SSLContext)).difference(*CLASSES.values())
    assert not unclassified, (
        f"ssl.SSLContext has names the seal does not classify: {sorted(unclassified)}; "
        "add each to one of the sets in securesession/_sealed.py"
    )


def test_classes_do_not_overlap() -> None:
    seen: dict[str, str] = {}
    for label, names in CLASSES.items():
        for name in names:
            assert name not in seen, f"{name} is both {seen[name]} and {label}"
            seen[name] = label


def test_refused_methods_are_overridden_only_where_python_has_them(ctx: ssl.SSLContext) -> None:
    for name in REFUSED_METHODS:
        if hasattr(ssl.SSLContext, name):
            assert getattr(SealedSSLContext, name) is not getattr(ssl.SSLContext, name), name
        else:  # e.g. set_psk_client_callback before 3.13: feature detection stays honest
            assert not hasattr(ctx, name), name


# --- refused calls --------------------------------------------------------------

CALLS: dict[str, Callable[[Path], tuple[Any, ...]]] = {
    "load_cert_chain": lambda files: (files / "leaf.pem", files / "leaf.key"),
    "load_default_certs": lambda files: (),
    "load_dh_params": lambda files: (files / "leaf.pem",),
    "load_verify_locations": lambda files: (certifi.where(),),
    "set_alpn_protocols": lambda files: (["h2", "http/1.1"],),
    "set_ciphers": lambda files: ("ALL:@SECLEVEL=0",),
    "set_default_verify_paths": lambda files: (),
    "set_ecdh_curve": lambda files: ("prime256v1",),
    "set_npn_protocols": lambda files: (["http/1.1"],),
    "set_psk_client_callback": lambda files: (lambda hint: (None, b"secret"),),
    "set_psk_server_callback": lambda files: (lambda identity: b"secret",),
    "set_servername_callback": lambda files: (lambda *args: None,),
    "_load_windows_store_certs": lambda files: ("ROOT", ssl.Purpose.SERVER_AUTH),
    "_set_alpn_protocols": lambda files: (b"\x02h2",),
}


def test_every_refused_method_has_a_test_call() -> None:
    assert set(CALLS) == REFUSED_METHODS


@pytest.fixture
def files(tmp_path: Path, ca: trustme.CA) -> Path:
    leaf = ca.issue_cert("client.example")
    leaf.cert_chain_pems[0].write_to_path(tmp_path / "leaf.pem")
    leaf.private_key_pem.write_to_path(tmp_path / "leaf.key")
    return tmp_path


@pytest.mark.parametrize("name", sorted(REFUSED_METHODS))
def test_refused_method_raises_and_changes_nothing(
    ctx: ssl.SSLContext, files: Path, name: str
) -> None:
    if not hasattr(ssl.SSLContext, name):
        pytest.skip(f"ssl.SSLContext.{name} does not exist on this Python")
    before = snapshot(ctx)
    with pytest.raises(RuntimeError, match=rf"read-only: {name}\(.*is refused"):
        getattr(ctx, name)(*CALLS[name](files))
    assert snapshot(ctx) == before


def test_alpn_may_be_set_again_to_the_same_list(ctx: ssl.SSLContext) -> None:
    # urllib3 does this on every connection; httpcore too, with ["http/1.1"] (HTTP/1.1)
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.set_alpn_protocols(iter(["http/1.1"]))
    # ... but not another list, even one that contains it (httpcore's http2=True):
    # that would change what every other user of the shared context negotiates.
    with pytest.raises(RuntimeError, match=r"this context offers \['http/1.1'\]"):
        ctx.set_alpn_protocols(["h2", "http/1.1"])
    with pytest.raises(RuntimeError):
        ctx.set_alpn_protocols([])


# --- assignments and deletions --------------------------------------------------

OTHER_VALUES: dict[str, Callable[[ssl.SSLContext, Path], Any]] = {
    "check_hostname": lambda ctx, tmp: False,
    "hostname_checks_common_name": lambda ctx, tmp: True,
    "keylog_filename": lambda ctx, tmp: str(tmp / "keys.log"),
    "maximum_version": lambda ctx, tmp: ssl.TLSVersion.TLSv1_2,
    "minimum_version": lambda ctx, tmp: ssl.TLSVersion.TLSv1,
    "num_tickets": lambda ctx, tmp: ctx.num_tickets + 1,
    "options": lambda ctx, tmp: ctx.options & ~ssl.OP_NO_COMPRESSION,
    "post_handshake_auth": lambda ctx, tmp: not ctx.post_handshake_auth,
    "sni_callback": lambda ctx, tmp: lambda *args: None,
    "sslobject_class": lambda ctx, tmp: ssl.SSLObject,
    "sslsocket_class": lambda ctx, tmp: ssl.SSLSocket,
    "verify_flags": lambda ctx, tmp: ssl.VerifyFlags(0),
    "verify_mode": lambda ctx, tmp: ssl.CERT_NONE,
    "_host_flags": lambda ctx, tmp: 0,
    "_msg_callback": lambda ctx, tmp: lambda *args: None,
}


def test_every_guarded_attribute_has_a_test_value() -> None:
    assert set(OTHER_VALUES) == GUARDED_ATTRIBUTES


@pytest.mark.parametrize("name", sorted(GUARDED_ATTRIBUTES))
def test_guarded_attribute_refuses_a_new_value(
    ctx: ssl.SSLContext, tmp_path: Path, name: str
) -> None:
    current = getattr(ctx, name)
    other = OTHER_VALUES[name](ctx, tmp_path)
    assert other != current
    with pytest.raises(RuntimeError, match=f"read-only: setting {name} is refused"):
        setattr(ctx, name, other)
    assert getattr(ctx, name) == current
    assert not (tmp_path / "keys.log").exists()  # keylog_filename never opened the file
    setattr(ctx, name, current)  # the same value, as urllib3 does: allowed, a no-op
    assert getattr(ctx, name) == current


@pytest.mark.parametrize("name", sorted(READ_ONLY_ATTRIBUTES))
def test_read_only_attribute_refuses_assignment(ctx: ssl.SSLContext, name: str) -> None:
    with pytest.raises(RuntimeError, match=f"setting {name} is refused"):
        setattr(ctx, name, getattr(ctx, name))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("_sealed", False),
        ("_securesession_tls", None),
        ("_securesession_sessions", None),
        ("_securesession_alpn", ("h2",)),
        ("__class__", ssl.SSLContext),  # would drop every guard at once
        ("__dict__", {}),
        ("anything_new", 1),
    ],
)
def test_private_and_unknown_attributes_refuse_assignment(
    ctx: ssl.SSLContext, name: str, value: Any
) -> None:
    with pytest.raises(RuntimeError, match=f"setting {name} is refused"):
        setattr(ctx, name, value)
    assert type(ctx) is SealedSSLContext


@pytest.mark.parametrize(
    "name", ["verify_mode", "sslsocket_class", "_securesession_failure", "_securesession_tls"]
)
def test_deleting_attributes_is_refused(ctx: ssl.SSLContext, name: str) -> None:
    with pytest.raises(RuntimeError, match=f"deleting {name} is refused"):
        delattr(ctx, name)


def test_failure_mark_is_set_by_the_cache_only(ctx: SealedSSLContext, tmp_path: Path) -> None:
    from securesession._sealed import set_failure

    failure = OSError("trust no longer loads")
    set_failure(ctx, failure)
    with socket.socket() as raw, pytest.raises(OSError, match="no longer loads"):
        ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    assert not hasattr(ctx, "_set_failure")  # nothing on the object itself clears it
    with pytest.raises(RuntimeError):
        ctx._securesession_failure = None  # an attribute write does nothing of the kind
    with socket.socket() as raw, pytest.raises(OSError, match="no longer loads"):
        ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    set_failure(ctx, None)


def test_unsealed_context_is_an_ordinary_context() -> None:
    ctx = SealedSSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ecdh_curve("prime256v1")
    ctx.verify_flags = ssl.VERIFY_X509_STRICT
    ctx.anything = 1  # an unknown attribute, before sealing
    del ctx.anything  # type: ignore[attr-defined]
    ctx._seal()
    with pytest.raises(RuntimeError):
        ctx.set_ecdh_curve("prime256v1")


# --- the three gaps found, against real servers ---------------------------------


def test_host_flags_cannot_re_enable_common_name_matching(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str, tmp_path: Path
) -> None:
    server = make_keepalive(pem_context(tmp_path, *_certs.cn_only(ca, "localhost")))
    # The gap: on a plain context, _host_flags = 0 makes OpenSSL match the CN.
    plain = ssl.create_default_context(cafile=ca_path)
    plain.hostname_checks_common_name = False
    with pytest.raises(ssl.SSLCertVerificationError):
        connects(plain, server.port, "localhost")
    plain._host_flags = 0  # type: ignore[attr-defined]  # CPython's C-level setter
    connects(plain, server.port, "localhost")

    ctx = TLSConfig(ca_bundle=ca_path).ssl_context()
    with pytest.raises(RuntimeError, match="_host_flags"):
        ctx._host_flags = 0  # type: ignore[attr-defined]
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        connects(ctx, server.port, "localhost")
    assert info.value.verify_code == 62  # X509_V_ERR_HOSTNAME_MISMATCH
    with (
        SecureSession(ca_bundle=ca_path, server_hostname="localhost") as session,
        pytest.raises(HostnameMismatchError),
    ):
        session.get(server.url_for("/"), timeout=10)


def test_set_ecdh_curve_cannot_break_every_session(
    make_keepalive: KeepAliveFactory, ca: trustme.CA, ca_path: str
) -> None:
    server_ctx = server_context(ca.issue_cert("127.0.0.1"))
    server_ctx.set_ecdh_curve("secp384r1")  # the server speaks P-384 only
    server = make_keepalive(server_ctx)
    # The gap: one caller's set_ecdh_curve() on a shared context breaks the handshake.
    plain = ssl.create_default_context(cafile=ca_path)
    plain.set_ecdh_curve("prime256v1")
    with pytest.raises(ssl.SSLError):
        connects(plain, server.port)

    ctx = TLSConfig(ca_bundle=ca_path).ssl_context()
    with pytest.raises(RuntimeError, match="set_ecdh_curve"):
        ctx.set_ecdh_curve("prime256v1")
    connects(ctx, server.port)
    with SecureSession(ca_bundle=ca_path) as session:
        assert session.tls.ssl_context() is ctx  # the same shared context ...
        assert session.get(server.url_for("/"), timeout=10).status_code == 200  # ... still works


def test_seal_cannot_be_turned_off(ctx: SealedSSLContext) -> None:
    before = snapshot(ctx)
    with pytest.raises(RuntimeError, match="setting _sealed is refused"):
        ctx._sealed = False  # type: ignore[misc]  # a read-only property
    with pytest.raises(AttributeError):
        object.__setattr__(ctx, "_sealed", False)  # not even around __setattr__
    ctx.__dict__["_sealed"] = False  # an instance value does not shadow the property
    assert ctx._sealed
    with pytest.raises(RuntimeError, match="read-only"):
        ctx.load_verify_locations(certifi.where())
    assert snapshot(ctx) == before


# --- what urllib3, requests and http.client do stays allowed --------------------


def test_urllib3_with_the_context_directly(server: Any, ctx: ssl.SSLContext) -> None:
    # urllib3 re-assigns verify_mode and check_hostname, and sets ALPN, per connection.
    with urllib3.PoolManager(ssl_context=ctx) as pool:
        assert pool.request("GET", server.url_for("/")).status == 200
        assert pool.request("GET", server.url_for("/"), retries=False).status == 200


def test_http_client_with_the_context(server: Any, ctx: ssl.SSLContext) -> None:
    import http.client

    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=10)
    try:
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
    finally:
        conn.close()
