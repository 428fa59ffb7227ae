"""The figures of a ``crossreg report`` page: embedded within a byte budget, the rest linked.

A figure is embedded as a data URI until the page's figures reach
:data:`PAGE_FIGURE_BYTES`; a PNG over :data:`PREVIEW_BYTES` (a transfer heat map of the
paper's 638 × 357 tracks is 1.5 MB) is embedded as a JPEG preview
:data:`PREVIEW_PIXELS` wide, and every figure links to its file (by its path relative to
the page). The figures after the budget is reached, and an SVG too large to embed, are
linked only, so that the page of a paper-scale run stays one file that a browser opens
at once and a mail client takes (most refuse over 20-25 MB, counted after the mail's own
base64 encoding).
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

PAGE_FIGURE_BYTES = 12 << 20  # bytes of figures (as base64) embedded in a page at most
PREVIEW_BYTES = 384 << 10  # a larger PNG is embedded as a preview, a larger SVG linked only
PREVIEW_PIXELS = 800  # a preview's width (the page shows a figure 620 px wide at most)
PREVIEW_QUALITY = 85  # its JPEG quality


@dataclass
class Budget:
    """The bytes of figures a page may still embed: none once a figure did not fit, so
    that the page embeds its figures up to one, in order, and links the rest."""

    left: int

    def take(self, size: int) -> bool:
        """Whether `size` more bytes fit, taking them when they do."""
        if size > self.left:
            self.left = 0
            return False
        self.left -= size
        return True


def link(path: Path, page: Path) -> str:
    """The URL of `path` relative to the folder of the HTML file `page` (of a name that
    is not UTF-8, its bytes)."""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(page.parent))
    return quote(os.fsencode(Path(relative).as_posix()))


def embedded_data(path: Path) -> tuple[str, str, bool] | None:
    """The MIME type and base64 text to embed `path` as, and whether it is a downscaled
    preview; None for a figure too large to embed that cannot be downscaled (an SVG, a
    PNG that does not decode)."""
    if path.suffix.lower() == ".svg":
        if path.stat().st_size > PREVIEW_BYTES:
            return None
        return "image/svg+xml", base64.b64encode(path.read_bytes()).decode("ascii"), False
    data = path.read_bytes()
    if len(data) <= PREVIEW_BYTES:
        return "image/png", base64.b64encode(data).decode("ascii"), False
    preview = _preview(data)
    if preview is None:
        return None
    return "image/jpeg", base64.b64encode(preview).decode("ascii"), True


def _preview(data: bytes) -> bytes | None:
    """The PNG `data` scaled down to :data:`PREVIEW_PIXELS` wide (its own width if less),
    on white where it is transparent, as a JPEG; None when it does not decode (cut short,
    not a PNG, or of more pixels than Pillow decodes: ``Image.MAX_IMAGE_PIXELS`` twice)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit grey, 0-65,535
                image = image.convert("I").point(lambda v: v / 257).convert("L")
            rgba = image.convert("RGBA")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return None
    if rgba.width > PREVIEW_PIXELS:
        height = max(1, round(rgba.height * PREVIEW_PIXELS / rgba.width))
        rgba = rgba.resize((PREVIEW_PIXELS, height), Image.Resampling.LANCZOS)
    white = Image.new("RGBA", rgba.size, "white")
    out = io.BytesIO()
    Image.alpha_composite(white, rgba).convert("RGB").save(
        out, format="JPEG", quality=PREVIEW_QUALITY
    )
    return out.getvalue()


def figure_html(path: Path, root: Path, page: Path, budget: Budget) -> str | None:
    """The figure `path` embedded (as a preview when large), captioned with its name and
    linked to its file; None when it is not embedded: past the page's `budget`, or too
    large to embed."""
    found = embedded_data(path) if budget.left else None
    if found is None or not budget.take(len(found[1])):
        return None
    kind, data, preview = found
    name = html.escape(str(path.relative_to(root)))
    href = html.escape(link(path, page))
    note = " (preview: click for the full figure)" if preview else ""
    return (
        f'<figure><a href="{href}"><img class="figure" alt="{name}" '
        f'src="data:{kind};base64,{data}"></a><figcaption>{name}{note}</figcaption></figure>'
    )


def linked_html(path: Path, page: Path) -> str:
    """A list item linking to a figure that is not embedded."""
    return f'<li><a href="{html.escape(link(path, page))}">{html.escape(path.name)}</a></li>'
