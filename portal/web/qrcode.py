"""QR codes drawn by the server as inline SVG: no external service, no inline style."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(text: str, scale: int = 4) -> Markup:
    svg = segno.make(text, error="m").svg_inline(scale=scale, dark="#000", light="#fff")
    return Markup(svg)  # noqa: S704 - segno draws this from the text; no markup comes in
