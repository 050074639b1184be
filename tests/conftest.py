import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests import proxyproc  # noqa: E402
from tests.fakes.fake_argo import FakeArgo  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "smoke: the subset run under every CPython 3.8-3.13")


@pytest.fixture(scope="session", autouse=True)
def built_pyz():
    """The suite tests the product: build the .pyz from this tree once per run."""
    import build_zipapp
    return build_zipapp.build()


@pytest.fixture
def fake():
    with FakeArgo() as f:
        yield f


@pytest.fixture
def start_proxy(tmp_path):
    """start_proxy(*args, config=dict|None, env=dict|None) -> a running Proxy, stopped at teardown."""
    started = []

    def start(*args, config=None, env=None, use=None, python=None):
        argv = list(args)
        if config is not None:
            from argo_proxy import yamlish
            path = tmp_path / ("config-%d.yaml" % len(started))
            path.write_text(yamlish.dumps(config))
            argv = [str(path)] + argv
        if "--port" not in argv and "--socket" not in argv and "-p" not in argv:
            argv += ["--port", "0"]
        proc = proxyproc.Proxy(argv, str(tmp_path), env=env, use=use, python=python)
        started.append(proc)
        return proc.start()

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def proxy(start_proxy, fake):
    """A proxy in standard mode pointed at the fake Argo."""
    return start_proxy("--user", "tester", config={"argo_base_url": fake.url})


@pytest.fixture
def native_proxy(start_proxy, fake):
    """A proxy in native OpenAI mode pointed at the fake Argo."""
    return start_proxy("--user", "tester", "--native-openai", config={"argo_base_url": fake.url})
