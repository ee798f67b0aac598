"""check_url: schemes, credentials, archives and the addresses a host resolves to."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from observatory.errors import TransferFailed, TransferRefused
from observatory.transfer import check_url, fetch_file
from tests.unit.transfer.conftest import MakeSettings
from tests.unit.transfer.faultserver import FaultServer, body


@pytest.mark.parametrize(
    "url", ["ftp://example.org/batch/", "gopher://example.org/1", "data:text/plain,x", "ssh://h/"]
)
def test_schemes_outside_the_allowed_list_are_refused(make_settings: MakeSettings, url: str):
    with pytest.raises(TransferRefused, match=r"scheme .* is not allowed") as refused:
        check_url(make_settings(), url)
    assert url in str(refused.value)


def test_an_allowed_scheme_without_a_fetcher_is_refused(make_settings: MakeSettings):
    settings = make_settings(allowed_schemes=["http", "ftp"])
    with pytest.raises(TransferRefused, match="not supported"):
        check_url(settings, "ftp://example.org/x")


def test_file_urls_and_paths_pass_unless_file_is_not_allowed(make_settings: MakeSettings):
    check_url(make_settings(), "/data/batches/20261123-observation-42")
    check_url(make_settings(), "file:///data/batches/20261123-observation-42/")
    with pytest.raises(TransferRefused, match="'file' is not allowed"):
        check_url(make_settings(allowed_schemes=["https"]), "/data/batches/x")


def test_file_url_naming_a_remote_host_is_refused(make_settings: MakeSettings):
    with pytest.raises(TransferRefused, match="remote host"):
        check_url(make_settings(), "file://fileserver.example/data/x")


@pytest.mark.parametrize(
    "url", ["http://user:secret@example.org/b/", "https://user@example.org/b/"]
)
def test_credentials_in_urls_are_refused(make_settings: MakeSettings, url: str):
    with pytest.raises(TransferRefused, match="credentials"):
        check_url(make_settings(allow_private_addresses=True), url)


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("[::1]", "loopback"),
        ("localhost", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.1.20", "private"),
        ("172.16.0.9", "private"),
        ("169.254.1.1", "link-local"),
        ("[fe80::1]", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a public"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("169.254.169.254", "metadata"),
        ("[fd00:ec2::254]", "metadata"),
    ],
)
def test_non_public_addresses_are_refused_by_default(
    make_settings: MakeSettings, host: str, reason: str
):
    url = f"http://{host}:8021/batches/x/"
    with pytest.raises(TransferRefused, match=reason) as refused:
        check_url(make_settings(), url)
    assert url in str(refused.value)


def test_public_addresses_pass(make_settings: MakeSettings):
    check_url(make_settings(), "https://93.184.216.34/batches/x/")
    check_url(make_settings(), "http://[2606:2800:220:1:248:1893:25c8:1946]/batches/x/")


def test_private_addresses_pass_when_allowed_but_metadata_never(make_settings: MakeSettings):
    settings = make_settings(allow_private_addresses=True)
    check_url(settings, "http://127.0.0.1:8021/batches/x/")
    check_url(settings, "http://10.1.2.3/batches/x/")
    with pytest.raises(TransferRefused, match="metadata"):
        check_url(settings, "http://169.254.169.254/latest/meta-data/")


def test_allowed_hosts_admit_that_host_only(make_settings: MakeSettings):
    settings = make_settings(allowed_hosts=["LocalHost"])
    check_url(settings, "http://localhost:8021/batches/x/")
    with pytest.raises(TransferRefused, match="loopback"):
        check_url(settings, "http://127.0.0.1:8021/batches/x/")


def test_archive_urls_pass_the_policy(make_settings: MakeSettings):
    """Archives are fetched and extracted safely (see test_archives), not refused by name."""
    for suffix in ("batch.tar", "batch.tar.gz", "batch.zip"):
        check_url(make_settings(), f"https://93.184.216.34/{suffix}")


def test_a_host_with_a_public_and_a_private_address_is_refused(
    make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
):
    """Every resolved address is checked, not only the first: the connection falls back
    to the next address when the first does not answer."""
    real_getaddrinfo = socket.getaddrinfo

    def two_answers(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "mixed.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        public = real_getaddrinfo("93.184.216.34", port, *args, **kwargs)
        private = real_getaddrinfo("10.0.0.5", port, *args, **kwargs)
        return public + private

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    with pytest.raises(TransferRefused, match=r"10\.0\.0\.5, a private address"):
        check_url(make_settings(), "http://mixed.test/batches/x/")
    check_url(make_settings(allow_private_addresses=True), "http://mixed.test/batches/x/")


def test_unresolvable_host_and_bad_port_are_refused(make_settings: MakeSettings):
    with pytest.raises(TransferRefused, match="does not resolve"):
        check_url(make_settings(), "http://no-such-host.invalid/batches/x/")
    with pytest.raises(TransferRefused, match="bad port"):
        check_url(make_settings(), "http://93.184.216.34:99999/x")


def test_connection_goes_to_the_checked_address_not_a_second_lookup(
    make_settings: MakeSettings, server: FaultServer, monkeypatch: pytest.MonkeyPatch
):
    """DNS rebinding: the first answer is public, later ones point at loopback. The
    transfer must connect to the first (checked) answer, never reach the loopback server."""
    server.routes["/product.fits"] = body(b"secret")
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.216.34"])

    def rebinding_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            host = next(answers, "127.0.0.1")
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    settings = make_settings(transfer_timeout_s=1.0)
    url = f"http://rebind.test:{server.port}/product.fits"
    with pytest.raises(TransferFailed):
        fetch_file(settings, url, settings.repository_dir / "product.fits")
    assert server.requests == []
    assert not (settings.repository_dir / "product.fits").exists()
