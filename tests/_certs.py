"""Certificates trustme cannot make, from the library's own builders."""

from __future__ import annotations

import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from securesession._testing import _ca_signer, crl, make_leaf
from securesession.certs import self_signed_cert

__all__ = ["crl", "leaf_with_aia", "self_signed"]


def self_signed(*names: str) -> tuple[bytes, bytes]:
    """A self-signed leaf for ``names``: (cert PEM, key PEM)."""
    pair = self_signed_cert(*names)
    return pair.cert_pem, pair.key_pem()


def leaf_with_aia(issuer: trustme.CA, *names: str, aia_url: str) -> tuple[bytes, bytes]:
    """A leaf signed by ``issuer`` that names where its issuer can be fetched (AIA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = make_leaf(key, _ca_signer(issuer), names, aia_url=aia_url)
    pem = serialization.Encoding.PEM
    return cert.public_bytes(pem), key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
