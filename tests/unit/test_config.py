import pytest

from argo_proxy import config
from argo_proxy.config import ConfigError


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_defaults_without_any_file(home):
    cfg = config.load(environ={})
    assert cfg.host == "127.0.0.1" and cfg.port == 44497
    assert cfg.sources["port"] == "default"
    assert cfg.argo_url == config.DEV + "/api/v1/resource/chat/"
    assert cfg.argo_embedding_url == config.PROD + "/api/v1/resource/embed/"
    assert cfg.native_openai_base_url == config.DEV + "/v1/"
    assert cfg.path is None


def test_precedence_default_file_env_cli(home):
    path = write(home / "c.yaml", "port: 5000\nverbose: true\nuser: fileuser\n")
    cfg = config.load(path, environ={})
    assert cfg.port == 5000 and cfg.sources["port"] == "config file line 1"
    cfg = config.load(path, environ={"PORT": "6000"})
    assert cfg.port == 6000 and cfg.sources["port"] == "env PORT"
    cfg = config.load(path, environ={"PORT": "6000"}, cli={"port": 7000, "verbose": None})
    assert cfg.port == 7000 and cfg.sources["port"] == "command line"
    assert cfg.verbose is True  # a None CLI value does not override


def test_search_path_order(home):
    write(home / ".argoproxy" / "config.yaml", "port: 3\n")
    assert config.load(environ={}).port == 3
    write(home / ".config" / "argoproxy" / "config.yaml", "port: 2\n")
    assert config.load(environ={}).port == 2
    write(home / "config.yaml", "port: 1\n")
    assert config.load(environ={}).port == 1


def test_explicit_missing_file_is_an_error(home):
    with pytest.raises(ConfigError, match="not found"):
        config.load(str(home / "nope.yaml"), environ={})


def test_bad_value_names_line(home):
    path = write(home / "c.yaml", "host: 127.0.0.1\nport: lots\n")
    with pytest.raises(ConfigError) as info:
        config.load(path, environ={})
    assert ":2" in str(info.value) and "port" in str(info.value)


def test_yaml_error_names_line(home):
    path = write(home / "c.yaml", "port: 1\nuser: 'unterminated\n")
    with pytest.raises(ConfigError, match="line 2"):
        config.load(path, environ={})


def test_unknown_keys_warn_not_drop_silently(home):
    path = write(home / "c.yaml", "port: 1\nfancy_thing: 3\n")
    cfg = config.load(path, environ={})
    assert any("fancy_thing" in w and ":2" in w for w in cfg.warnings)


def test_argo_base_url_derives_and_explicit_wins(home):
    path = write(home / "c.yaml", "argo_base_url: http://127.0.0.1:9/argoapi/\n"
                                  "argo_stream_url: http://other/stream/\n")
    cfg = config.load(path, environ={})
    assert cfg.argo_url == "http://127.0.0.1:9/argoapi/api/v1/resource/chat/"
    assert cfg.argo_embedding_url == "http://127.0.0.1:9/argoapi/api/v1/resource/embed/"
    assert cfg.native_openai_base_url == "http://127.0.0.1:9/argoapi/v1/"
    assert cfg.argo_stream_url == "http://other/stream/"
    assert cfg.sources["argo_url"] == "derived from argo_base_url"


def test_native_base_trailing_slash_optional_and_model_url(home):
    path = write(home / "c.yaml", "native_openai_base_url: http://h/v1\nuse_native_openai: true\n")
    cfg = config.load(path, environ={})
    assert cfg.native_openai_base_url == "http://h/v1/"
    assert cfg.argo_model_url == "http://h/v1/models"


def test_env_truthy_values_and_bad_env(home):
    for raw in ("true", "1", "t", "yes", "on", "TRUE"):
        assert config.load(environ={"USE_NATIVE_OPENAI": raw}).use_native_openai is True
    assert config.load(environ={"REAL_STREAM": "false"}).real_stream is False
    with pytest.raises(ConfigError, match="VERBOSE"):
        config.load(environ={"VERBOSE": "maybe"})


def test_2x_keys_and_aliases(home):
    path = write(home / "c.yaml", "_argo_model_url: http://m/models/\ntool_prompt: true\n"
                                  "enable_payload_control: false\nmax_payload_size: 20\n"
                                  "image_timeout: 30\nconcurrent_downloads: 10\n")
    cfg = config.load(path, environ={})
    assert cfg.argo_model_url == "http://m/models/"
    assert cfg.tool_prompting is True
    assert cfg.warnings == []


def test_validation_errors(home):
    with pytest.raises(ConfigError, match="port"):
        config.load(environ={"PORT": "70000"})
    path = write(home / "c.yaml", "argo_url: ftp://x/\n")
    with pytest.raises(ConfigError, match="argo_url"):
        config.load(path, environ={})
    with pytest.raises(ConfigError, match="spaces"):
        config.load(environ={"ARGO_USER": "j doe"})


def test_user_lowercased_and_env_user(home):
    assert config.load(environ={"ARGO_USER": "JDoe"}).user == "jdoe"


def test_show_redacts_secrets_and_names_sources(home):
    cfg = config.load(environ={"ARGO_PROXY_API_KEY": "s3cret"})
    text = cfg.show()
    assert "s3cret" not in text
    assert "proxy_api_key: \"***\"" in text or "proxy_api_key: '***'" in text
    assert "env ARGO_PROXY_API_KEY" in text
    assert "port: 44497  # default" in text


def test_empty_file_is_fine(home):
    path = write(home / "c.yaml", "# nothing here\n")
    assert config.load(path, environ={}).port == 44497


def test_save_round_trip(home):
    path = config.save({"user": "jdoe", "port": 5555}, str(home / "x" / "config.yaml"))
    cfg = config.load(path, environ={})
    assert cfg.user == "jdoe" and cfg.port == 5555


def test_show_redacts_mcp_headers_and_env(home):
    path = write(home / "c.yaml", "mcp_servers:\n  web:\n    url: http://127.0.0.1:1/mcp\n"
                                  "    headers: {Authorization: Bearer TOKEN1}\n"
                                  "  local:\n    command: srv\n    env: {API_KEY: TOKEN2}\n")
    text = config.load(path, environ={}).show()
    assert "TOKEN1" not in text and "TOKEN2" not in text
    assert "Authorization" in text and "API_KEY" in text
