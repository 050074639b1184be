"""TLS to the upstream: a self-signed local server trusted only through ca_bundle / SSL_CERT_FILE."""

import http.server
import shutil
import ssl
import subprocess
import threading

import pytest

from argo_proxy.errors import ProxyError
from argo_proxy.upstream import Upstream

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)

    class Hello(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    srv.socket = context.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield "https://127.0.0.1:%d/" % srv.server_address[1], cert
    srv.shutdown()
    srv.server_close()


def test_ca_bundle_trusts_the_server(tls_server):
    url, cert = tls_server
    client = Upstream(connect_timeout=5, read_timeout=5, ca_bundle=cert)
    try:
        assert client.request("GET", url).read() == b"hello"
        assert client.request("GET", url).read() == b"hello"
        assert client.opened == 1  # TLS connections are pooled too
    finally:
        client.close()


def test_untrusted_certificate_is_a_clear_503(tls_server, monkeypatch):
    url, _ = tls_server
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    client = Upstream(connect_timeout=5, read_timeout=5)
    with pytest.raises(ProxyError) as info:
        client.request("GET", url, retries=0)
    assert info.value.status == 503 and "ca_bundle" in info.value.message
    client.close()


def test_ssl_cert_file_is_honoured(tls_server, monkeypatch):
    url, cert = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    client = Upstream(connect_timeout=5, read_timeout=5)
    try:
        assert client.request("GET", url).read() == b"hello"
    finally:
        client.close()
