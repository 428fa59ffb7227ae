"""The PLINK 1 binary genotype format (SNP-major ``.bed``): its magic bytes, the 2-bit
codes of one byte, and the packing of a genotype matrix.

Codes per individual (first individual in the low bits of a byte), as A1 counts:
``00`` two copies of A1, ``10`` one, ``11`` none, ``01`` missing.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BED_MAGIC = bytes([0x6C, 0x1B, 0x01])  # PLINK 1 .bed, SNP-major

# A1 count 0, 1, 2, and -1 (missing, the last entry) -> 2-bit code
_CODE_OF_COUNT = np.array([0b11, 0b10, 0b00, 0b01], dtype=np.uint8)

# byte -> its four genotypes as A2 counts (the reference's reading): hom A1 -> 0,
# missing -> NaN, het -> 1, hom A2 -> 2
_A2_COUNT_OF_CODE = np.array([0.0, np.nan, 1.0, 2.0])
BYTE_TABLE = _A2_COUNT_OF_CODE[(np.arange(256)[:, None] >> (2 * np.arange(4))[None, :]) & 3]


def pack_bed(a1_counts: npt.NDArray[np.integer]) -> bytes:
    """``.bed`` bytes (magic included) of ``(individuals, snps)`` A1 counts (−1: missing)."""
    n, m = a1_counts.shape
    codes = np.zeros((m, -(-n // 4) * 4), dtype=np.uint8)
    codes[:, :n] = _CODE_OF_COUNT[np.asarray(a1_counts).T]
    quads = codes.reshape(m, -1, 4)
    packed = quads[..., 0] | quads[..., 1] << 2 | quads[..., 2] << 4 | quads[..., 3] << 6
    return BED_MAGIC + packed.tobytes()
