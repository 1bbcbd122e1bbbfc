"""The ``securesession`` command line (also ``python -m securesession``).

Exit codes:
    0  success
    1  TLS failure: the handshake or certificate verification failed (explained)
    2  usage error (bad arguments)
    3  configuration error: a bad file, key, password variable or output path
    4  connection error that is not TLS (refused, timed out, DNS)

Errors are one line on stderr; ``-v`` adds the traceback.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["main"]

EXIT_OK, EXIT_TLS, EXIT_USAGE, EXIT_CONFIG, EXIT_CONNECTION = 0, 1, 2, 3, 4


class _Failure(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _default_ca_dir() -> Path:
    """Where `cert create` keeps its CA: $SECURESESSION_CAROOT or the per-user data dir."""
    if os.environ.get("SECURESESSION_CAROOT"):
        return Path(os.environ["SECURESESSION_CAROOT"]).expanduser()
    if sys.platform == "win32":  # pragma: no cover - platform path
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":  # pragma: no cover - platform path
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "securesession" / "ca"


def _password_from_env(variable: str | None) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        msg = f"--password-env {variable}: the variable is not set or empty"
        raise _Failure(msg, EXIT_CONFIG)
    return value


def _file_base(names: Sequence[str], client: bool) -> str:
    base = names[0].replace("*", "_wildcard").replace(":", "_").replace("/", "_")
    if len(names) > 1:
        base += f"+{len(names) - 1}"
    return base + ("-client" if client else "")


def _cmd_cert_create(args: argparse.Namespace) -> int:
    from .certs import LocalCA

    password = _password_from_env(args.password_env)
    ca_dir = Path(args.ca).expanduser() if args.ca else _default_ca_dir()
    ca = LocalCA.load_or_create(ca_dir, key_type=args.key_type)
    if ca.created:
        print(f"Created a new local CA in {ca_dir} (ca.pem; keep ca-key.pem private).")
        print(f'  Trust it in Python:  SecureSession(ca_bundle="{ca.cert_path}")')
        print(f"  or with curl:        curl --cacert {ca.cert_path} https://...")
    else:
        print(f"Using the local CA in {ca_dir}.")
    if args.client:
        pair = ca.issue_client_cert(args.names[0], key_type=args.key_type, days=args.days)
    else:
        pair = ca.issue_server_cert(*args.names, key_type=args.key_type, days=args.days)
    out = Path(args.out).expanduser() if args.out else Path.cwd()
    out.mkdir(parents=True, exist_ok=True)
    base = _file_base(args.names, args.client)
    cert_path, key_path = pair.write(
        out / f"{base}.pem", out / f"{base}-key.pem", password=password, overwrite=args.overwrite
    )
    kind = "client certificate" if args.client else "certificate"
    print(
        f"Created a {kind} for {', '.join(args.names)} "
        f"(expires {pair.not_after:%Y-%m-%d}): {cert_path}, key {key_path}"
        + (" (encrypted)" if password else "")
    )
    if args.p12:
        p12 = pair.write_pkcs12(out / f"{base}.p12", password=password, overwrite=args.overwrite)
        print(f"PKCS#12 bundle: {p12}" + ("" if password else " (no password)"))
    return EXIT_OK


def _tls_from_args(args: argparse.Namespace) -> Any:
    from ._config import ClientCert, TLSConfig

    client_cert = None
    if args.cert:
        password = _password_from_env(args.password_env)
        client_cert = ClientCert(args.cert, args.key, password=password)
    return TLSConfig(
        ca_bundle=args.ca_bundle or None,
        client_cert=client_cert,
        minimum_version=args.min_tls,
        maximum_version=args.max_tls,
        pins=tuple(args.pin),
        server_hostname=args.server_hostname,
    )


def _days_left(when: datetime.datetime) -> str:
    days = (when - datetime.datetime.now(datetime.timezone.utc)).days
    return f"{when:%Y-%m-%d} ({days} days left)" if days >= 0 else f"{when:%Y-%m-%d} (EXPIRED)"


def _cmd_get(args: argparse.Namespace) -> int:
    from ._session import SecureSession
    from ._tlsinfo import of_response

    with SecureSession(_tls_from_args(args)) as session:
        response = session.get(args.url, timeout=args.timeout)
    print(f"{response.status_code} {response.reason}")
    info = of_response(response)
    if info is not None:
        print(f"TLS: {info.version}, {info.cipher}, resumed: {info.session_reused}")
        print(f"server: {info.subject}")
        print(f"  issuer: {info.issuer}")
        print(f"  names: {', '.join(info.san) or '(none)'}")
        print(f"  not after: {_days_left(info.not_after)}")
        print(f"  pin: {info.pin}")
    if args.body:
        print()
        print(response.text)
    return EXIT_OK


def _cmd_inspect(args: argparse.Namespace) -> int:
    import socket

    from ._diagnose import diagnose
    from ._probe import probe
    from ._tlsinfo import cert_facts

    tls = _tls_from_args(args)
    parts = urlsplit(args.url)
    if parts.scheme != "https" or not parts.hostname:
        msg = f"inspect needs an https:// URL, got {args.url!r}"
        raise _Failure(msg, EXIT_USAGE)
    host, port = parts.hostname, parts.port or 443
    sni = tls.server_hostname or host
    seen = probe(host, port, sni, args.timeout, legacy=False)
    if seen.error is not None and not seen.chain:
        msg = f"cannot reach {host}:{port}: {seen.error}"
        raise _Failure(msg, EXIT_CONNECTION)
    print(f"{host}:{port}: {seen.version or '?'}, {seen.cipher or '?'}")
    for depth, der in enumerate(seen.chain):
        facts = cert_facts(der)
        print(f"[{depth}] {facts.subject}")
        print(f"    issuer: {facts.issuer}")
        if facts.san:
            print(f"    names: {', '.join(facts.san)}")
        print(f"    not after: {_days_left(facts.not_after)}")
        print(f"    pin: sha256//{facts.spki_sha256}")
    try:
        with (
            socket.create_connection((host, port), timeout=args.timeout) as raw,
            tls.ssl_context().wrap_socket(raw, server_hostname=sni),
        ):
            pass
    except OSError as exc:
        error = diagnose(
            exc, args.url, tls, proxied=False, timeout=args.timeout, new_connection=True
        )
        print(f"verification: FAILED: {error or exc}")
        return EXIT_TLS
    print("verification: OK")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo()


def _add_tls_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url")
    parser.add_argument(
        "--ca-bundle", action="append", metavar="P", help="CA file or directory (repeatable)"
    )
    parser.add_argument("--cert", metavar="C", help="client certificate (PEM)")
    parser.add_argument("--key", metavar="K", help="client key (PEM), if not inside --cert")
    parser.add_argument(
        "--password-env", metavar="VAR", help="environment variable holding the key password"
    )
    parser.add_argument("--min-tls", default="1.2", choices=["1.2", "1.3"])
    parser.add_argument("--max-tls", default=None, choices=["1.2", "1.3"])
    parser.add_argument("--pin", action="append", default=[], help="sha256//<base64> SPKI pin")
    parser.add_argument("--server-hostname", metavar="NAME", help="SNI / name to verify")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="securesession",
        description="TLS for HTTP clients, done right: certificates, requests, diagnosis.",
        epilog="Exit codes: 0 ok, 1 TLS failure, 2 usage, 3 configuration, 4 connection.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    cert = commands.add_parser("cert", help="make certificates").add_subparsers(
        dest="cert_command", required=True
    )
    create = cert.add_parser("create", help="issue certificates from a local CA (like mkcert)")
    create.add_argument("names", nargs="+", metavar="NAME", help="DNS names, IPs, *.wildcards")
    create.add_argument("--ca", metavar="DIR", help="CA directory (made on first use)")
    create.add_argument("--client", action="store_true", help="a client certificate")
    create.add_argument("--days", type=int, default=825)
    create.add_argument(
        "--key-type",
        default="ec",
        choices=["ec", "rsa", "rsa2048", "rsa3072", "rsa4096", "ed25519"],
    )
    create.add_argument("--password-env", metavar="VAR", help="encrypt the key with $VAR")
    create.add_argument("--p12", action="store_true", help="also write a PKCS#12 bundle")
    create.add_argument("--out", metavar="DIR", help="output directory (default: .)")
    create.add_argument("--overwrite", action="store_true", help="replace existing files")
    create.set_defaults(func=_cmd_cert_create)

    get = commands.add_parser("get", help="one request; prints status and TLS details")
    _add_tls_options(get)
    get.add_argument("--body", action="store_true", help="print the response body too")
    get.set_defaults(func=_cmd_get)

    inspect = commands.add_parser("inspect", help="show the server's chain and verify it")
    _add_tls_options(inspect)
    inspect.set_defaults(func=_cmd_inspect)

    demo = commands.add_parser("demo", help="mutual TLS end to end on 127.0.0.1")
    demo.set_defaults(func=_cmd_demo)
    return parser


def _classify(exc: BaseException) -> int:
    import requests

    from .errors import TLSConfigError, TLSError

    if isinstance(exc, _Failure):
        return exc.code
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema)):
        return EXIT_USAGE  # includes MissingSchema
    if isinstance(exc, TLSError):
        return EXIT_TLS
    if isinstance(exc, (TLSConfigError, FileExistsError, TypeError, ValueError)):
        return EXIT_CONFIG
    if isinstance(exc, requests.exceptions.SSLError):
        return EXIT_TLS
    return EXIT_CONNECTION


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        return 130
    except Exception as exc:  # every failure becomes one line and a code
        import requests

        if not isinstance(exc, (OSError, ValueError, TypeError, requests.RequestException)):
            raise
        if args.verbose:
            traceback.print_exc()
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"securesession: error: {message}", file=sys.stderr)
        return _classify(exc)
    return code


def entry_point() -> None:
    """Console-script entry point."""
    sys.exit(main())
