"""A certificate with DNS and IP names from securesession.certs, on a werkzeug (Flask) dev server.

The classic recipe: make a certificate for "localhost" and "127.0.0.1", serve a
WSGI app over HTTPS with werkzeug's development server (what `flask run --cert`
uses), and call it by name and by address with a SecureSession.

Run: python examples/werkzeug_dev_server.py   (needs werkzeug: the [pytest] extra has it)
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from werkzeug import Request, Response
from werkzeug.serving import make_server

from securesession import SecureSession
from securesession.certs import LocalCA


@Request.application
def app(request: Request) -> Response:
    return Response(f"hello from werkzeug, you asked for {request.host}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        ca = LocalCA.create("dev CA")
        (d / "ca.pem").write_bytes(ca.cert_pem)
        cert = ca.issue_server_cert("localhost", "127.0.0.1")  # DNS and IP SANs
        cert.write(d / "localhost.pem", d / "localhost-key.pem")
        server = make_server(
            "127.0.0.1",
            0,
            app,
            ssl_context=(str(d / "localhost.pem"), str(d / "localhost-key.pem")),
        )
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            with SecureSession(ca_bundle=d / "ca.pem") as session:
                for host in ("127.0.0.1", "localhost"):
                    response = session.get(f"https://{host}:{server.port}/", timeout=10)
                    print(f"{host}: {response.status_code} {response.text}")
        finally:
            server.shutdown()
            thread.join()


if __name__ == "__main__":
    main()
