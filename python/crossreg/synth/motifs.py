"""Transcription-factor motifs: JASPAR matrices, sampling of instances, scoring of sites.

A motif is a ``(4, L)`` position frequency matrix in A, C, G, T row order. Scores are
natural-log odds against a background base composition; occupancy turns a score into the
probability that the factor binds (a logistic curve centred a fixed distance below the best
possible score), which is what the synthetic tracks respond to.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

BASES = b"ACGT"
# log-odds below the best possible score at which occupancy is one half, and the slope
OCCUPANCY_OFFSET = 3.0
OCCUPANCY_SLOPE = 1.5
# background base frequencies of the synthetic genomes (A, C, G, T): 41% GC
BACKGROUND = np.array([0.295, 0.205, 0.205, 0.295])
_CODE = np.full(256, 4, dtype=np.int8)
for _i, _b in enumerate(BASES):
    _CODE[_b] = _i
    _CODE[ord(chr(_b).lower())] = _i
_HEADER = re.compile(r"^>(\S+)\s+(.+?)\s*$")
_ROW = re.compile(r"^\s*([ACGT])\s*\[\s*([^\]]*)\]\s*$")


@dataclass(frozen=True, eq=False)
class Motif:
    """A position frequency matrix ``counts`` of shape ``(4, L)`` (A, C, G, T rows)."""

    matrix_id: str
    name: str
    counts: npt.NDArray[np.float64]

    @property
    def length(self) -> int:
        """Motif width in bp."""
        return int(self.counts.shape[1])

    @cached_property
    def probabilities(self) -> npt.NDArray[np.float64]:
        """``(4, L)`` base probabilities per column, with a 1% pseudo-frequency."""
        freq = self.counts / self.counts.sum(axis=0, keepdims=True)
        freq = freq + 0.01
        return freq / freq.sum(axis=0, keepdims=True)

    @cached_property
    def log_odds(self) -> npt.NDArray[np.float64]:
        """``(4, L)`` natural-log odds of each base against :data:`BACKGROUND`."""
        return np.log(self.probabilities / BACKGROUND[:, None])

    @property
    def max_score(self) -> float:
        """The best log-odds score any site can reach."""
        return float(self.log_odds.max(axis=0).sum())

    def score(self, site: bytes | str, strand: int = 1) -> float:
        """Log-odds score of `site` (length L) read on `strand` (+1 forward, -1 reverse)."""
        codes = _CODE[np.frombuffer(_as_bytes(site), dtype=np.uint8)].astype(np.int64)
        if codes.size != self.length:
            raise ValueError(f"{self.name}: a site must have {self.length} bp, got {codes.size}")
        if strand < 0:
            codes = np.where(codes < 4, 3 - codes, 4)[::-1]
        if (codes == 4).any():
            return float("-inf")
        return float(self.log_odds[codes, np.arange(self.length)].sum())

    def occupancy(self, score: float) -> float:
        """Probability that the factor binds a site of this log-odds `score` (0..1)."""
        margin = score - (self.max_score - OCCUPANCY_OFFSET)
        return float(1.0 / (1.0 + np.exp(-OCCUPANCY_SLOPE * margin)))

    def scan(self, seq: bytes | str) -> npt.NDArray[np.float64]:
        """``(2, len(seq) - L + 1)`` scores of every window: forward row, reverse row."""
        codes = _CODE[np.frombuffer(_as_bytes(seq), dtype=np.uint8)]
        n = codes.size - self.length + 1
        if n <= 0:
            return np.empty((2, 0))
        padded = np.vstack([self.log_odds, np.full((1, self.length), -np.inf)])
        rc = np.vstack([self.log_odds[::-1, ::-1], np.full((1, self.length), -np.inf)])
        forward = np.zeros(n)
        reverse = np.zeros(n)
        for j in range(self.length):
            col = codes[j : j + n]
            forward += padded[col, j]
            reverse += rc[col, j]
        return np.vstack([forward, reverse])

    def sample(self, rng: np.random.Generator, *, min_score_gap: float = 1.5) -> bytes:
        """A forward-strand site drawn column by column from the matrix.

        Draws are repeated until the score is within `min_score_gap` of the best; the
        consensus is returned if 200 draws fail (only for very degenerate matrices).
        """
        cumulative = np.cumsum(self.probabilities, axis=0)
        for _ in range(200):
            u = rng.random(self.length)
            codes = (u[None, :] > cumulative).sum(axis=0)
            site = bytes(BASES[c] for c in codes)
            if self.score(site) >= self.max_score - min_score_gap:
                return site
        return self.consensus

    @property
    def consensus(self) -> bytes:
        """The best-scoring site."""
        return bytes(BASES[c] for c in self.log_odds.argmax(axis=0))

    def key_column(self) -> int:
        """The column where the worst base costs the most score (the one to break)."""
        return int((self.log_odds.max(axis=0) - self.log_odds.min(axis=0)).argmax())


def _as_bytes(seq: bytes | str) -> bytes:
    return seq.encode("ascii") if isinstance(seq, str) else bytes(seq)


def read_jaspar(path: str | os.PathLike[str]) -> list[Motif]:
    """Read JASPAR-format matrices (``>ID NAME`` then rows ``A [ ... ]``..``T [ ... ]``)."""
    path = Path(path)
    motifs: list[Motif] = []
    header: tuple[str, str, int] | None = None
    rows: dict[str, list[float]] = {}

    def finish() -> None:
        if header is None:
            return
        matrix_id, name, line_no = header
        if sorted(rows) != list("ACGT"):
            raise ValueError(
                f"{path}:{line_no}: matrix {matrix_id} needs rows A, C, G and T, "
                f"found {', '.join(sorted(rows)) or 'none'}"
            )
        widths = {len(v) for v in rows.values()}
        if len(widths) != 1 or 0 in widths:
            raise ValueError(f"{path}:{line_no}: rows of {matrix_id} differ in length or are empty")
        counts = np.array([rows[b] for b in "ACGT"], dtype=np.float64)
        if (counts < 0).any() or (counts.sum(axis=0) <= 0).any():
            raise ValueError(f"{path}:{line_no}: {matrix_id} has negative or all-zero columns")
        motifs.append(Motif(matrix_id, name, counts))

    with open(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            if text.startswith(">"):
                finish()
                match = _HEADER.match(text)
                if match is None:
                    raise ValueError(f"{path}:{line_no}: header needs '>ID NAME', got '{text}'")
                header, rows = (match.group(1), match.group(2), line_no), {}
                continue
            match = _ROW.match(text)
            if match is None or header is None:
                raise ValueError(
                    f"{path}:{line_no}: expected a row like 'A [ 1 2 3 ]' after a '>' header, "
                    f"got '{text}'"
                )
            try:
                rows[match.group(1)] = [float(v) for v in match.group(2).split()]
            except ValueError:
                raise ValueError(f"{path}:{line_no}: non-numeric count in '{text}'") from None
    finish()
    if not motifs:
        raise ValueError(f"{path}: no JASPAR matrices found")
    return motifs


#: the JASPAR 2024 matrices shipped with crossreg (see ``data/README.md``)
BUNDLED_JASPAR = resources.files("crossreg.synth") / "data" / "jaspar2024_selected.jaspar"


def bundled_motifs() -> dict[str, Motif]:
    """The JASPAR 2024 matrices shipped with crossreg (:data:`BUNDLED_JASPAR`), by TF name."""
    with resources.as_file(BUNDLED_JASPAR) as path:
        return {m.name: m for m in read_jaspar(path)}
