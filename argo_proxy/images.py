"""Image URLs in chat messages → base64 data URLs, with limits and an SSRF guard."""

from __future__ import annotations

import base64
import http.client
import ipaddress
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

from .errors import ProxyError
from .upstream import make_ssl_context

MAX_IMAGES = 50          # Argo refuses more than this per request
MAX_REDIRECTS = 5
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_TYPES = {"image/png", "image/jpeg", "image/jpg", "image/webp", "image/gif"}
_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif")


class Limits:
    def __init__(self, cfg):
        self.mb = cfg.max_payload_size
        self.total_bytes = int(cfg.max_payload_size * 1024 * 1024)
        self.timeout = cfg.image_timeout
        self.workers = cfg.concurrent_downloads
        self.allow_private = cfg.allow_private_image_urls
        self.ca_bundle = cfg.ca_bundle


def image_parts(body) -> list:
    """Every image_url part (dict) in the messages, in order."""
    parts = []
    for msg in body.get("messages") or []:
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "image_url":
                    parts.append(part)
    return parts


def _url_of(part):
    ref = part.get("image_url")
    return ref.get("url") if isinstance(ref, dict) else ref


def inline_images(body, limits: Limits):
    """Replace http(s) image URLs with data URLs in place. A failure is a 400 naming the URL."""
    parts = image_parts(body)
    if len(parts) > MAX_IMAGES:
        raise ProxyError(400, "The request has %d images; Argo accepts at most %d per request."
                         % (len(parts), MAX_IMAGES), param="messages", code="too_many_images")
    urls = []
    for part in parts:
        url = _url_of(part)
        if isinstance(url, str) and url.lower().startswith(("http://", "https://")) and url not in urls:
            urls.append(url)
    if not urls:
        return 0
    with ThreadPoolExecutor(max_workers=min(limits.workers, len(urls))) as pool:
        fetched = dict(zip(urls, pool.map(lambda u: _fetch_or_error(u, limits), urls)))
    total = 0
    for url, result in fetched.items():
        if isinstance(result, ProxyError):
            raise result
        total += len(result[1])
    if total > limits.total_bytes:
        raise ProxyError(400, "The images in this request total %.1f MB; the limit is %g MB "
                         "(max_payload_size). Images are not recompressed: send smaller ones."
                         % (total / 1048576.0, limits.mb), param="messages")
    for part in parts:
        url = _url_of(part)
        if url in fetched:
            mime, data = fetched[url]
            data_url = "data:%s;base64,%s" % (mime, base64.b64encode(data).decode("ascii"))
            if isinstance(part.get("image_url"), dict):
                part["image_url"] = dict(part["image_url"], url=data_url)
            else:
                part["image_url"] = {"url": data_url}
    return len(fetched)


def _fetch_or_error(url, limits):
    try:
        return fetch_image(url, limits)
    except ProxyError as err:
        return err
    except Exception as exc:  # any failure becomes the user's clear 400, never a 500
        return _bad(url, "%s: %s" % (type(exc).__name__, exc))


def fetch_image(url, limits):
    """(mime, bytes) of an image URL, following redirects; every hop is re-checked."""
    deadline = time.monotonic() + limits.timeout
    for _ in range(MAX_REDIRECTS + 1):
        status, headers, data = _get(url, limits, deadline)
        if status in (301, 302, 303, 307, 308) and headers.get("Location"):
            url = urljoin(url, headers["Location"])
            continue
        if status != 200:
            raise _bad(url, "the server answered HTTP %d" % status)
        return _image_type(url, headers.get("Content-Type"), data), data
    raise _bad(url, "more than %d redirects" % MAX_REDIRECTS)


def _get(url, limits, deadline):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(url, "only http and https URLs can be downloaded")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _vetted_address(url, parts.hostname, port, limits.allow_private)
    conn = _PinnedConnection(parts.scheme, parts.hostname, address, port,
                             max(0.1, deadline - time.monotonic()), limits.ca_bundle)
    try:
        path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        conn.request("GET", path, headers={"Host": parts.netloc, "Accept": "image/*",
                                           "User-Agent": "argo-proxy image fetcher"})
        resp = conn.getresponse()
        data = _read_capped(resp, url, limits, deadline)
        return resp.status, resp.headers, data
    except socket.timeout:
        raise _bad(url, "no answer within %g s (image_timeout)" % limits.timeout)
    except (OSError, http.client.HTTPException) as exc:
        raise _bad(url, "download failed: %s" % (exc or type(exc).__name__))
    finally:
        conn.close()


def _read_capped(resp, url, limits, deadline):
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise socket.timeout()
        chunk = resp.read1(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limits.total_bytes:
            raise _bad(url, "the image is larger than %g MB (max_payload_size)" % limits.mb)
        chunks.append(chunk)


def _vetted_address(url, host, port, allow_private):
    """Resolve once and refuse private targets (the connection then uses this address)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _bad(url, "host name not found (%s)" % exc)
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if allow_private or not _is_private(ip):
            return info[4][0]
    raise _bad(url, "it points to a private, loopback or link-local address, which is refused "
                    "(set allow_private_image_urls: true to allow internal image servers)")


def _is_private(ip):
    """Anything but a public unicast address (IPv4 inside IPv6 unwrapped first)."""
    inner = getattr(ip, "ipv4_mapped", None) or getattr(ip, "sixtofour", None)
    if inner is not None:
        ip = inner
    return (not ip.is_global or ip.is_private or ip.is_loopback or ip.is_link_local
            or ip.is_reserved or ip.is_multicast or ip.is_unspecified
            or getattr(ip, "is_site_local", False))


class _PinnedConnection(http.client.HTTPConnection):
    """Connects to a vetted IP while keeping the host name for TLS (SNI and certificate)."""

    def __init__(self, scheme, host, address, port, timeout, ca_bundle):
        super().__init__(host, port, timeout=timeout)
        self._tls = make_ssl_context(ca_bundle) if scheme == "https" else None
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        if self._tls is not None:
            sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        self.sock = sock


def _image_type(url, content_type, data):
    declared = (content_type or "").split(";")[0].strip().lower()
    by_name = urlsplit(url).path.lower().endswith(_EXTENSIONS)
    if declared not in _TYPES and not (by_name and declared in ("", "application/octet-stream")):
        raise _bad(url, "it is not an image (Content-Type %r)" % (declared or "none"))
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise _bad(url, "the data is not a PNG, JPEG, GIF or WebP image")


def _bad(url, why):
    return ProxyError(400, "Could not use image URL %s: %s." % (url, why), param="messages",
                      code="invalid_image_url")
