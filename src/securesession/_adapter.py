"""TLSAdapter: hands cached, read-only contexts to urllib3 and keys pools by posture.

requests' HTTPAdapter turns ``verify``/``cert`` into ``ca_certs``/``cert_file``
attributes on the connection pool, and urllib3 then loads those files into the
context of every new connection. TLSAdapter replaces that path:

* ``build_connection_pool_key_attributes`` resolves the request's ``verify`` and
  ``cert`` against the adapter's `TLSConfig` into one effective `TLSConfig`, and
  passes its cached context as ``ssl_context``. The context object stands for the
  whole posture, so it is what separates pools: a connection made under one
  posture is never reused under another (CVE-2024-35195).
* ``cert_verify`` does nothing: the posture is already in the context, and
  requests' version would load certifi's roots on top of a private CA.
* HTTPS proxies are verified with the request's trust (not its client
  certificate or pins, which are for the origin).
"""

from __future__ import annotations

import collections
import os
import ssl
import threading
from typing import Any

from requests.adapters import HTTPAdapter
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import InvalidProxyURL, InvalidURL, ProxyError, Timeout
from requests.models import PreparedRequest, Request, Response
from requests.utils import prepend_scheme_if_needed, select_proxy
from urllib3 import proxy_from_url
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.util import parse_url

from . import _cache, _threadstate
from ._config import TLSConfig
from ._origins import (
    _came_from_environment,
    _connect_timeout,
    _EnvCABundle,
    _refused_by_trust,
)
from ._pool import POOL_CLASSES, tls_of
from .errors import CertificateFileError, TLSError

__all__ = ["TLSAdapter"]

_MAX_DERIVED = 64  # distinct per-request (verify, cert) combinations remembered per adapter
_MAX_PROXY_MANAGERS = 8  # HTTPS proxy managers kept per adapter; evicted ones are closed


def _host_header(name: str, url: str) -> str:
    """The ``Host`` for ``url`` served as ``name``: with the URL's port unless it is 443.

    As http.client writes it for the URL's own host (and curl does).
    """
    host = f"[{name}]" if ":" in name else name  # an IPv6 address
    port = parse_url(url).port
    return host if port in (None, 443) else f"{host}:{port}"


class TLSAdapter(HTTPAdapter):
    """An `HTTPAdapter` whose TLS posture is a `TLSConfig`.

    Works mounted on a `SecureSession` or on a plain `requests.Session`. On a plain
    session, requests has already replaced ``verify=True`` by ``REQUESTS_CA_BUNDLE``
    (or ``CURL_CA_BUNDLE``) when that variable is set; so that the variable does not
    override an explicit ``ca_bundle``, the adapter then ignores a ``verify`` path
    equal to the variable's value. The limit of that guess: on a plain session, an
    explicit ``verify=<path>`` equal to ``$REQUESTS_CA_BUNDLE`` cannot be told apart
    from the variable, and is ignored too when ``tls.ca_bundle`` is set. Use
    `SecureSession`, which knows where each value came from, for securesession's
    precedence.

    Args:
        tls: The posture for every request this adapter sends; None means
            ``TLSConfig()`` (certifi's roots, TLS >= 1.2, full verification).
        **kwargs: `requests.adapters.HTTPAdapter` arguments (``pool_connections``,
            ``pool_maxsize``, ``max_retries``, ``pool_block``).

    Raises:
        CertificateFileError: a file of ``tls`` holds no usable certificate.
        TLSConfigError: OpenSSL rejects part of ``tls``.
    """

    __attrs__ = [*HTTPAdapter.__attrs__, "tls"]  # noqa: RUF012  # requests declares it a list

    def __init__(self, tls: TLSConfig | None = None, **kwargs: Any) -> None:
        if tls is None:
            tls = TLSConfig()
        elif not isinstance(tls, TLSConfig):
            msg = f"TLSAdapter() takes a TLSConfig, got {type(tls).__name__}"
            raise TypeError(msg)
        # Build (or reuse) now, so a bad file fails here, not on a request; and hold
        # the cache entry, so that a context this adapter uses is never evicted.
        self._held = _cache.CACHE.hold(tls)
        self.tls = tls
        self._init_state()
        super().__init__(**kwargs)

    def _init_state(self) -> None:
        # (verify, cert) -> (effective TLSConfig, its held cache entry)
        self._derived: dict[tuple[Any, ...], tuple[TLSConfig, object]] = {}
        self._derived_lock = threading.Lock()
        # origin TLSConfig -> (proxy TLSConfig, its held cache entry)
        self._proxy_tls: dict[TLSConfig, tuple[TLSConfig, object]] = {}
        # proxy URL and proxy TLSConfig -> (the context it was made with, the manager)
        self._tls_proxy_managers: collections.OrderedDict[
            tuple[str, TLSConfig], tuple[ssl.SSLContext, Any]
        ] = collections.OrderedDict()

    def __repr__(self) -> str:
        return f"<TLSAdapter {self.tls!r}>"

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._init_state()
        super().__setstate__(state)
        self._held = _cache.CACHE.hold(self.tls)

    def effective_tls(self, verify: Any = True, cert: Any = None) -> TLSConfig:
        """Return the `TLSConfig` a request with these requests-style arguments uses.

        Args:
            verify: requests' ``verify``: True (or None) keeps this adapter's
                config, False disables verification, a path replaces ``ca_bundle``.
            cert: requests' ``cert``: a path or a ``(cert, key)`` tuple replaces
                ``client_cert``; None keeps it.

        Raises:
            CertificateFileError: a path does not exist (names the environment
                variable when the path came from one).
        """
        if (verify is True or verify is None) and cert is None:
            return self.tls
        if isinstance(cert, list):  # requests documents tuples; lists work there too
            cert = tuple(cert)
        # An environment bundle is keyed by all its paths (it compares as its first).
        key = (type(verify), getattr(verify, "paths", verify), cert)
        found = self._derived.get(key)
        if found is None:
            derived = self._derive(verify, cert)
            found = (derived, _cache.CACHE.hold(derived))  # held while remembered here
            with self._derived_lock:
                if len(self._derived) >= _MAX_DERIVED:
                    self._derived.clear()
                self._derived[key] = found
        return found[0]

    def _derive(self, verify: Any, cert: Any) -> TLSConfig:
        tls = self.tls
        if isinstance(verify, _EnvCABundle):
            if tls.ca_bundle is None and tls.verify:
                try:
                    tls = tls.replace(ca_bundle=verify.paths)
                    tls.ssl_context()  # read the files now, to name the variable if they are bad
                except CertificateFileError as exc:
                    msg = f"{exc} (set by ${' and $'.join(verify.variables)})"
                    raise CertificateFileError(msg) from exc
        elif verify is False:
            tls = tls.replace(verify=False)
        elif _came_from_environment(verify) and tls.ca_bundle is not None:
            # On a plain requests.Session, requests has already turned verify=True into
            # $REQUESTS_CA_BUNDLE; it must not override the explicit ca_bundle.
            # (SecureSession marks the caller's paths, which never get here.)
            pass
        elif isinstance(verify, (str, os.PathLike)):
            path = os.fspath(verify)
            if isinstance(path, str):
                path = str(path)  # a plain str in the config, not the marker
            tls = tls.replace(ca_bundle=path, verify=True)
        elif verify is not True and verify is not None:
            msg = f"verify must be a bool or a path to a CA bundle, got {type(verify).__name__}"
            raise TypeError(msg)
        if cert is not None:
            tls = tls.replace(client_cert=cert)
        return tls

    def _host_params(self, request: PreparedRequest) -> dict[str, Any]:
        # requests' own parsing of scheme/host/port, asked with verify=True so that
        # it touches no file; its TLS kwargs are discarded.
        try:
            host_params, _ = super().build_connection_pool_key_attributes(request, True, None)
        except ValueError as exc:  # e.g. a port that is not a number
            raise InvalidURL(exc, request=request) from exc
        return host_params

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return urllib3's host parameters and the TLS pool kwargs for ``request``.

        For https the pool kwargs carry the effective posture's cached context:
        contexts are per posture, so the pool key separates postures.
        """
        host_params = self._host_params(request)
        if host_params["scheme"] != "https":
            return host_params, {}  # as in requests, verify= and cert= mean nothing for http
        tls = self.effective_tls(verify, cert)
        pool_kwargs: dict[str, Any] = {
            "ssl_context": tls.ssl_context(),
            "cert_reqs": "CERT_REQUIRED" if tls.verify else "CERT_NONE",
        }
        if tls.verify and not tls.check_hostname:
            # urllib3 would otherwise match the hostname itself.
            pool_kwargs["assert_hostname"] = False
        if tls.server_hostname is not None:
            # SNI and the name OpenSSL verifies; the TCP connection still goes to the URL's host.
            pool_kwargs["server_hostname"] = tls.server_hostname
        return host_params, pool_kwargs

    def get_connection_with_tls_context(
        self,
        request: PreparedRequest,
        verify: Any,
        proxies: dict[str, str] | None = None,
        cert: Any = None,
    ) -> HTTPConnectionPool:
        """Return the urllib3 pool for ``request`` under its effective TLS posture.

        Unlike requests' version, a configuration error surfaces as itself (a
        `TLSConfigError`), not as `InvalidURL`.
        """
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        proxy = select_proxy(request.url, proxies)  # type: ignore[arg-type]  # prepared: url is str
        if not proxy:
            return self.poolmanager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)
        proxy = prepend_scheme_if_needed(proxy, "http")
        if not parse_url(proxy).host:
            msg = "Please check proxy URL. It is malformed and could be missing the host."
            raise InvalidProxyURL(msg)
        if proxy.lower().startswith("https://"):
            manager = self._https_proxy_manager(proxy, self.effective_tls(verify, cert))
        else:
            manager = self.proxy_manager_for(proxy)
        if type(manager).__name__ == "ProxyManager":  # not SOCKS: it has pool classes of its own
            manager.pool_classes_by_scheme = POOL_CLASSES
        pool: HTTPConnectionPool = manager.connection_from_host(
            **host_params, pool_kwargs=pool_kwargs
        )
        return pool

    def get_connection(self, url: str, proxies: dict[str, str] | None = None) -> HTTPConnectionPool:
        """Deprecated requests hook, kept so old callers still get this adapter's posture."""
        request = Request("GET", url).prepare()
        return self.get_connection_with_tls_context(request, True, proxies=proxies)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Create the pool manager, with connections that capture `TLSInfo`."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOL_CLASSES

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Response:
        """Send as requests does; a TLS failure raises a typed, self-explaining `TLSError`.

        When the effective config sets ``server_hostname`` and the request has no
        ``Host`` header, ``Host`` is that name (name-based virtual hosts serve the
        site whose certificate was verified). The header goes on a copy: the
        caller's request, and the redirects requests builds from it, are unchanged.
        """
        started, completed = _threadstate.started(), _threadstate.completed()
        sent = self._with_host(request, verify, cert)
        try:
            try:
                return super().send(sent, stream, timeout, verify, cert, proxies)
            except RequestsConnectionError as exc:
                refused = _refused_by_trust(exc)
                if refused is None:
                    raise
                if not getattr(refused, "securesession_retired", False):
                    raise refused from exc  # trust fails closed: the typed error itself
                # The pool was picked just before a rotation retired its context: once
                # more, with the current one (no byte was sent: it failed to connect).
                return super().send(sent, stream, timeout, verify, cert, proxies)
        except (RequestsConnectionError, Timeout) as exc:
            refused = _refused_by_trust(exc)
            if refused is not None:
                raise refused from exc
            if (
                isinstance(exc, (TLSError, ProxyError))  # a proxy's failure is not the origin's
                or not str(request.url).lower().startswith("https:")
            ):
                raise
            from ._diagnose import diagnose  # only failures pay for it

            error = diagnose(
                exc,
                str(request.url),
                self.effective_tls(verify, cert),
                proxied=bool(select_proxy(str(request.url), proxies)),
                timeout=_connect_timeout(timeout),
                new_connection=_threadstate.completed() > completed,
                in_handshake=_threadstate.started() - started
                > _threadstate.completed() - completed,
            )
            if error is None:
                raise
            error.request = request
            raise error from exc

    def _with_host(self, request: PreparedRequest, verify: Any, cert: Any) -> PreparedRequest:
        """``request``, or a copy of it with the ``Host`` that ``server_hostname`` implies."""
        headers = request.headers
        url = str(request.url)
        if headers is None or "Host" in headers or url[:6].lower() != "https:":
            return request  # a caller's own Host wins; http:// ignores the TLS posture
        name = self.effective_tls(verify, cert).server_hostname
        if name is None:
            return request
        sent = request.copy()
        sent.headers["Host"] = _host_header(name, url)
        sent._securesession_original = request  # type: ignore[attr-defined]  # for build_response
        return sent

    def build_response(self, req: PreparedRequest, resp: Any) -> Response:
        """Build the response as requests does, plus ``response.tls`` (`TLSInfo` or None).

        ``response.request`` is the caller's request (cookies follow its URL), also
        when a copy was sent with the ``Host`` that ``server_hostname`` implies.
        """
        req = getattr(req, "_securesession_original", req)
        response = super().build_response(req, resp)
        response.tls = tls_of(resp)  # type: ignore[attr-defined]  # securesession's addition
        return response

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Do nothing: the posture is in the pool's context already.

        requests' implementation sets ``ca_certs`` (certifi for ``verify=True``)
        and ``cert_file`` on the pool, which makes urllib3 load them into the
        shared context on every new connection.
        """

    def _https_proxy_manager(self, proxy: str, tls: TLSConfig) -> Any:
        """The manager for an HTTPS proxy, verified with the request's trust.

        The proxy gets the request's effective trust and versions, but not the
        origin's client certificate, pins or server_hostname: those are for the
        origin. One manager per (proxy, context), so a rotated CA file or another
        posture gets a manager of its own.
        """
        found = self._proxy_tls.get(tls)
        if found is None:
            proxy_tls = tls.replace(client_cert=None, pins=(), server_hostname=None)
            found = (proxy_tls, _cache.CACHE.hold(proxy_tls))
            with self._derived_lock:
                if len(self._proxy_tls) >= _MAX_DERIVED:
                    self._proxy_tls.clear()
                self._proxy_tls[tls] = found
        proxy_tls = found[0]
        ctx = proxy_tls.ssl_context()
        key = (proxy, proxy_tls)
        with self._derived_lock:
            current = self._tls_proxy_managers.get(key)
            if current is not None and current[0] is ctx:
                self._tls_proxy_managers.move_to_end(key)
                return current[1]
            manager = proxy_from_url(
                proxy,
                proxy_headers=self.proxy_headers(proxy),
                num_pools=self._pool_connections,
                maxsize=self._pool_maxsize,
                block=self._pool_block,
                proxy_ssl_context=ctx,
            )
            self._tls_proxy_managers[key] = (ctx, manager)
            self._tls_proxy_managers.move_to_end(key)
            retired = [current[1]] if current is not None else []  # its context rotated
            while len(self._tls_proxy_managers) > _MAX_PROXY_MANAGERS:
                retired.append(self._tls_proxy_managers.popitem(last=False)[1][1])
        for old in retired:
            # Closes idle connections now; one in use is closed when it is returned.
            old.clear()
        return manager

    def close(self) -> None:
        """Close the pools of the adapter and of its proxy managers."""
        super().close()
        with self._derived_lock:
            managers = [manager for _, manager in self._tls_proxy_managers.values()]
            self._tls_proxy_managers.clear()
        for manager in managers:
            manager.clear()
