"""check_url: schemes, credentials, archives and the addresses a host resolves to."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Any

import pytest

from observatory.errors import TransferFailed, TransferRefused
from observatory.transfer import check_url, fetch_file
from observatory.transfer.policy import CheckedTarget, check_http, refusal_reason, split_url
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


# Edges of the policy: each test names one rule and fails when it breaks.


@pytest.mark.parametrize(
    "url", ["", "/data/batches/x\n", "/data/batches/x\x00y", "http://93.184.216.34/\x1fx"]
)
def test_an_empty_url_or_one_with_control_characters_or_nul_is_refused(
    make_settings: MakeSettings, url: str
):
    with pytest.raises(TransferRefused) as refused:
        check_url(make_settings(), url)
    assert str(refused.value) == f"refused url {url!r}: empty or holds control characters"


def test_a_space_in_a_path_or_url_is_not_a_control_character(make_settings: MakeSettings):
    check_url(make_settings(), "/data/batches/night of 23 November/")
    check_url(make_settings(), "file:///data/batches/night of 23 November/")


@pytest.mark.parametrize("url", ["C:\\data\\batches\\x", "c:/data/batches/x", "D:"])
def test_a_windows_drive_letter_is_a_path_not_a_scheme(make_settings: MakeSettings, url: str):
    check_url(make_settings(), url)
    with pytest.raises(TransferRefused) as refused:
        check_url(make_settings(allowed_schemes=["https"]), url)
    assert str(refused.value) == (
        f"refused url {url!r}: scheme 'file' is not allowed (allowed: ['https'])"
    )


def test_allowed_schemes_are_compared_without_case(make_settings: MakeSettings):
    check_url(make_settings(allowed_schemes=["HTTPS"]), "https://93.184.216.34/batches/x/")
    check_url(make_settings(allowed_schemes=["File"]), "/data/batches/x")


def test_a_file_url_on_localhost_is_local(make_settings: MakeSettings):
    check_url(make_settings(), "file://localhost/data/batches/x/")


def test_an_unsupported_scheme_is_refused_with_the_supported_list(make_settings: MakeSettings):
    with pytest.raises(TransferRefused) as refused:
        check_url(make_settings(allowed_schemes=["ftp"]), "ftp://example.org/x")
    assert str(refused.value) == (
        "refused url 'ftp://example.org/x': scheme 'ftp' is not supported "
        "(supported: ['file', 'http', 'https'])"
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "[fe80::1]"])
def test_https_urls_are_held_to_the_address_rules_as_http_ones(
    make_settings: MakeSettings, host: str
):
    with pytest.raises(TransferRefused, match=r"allow it with processor\.allowed_hosts"):
        check_url(make_settings(), f"https://{host}/batches/x/")
    with pytest.raises(TransferRefused, match=r"allow it with processor\.allowed_hosts"):
        check_url(make_settings(), f"HTTPS://{host}/batches/x/")


@pytest.mark.parametrize(
    ("url", "scheme", "port"),
    [
        ("https://93.184.216.34/batches/x/", "https", 443),
        ("http://93.184.216.34/batches/x/", "http", 80),
        ("https://93.184.216.34:8443/batches/x/", "https", 8443),
    ],
)
def test_the_checked_target_carries_the_default_or_given_port(
    make_settings: MakeSettings, url: str, scheme: str, port: int
):
    target = check_http(make_settings(), url)
    assert target == CheckedTarget(url, scheme, "93.184.216.34", port, ("93.184.216.34",))


def test_check_http_refuses_a_file_url_and_a_url_without_a_host(make_settings: MakeSettings):
    with pytest.raises(TransferRefused, match=r"^refused url '/data/x': expected http or https$"):
        check_http(make_settings(), "/data/x")
    with pytest.raises(TransferRefused, match=r"^refused url 'http:///x': no host$"):
        check_http(make_settings(), "http:///x")


def test_a_host_is_resolved_for_stream_connections_once_per_address(
    make_settings: MakeSettings,
):
    """getaddrinfo answers once per socket type unless asked for streams; each address is
    kept once, in the resolver's order."""
    target = check_http(make_settings(allowed_hosts=["localhost"]), "http://localhost:8021/x")
    assert len(target.addresses) == len(set(target.addresses))
    assert "127.0.0.1" in target.addresses or "::1" in target.addresses


def test_an_ipv6_zone_id_is_dropped_before_the_address_is_judged_and_used(
    make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
):
    """Some resolvers return a link-local address as ``fe80::1%eth0``: the address judged
    (and connected to) is ``fe80::1``, refused as link-local, allowed when listed."""
    zoned = [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1%eth0", 80, 0, 2))]

    def zoned_answer(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        assert host == "zoned.test"
        return zoned

    monkeypatch.setattr(socket, "getaddrinfo", zoned_answer)
    with pytest.raises(TransferRefused, match=r"is fe80::1, a link-local address"):
        check_url(make_settings(), "http://zoned.test/batches/x/")
    target = check_http(make_settings(allowed_hosts=["zoned.test"]), "http://zoned.test/x")
    assert target.addresses == ("fe80::1",)


def test_a_host_without_any_address_is_refused(
    make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: [])
    with pytest.raises(TransferRefused) as refused:
        check_url(make_settings(), "http://empty.test/x")
    assert (
        str(refused.value) == "refused url 'http://empty.test/x': host 'empty.test' has no address"
    )


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("169.254.170.2", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("::ffff:169.254.169.254", "a cloud metadata address"),
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("10.1.2.3", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("::ffff:192.168.1.1", "a private address"),
        ("100.64.0.1", "not a public address"),
        ("93.184.216.34", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
        ("::ffff:93.184.216.34", None),
    ],
)
def test_each_refused_address_is_named_for_why(address: str, reason: str | None):
    assert refusal_reason(ipaddress.ip_address(address)) == reason


def test_a_refusal_names_url_host_address_reason_and_how_to_allow_it(
    make_settings: MakeSettings,
):
    with pytest.raises(TransferRefused) as refused:
        check_url(make_settings(), "http://10.1.2.3:8021/batches/x/")
    assert str(refused.value) == (
        "refused url 'http://10.1.2.3:8021/batches/x/': host '10.1.2.3' is 10.1.2.3, "
        "a private address (allow it with processor.allowed_hosts or "
        "processor.allow_private_addresses)"
    )


def test_a_listed_host_never_admits_a_metadata_address(make_settings: MakeSettings):
    with pytest.raises(TransferRefused, match="a cloud metadata address"):
        check_url(make_settings(allowed_hosts=["169.254.169.254"]), "http://169.254.169.254/")


@pytest.mark.parametrize(
    "url",
    ["/data/batches/night 1/", "C:\\data\\batches\\x", "FILE:///data/x", "file://localhost/x"],
)
def test_a_path_or_drive_letter_splits_as_a_file_url(make_settings: MakeSettings, url: str):
    """The fetchers choose by the scheme split_url returns: a plain path or a drive letter
    must come back as ``file`` (copied locally), never as no scheme or a one-letter one."""
    assert split_url(make_settings(), url).scheme == "file"


def test_a_plain_path_with_a_space_is_fetched_as_a_local_file(
    make_settings: MakeSettings, tmp_path: Path
):
    source = tmp_path / "night of 23" / "light 1.fits"
    source.parent.mkdir()
    source.write_bytes(b"frame")
    settings = make_settings()
    dest = fetch_file(settings, str(source), settings.repository_dir / "light.fits")
    assert dest.read_bytes() == b"frame"


def test_credentials_and_a_remote_file_host_are_refused_with_one_clear_line(
    make_settings: MakeSettings,
):
    with pytest.raises(TransferRefused) as refused:
        check_url(make_settings(), "https://user@93.184.216.34/b/")
    assert str(refused.value) == (
        "refused url 'https://user@93.184.216.34/b/': credentials (user@) are not allowed in urls"
    )
    with pytest.raises(TransferRefused) as refused:
        check_url(make_settings(), "file://fileserver.example/data/x")
    assert str(refused.value) == (
        "refused url 'file://fileserver.example/data/x': a file url must not name a remote host"
    )


def test_a_host_the_resolver_cannot_encode_is_refused_not_raised(make_settings: MakeSettings):
    """A DNS label over 63 characters fails in the IDNA codec (UnicodeError), before any
    lookup: a refusal naming the host, not a traceback."""
    host = "a" * 64 + ".example"
    with pytest.raises(TransferRefused, match=rf"^refused url .*: host '{host}' does not resolve"):
        check_url(make_settings(), f"http://{host}/x")
