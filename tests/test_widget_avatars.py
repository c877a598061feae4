"""Identicons: one picture per avatar hash, self-contained, cacheable forever."""

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commentsvc.avatars import identicon_svg

SVG = "{http://www.w3.org/2000/svg}"
hashes = st.text(alphabet="0123456789abcdef", min_size=16, max_size=16)


def cells(svg: str) -> set[tuple[int, int]]:
    path = ET.fromstring(svg).find(f"{SVG}path").get("d")
    return {
        (int(x), int(y)) for x, y in (part.split("h")[0].split() for part in path.split("M")[1:])
    }


@given(hashes)
def test_identicon_is_deterministic_symmetric_and_self_contained(avatar_hash):
    svg = identicon_svg(avatar_hash)
    assert svg == identicon_svg(avatar_hash)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert {el.tag.removeprefix(SVG) for el in root.iter()} <= {"svg", "rect", "path"}
    for el in root.iter():  # (the namespace URI is in the tag, not in an attribute)
        for name, value in el.attrib.items():
            assert "href" not in name
            assert "url(" not in value and "//" not in value
    drawn = cells(svg)
    assert drawn == {(4 - x, y) for x, y in drawn}


def test_different_hashes_give_different_pictures():
    pictures = {identicon_svg(f"{n:016x}") for n in range(0, 2**20, 997)}
    assert len(pictures) > 1000


@pytest.mark.parametrize(
    "bad",
    ["", "0123", "0123456789ABCDEF", "0123456789abcdeg", "0123456789abcdef0", "../../etc/passwd"],
)
def test_identicon_refuses_anything_but_16_hex_digits(bad):
    with pytest.raises(ValueError):
        identicon_svg(bad)


def test_avatar_route_serves_the_identicon_cacheable_forever(client):
    response = client.get("/avatars/0123456789abcdef.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True) == identicon_svg("0123456789abcdef")
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    again = client.get(
        "/avatars/0123456789abcdef.svg", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304


@pytest.mark.parametrize("name", ["0123456789ABCDEF", "0123", "zz23456789abcdef", "x" * 200])
def test_avatar_route_is_404_for_other_names(client, name):
    assert client.get(f"/avatars/{name}.svg").status_code == 404


def test_posted_comment_avatar_is_served_locally(client, make_comment):
    comment = make_comment("/posts/avatar.html", "Hi", email="someone@example.com")
    response = client.get(f"/avatars/{comment['avatar']}.svg")
    assert response.status_code == 200
