"""The hub's VAPID key file: created once with safe permissions, loaded after, refused if bad."""

from __future__ import annotations

import base64
import logging
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from py_vapid import Vapid02

from store_hub.adapters.vapid import VapidKeyError, load_or_create_vapid


def decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_first_run_creates_a_private_pem_in_new_directories(tmp_path: Path) -> None:
    path = tmp_path / "var" / "hub" / "vapid.pem"

    keys = load_or_create_vapid(path)

    assert keys.private_key_path == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert [p.name for p in path.parent.iterdir()] == ["vapid.pem"], "no temporary file left"
    point = decode(keys.application_server_key)
    assert "=" not in keys.application_server_key and len(point) == 65 and point[0] == 4
    own = keys.private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert point == own


def test_later_runs_load_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "vapid.pem"
    first = load_or_create_vapid(path)
    pem = path.read_bytes()

    second = load_or_create_vapid(path)

    assert second.application_server_key == first.application_server_key
    assert path.read_bytes() == pem


def test_a_key_made_by_the_py_vapid_tool_is_used_as_is(tmp_path: Path) -> None:
    path = tmp_path / "private_key.pem"
    made = Vapid02()
    made.generate_keys()
    made.save_key(str(path))

    keys = load_or_create_vapid(path)

    expected = made.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert decode(keys.application_server_key) == expected


def test_two_keys_are_different(tmp_path: Path) -> None:
    one = load_or_create_vapid(tmp_path / "a.pem")
    two = load_or_create_vapid(tmp_path / "b.pem")
    assert one.application_server_key != two.application_server_key


@pytest.mark.parametrize("content", [b"", b"not a key\n", b"-----BEGIN PRIVATE KEY-----\nAAAA\n"])
def test_a_corrupt_file_names_the_path_and_the_fix(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "vapid.pem"
    path.write_bytes(content)

    with pytest.raises(VapidKeyError) as error:
        load_or_create_vapid(path)

    message = str(error.value)
    assert str(path) in message
    assert "delete it" in message and "subscribe" in message
    assert path.read_bytes() == content, "a bad key file is never overwritten"


@pytest.mark.parametrize(
    "key",
    [ec.generate_private_key(ec.SECP384R1()), rsa.generate_private_key(65537, 2048)],
    ids=["p384", "rsa"],
)
def test_a_key_of_the_wrong_kind_is_refused(tmp_path: Path, key: object) -> None:
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    path = tmp_path / "vapid.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    with pytest.raises(VapidKeyError, match="not a P-256 EC key"):
        load_or_create_vapid(path)


def test_a_key_others_can_read_is_loaded_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "vapid.pem"
    created = load_or_create_vapid(path)
    path.chmod(0o644)

    with caplog.at_level(logging.WARNING, logger="store_hub.adapters.vapid"):
        loaded = load_or_create_vapid(path)

    assert loaded.application_server_key == created.application_server_key
    assert "chmod 600" in caplog.text
