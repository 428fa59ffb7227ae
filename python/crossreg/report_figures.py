"""The figures of a ``crossreg report`` page: embedded within a budget, the rest linked.

The figures are taken in the page's order, and each one embedded as a data URI that fits
what is left of the page's budget (:class:`Budget`: :data:`PAGE_FIGURE_BYTES` by default,
and a number of figures); one that does not fit is linked, and later ones that fit are
still embedded. A PNG over :data:`PREVIEW_BYTES` (a transfer heat map of the paper's
638 × 357 tracks is 1.5 MB) is embedded as a JPEG preview :data:`PREVIEW_PIXELS` wide,
and every figure links to its file (by its path relative to the page). An SVG too large
to embed is linked only, so that the page of a paper-scale run stays one file that a
browser opens at once and a mail client takes (most refuse over 20-25 MB, counted after
the mail's own base64 encoding).
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass, field
from enum import Enum, auto
from pathlib import Path
from urllib.parse import quote

PAGE_FIGURE_BYTES = 12 << 20  # bytes of figures (as base64) embedded in a page at most
PREVIEW_BYTES = 384 << 10  # a larger PNG is embedded as a preview, a larger SVG linked only
PREVIEW_PIXELS = 800  # a preview's width (the page shows a figure 620 px wide at most)
PREVIEW_QUALITY = 85  # its JPEG quality


class Left(Enum):
    """Why a figure is linked rather than embedded: past the page's bytes of figures, past
    the figures a folder or the page embeds, an SVG over :data:`PREVIEW_BYTES`, a larger
    PNG that does not decode (for its preview)."""

    BYTES = auto()
    FOLDER_COUNT = auto()
    PAGE_COUNT = auto()
    LARGE_SVG = auto()
    UNDECODED = auto()


@dataclass
class Budget:
    """What a page may still embed: `left` of its `limit` bytes of figures (as base64),
    and `figures` figures. A figure that does not fit takes nothing, so later, smaller
    ones still may; but once a preview has not fit, `previews` is off and no later one is
    drawn (each takes a quarter second or more, and most are about as large)."""

    limit: int
    figures: int
    left: int = field(init=False)
    previews: bool = field(init=False, default=True)

    def __post_init__(self) -> None:
        self.left = self.limit

    def take(self, size: int) -> bool:
        """Whether a figure of `size` bytes fits, taking it when it does."""
        if size > self.left or self.figures <= 0:
            return False
        self.left -= size
        self.figures -= 1
        return True


def link(path: Path, page: Path) -> str:
    """The URL of `path` relative to the folder of the HTML file `page` (of a name that
    is not UTF-8, its bytes)."""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(page.parent))
    return quote(os.fsencode(Path(relative).as_posix()))


def embedded_data(path: Path, budget: Budget) -> tuple[str, str, bool] | Left:
    """The MIME type and base64 text to embed `path` as, and whether it is a downscaled
    preview, taken from `budget`; else why it is not embedded: a figure that does not
    fit (a figure embedded whole is told by its size before it is read, a preview once
    one has not fit is not drawn), an SVG too large to embed, or a large PNG that does
    not decode."""
    size = path.stat().st_size
    svg = path.suffix.lower() == ".svg"
    if svg and size > PREVIEW_BYTES:
        return Left.LARGE_SVG
    if size <= PREVIEW_BYTES:
        if 4 * ((size + 2) // 3) > budget.left:
            return Left.BYTES
        kind, data, preview = ("image/svg+xml" if svg else "image/png"), path.read_bytes(), False
    elif not budget.previews:
        return Left.BYTES
    else:
        found = _preview(path.read_bytes())
        if found is None:
            return Left.UNDECODED
        kind, data, preview = "image/jpeg", found, True
    text = base64.b64encode(data).decode("ascii")
    if budget.take(len(text)):
        return kind, text, preview
    budget.previews = budget.previews and not preview
    return Left.BYTES


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


def figure_html(path: Path, root: Path, page: Path, budget: Budget) -> str | Left:
    """The figure `path` embedded (as a preview when large), captioned with its name and
    linked to its file, taken from the page's `budget`; else why it is not embedded."""
    if budget.figures <= 0:
        return Left.PAGE_COUNT
    found = embedded_data(path, budget)
    if isinstance(found, Left):
        return found
    kind, data, preview = found
    name = html.escape(str(path.relative_to(root)))
    href = html.escape(link(path, page))
    note = " (preview: click for the full figure)" if preview else ""
    return (
        f'<figure><a href="{href}"><img class="figure" alt="{name}" '
        f'src="data:{kind};base64,{data}"></a><figcaption>{name}{note}</figcaption></figure>'
    )


def linked_html(path: Path, page: Path, size: str) -> str:
    """A list item linking to a file the page does not show (a figure, a table), with its
    `size`."""
    href = html.escape(link(path, page))
    return f'<li><a href="{href}">{html.escape(path.name)}</a> ({size})</li>'
