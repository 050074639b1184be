"""`argo-proxy doctor`, run from the built .pyz against fakes on 127.0.0.1."""

import json
import shutil
import signal
import socket
import ssl
import subprocess

import pytest

from argo_proxy import __version__, yamlish
from tests import proxyproc
from tests.fakes.egress_proxy import EgressProxy
from tests.fakes.fake_argo import FakeArgo
from tests.fakes.fake_mcp import TOOLS as MCP_TOOLS, FakeMCPHttp

INVALID_HOST = "argo.doctor-test.invalid"   # .invalid never resolves (RFC 2606)


def doctor(tmp_path, *args, config=None, env=None, as_json=True):
    """(exit status, the JSON report or the text, stderr) of one doctor run."""
    argv = ["doctor"]
    if config is not None:
        path = tmp_path / "doctor.yaml"
        path.write_text(yamlish.dumps(config))
        argv.append(str(path))
    argv += list(args) + (["--json"] if as_json else [])
    proc = subprocess.run(proxyproc.command() + argv, cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                          env=proxyproc.clean_env(str(tmp_path), env), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=90)
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert "Traceback" not in out + err, out + err
    return proc.returncode, json.loads(out) if as_json else out, err


def checks(report, name):
    return [c for c in report["checks"] if c["check"] == name]


def statuses(report, name):
    return [c["status"] for c in checks(report, name)]


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port():
    return closed_port()   # free a moment ago: what the listen check is asked about


@pytest.mark.smoke
def test_all_checks_pass_and_each_verdict_is_printed(tmp_path, fake):
    port = free_port()
    code, out, _ = doctor(tmp_path, "--port", str(port), as_json=False,
                          config={"argo_base_url": fake.url, "user": "tester"})
    assert code == 0, out
    lines = out.splitlines()
    for start in ("PASS  config: %s" % (tmp_path / "doctor.yaml"), "PASS  user: tester",
                  "PASS  DNS 127.0.0.1", "PASS  TCP 127.0.0.1:", "SKIP  TLS 127.0.0.1:",
                  "PASS  model list: ", "PASS  user registered:",
                  "PASS  chat (standard mode): gpt4o answered 'Hello from fake Argo.'",
                  "SKIP  tools: no tool sources", "PASS  listen 127.0.0.1:%d: free" % port):
        assert any(line.startswith(start) for line in lines), (start, out)
    assert "FAIL" not in out and lines[-1] == "All checks passed."
    assert " models from %s/api/v1/models/" % fake.url in out
    assert __version__ in lines[0]
    paths = [r["path"] for r in fake.requests]
    assert paths == ["/api/v1/models/", "/api/v1/resource/chat/", "/api/v1/resource/streamchat/"]
    assert all(r["body"] is None or r["body"]["user"] == "tester" for r in fake.requests)


def test_native_mode_chats_on_the_native_endpoint(tmp_path, fake):
    code, report, _ = doctor(tmp_path, "--native-openai", "--port", "0", "--model", "argo:GPT-4o",
                             config={"argo_base_url": fake.url, "user": "tester"})
    assert code == 0 and report["ok"], report
    assert checks(report, "chat")[0]["subject"] == "chat (native-openai mode)"
    chat = fake.last("/v1/chat/completions")
    assert chat["body"]["user"] == "tester" and chat["body"]["model"] == "gpt4o"
    assert chat["body"]["messages"][0]["role"] == "user"
    assert fake.last("/v1/models") is not None


def test_argo_down_fails_tcp_and_skips_what_depends_on_it(tmp_path):
    port = closed_port()
    code, report, _ = doctor(tmp_path, "--port", "0",
                             config={"argo_base_url": "http://127.0.0.1:%d" % port, "user": "tester"})
    assert code == 1 and not report["ok"]
    tcp = checks(report, "tcp")[0]
    assert tcp["status"] == "FAIL" and "refused" in tcp["message"].lower()
    assert "SSH tunnel" in tcp["hint"] and "argo_base_url" in tcp["hint"]
    for name in ("tls", "models", "registered", "chat"):
        assert statuses(report, name) == ["SKIP"], name
    assert "TCP to 127.0.0.1:%d failed" % port in checks(report, "models")[0]["message"]
    assert statuses(report, "dns") == ["PASS"] and statuses(report, "listen") == ["PASS"]


def test_unknown_host_fails_dns(tmp_path):
    code, report, _ = doctor(tmp_path, "--port", "0",
                             config={"argo_base_url": "https://" + INVALID_HOST, "user": "tester"})
    assert code == 1
    dns = checks(report, "dns")
    assert [(c["subject"], c["status"]) for c in dns] == [("DNS " + INVALID_HOST, "FAIL")]
    assert "not found" in dns[0]["message"] and dns[0]["hint"]
    assert statuses(report, "tcp") == ["SKIP"] and statuses(report, "tls") == ["SKIP"]


@pytest.fixture
def self_signed(tmp_path):
    """(cert, key) paths of a certificate for 127.0.0.1 signed by itself."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return str(cert), str(key)


class TLSFakeArgo(FakeArgo):
    """The fake Argo behind TLS with the given certificate (https://127.0.0.1:PORT)."""

    def __init__(self, cert, key):
        super().__init__()
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)

    def start(self, port=0):
        super().start(port)   # nothing connects before the listening socket is wrapped
        self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        return self

    @property
    def url(self):
        return super().url.replace("http://", "https://")


def test_self_signed_certificate_fails_tls_until_ca_bundle_trusts_it(tmp_path, self_signed):
    cert, key = self_signed
    with TLSFakeArgo(cert, key) as argo:
        config = {"argo_base_url": argo.url, "user": "tester"}
        code, report, _ = doctor(tmp_path, "--port", "0", config=config)
        assert code == 1
        tls = checks(report, "tls")[0]
        assert tls["status"] == "FAIL" and "not trusted" in tls["message"]
        assert "ca_bundle" in tls["hint"] and "Install Certificates.command" in tls["hint"]
        assert statuses(report, "models") == ["SKIP"] and statuses(report, "tcp") == ["PASS"]
        assert argo.requests == []

        code, report, _ = doctor(tmp_path, "--port", "0", config=dict(config, ca_bundle=cert))
        assert code == 0, report
        tls = checks(report, "tls")[0]
        assert tls["status"] == "PASS" and "ca_bundle %s" % cert in tls["message"]
        assert argo.last("/chat/")["body"]["user"] == "tester"


def test_unregistered_user_fails(tmp_path, fake):
    fake.add_fault("/chat/", auth_notice=True)
    code, report, _ = doctor(tmp_path, "--port", "0", "--user", "stranger",
                             config={"argo_base_url": fake.url})
    assert code == 1
    registered = checks(report, "registered")[0]
    assert registered["status"] == "FAIL" and "AUTHENTICATION NOTICE" in registered["message"]
    assert "'stranger'" in registered["message"] and "register" in registered["hint"]
    assert statuses(report, "chat") == ["SKIP"] and fake.last("/streamchat/") is None


def test_placeholder_user_fails_and_argo_is_not_asked(tmp_path, fake):
    code, report, _ = doctor(tmp_path, "--port", "0", "--user", "YOUR_USERNAME",
                             config={"argo_base_url": fake.url})
    assert code == 1
    user = checks(report, "user")[0]
    assert user["status"] == "FAIL" and "placeholder" in user["message"] and "--user" in user["hint"]
    assert statuses(report, "registered") == ["SKIP"] and statuses(report, "chat") == ["SKIP"]
    assert fake.last("/chat/") is None


def test_tool_sources_are_listed_with_their_tool_count(tmp_path, fake):
    with FakeMCPHttp() as mcp:
        servers = {"fake": {"url": mcp.url},
                   "gone": {"url": "http://127.0.0.1:%d/mcp" % closed_port()}}
        code, report, _ = doctor(tmp_path, "--port", "0", config={
            "argo_base_url": fake.url, "user": "tester", "mcp_servers": servers})
    tools = {c["subject"]: c for c in checks(report, "tools")}
    assert tools["tools fake"]["status"] == "PASS"
    assert tools["tools fake"]["message"] == "%d tools" % len(MCP_TOOLS)
    assert tools["tools gone"]["status"] == "FAIL" and "mcp_servers" in tools["tools gone"]["hint"]
    assert code == 1


def test_port_in_use_fails_listen(tmp_path, fake):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code, report, _ = doctor(tmp_path, "--port", str(port),
                                 config={"argo_base_url": fake.url, "user": "tester"})
    listen = checks(report, "listen")[0]
    assert code == 1 and listen["status"] == "FAIL" and "in use" in listen["message"]
    assert "--port" in listen["hint"]


def test_a_running_proxy_on_the_port_is_named(tmp_path, fake, proxy):
    _, port = proxy.host_port
    code, report, _ = doctor(tmp_path, "--port", str(port),
                             config={"argo_base_url": fake.url, "user": "tester"})
    listen = checks(report, "listen")[0]
    assert code == 1 and listen["status"] == "FAIL"
    assert "an argo-proxy %s (mode standard) is already running there" % __version__ in listen["message"]


def test_https_proxy_is_used_for_the_connect(tmp_path):
    config = {"argo_base_url": "https://" + INVALID_HOST, "user": "tester"}
    with EgressProxy() as egress:
        url = egress.url
        code, report, _ = doctor(tmp_path, "--port", "0", config=config,
                                 env={"HTTPS_PROXY": url, "NO_PROXY": "", "no_proxy": ""})
        attempts = egress.attempts
    assert code == 1
    assert {"method": "CONNECT", "host": INVALID_HOST, "port": 443,
            "target": INVALID_HOST + ":443"} in attempts
    dns = {c["subject"]: c for c in checks(report, "dns")}
    skipped = dns["DNS " + INVALID_HOST]
    assert skipped["status"] == "SKIP" and url in skipped["message"]
    assert dns["DNS 127.0.0.1"]["status"] == "PASS"
    tcp = checks(report, "tcp")[0]
    assert tcp["status"] == "FAIL" and "403" in tcp["message"] and url in tcp["message"]
    assert "NO_PROXY" in tcp["hint"]


def test_no_proxy_exempts_the_host(tmp_path):
    config = {"argo_base_url": "https://" + INVALID_HOST, "user": "tester"}
    with EgressProxy() as egress:
        code, report, _ = doctor(tmp_path, "--port", "0", config=config,
                                 env={"HTTPS_PROXY": egress.url, "NO_PROXY": "doctor-test.invalid"})
        attempts = egress.attempts
    assert code == 1 and attempts == []
    assert statuses(report, "dns") == ["FAIL"]


def test_bad_config_fails_and_skips_the_rest(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("user: jdoe\nport: [1, 2\n")
    code, report, _ = doctor(tmp_path, str(bad))
    assert code == 1
    assert report["checks"][0]["status"] == "FAIL" and "line 2" in report["checks"][0]["message"]
    assert [c["status"] for c in report["checks"][1:]] == ["SKIP"] * 9


def test_ctrl_c_exits_cleanly(tmp_path, fake):
    fake.add_fault("/models/", hang=True)
    path = tmp_path / "doctor.yaml"
    path.write_text(yamlish.dumps({"argo_base_url": fake.url, "user": "tester"}))
    proc = subprocess.Popen(proxyproc.command() + ["doctor", str(path), "--port", "0"],
                            cwd=str(tmp_path), env=proxyproc.clean_env(str(tmp_path)),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert fake.wait_for(1, "/models/", timeout=30)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert b"interrupted" in err and b"Traceback" not in out + err
    assert b"PASS  TCP 127.0.0.1:" in out


def test_help_names_the_subcommand(tmp_path):
    proc = subprocess.run(proxyproc.command() + ["--help"], stdout=subprocess.PIPE, timeout=30,
                          env=proxyproc.clean_env(str(tmp_path)), cwd=str(tmp_path))
    assert proc.returncode == 0 and b"argo-proxy doctor" in proc.stdout
    proc = subprocess.run(proxyproc.command() + ["doctor", "--help"], stdout=subprocess.PIPE,
                          timeout=30, env=proxyproc.clean_env(str(tmp_path)), cwd=str(tmp_path))
    assert proc.returncode == 0 and b"--json" in proc.stdout and b"--native-openai" in proc.stdout
