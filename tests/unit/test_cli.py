import pytest

from argo_proxy import cli
from argo_proxy.config import ConfigError


@pytest.mark.parametrize("host,loopback", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("10.1.2.3", False), ("", False), ("myhost.anl.gov", False),
])
def test_loopback_detection_drives_the_no_key_warning(host, loopback):
    assert cli.is_loopback(host) is loopback


def test_mcp_flags():
    servers = cli.parse_mcp_flags(['time=uvx mcp-server-time --local-timezone "America/Chicago"',
                                   "web=http://127.0.0.1:8931/mcp"])
    assert servers["time"] == {"command": "uvx", "args": ["mcp-server-time", "--local-timezone",
                                                          "America/Chicago"]}
    assert servers["web"] == {"url": "http://127.0.0.1:8931/mcp"}
    assert cli.parse_mcp_flags(None) is None
    with pytest.raises(ConfigError):
        cli.parse_mcp_flags(["no-equals-sign"])
