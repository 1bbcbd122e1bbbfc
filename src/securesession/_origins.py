"""Where a request's ``verify`` and the errors around it came from.

requests hands the adapter one ``verify`` value; securesession's precedence
needs to know whether the caller wrote it or the environment supplied it.
`SecureSession` marks both kinds (`_EnvCABundle`, `_ExplicitCABundle`, str
subclasses that plain requests code sees as ordinary paths); only a bare string
on a plain `requests.Session` is left to `_came_from_environment`'s guess.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import CertificateFileError

__all__ = [
    "_EnvCABundle",
    "_ExplicitCABundle",
    "_came_from_environment",
    "_connect_timeout",
    "_refused_by_trust",
]


class _EnvCABundle(str):
    """A ``verify`` path that came from the environment, not from the caller.

    `SecureSession` passes this str subclass so that the adapter, which knows its
    own `TLSConfig`, can apply the variable only when that config left
    ``ca_bundle`` at its default: an environment variable never overrides an
    explicit setting. Plain requests code sees an ordinary path.
    """

    paths: tuple[str, ...]
    variables: tuple[str, ...]

    def __new__(cls, paths: tuple[str, ...], variables: tuple[str, ...]) -> _EnvCABundle:
        self = super().__new__(cls, paths[0])
        self.paths = paths
        self.variables = variables
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_EnvCABundle, (self.paths, self.variables))


class _ExplicitCABundle(str):
    """A ``verify`` path the caller gave (per request or as ``session.verify``).

    `SecureSession` knows where each ``verify`` value came from and marks the
    caller's paths with this str subclass, so that the adapter applies them even
    when they equal ``$REQUESTS_CA_BUNDLE``: only an unmarked path is ever taken
    for the variable (a `TLSAdapter` on a plain `requests.Session`).
    """

    __slots__ = ()


def _came_from_environment(verify: object) -> bool:
    """Whether an unmarked ``verify`` path is what requests reads from the environment.

    A guess from the string, needed only on a plain `requests.Session`, which has
    already replaced ``verify=True`` by the variable's value; `SecureSession` marks
    its values instead (`_EnvCABundle`, `_ExplicitCABundle`), so nothing is guessed.
    """
    if isinstance(verify, _ExplicitCABundle):
        return False
    return isinstance(verify, str) and verify in {
        os.environ.get("REQUESTS_CA_BUNDLE"),
        os.environ.get("CURL_CA_BUNDLE"),
    }


def _refused_by_trust(exc: BaseException) -> CertificateFileError | None:
    """The fail-closed `CertificateFileError` urllib3 wrapped into ``exc``, if any."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, CertificateFileError):
            return current
        # urllib3 keeps the cause in .reason (MaxRetryError) or in args (ProtocolError).
        todo.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        todo.extend(current.args)
    return None


def _connect_timeout(timeout: Any) -> float | None:
    """The connect part of any timeout requests accepts (number, tuple, urllib3 Timeout)."""
    if isinstance(timeout, tuple):
        timeout = timeout[0]
    timeout = getattr(timeout, "connect_timeout", timeout)
    return float(timeout) if isinstance(timeout, (int, float)) else None
