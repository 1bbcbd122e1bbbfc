"""The benchmarks' HTTPS server, run in its own process: securesession's local server.

Usage: python _tls_server.py CERT_CHAIN_AND_KEY_PEM
Prints its port (on 127.0.0.1) on the first line of stdout, then serves until its
stdin closes. HTTP/1.1 keep-alive; a request with ``Connection: close`` closes its
connection, which is how the benchmarks force new connections.
"""

from __future__ import annotations

import ssl
import sys

from securesession._localserver import serve


def main() -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1])
    with serve(context) as server:
        print(server.port, flush=True)
        sys.stdin.read()  # the parent closes our stdin to stop us


if __name__ == "__main__":
    main()
