"""check_batch_url: a batch url refused on its face (no DNS, no file system), the rule
intake and the transfer share."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from observatory.errors import TransferRefused
from observatory.settings import Settings
from observatory.transfer import check_batch_name, check_batch_url, fetch_batch
from observatory.transfer.batch_url import check_local_root
from tests.unit.transfer.batches import write_batch
from tests.unit.transfer.conftest import MakeSettings


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "not inside processor.local_roots"),
        ("/", "names no batch folder"),
        ("../../../../etc", "must be absolute"),
        ("http://127.0.0.1:6399/", "loopback"),
        ("http://169.254.169.254/latest/", "metadata"),
        ("http://10.0.0.7/batches/x/", "private"),
        ("http://localhost:8021/batches/x/", "loopback"),
        ("http://frames.localhost/batches/x/", "loopback"),
        ("http://0/batches/x/", "unspecified"),
        ("https://example.org/.zip", "not one plain folder name"),
        ("http://127.1/batches/x/", "loopback"),
        ("http://2130706433/batches/x/", "loopback"),
        ("http://[::1]/batches/x/", "loopback"),
        ("https://user:pw@example.org/batches/x/", "credentials"),
        ("ftp://example.org/batches/x/", "scheme 'ftp' is not allowed"),
        ("https://example.org/", "names no batch folder"),
        ("https://example.org/batches/..%2f..%2fetc/", "not one plain folder name"),
        ("https://example.org/batches/.hidden/", "not one plain folder name"),
        ("https://example.org:99999/batches/x/", "bad port"),
        ("http:///batches/x/", "no host"),
    ],
)
def test_hostile_batch_urls_are_refused_on_their_face(
    make_settings: MakeSettings, url: str, reason: str
):
    with pytest.raises(TransferRefused, match=reason) as refused:
        check_batch_url(make_settings(), url)
    assert repr(url) in str(refused.value) or "batch name" in str(refused.value)


def test_a_path_outside_the_roots_names_the_roots(make_settings: MakeSettings, tmp_path: Path):
    settings = make_settings()
    with pytest.raises(TransferRefused) as refused:
        check_batch_url(settings, str(tmp_path / "elsewhere" / "night-1"))
    message = str(refused.value)
    assert str(settings.data_dir) in message and str(settings.batches_dir) in message


def test_dotdot_inside_a_root_is_refused(make_settings: MakeSettings):
    settings = make_settings()
    with pytest.raises(TransferRefused, match=r"'\.\.' is not allowed"):
        check_batch_url(settings, f"{settings.batches_dir}/../../etc/x")


def test_the_root_itself_is_not_a_batch(make_settings: MakeSettings):
    settings = make_settings(local_roots=["/srv/frames"])
    with pytest.raises(TransferRefused, match="local_roots"):
        check_batch_url(settings, "/srv/frames")
    assert check_batch_url(settings, "/srv/frames/n1/M31").name == "M31"


def test_accepted_urls_and_the_batch_names_they_name(make_settings: MakeSettings):
    settings = make_settings()
    inside = settings.batches_dir / "20261123-observation-42"
    cases = {
        str(inside): "20261123-observation-42",
        inside.as_uri() + "/": "20261123-observation-42",
        "https://93.184.216.34/batches/20261123-observation-42/": "20261123-observation-42",
        "https://example.org/get?allfiles": "get",
        "https://example.org/nights/night-7.tar.gz": "night-7",
        "https://example.org/nights/night-8.ZIP": "night-8",
        "https://example.org/batches/M31-X/": "M31-X",
        "http://example.org/batches/night.tar": "night",
        "https://example.org/b/night.tgz": "night",
    }
    for url, name in cases.items():
        checked = check_batch_url(settings, url)
        assert (checked.url, checked.name) == (url, name)
        assert checked.scheme == ("file" if "://" not in url or url.startswith("file") else
                                  url.split(":", 1)[0])  # fmt: skip
    assert check_batch_url(settings, str(inside)).folder == inside


def test_private_hosts_pass_on_their_face_only_when_allowed(make_settings: MakeSettings):
    assert (
        check_batch_url(
            make_settings(allow_private_addresses=True), "http://127.0.0.1:6399/batches/x/"
        ).name
        == "x"
    )
    assert (
        check_batch_url(
            make_settings(allowed_hosts=["localhost"]), "http://localhost:8021/batches/x/"
        ).name
        == "x"
    )
    with pytest.raises(TransferRefused, match="metadata"):
        check_batch_url(
            make_settings(allow_private_addresses=True), "http://169.254.169.254/latest/x"
        )


def test_a_symlink_inside_a_root_cannot_lead_out_of_it(make_settings: MakeSettings, tmp_path: Path):
    """On its face the path is inside the roots; the transfer follows the link and refuses."""
    settings = make_settings()
    write_batch(tmp_path / "outside", "night-1")
    settings.batches_dir.mkdir(parents=True)
    link = settings.batches_dir / "night-1"
    os.symlink(tmp_path / "outside" / "night-1", link)
    check_batch_url(settings, str(link))
    with pytest.raises(TransferRefused, match="local_roots"):
        check_local_root(settings, str(link), link, resolve=True)
    with pytest.raises(TransferRefused, match="local_roots"):
        fetch_batch(settings, str(link))


def test_a_root_reached_through_a_link_holds_what_lies_under_it(
    make_settings: MakeSettings, tmp_path: Path
):
    """/data -> /mnt/disk1: folders under the link are inside the root (both resolved)."""
    disk = tmp_path / "disk1"
    write_batch(disk, "night-2")
    (tmp_path / "data").symlink_to(disk)
    settings = make_settings(local_roots=[tmp_path / "data"])
    assert fetch_batch(settings, str(tmp_path / "data" / "night-2")).name == "night-2"


def test_default_roots_are_the_data_batch_and_repository_folders(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "var")
    var = tmp_path / "var"
    assert settings.local_roots == [var, var / "batches", var / "repository"]
    assert Settings(
        data_dir=tmp_path, processor={"local_roots": ["/srv/a", "/srv/b"]}
    ).local_roots == [Path("/srv/a"), Path("/srv/b")]


@pytest.mark.parametrize("name", ["b1\n", "b1\n\n", "\nb1", "b1 ", "." + "b1", "b" * 201])
def test_a_batch_name_must_be_one_plain_folder_name_whole(name: str):
    """No trailing newline slips through (a regular expression's ``$`` would allow one)."""
    with pytest.raises(TransferRefused, match="is not one plain folder name"):
        check_batch_name(name, "w")
    assert check_batch_name("b" * 200, "w") == "b" * 200
