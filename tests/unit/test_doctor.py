"""The doctor's pieces without a network: which hosts a config uses, the proxy in the way,
placeholders, the report and its exit status, the time limit; the build info."""

import io
import json
import shutil
import subprocess
import threading

import pytest

import argo_proxy
from argo_proxy import cli, config as configmod
from argo_proxy.doctor import is_placeholder
from argo_proxy.doctor_net import Reach, targets
from argo_proxy.doctor_report import FAIL, PASS, SKIP, Report, TimedOut, bounded


def load(**cli_values):
    return configmod.load(explicit_path=None, environ={}, cli=cli_values, search=False)


@pytest.mark.parametrize("name", ["cels", "YOUR_USERNAME", "<username>", "your-anl-name", "jdoe",
                                  "${USER}", "example_user", "changeme"])
def test_placeholders_are_recognised(name):
    assert is_placeholder(name)


@pytest.mark.parametrize("name", ["tester", "alice", "jsmith7", "yo"])
def test_real_names_are_not_placeholders(name):
    assert not is_placeholder(name)


def test_default_config_uses_two_argo_hosts():
    found = targets(load(user="x"))
    assert [(t.scheme, t.host, t.port) for t in found] == [
        ("https", "apps-dev.inside.anl.gov", 443), ("https", "apps.inside.anl.gov", 443)]
    assert found[1].keys == ["argo_embedding_url"]
    assert "argo_model_url" in found[0].keys and "native_openai_base_url" in found[0].keys


def test_explicit_urls_and_ports_are_distinct_targets():
    cfg = load(user="x")
    cfg.set("argo_url", "http://127.0.0.1:8080/chat/", "test")
    found = targets(cfg)
    assert ("http", "127.0.0.1", 8080) in [(t.scheme, t.host, t.port) for t in found]
    assert found[0].name == "127.0.0.1:8080" and found[0].keys == ["argo_url"]


def test_llamastack_mode_checks_the_llamastack_host():
    found = targets(load(llamastack_url="http://localhost:8321", llamastack_mode=True))
    assert [(t.host, t.port) for t in found] == [("localhost", 8321)]


def test_the_proxy_in_the_way_is_the_one_upstream_uses(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", ".inside.anl.gov")
    cfg = load(user="x")
    cfg.set("argo_url", "https://argo.example.org/chat/", "test")
    cfg.set("argo_stream_url", "http://127.0.0.1:8080/streamchat/", "test")
    by_host = {t.host: t.proxy for t in targets(cfg)}
    assert by_host["argo.example.org"] == "http://proxy.example:3128"
    assert by_host["apps-dev.inside.anl.gov"] is None and by_host["apps.inside.anl.gov"] is None
    assert by_host["127.0.0.1"] is None   # loopback (a tunnel) never goes through a proxy


def test_reach_names_the_problem_of_a_urls_target():
    cfg = load(user="x", argo_base_url="http://127.0.0.1:9")
    found = targets(cfg)
    found[0].problem = "TCP to 127.0.0.1:9 failed (step 4)"
    reach = Reach(found)
    assert reach.problem("http://127.0.0.1:9/api/v1/models/") == found[0].problem
    assert reach.problem("http://127.0.0.1:10/") is None


def test_report_lines_exit_status_and_json():
    out = io.StringIO()
    report = Report(out=out)
    report.add("dns", "DNS a", PASS, "1.2.3.4", "never shown")
    report.add("tools", "tools", SKIP, "none configured")
    assert report.finish() == 0
    assert out.getvalue().splitlines() == ["PASS  DNS a: 1.2.3.4", "SKIP  tools: none configured",
                                           "All checks passed."]
    report.add("tcp", "TCP a:443", FAIL, "refused", "connect to the VPN")
    assert report.results[-1].line() == "FAIL  TCP a:443: refused -- connect to the VPN"
    assert report.finish() == 1
    as_json = io.StringIO()
    report = Report(as_json=True, out=as_json)
    report.add("tcp", "TCP a:443", FAIL, "refused", "connect to the VPN")
    assert report.finish() == 1 and as_json.getvalue().count("\n") > 1   # nothing but the JSON
    data = json.loads(as_json.getvalue())
    assert data["ok"] is False and data["checks"][0]["hint"] == "connect to the VPN"


def test_bounded_returns_raises_and_times_out():
    assert bounded(5, lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(ValueError):
        bounded(5, int, "x")
    never = threading.Event()
    with pytest.raises(TimedOut) as caught:
        bounded(0.05, never.wait)
    assert "0.05 s" in str(caught.value)


def test_doctor_is_a_subcommand(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["doctor", "--help"])
    assert done.value.code == 0
    assert "argo-proxy doctor" in capsys.readouterr().out
    assert cli.SUBCOMMANDS["doctor"] == "argo_proxy.doctor"


def test_version_text_says_what_was_built(monkeypatch):
    monkeypatch.setattr(argo_proxy, "_build", {"commit": "1a2b3c4", "dirty": True})
    assert argo_proxy.version_text() == "argo-proxy %s (commit 1a2b3c4, uncommitted changes)" \
        % argo_proxy.__version__
    monkeypatch.setattr(argo_proxy, "_build", dict(argo_proxy.UNKNOWN))
    assert argo_proxy.version_text().endswith("(commit unknown)")


def test_git_state_of_a_checkout(tmp_path):
    assert argo_proxy.git_state(str(tmp_path)) is None   # not a checkout
    if not shutil.which("git"):
        pytest.skip("git is not installed")

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
                       + list(args), check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    git("init", "-q")
    (tmp_path / "f.txt").write_text("one\n")
    git("add", "f.txt")
    git("commit", "-q", "-m", "one")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "--short", "HEAD"],
                          stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    assert argo_proxy.git_state(str(tmp_path)) == {"commit": head, "dirty": False}
    (tmp_path / "f.txt").write_text("two\n")
    assert argo_proxy.git_state(str(tmp_path)) == {"commit": head, "dirty": True}
