"""New HTTPS connections per second with a certifi-sized CA bundle.

Compares, side by side in one run and against one local server in a separate
process, `SecureSession(ca_bundle=bundle)` with `requests.Session().get(verify=bundle)`.
Every request sends ``Connection: close``, so every request is a new TCP
connection and a full TLS handshake for both clients.

Run: .venv/bin/python benchmarks/bench_new_connections.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import platform
import ssl

import requests
from _common import local_server, median, rate

from securesession import SecureSession, TLSConfig

CLOSE = {"Connection": "close"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests-n", type=int, default=30, help="requests per round (slow)")
    parser.add_argument(
        "--secure-n", type=int, default=200, help="SecureSession requests per round"
    )
    args = parser.parse_args()

    with local_server() as srv:
        n_roots = TLSConfig(ca_bundle=srv.bundle).ssl_context().cert_store_stats()["x509_ca"]
        secure = SecureSession(ca_bundle=srv.bundle)
        plain = requests.Session()
        plain.trust_env = False  # the machine's REQUESTS_CA_BUNDLE must not change the test
        secure.trust_env = False
        assert secure.get(srv.url, headers=CLOSE).status_code == 200
        assert plain.get(srv.url, headers=CLOSE, verify=srv.bundle).status_code == 200

        results: dict[str, list[float]] = {"requests": [], "securesession": []}
        for _ in range(args.rounds):  # interleaved, so machine noise hits both alike
            results["requests"].append(
                rate(lambda: plain.get(srv.url, headers=CLOSE, verify=srv.bundle), args.requests_n)
            )
            results["securesession"].append(
                rate(lambda: secure.get(srv.url, headers=CLOSE), args.secure_n)
            )
        secure.close()
        plain.close()

    base = median(results["requests"])
    print(f"new connections/s, CA bundle of {n_roots} roots, {args.rounds} rounds, median")
    print(
        f"machine: {platform.machine()} {platform.python_implementation()} "
        f"{platform.python_version()}, {ssl.OPENSSL_VERSION}"
    )
    print(f"{'client':<16}{'median/s':>10}{'min/s':>10}{'max/s':>10}{'ratio':>8}")
    for name, values in results.items():
        m = median(values)
        print(f"{name:<16}{m:>10.1f}{min(values):>10.1f}{max(values):>10.1f}{m / base:>7.1f}x")


if __name__ == "__main__":
    main()
