"""A tiny image server for the image-inlining tests (loopback, port chosen by the OS)."""

import http.server
import threading

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 32
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 16


class ImageHandler(http.server.BaseHTTPRequestHandler):
    routes = {
        "/cat.png": (200, "image/png", PNG),
        "/anim.gif": (200, "image/gif; charset=binary", GIF),
        "/pic.webp": (200, "", WEBP),
        "/page.html": (200, "text/html", b"<html></html>"),
        "/fake.png": (200, "image/png", b"not really a png at all"),
        "/big.png": (200, "image/png", PNG + b"\x00" * 300000),
    }

    def do_GET(self):
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/cat.png")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, ctype, body = self.routes.get(self.path, (404, "text/plain", b"nope"))
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class ImageServer:
    def __enter__(self):
        self._srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ImageHandler)
        threading.Thread(target=self._srv.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self._srv.server_address[1]
        return self

    def __exit__(self, *exc):
        self._srv.shutdown()
        self._srv.server_close()
