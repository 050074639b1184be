"""Doctor steps 3-5: DNS, TCP and TLS to every host the config sends requests to.

The route is the proxy's own: upstream.proxy_for decides whether HTTP(S)_PROXY / NO_PROXY
put a proxy in the way (then the proxy resolves the name, and an https host is reached with
CONNECT through it, as http.client tunnels the proxy's requests), and upstream.make_ssl_context
is the CA bundle the proxy would verify with.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
from urllib.parse import urlsplit

from .doctor_report import FAIL, PASS, SKIP, TimedOut, bounded
from .errors import NETWORK_HINT
from .guard import is_loopback
from .upstream import describe_error, make_ssl_context, proxy_for

# Every Argo URL a config uses (all modes but LlamaStack reach each of them for some route).
ARGO_URLS = ("argo_url", "argo_stream_url", "argo_embedding_url", "argo_model_url",
             "native_openai_base_url", "native_anthropic_base_url")
DNS_HINT = ("check the host name in the config; Argo's names resolve only on the ANL network "
            "or VPN (with an SSH tunnel, point argo_base_url at http://127.0.0.1:PORT/...)")
TLS_HINT = ("if your network inspects TLS (a corporate proxy), set ca_bundle (or SSL_CERT_FILE) "
            "to your organisation's CA file; with python.org's Python on macOS, run "
            "'Install Certificates.command' (in Applications/Python 3.x) once")


class Target:
    """One (scheme, host, port) the config's URLs point at, and what the checks found."""

    def __init__(self, scheme, host, port):
        self.scheme = scheme
        self.host = host
        self.port = port
        self.proxy = proxy_for(scheme, host)   # the proxy URL in the way, or None
        self.keys = []        # the config keys whose URLs it serves
        self.problem = None   # why it cannot be reached (None: fine so far)
        self.sock = None      # the TCP connection, kept for the TLS step

    @property
    def name(self) -> str:
        return "%s:%d" % ("[%s]" % self.host if ":" in self.host else self.host, self.port)

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


class Reach:
    """What steps 3-5 found, for the steps that send requests."""

    def __init__(self, targets):
        self.targets = targets

    def problem(self, url):
        """Why url cannot be reached (a sentence naming the step), or None."""
        key = _key(url)
        for target in self.targets:
            if (target.scheme, target.host, target.port) == key:
                return target.problem
        return None

    def close(self):
        for target in self.targets:
            target.close()


def _key(url):
    parts = urlsplit(url or "")
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def targets(cfg) -> list:
    """The distinct (scheme, host, port) of the URLs the config uses, in config order."""
    keys = ("llamastack_url",) if cfg.llamastack_mode else ARGO_URLS
    found = {}
    for name in keys:
        key = _key(getattr(cfg, name))
        if key is not None:
            found.setdefault(key, Target(*key)).keys.append(name)
    return list(found.values())


def run(cfg, report) -> Reach:
    found = targets(cfg)
    seconds = cfg.connect_timeout
    check_dns(found, report, seconds)
    for target in found:
        check_tcp(target, report, seconds)
    for target in found:
        check_tls(target, report, seconds, cfg)
    return Reach(found)


# -- step 3 ------------------------------------------------------------------------------------

def check_dns(found, report, seconds):
    """Resolve each host once: the Argo host, or the proxy's host when a proxy is in the way."""
    results = {}
    for target in found:
        if target.proxy:
            proxy_host = urlsplit(target.proxy).hostname or ""
            if ("skip", target.host) not in results:
                results[("skip", target.host)] = None
                report.add("dns", "DNS %s" % target.host, SKIP, "not resolved here: requests go "
                           "through the proxy %s, which resolves it" % target.proxy)
            host = proxy_host
        else:
            host = target.host
        if host not in results:
            results[host] = resolve(host, report, seconds)
        if results[host]:
            target.problem = "DNS found no address for %s (step 3)" % host


def resolve(host, report, seconds):
    """None when host resolves, else the problem."""
    try:
        infos = bounded(seconds, socket.getaddrinfo, host, None, 0, socket.SOCK_STREAM)
    except (OSError, TimedOut, UnicodeError) as exc:
        why = describe_error(exc)
        report.add("dns", "DNS %s" % host, FAIL, "cannot resolve the name: %s" % why, DNS_HINT)
        return why
    addresses = []
    for info in infos:
        if info[4][0] not in addresses:
            addresses.append(info[4][0])
    report.add("dns", "DNS %s" % host, PASS, ", ".join(addresses[:4]))
    return None


# -- step 4 ------------------------------------------------------------------------------------

def check_tcp(target, report, seconds):
    subject = "TCP %s" % target.name
    if target.problem:
        report.add("tcp", subject, SKIP, "needs the address: %s" % target.problem)
        return
    try:
        target.sock = bounded(seconds + 1, open_tcp, target, seconds)
    except (OSError, TimedOut, http.client.HTTPException) as exc:
        target.problem = "TCP to %s failed (step 4)" % target.name
        report.add("tcp", subject, FAIL, _tcp_failure(target, exc), _tcp_hint(target))
        return
    if not target.proxy:
        report.add("tcp", subject, PASS, "connected")
    elif target.scheme == "https":
        report.add("tcp", subject, PASS, "connected through the proxy %s (CONNECT %s)"
                   % (target.proxy, target.name))
    else:
        report.add("tcp", subject, PASS, "connected to the proxy %s, which plain-http requests "
                   "go through" % target.proxy)


def open_tcp(target, seconds):
    """A connected socket to the target: direct, or tunnelled through the proxy (https)."""
    if not target.proxy:
        return socket.create_connection((target.host, target.port), seconds)
    proxy = urlsplit(target.proxy)
    conn = http.client.HTTPConnection(proxy.hostname, proxy.port or 8080, timeout=seconds)
    if target.scheme == "https":
        conn.set_tunnel(target.host, target.port)   # connect() then sends CONNECT host:port
    conn.connect()
    sock, conn.sock = conn.sock, None
    return sock


def _tcp_failure(target, exc):
    why = describe_error(exc) if not isinstance(exc, TimedOut) else str(exc)
    if target.proxy:
        return "through the proxy %s: %s" % (target.proxy, why)
    return "cannot connect: %s" % why


def _tcp_hint(target):
    if target.proxy:
        return ("the proxy comes from HTTPS_PROXY/HTTP_PROXY/ALL_PROXY; check it is right and "
                "allows %s, or exempt the host with NO_PROXY. %s" % (target.name, NETWORK_HINT))
    if target.keys == ["llamastack_url"]:
        return "start LlamaStack there, or fix llamastack_url (--llamastack URL)"
    if is_loopback(target.host):
        return ("nothing listens there: start your SSH tunnel to Argo, or fix the URL in the "
                "config (%s, or argo_base_url)" % ", ".join(target.keys))
    return "connect to the ANL network or VPN, or start your SSH tunnel. " + NETWORK_HINT


# -- step 5 ------------------------------------------------------------------------------------

def check_tls(target, report, seconds, cfg):
    subject = "TLS %s" % target.name
    if target.scheme != "https":
        report.add("tls", subject, SKIP, "plain http: no TLS on this connection")
        return
    if target.problem:
        report.add("tls", subject, SKIP, "needs the connection: %s" % target.problem)
        return
    cas = ca_source(cfg)
    try:
        version = bounded(seconds + 1, handshake, target, seconds, cfg.ca_bundle)
    except ssl.SSLCertVerificationError as exc:
        target.problem = "the TLS certificate check failed (step 5)"
        report.add("tls", subject, FAIL, "the server's certificate is not trusted (%s) by %s"
                   % (exc.verify_message, cas), TLS_HINT)
        return
    except (OSError, TimedOut, ValueError) as exc:
        target.problem = "the TLS handshake failed (step 5)"
        report.add("tls", subject, FAIL, "handshake failed: %s (CA: %s)" % (describe_error(exc), cas),
                   TLS_HINT)
        return
    report.add("tls", subject, PASS, "%s, certificate verified with %s" % (version, cas))


def handshake(target, seconds, ca_bundle):
    """The TLS version agreed on the target's TCP connection, verified as the proxy verifies."""
    context = make_ssl_context(ca_bundle)
    sock, target.sock = target.sock, None
    sock.settimeout(seconds)
    tls = context.wrap_socket(sock, server_hostname=target.host)
    try:
        return tls.version()
    finally:
        tls.close()


def ca_source(cfg) -> str:
    """Where the CA certificates the proxy trusts come from (as make_ssl_context picks them)."""
    if cfg.ca_bundle:
        return "ca_bundle %s (%s)" % (cfg.ca_bundle, cfg.sources.get("ca_bundle", "?"))
    if os.environ.get("SSL_CERT_FILE"):
        return "SSL_CERT_FILE %s" % os.environ["SSL_CERT_FILE"]
    try:
        import certifi
        return "certifi's bundle %s" % certifi.where()
    except ImportError:
        return "the system's CA store"
