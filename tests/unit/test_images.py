"""Image inlining: type checks, the SSRF guard, limits, against a real local image server."""

import base64
import ipaddress
import types

import pytest

from argo_proxy import images
from argo_proxy.errors import ProxyError
from tests.fakes.image_server import PNG, ImageServer


@pytest.fixture(scope="module")
def server():
    with ImageServer() as srv:
        yield srv.url


def limits(allow_private=True, mb=20.0):
    cfg = types.SimpleNamespace(max_payload_size=mb, image_timeout=5.0, concurrent_downloads=4,
                                allow_private_image_urls=allow_private, ca_bundle=None)
    return images.Limits(cfg)


def body_with(*urls):
    content = [{"type": "text", "text": "look"}]
    content += [{"type": "image_url", "image_url": {"url": u, "detail": "high"}} for u in urls]
    return {"messages": [{"role": "user", "content": content}]}


def test_png_inlined_as_data_url_keeping_other_keys(server):
    body = body_with(server + "/cat.png")
    assert images.inline_images(body, limits()) == 1
    part = body["messages"][0]["content"][1]["image_url"]
    assert part["detail"] == "high"
    assert part["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_type_from_magic_bytes_and_params_in_content_type(server):
    body = body_with(server + "/anim.gif", server + "/pic.webp")
    images.inline_images(body, limits())
    urls = [p["image_url"]["url"] for p in body["messages"][0]["content"][1:]]
    assert urls[0].startswith("data:image/gif;base64,") and urls[1].startswith("data:image/webp;base64,")


def test_redirect_followed(server):
    body = body_with(server + "/redirect")
    images.inline_images(body, limits())
    assert body["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/png")


def test_same_url_fetched_once_used_twice(server):
    body = body_with(server + "/cat.png", server + "/cat.png")
    assert images.inline_images(body, limits()) == 1
    urls = [p["image_url"]["url"] for p in body["messages"][0]["content"][1:]]
    assert urls[0] == urls[1] and urls[0].startswith("data:")


@pytest.mark.parametrize("path,words", [("/missing.png", "HTTP 404"), ("/page.html", "not an image"),
                                        ("/fake.png", "not a PNG")])
def test_failures_are_400_naming_the_url(server, path, words):
    with pytest.raises(ProxyError) as info:
        images.inline_images(body_with(server + path), limits())
    assert info.value.status == 400
    assert server + path in info.value.message and words in info.value.message


def test_oversize_refused_with_the_limit(server):
    with pytest.raises(ProxyError) as info:
        images.inline_images(body_with(server + "/big.png"), limits(mb=0.1))
    assert "0.1 MB" in info.value.message and "max_payload_size" in info.value.message


def test_private_address_refused_by_default(server):
    with pytest.raises(ProxyError) as info:
        images.inline_images(body_with(server + "/cat.png"), limits(allow_private=False))
    assert "private" in info.value.message and "allow_private_image_urls" in info.value.message


def test_data_urls_and_other_schemes_untouched():
    body = body_with("data:image/png;base64,AAAA", "file:///etc/passwd")
    assert images.inline_images(body, limits(allow_private=False)) == 0
    urls = [p["image_url"]["url"] for p in body["messages"][0]["content"][1:]]
    assert urls == ["data:image/png;base64,AAAA", "file:///etc/passwd"]


def test_more_than_50_images_refused():
    body = body_with(*["data:image/png;base64,AAAA"] * 51)
    with pytest.raises(ProxyError) as info:
        images.inline_images(body, limits())
    assert "51" in info.value.message and "50" in info.value.message


@pytest.mark.parametrize("addr,private", [
    ("127.0.0.1", True), ("10.1.2.3", True), ("192.168.0.1", True), ("169.254.169.254", True),
    ("::1", True), ("fe80::1", True), ("fc00::1", True), ("::ffff:127.0.0.1", True), ("0.0.0.0", True),
    ("8.8.8.8", False), ("2001:4860:4860::8888", False),
])
def test_private_classification(addr, private):
    assert images._is_private(ipaddress.ip_address(addr)) is private


@pytest.mark.parametrize("addr", ["100.100.100.200", "100.64.0.1", "fec0::1", "2002:7f00:1::1", "224.0.0.1"])
def test_more_non_public_addresses_refused(addr):
    assert images._is_private(ipaddress.ip_address(addr)) is True
