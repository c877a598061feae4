"""Identicons: a small symmetric SVG picture derived from a comment's avatar hash."""

import colorsys
import re
from functools import lru_cache

AVATAR_HASH = re.compile(r"[0-9a-f]{16}")

_GRID = 5
_HALF = (_GRID + 1) // 2  # columns drawn before mirroring


def is_avatar_hash(value: str) -> bool:
    """Tell whether value is the 16 lowercase hex digits an avatar is named by."""
    return AVATAR_HASH.fullmatch(value) is not None


def _hex_colour(hue: float, lightness: float, saturation: float) -> str:
    r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


@lru_cache(maxsize=2048)
def identicon_svg(avatar_hash: str) -> str:
    """Return the identicon for a 16-hex-digit hash as a self-contained SVG document.

    The low 15 bits choose the cells of the left half of a 5x5 grid (mirrored to the
    right), the next bits the hue. The SVG references nothing outside itself.
    """
    if not is_avatar_hash(avatar_hash):
        raise ValueError("avatar hash must be 16 lowercase hex digits")
    bits = int(avatar_hash, 16)
    cells = []
    for row in range(_GRID):
        for col in range(_HALF):
            if bits >> (row * _HALF + col) & 1:
                cells.append((col, row))
                if col != _GRID - 1 - col:
                    cells.append((_GRID - 1 - col, row))
    hue = ((bits >> 15) % 360) / 360
    # Dark enough foreground and pale background keep the shape legible in both themes.
    fg = _hex_colour(hue, 0.42 + ((bits >> 24) % 10) / 100, 0.55)
    bg = _hex_colour(hue, 0.93, 0.35)
    path = "".join(f"M{x} {y}h1v1h-1z" for x, y in sorted(cells))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="-0.5 -0.5 6 6" '
        'width="48" height="48" shape-rendering="crispEdges">'
        f'<rect x="-0.5" y="-0.5" width="6" height="6" fill="{bg}"/>'
        f'<path fill="{fg}" d="{path}"/></svg>'
    )
