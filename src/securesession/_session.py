"""SecureSession: a requests.Session whose TLS posture is a TLSConfig."""

from __future__ import annotations

import collections
import http.cookiejar
import os
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.sessions
import requests.utils
from requests.models import PreparedRequest, Request
from requests.structures import CaseInsensitiveDict

from ._adapter import TLSAdapter
from ._config import TLSConfig
from ._origins import _EnvCABundle, _ExplicitCABundle

__all__ = ["SecureSession"]

# requests' Session looks up get_netrc_auth, get_environ_proxies, merge_setting,
# merge_cookies... as globals of requests.sessions when it runs, and applications
# and requests' own tests patch them there: so do we, at call time, never binding
# them at import. (Typed Any: requests.sessions imports them without re-exporting.)
_requests_sessions: Any = requests.sessions
_requests_utils: Any = requests.utils
# requests' own functions, to tell when one was replaced and a shortcut would skip it.
_STOCK_MERGE_SETTING = _requests_sessions.merge_setting
_STOCK_GET_ENVIRON_PROXIES = _requests_sessions.get_environ_proxies
_STOCK_GETPROXIES = _requests_utils.getproxies

# requests' variables first (their documented order), then OpenSSL's, which
# curl and httpx also honour. SSL_CERT_FILE and SSL_CERT_DIR combine, as in OpenSSL.
_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
_OPENSSL_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")


# macOS and Windows also read proxies from the system (SystemConfiguration, the
# registry) when no variable is set: there, always ask requests.
_ENVIRONMENT_ONLY = sys.platform not in ("darwin", "win32")


def _environ_proxies(url: str, no_proxy: str | None) -> dict[str, str]:
    """Do what requests' `get_environ_proxies` does, without its two full scans of `os.environ`.

    On platforms where proxies come from the environment only, a proxy can apply only
    if some variable is named ``*_proxy`` (in any case, as urllib reads them). When
    none is, requests' answer selects no proxy either, so we return {} after one pass
    over the variable names; when one is, we ask requests itself (exact semantics:
    no_proxy matching, CIDR ranges, empty lowercase overriding uppercase, CGI). A
    patched `requests.sessions.get_environ_proxies` (or `requests.utils.getproxies`)
    is always called, as requests would.
    """
    get_environ_proxies = _requests_sessions.get_environ_proxies
    if (
        _ENVIRONMENT_ONLY
        and get_environ_proxies is _STOCK_GET_ENVIRON_PROXIES
        and _requests_utils.getproxies is _STOCK_GETPROXIES
        and not any(name[-6:].lower() == "_proxy" for name in os.environ)
    ):
        return {}
    result: dict[str, str] = get_environ_proxies(url, no_proxy=no_proxy)
    return result


# The mapping types requests itself builds; anything else takes requests' own path.
_PLAIN = (dict, collections.OrderedDict, CaseInsensitiveDict)


def _merge(request: Any, session: Any, dict_class: type) -> Any:
    """Requests' `merge_setting` for plain mappings, without its typing.Protocol check.

    (isinstance() against a typing.Protocol costs ~10 us on Python < 3.12, and
    requests does it twice per merged mapping, several times per request.)
    """
    if session is None:
        return request
    if request is None:
        return session
    merged = dict_class(session.items())
    merged.update(request.items())
    for key in [k for k, v in merged.items() if v is None]:
        del merged[key]
    return merged


def _env_ca_bundle() -> _EnvCABundle | None:
    """Return the CA bundle the environment asks for, or None.

    An empty variable counts as unset, as in requests (so ``CURL_CA_BUNDLE=""``
    can never switch verification off).
    """
    for name in _BUNDLE_VARIABLES:
        value = os.environ.get(name)
        if value:
            return _EnvCABundle((value,), (name,))
    paths: list[str] = []
    names: list[str] = []
    for name in _OPENSSL_VARIABLES:
        value = os.environ.get(name)
        if value:
            # SSL_CERT_DIR is a list, like PATH (OpenSSL splits it the same way).
            found = value.split(os.pathsep) if name == "SSL_CERT_DIR" else [value]
            paths.extend(p for p in found if p)
            names.append(name)
    if not paths:
        return None
    return _EnvCABundle(tuple(paths), tuple(names))


def _explicit(verify: Any) -> Any:
    """Mark a caller's ``verify`` path as theirs, so that no adapter takes it for the variable.

    A path equal to ``$REQUESTS_CA_BUNDLE`` is still the caller's choice here: only
    `_env_ca_bundle` produces environment values, and it marks them as such.
    """
    if isinstance(verify, (_EnvCABundle, _ExplicitCABundle)):
        return verify
    if isinstance(verify, os.PathLike):
        verify = os.fspath(verify)
    if isinstance(verify, str):
        return _ExplicitCABundle(verify)
    return verify


class SecureSession(requests.Session):
    """A drop-in `requests.Session` whose TLS posture is one `TLSConfig`.

    Everything a `requests.Session` does keeps working. Per-request ``verify=`` and
    ``cert=``, and ``session.verify`` / ``session.cert`` when you set them, keep their
    requests meaning and override the config for that request; ``verify=True``
    means "verify with this session's config", never "switch to certifi".

    Precedence, highest first: the per-request argument, ``session.verify`` /
    ``session.cert``, an explicit config field, then ``REQUESTS_CA_BUNDLE``,
    ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` (only with ``trust_env``
    and when the config left ``ca_bundle`` at its default), then certifi.

    Args:
        tls: The TLS posture. Alternatively pass `TLSConfig`'s fields as keywords.
        **tls_fields: `TLSConfig` fields, e.g. ``ca_bundle="corp.pem"``.

    Raises:
        TypeError: both ``tls`` and keyword fields were given, or an unknown field.
        TLSConfigError: the configuration is invalid (a subclass names what is wrong).

    Example:
        >>> with SecureSession(ca_bundle="corp.pem", minimum_version="1.3") as s:  # doctest: +SKIP
        ...     s.get("https://internal.example/")
    """

    __attrs__ = [*requests.Session.__attrs__, "_tls"]  # noqa: RUF012  # requests declares it a list

    def __init__(self, tls: TLSConfig | None = None, **tls_fields: Any) -> None:
        if tls is not None and tls_fields:
            msg = "SecureSession() takes a TLSConfig or TLSConfig fields as keywords, not both"
            raise TypeError(msg)
        if tls is None:
            tls = TLSConfig(**tls_fields)
        elif not isinstance(tls, TLSConfig):
            msg = f"SecureSession() takes a TLSConfig, got {type(tls).__name__}"
            raise TypeError(msg)
        adapter = TLSAdapter(tls)  # builds the context: a bad config fails here
        self._tls = tls
        super().__init__()
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    @property
    def tls(self) -> TLSConfig:
        """The session's TLS configuration (for URLs not under a `mount_tls` prefix)."""
        return self._tls

    def __repr__(self) -> str:
        return f"<SecureSession {self._tls!r}>"

    def mount_tls(self, prefix: str, tls: TLSConfig) -> TLSAdapter:
        """Use ``tls`` for URLs that start with ``prefix`` (e.g. ``"https://api.example.com/"``).

        The new adapter copies the pool sizes and retries of the adapter that
        served the prefix until now. Longest prefix wins, as in `requests.Session.mount`.
        A prefix that ends at the host gets a "/" appended, so that it cannot match
        another host whose name merely starts the same way.

        Returns:
            The mounted `TLSAdapter`.
        """
        parts = urlsplit(prefix)
        if parts.netloc and not parts.path:
            # requests matches prefixes with startswith(): "https://api.example.com"
            # would also match "https://api.example.com.evil.net/". Stop at the host.
            prefix += "/"
        kwargs: dict[str, Any] = {}
        try:
            current = self.get_adapter(prefix)
        except requests.exceptions.InvalidSchema:  # a prefix no adapter serves yet
            current = None
        if isinstance(current, requests.adapters.HTTPAdapter):
            kwargs = {
                "pool_connections": current._pool_connections,
                "pool_maxsize": current._pool_maxsize,
                "pool_block": current._pool_block,
                "max_retries": current.max_retries,
            }
        adapter = TLSAdapter(tls, **kwargs)
        self.mount(prefix, adapter)
        return adapter

    def close(self) -> None:
        """Close every adapter once (requests' closes one mounted at two prefixes twice)."""
        for adapter in {id(a): a for a in self.adapters.values()}.values():
            adapter.close()

    def prepare_request(self, request: Request) -> PreparedRequest:
        """Prepare as requests does, merging plain header and params mappings faster.

        The result is identical to `requests.Session.prepare_request` (tests compare
        the two); unusual types (header lists, custom mappings), and a patched
        `requests.sessions.merge_setting`, take requests' path. The functions requests
        looks up in `requests.sessions` are looked up there too, when called, so a
        patched `requests.sessions.get_netrc_auth` is honoured as by requests.
        """
        rs = _requests_sessions
        plain = rs.merge_setting is _STOCK_MERGE_SETTING and all(
            value is None or type(value) in _PLAIN
            for value in (request.headers, self.headers, request.params, self.params)
        )
        if not plain:
            return super().prepare_request(request)
        cookies: Any = request.cookies or {}
        if not isinstance(cookies, http.cookiejar.CookieJar):
            cookies = rs.cookiejar_from_dict(cookies)
        merged_cookies = rs.merge_cookies(
            rs.merge_cookies(rs.RequestsCookieJar(), self.cookies), cookies
        )
        auth = request.auth
        if self.trust_env and not auth and not self.auth:
            auth = rs.get_netrc_auth(request.url)
        params = _merge(request.params, self.params, collections.OrderedDict)
        prepared: PreparedRequest = rs.PreparedRequest()
        prepared.prepare(
            method=request.method.upper(),  # type: ignore[union-attr]  # as requests does
            url=request.url,
            files=request.files,
            data=request.data,
            json=request.json,
            headers=_merge(request.headers, self.headers, rs.CaseInsensitiveDict),
            # An empty mapping and None encode to the same URL; None skips the encoding.
            params=params or None,
            auth=rs.merge_setting(auth, self.auth),
            cookies=merged_cookies,
            hooks=rs.merge_hooks(request.hooks, self.hooks),
        )
        return prepared

    def send(self, request: PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send as requests does; a ``verify`` path is always taken as the caller's.

        (`request` marks the paths already; this covers direct calls, where requests
        fills in ``session.verify``.)
        """
        kwargs["verify"] = _explicit(kwargs.get("verify", self.verify))
        return super().send(request, **kwargs)

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: Mapping[str, str] | None,
        stream: bool | None,
        verify: Any,
        cert: Any,
    ) -> dict[str, Any]:
        """Merge request, session and environment settings with securesession's precedence.

        Same as requests, except that ``verify`` is merged with ``session.verify``
        before the environment is consulted, so ``session.verify=False`` wins over
        ``REQUESTS_CA_BUNDLE`` (requests #3829), and an environment bundle reaches the
        adapter marked as such, to be applied only where the config left ``ca_bundle``
        at its default. A caller's path reaches it marked too, so that it applies even
        when it equals ``$REQUESTS_CA_BUNDLE``.
        """
        proxies = dict(proxies or {})
        if self.trust_env:
            no_proxy = proxies.get("no_proxy")
            for key, value in _environ_proxies(str(url), no_proxy).items():
                proxies.setdefault(key, value)
        # requests' merge_setting, spelled out: the request's value unless it is None,
        # and for the proxies dict a merge without None values. (requests checks a
        # typing.Protocol with isinstance() here, which costs more than the request.)
        verify = verify if verify is not None else self.verify
        if (verify is True or verify is None) and self.trust_env:
            env_bundle = _env_ca_bundle()
            if env_bundle is not None:
                verify = env_bundle
        else:
            verify = _explicit(verify)
        merge_setting = _requests_sessions.merge_setting
        if isinstance(self.proxies, dict) and merge_setting is _STOCK_MERGE_SETTING:
            merged = {k: v for k, v in {**self.proxies, **proxies}.items() if v is not None}
        else:
            merged = merge_setting(proxies, self.proxies)
        return {
            "proxies": merged,
            "stream": stream if stream is not None else self.stream,
            "verify": verify,
            "cert": cert if cert is not None else self.cert,
        }
