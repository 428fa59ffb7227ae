"""What a track's description says: its assay, and what was measured in which cell type."""

from __future__ import annotations


def assay_of(description: str) -> str:
    """The assay of a track description: its prefix before ':' (``DNASE``, ``CAGE``, ...),
    or ``OTHER`` when it has none."""
    return description.split(":", 1)[0] if ":" in description else "OTHER"


def split_description(description: str) -> tuple[str, str]:
    """A track description ``ASSAY:CELL TYPE`` (``CHIP:TARGET:CELL TYPE`` for ChIP) as
    (what was measured, the cell type): ``CHIP:H3K27ac:liver`` → (``CHIP:H3K27ac``,
    ``liver``). The cell type is all that follows, colons and all, as in the paper's tables
    (``CAGE:acute myeloid leukemia (FAB M5) cell line:THP-1`` → (``CAGE``, ``acute myeloid
    leukemia (FAB M5) cell line:THP-1``)). A description without ':' is (itself, itself)."""
    fields = description.split(":")
    if len(fields) == 1:
        return description, description
    measured = 2 if fields[0] == "CHIP" and len(fields) > 2 else 1
    return ":".join(fields[:measured]), ":".join(fields[measured:])
