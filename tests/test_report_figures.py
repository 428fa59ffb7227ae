"""``crossreg report`` of a run with large outputs: a byte budget, previews and links."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image

import crossreg.report
import crossreg.report_figures
import crossreg.report_sections
from crossreg.cli import main
from crossreg.report import write_report
from crossreg.runlog import record_run
from tests.browser import figures_loaded, needs_chromium

EMBEDDED = re.compile(
    r'<a href="([^"]+)"><img class="figure" alt="([^"]+)" src="data:([^;]+);base64,([^"]+)"'
)
LINKED = re.compile(r'<li><a href="([^"]+)">([^<]+)</a> \(([^)]+)\)</li>')


def _png(path: Path, width: int, height: int, seed: int = 0) -> int:
    """A PNG of noise (which does not compress), its left quarter pure red and its bottom
    rows transparent; returns its size in bytes."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    pixels[..., 3] = 255
    pixels[:, : width // 4] = (255, 0, 0, 255)
    pixels[-(height // 4) :, width // 4 :, 3] = 0
    Image.fromarray(pixels, "RGBA").save(path)
    return path.stat().st_size


def _run(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "summary.json").write_text("{}")
    record_run(root, ["transfer", "--out", "."], 1_700_000_000.0, 1.0)
    return root


def test_figures_past_the_page_budget_are_linked_not_embedded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # before: a page embedded its first 120 figures whatever their size; of a paper-scale
    # run's transfer heat maps (1.5 MB each) that was a 101 MiB page that took a browser
    # half a minute to open and no mail client would take
    root = _run(tmp_path / "run")
    (root / "transfer").mkdir()
    sizes = [_png(root / "transfer" / f"matrix_{i}.png", 60, 60, seed=i) for i in range(6)]
    encoded = [4 * ((n + 2) // 3) for n in sizes]
    monkeypatch.setattr(crossreg.report, "PAGE_FIGURE_BYTES", sum(encoded[:3]) + encoded[3] // 2)
    page = tmp_path / "pages" / "page.html"  # elsewhere: links are relative to the page
    page.parent.mkdir()
    write_report(root, page)
    text = page.read_text()
    embedded = EMBEDDED.findall(text)
    assert [alt for _, alt, _, _ in embedded] == [f"transfer/matrix_{i}.png" for i in range(3)]
    for href, alt, kind, data in embedded:  # small figures embedded whole, linked too
        assert kind == "image/png"
        assert base64.b64decode(data) == (root / alt).read_bytes()
        assert (page.parent / unquote(href)).resolve() == (root / alt).resolve()
    linked = LINKED.findall(text)
    assert [name for _, name, _ in linked] == [f"matrix_{i}.png" for i in range(3, 6)]
    for href, name, _ in linked:
        assert (page.parent / unquote(href)).resolve() == (root / "transfer" / name).resolve()
    assert "6 figures (3 shown, the rest linked) from" in text
    assert "<summary>3 more figures in transfer/ (not embedded" in text
    assert len(text) < sum(encoded[:3]) + 20_000


def test_every_figure_that_fits_is_embedded_after_one_that_does_not(tmp_path: Path, logs) -> None:
    # before: once one figure did not fit the page's bytes no later one was embedded,
    # however small, and the figures left out were listed without their sizes or what to
    # do to embed them
    root = _run(tmp_path / "run")
    planted = {"maps/m0.png": 3000, "maps/m1.png": 9000, "maps/m2.png": 3000}
    planted |= {"more/n0.png": 9000, "more/n1.png": 300}
    for name, size in planted.items():
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_bytes(b"\x89PNG" + bytes(size - 4))  # embedded whole, as read
    fits = 4000 + 4000 + 400  # the base64 of m0, m2 and n1; m1 and n0 take 12,000 each
    mib = (fits + 1000) / (1 << 20)
    assert main(["report", str(root), "--figures-mib", str(mib)]) == 0
    text = (root / "report.html").read_text()
    assert [alt for _, alt, _, _ in EMBEDDED.findall(text)] == [
        "maps/m0.png",
        "maps/m2.png",
        "more/n1.png",
    ]
    assert [(name, size) for _, name, size in LINKED.findall(text)] == [
        ("m1.png", "8.8 KiB"),
        ("n0.png", "8.8 KiB"),
    ]
    for folder in ("maps", "more"):
        assert (
            f"<summary>1 more figures in {folder}/ (not embedded, each linked to its file: 1 "
            "past the 9.2 KiB of figures the page embeds (more fit with crossreg report "
            "--figures-mib))"
        ) in text
    assert "5 figures (3 shown, the rest linked)" in text
    assert main(["report", str(root), "--figures-mib", "0"]) == 0
    assert EMBEDDED.findall((root / "report.html").read_text()) == []
    assert main(["report", str(root), "--figures-mib", "-1"]) == 1
    assert "--figures-mib -1.0: give the MiB of figures to embed, 0 or more" in logs.text


def test_a_figure_left_out_does_not_count_against_the_folder_s_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # before: a folder's first figures were tried and those not embedded (a large SVG)
    # took the places of later ones
    root = _run(tmp_path / "run")
    (root / "sad").mkdir()
    (root / "sad" / "a.svg").write_text(
        "<svg xmlns='http://www.w3.org/2000/svg'>" + " " * 2000 + "</svg>"
    )
    for name in ("b.png", "c.png", "d.png"):
        (root / "sad" / name).write_bytes(b"\x89PNG")
    monkeypatch.setattr(crossreg.report_figures, "PREVIEW_BYTES", 1000)
    monkeypatch.setattr(crossreg.report_sections, "FOLDER_FIGURES", 2)
    write_report(root)
    text = (root / "report.html").read_text()
    assert [alt for _, alt, _, _ in EMBEDDED.findall(text)] == ["sad/b.png", "sad/c.png"]
    assert [name for _, name, _ in LINKED.findall(text)] == ["a.svg", "d.png"]
    assert (
        "2 more figures in sad/ (not embedded, each linked to its file: 1 past the 2 figures "
        "a folder embeds; 1 SVG too large to embed)"
    ) in text


def test_once_a_preview_does_not_fit_no_later_one_is_drawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # drawing a preview takes a quarter second or more: a page of thousands of large PNGs
    # past its bytes would draw them all to embed none; smaller figures still embed
    root = _run(tmp_path / "run")
    (root / "maps").mkdir()
    for i in range(3):
        _png(root / "maps" / f"p{i}.png", 100, 100, seed=i)
    (root / "maps" / "small.png").write_bytes(b"\x89PNG")
    monkeypatch.setattr(crossreg.report_figures, "PREVIEW_BYTES", 1000)
    real = crossreg.report_figures._preview
    first = real((root / "maps" / "p0.png").read_bytes())
    assert first is not None
    drawn: list[int] = []

    def counted(data: bytes) -> bytes | None:
        drawn.append(len(data))
        return real(data)

    monkeypatch.setattr(crossreg.report_figures, "_preview", counted)
    write_report(root, figure_bytes=len(base64.b64encode(first)) + 100)
    text = (root / "report.html").read_text()
    assert [alt for _, alt, _, _ in EMBEDDED.findall(text)] == ["maps/p0.png", "maps/small.png"]
    assert len(drawn) == 2  # p0, which fit, and p1, which did not; p2 not drawn
    assert [name for _, name, _ in LINKED.findall(text)] == ["p1.png", "p2.png"]


def test_a_large_png_is_embedded_as_a_preview_linking_the_full_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # before: a 2,760 x 2,400 px heat map was embedded whole, 2 MB of base64 for a figure
    # the page shows 620 px wide
    root = _run(tmp_path / "run")
    (root / "transfer").mkdir()
    full = root / "transfer" / "matrix_DNASE.png"
    size = _png(full, 400, 200)
    monkeypatch.setattr(crossreg.report_figures, "PREVIEW_BYTES", size - 1)
    monkeypatch.setattr(crossreg.report_figures, "PREVIEW_PIXELS", 100)
    assert main(["report", str(root)]) == 0
    text = (root / "report.html").read_text()
    [(href, alt, kind, data)] = EMBEDDED.findall(text)
    assert (href, alt, kind) == (
        "transfer/matrix_DNASE.png",
        "transfer/matrix_DNASE.png",
        "image/jpeg",
    )
    assert "transfer/matrix_DNASE.png (preview: click for the full figure)" in text
    preview = Image.open(io.BytesIO(base64.b64decode(data)))
    assert (preview.format, preview.size) == ("JPEG", (100, 50))
    pixels = np.asarray(preview.convert("RGB"), dtype=int)
    assert np.abs(pixels[10:40, 2:20] - (255, 0, 0)).max() < 40  # the red quarter, red
    assert np.abs(pixels[-8:, 40:] - 255).max() < 40  # the transparent rows, on white
    assert len(data) < size / 4


def test_a_large_svg_or_a_png_that_does_not_decode_is_linked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _run(tmp_path / "run")
    (root / "sad").mkdir()
    (root / "sad" / "big.svg").write_text(
        "<svg xmlns='http://www.w3.org/2000/svg'>" + " " * 5000 + "</svg>"
    )
    (root / "sad" / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(5000))
    (root / "sad" / "small.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    monkeypatch.setattr(crossreg.report_figures, "PREVIEW_BYTES", 1000)
    assert main(["report", str(root)]) == 0
    text = (root / "report.html").read_text()
    assert [alt for _, alt, _, _ in EMBEDDED.findall(text)] == ["sad/small.svg"]
    assert [name for _, name, _ in LINKED.findall(text)] == ["big.svg", "cut.png"]


def test_a_16_bit_greyscale_png_s_preview_keeps_its_grey_levels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # before: its levels (0-65,535) were clipped at 255 on the way to RGB, and the
    # preview of a ramp from black to white was white but for its first column
    root = _run(tmp_path / "run")
    (root / "maps").mkdir()
    ramp = np.tile(np.linspace(0, 65535, 200).astype(np.uint16), (50, 1))
    Image.fromarray(ramp).save(root / "maps" / "ramp.png")
    monkeypatch.setattr(crossreg.report_figures, "PREVIEW_BYTES", 10)
    assert main(["report", str(root)]) == 0
    [(_, _, kind, data)] = EMBEDDED.findall((root / "report.html").read_text())
    assert kind == "image/jpeg"
    grey = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("L"), dtype=int)
    assert np.abs(grey[25] - ramp[25] / 257).max() < 12  # the ramp, black to white


def test_a_png_of_too_many_pixels_to_decode_is_linked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # before: Pillow's guard against decompression bombs (a PNG of over 2 x 89 million
    # pixels, a few kB when plain) stopped the report with a traceback
    root = _run(tmp_path / "run")
    (root / "maps").mkdir()
    _png(root / "maps" / "huge.png", 80, 40)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 3,200 pixels: over twice that
    monkeypatch.setattr(crossreg.report_figures, "PREVIEW_BYTES", 10)
    assert main(["report", str(root)]) == 0
    text = (root / "report.html").read_text()
    assert EMBEDDED.findall(text) == []
    assert [name for _, name, _ in LINKED.findall(text)] == ["huge.png"]


def test_a_long_table_shows_its_first_rows_and_links_the_whole_file(tmp_path: Path) -> None:
    # before: the page showed a table's first 12 rows with no way to the other thousands
    root = _run(tmp_path / "run")
    (root / "sldp").mkdir()
    rows = ["annotation\tz"] + [f"track{i}\t{i / 7000}" for i in range(7000)]
    (root / "sldp" / "results.tsv").write_text("\n".join(rows) + "\n")
    page = tmp_path / "pages" / "report.html"
    page.parent.mkdir()
    write_report(root, page)
    text = page.read_text()
    found = re.search(
        r'<h3><a href="([^"]+)">sldp/results.tsv</a></h3><p class=\'note\'>([^<]+)<', text
    )
    assert found and found[2].startswith("first 12 of 7,000 rows; ")
    assert (page.parent / unquote(found[1])).resolve() == (root / "sldp" / "results.tsv").resolve()
    assert ">track11</td>" in text and ">track12</td>" not in text


@needs_chromium
def test_a_page_with_previews_opens_in_a_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _run(tmp_path / "run")
    (root / "transfer").mkdir()
    sizes = [_png(root / "transfer" / f"matrix_{i}.png", 300, 200, seed=i) for i in range(3)]
    monkeypatch.setattr(crossreg.report_figures, "PREVIEW_BYTES", min(sizes) - 1)
    write_report(root)
    assert figures_loaded(root / "report.html") == (3, 3)
