"""How users start it: the .pyz says what was built, `python3 -m argo_proxy` from a checkout,
and `pip install .` (pyproject.toml) giving an `argo-proxy` command."""

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

import build_zipapp
from argo_proxy import __version__, git_state
from tests import proxyproc

CHAT = {"model": "gpt4o", "messages": [{"role": "user", "content": "hi"}]}
# pip's words when it cannot reach the index for setuptools (build isolation)
OFFLINE_SIGNS = ("No matching distribution found for setuptools", "NewConnectionError",
                 "Max retries exceeded", "Temporary failure in name resolution",
                 "Network is unreachable", "ProxyError", "ConnectTimeout", "ReadTimeout",
                 "Could not find a version that satisfies the requirement setuptools")


def checkout_state():
    state = git_state(proxyproc.ROOT)
    if state is None:
        pytest.skip("not a git checkout, or git is not installed")
    return state


def run(cmd, cwd, env=None, timeout=60):
    proc = subprocess.run(cmd, cwd=str(cwd), env=env, stdin=subprocess.DEVNULL, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


@pytest.mark.smoke
def test_version_names_the_commit_it_was_built_from(tmp_path):
    state = checkout_state()
    code, out = run(proxyproc.command() + ["--version"], tmp_path, proxyproc.clean_env(str(tmp_path)))
    assert code == 0
    assert out.startswith("argo-proxy %s (commit %s" % (__version__, state["commit"])), out


def test_the_build_info_is_in_the_archive_only_and_builds_repeat(tmp_path):
    first = build_zipapp.build(str(tmp_path / "a.pyz"))
    second = build_zipapp.build(str(tmp_path / "b.pyz"))
    with open(first, "rb") as a, open(second, "rb") as b:
        assert a.read() == b.read()
    with zipfile.ZipFile(first) as zf:
        module = zf.read("argo_proxy/_build.py").decode()
    assert "COMMIT = " in module and "DIRTY = " in module
    assert not os.path.exists(os.path.join(proxyproc.ROOT, "argo_proxy", "_build.py"))


@pytest.mark.smoke
def test_version_endpoint_keeps_its_keys_and_adds_the_build(proxy):
    state = checkout_state()
    status, _, body = proxy.request("GET", "/version")
    assert status == 200
    assert {"name", "version", "python", "mode", "models", "commit", "dirty"} <= set(body)
    assert body["version"] == __version__ and body["commit"] == state["commit"]
    assert isinstance(body["dirty"], bool)


def test_python_m_argo_proxy_from_a_checkout(tmp_path, fake):
    """`python3 -m argo_proxy --native-openai` in the checkout, as the README's users run it;
    the build info then comes from git."""
    state = checkout_state()
    config = tmp_path / "config.yaml"
    config.write_text("argo_base_url: %s\nuser: tester\n" % fake.url)
    proc = proxyproc.Proxy([str(config), "--native-openai", "--port", "0"], str(tmp_path),
                           env={"PYTHONPATH": ""}, use="source")
    proc.workdir = proxyproc.ROOT   # run in the checkout (HOME stays the temporary folder)
    proc.start()
    try:
        status, _, body = proc.request("POST", "/v1/chat/completions", CHAT)
        assert status == 200 and body["choices"][0]["message"]["content"] == "Hello from fake Argo."
        assert fake.last("/v1/chat/completions")["body"]["user"] == "tester"
        _, _, version = proc.request("GET", "/version")
        assert version["mode"] == "native-openai" and version["commit"] == state["commit"]
    finally:
        assert proc.stop() == 0


def copy_checkout(dest):
    ignore = shutil.ignore_patterns(".git", ".venv*", ".agents", "__pycache__", "*.pyz", ".work",
                                    "build", "*.egg-info", ".pytest_cache")
    shutil.copytree(proxyproc.ROOT, str(dest), ignore=ignore)


def pip_install(venv, source, cwd):
    """pip install --no-deps SOURCE into a new venv (skips when the index is out of reach)."""
    code, out = run([sys.executable, "-m", "venv", str(venv)], cwd, timeout=300)
    if code != 0:
        pytest.skip("cannot create a virtual environment: %s" % out.strip()[-300:])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    code, out = run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                     str(source)], cwd, env, timeout=600)
    if code != 0 and any(sign in out for sign in OFFLINE_SIGNS):
        pytest.skip("pip could not fetch setuptools to build the package (offline?): %s"
                    % out.strip()[-300:])
    assert code == 0, out


@pytest.mark.timeout(900)
def test_pip_install_gives_an_argo_proxy_command(tmp_path, fake):
    source, venv = tmp_path / "checkout", tmp_path / "venv"
    copy_checkout(source)
    pip_install(venv, source, tmp_path)
    command = str(venv / "bin" / "argo-proxy")
    code, out = run([command, "--version"], tmp_path, proxyproc.clean_env(str(tmp_path)))
    assert code == 0 and out.startswith("argo-proxy %s (commit " % __version__), out
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import argo_proxy; print(argo_proxy.__file__)"],
                          cwd=str(tmp_path), stdout=subprocess.PIPE, timeout=60)
    installed = site.stdout.decode().strip()
    assert str(venv) in installed   # the installed copy, not the checkout
    assert not any(os.path.isdir(os.path.join(os.path.dirname(os.path.dirname(installed)), name))
                   for name in ("tests", "bench"))   # only the package is installed
    config = tmp_path / "config.yaml"
    config.write_text("argo_base_url: %s\nuser: tester\n" % fake.url)
    proc = proxyproc.Proxy([str(config), "--port", "0"], str(tmp_path))
    proc.cmd = [command] + proc.args
    proc.start()
    try:
        status, _, body = proc.request("POST", "/v1/chat/completions", CHAT)
        assert status == 200 and body["choices"][0]["message"]["content"] == "Hello from fake Argo."
        _, _, version = proc.request("GET", "/version")
        assert version["version"] == __version__
    finally:
        assert proc.stop() == 0
