"""The command line of the built .pyz: version, help, show, validate, errors, user resolution."""

import subprocess

import pytest

from tests import proxyproc


def run(tmp_path, *args, env=None, use=None, timeout=30):
    proc = subprocess.run(proxyproc.command(use=use) + list(args), cwd=str(tmp_path),
                          env=proxyproc.clean_env(str(tmp_path), env), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def test_version_is_offline_and_quick(tmp_path):
    from argo_proxy import __version__
    # an unroutable proxy would make any network use fail loudly
    code, out, _ = run(tmp_path, "--version", env={"HTTPS_PROXY": "http://127.0.0.1:9"})
    assert code == 0 and out.strip().startswith("argo-proxy %s (commit " % __version__)


def test_help_is_grouped(tmp_path):
    code, out, _ = run(tmp_path, "--help")
    assert code == 0
    for group in ("listening", "identity", "upstream mode", "output", "configuration commands"):
        assert group + ":" in out
    for flag in ("--host", "-H", "--port", "--socket", "--api-key", "--user", "--username-passthrough",
                 "--native-openai", "--real-stream", "-rs", "--pseudo-stream", "-ps", "--tool-prompting",
                 "--verbose", "--quiet", "--edit", "--validate", "-vv", "--show", "--version"):
        assert flag in out


def test_module_entry_point_from_source(tmp_path):
    code, out, _ = run(tmp_path, "--version", use="source", env={"PYTHONPATH": proxyproc.ROOT})
    assert code == 0 and out.startswith("argo-proxy ")


def test_show_and_validate_print_and_exit(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("user: jdoe\nport: 5555\nproxy_api_key: topsecret\nargo_base_url: http://127.0.0.1:9/a\n")
    code, out, err = run(tmp_path, str(cfg), "--show", "--validate", "--port", "6000")
    assert code == 0
    assert "topsecret" not in out
    assert "port: 6000  # command line" in out
    assert "user: jdoe  # config file line 1" in out
    assert "Configuration OK" in out
    assert "not reachable" in err  # a down upstream is a warning, not a failure


def test_validate_bad_file_names_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("user: jdoe\nport: [1, 2\n")
    code, _, err = run(tmp_path, str(cfg), "--validate")
    assert code != 0 and "line 2" in err


def test_validate_bad_value_names_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("user: jdoe\n\nread_timeout: soon\n")
    code, _, err = run(tmp_path, str(cfg), "--validate")
    assert code == 1 and ":3" in err and "read_timeout" in err


def test_unknown_key_is_warned(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("user: jdoe\nmystery: 1\nargo_base_url: http://127.0.0.1:9/a\n")
    code, _, err = run(tmp_path, str(cfg), "--validate")
    assert code == 0 and "mystery" in err


def test_user_from_login_name_without_terminal(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("argo_base_url: http://127.0.0.1:9/a\n")
    code, out, err = run(tmp_path, str(cfg), "--show", "--validate",
                         env={"LOGNAME": "someone", "USER": "someone"})
    assert code == 0
    assert "user: someone  # login name" in out
    assert "login name" in err


def test_env_user_beats_config(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("user: fromfile\nargo_base_url: http://127.0.0.1:9/a\n")
    code, out, _ = run(tmp_path, str(cfg), "--show", "--validate", env={"ARGO_USER": "fromenv"})
    assert "user: fromenv  # env ARGO_USER" in out
    code, out, _ = run(tmp_path, str(cfg), "--show", "--validate", "--user", "fromcli",
                       env={"ARGO_USER": "fromenv"})
    assert "user: fromcli  # command line" in out


def test_port_in_use_is_a_clear_error(tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        code, _, err = run(tmp_path, "--user", "t", "--port", str(s.getsockname()[1]))
    finally:
        s.close()
    assert code == 1 and "cannot listen" in err


def test_edit_without_config_fails_clearly(tmp_path):
    code, _, err = run(tmp_path, "--edit")
    assert code == 1 and "no configuration file" in err


def test_edit_runs_editor_on_config(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("user: jdoe\n")
    marker = tmp_path / "edited"
    code, _, _ = run(tmp_path, "--edit", env={"EDITOR": "touch %s" % marker})
    assert code == 0 and marker.exists()


@pytest.mark.smoke
def test_starts_and_serves_health(start_proxy, fake):
    p = start_proxy("--user", "t", config={"argo_base_url": fake.url})
    assert p.request("GET", "/health")[2] == {"status": "healthy"}
    assert "mode standard" in p.log() and "user t" in p.log()
