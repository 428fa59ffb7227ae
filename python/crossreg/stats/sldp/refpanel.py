"""Truncated eigendecompositions of each LD block's print-SNP LD (``preprocessrefpanel``),
cached on disk per chromosome and reused across annotations and phenotypes."""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from crossreg.io.atomic import atomic_write
from crossreg.stats.sldp.panel import ChromPanel, LdBlocks

CACHE_VERSION = "sldp-refpanel-1"
log = logging.getLogger("crossreg")


@dataclass(frozen=True)
class Spectrum:
    """Kept eigenvectors (print SNPs × k) and eigenvalues (k) of one block's R_oo, and
    the same for its R2 = X_oᵀX_B X_BᵀX_o/N² (used by no supported weight mode's
    numbers, kept for comparison with the reference's ``.R2.npz``)."""

    u: npt.NDArray[np.float64]
    svs: npt.NDArray[np.float64]
    r2_u: npt.NDArray[np.float64]
    r2_svs: npt.NDArray[np.float64]


def truncation_rank(svs: npt.NDArray[np.float64], percent: float) -> int:
    """The reference's k: the first index where the cumulative share of the spectrum
    reaches `percent`; that component is dropped (k = 0 when the first alone does)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return int(np.argmax(np.cumsum(svs) / svs.sum() >= percent / 100.0))


def kept_eigenpairs(
    matrix: npt.NDArray[np.float64], percent: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The eigenvectors (columns) and eigenvalues (descending) of a symmetric positive
    semi-definite `matrix` kept by :func:`truncation_rank`; rounding below 0 is taken as 0.
    Copies, so that the dropped eigenvectors are not held in memory with a chromosome's
    spectra."""
    values, vectors = np.linalg.eigh(matrix)
    values = np.maximum(values[::-1], 0.0)
    k = truncation_rank(values, percent)
    return vectors[:, ::-1][:, :k].copy(), values[:k].copy()


def kept_right_eigenpairs(
    z: npt.NDArray[np.float64], percent: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The kept eigenpairs of zᵀz from the smaller of zᵀz and zzᵀ: with more columns than
    rows the eigenvectors are zᵀv/√λ for zzᵀ's kept eigenpairs (v, λ), all λ > 0 unless
    none is kept."""
    if z.shape[1] <= z.shape[0]:
        return kept_eigenpairs(z.T.dot(z), percent)
    vectors, values = kept_eigenpairs(z.dot(z.T), percent)
    return z.T.dot(vectors) / np.sqrt(values), values


def block_spectrum(
    x: npt.NDArray[np.float64], printed: npt.NDArray[np.bool_], percent: float
) -> Spectrum:
    """Spectrum of one block from its standardised genotypes (samples × block SNPs).

    The reference takes an SVD of X_oᵀ and a full SVD of the print SNPs × print SNPs
    R2 = X_oᵀ G X_o/N² (G = X Xᵀ); the same kept eigenpairs (eigenvectors up to sign) come
    from eigendecompositions no larger than samples × samples: R_oo = zᵀz with z = X_o/√N,
    and with more print SNPs than samples R2 = zᵀz with z = D^½ Eᵀ X_o/N for G = E D Eᵀ."""
    x_o = x[:, printed]
    n = x.shape[0]
    u, svs = kept_right_eigenpairs(x_o / np.sqrt(n), percent)
    gram = x.dot(x.T)
    if x_o.shape[1] <= n:
        r2_u, r2_svs = kept_eigenpairs(x_o.T.dot(gram).dot(x_o) / n**2, percent)
    else:
        g_values, g_vectors = np.linalg.eigh(gram)
        root = np.sqrt(np.maximum(g_values, 0.0))
        r2_u, r2_svs = kept_right_eigenpairs(root[:, None] * g_vectors.T.dot(x_o) / n, percent)
    return Spectrum(u, svs, r2_u, r2_svs)


def cache_key(panel: ChromPanel, blocks: LdBlocks, percent: float) -> str:
    """Hash of the panel files' content, the print SNPs, the blocks file and `percent`."""
    digest = hashlib.sha256(CACHE_VERSION.encode())
    for path in [*panel.files, blocks.path]:
        with open(path, "rb") as handle:
            for piece in iter(lambda: handle.read(1 << 24), b""):
                digest.update(piece)
        digest.update(b"\0")
    digest.update(np.packbits(panel.printed).tobytes())
    digest.update(repr(float(percent)).encode())
    return digest.hexdigest()[:24]


def _pack(spectra: dict[int, Spectrum]) -> dict[str, npt.NDArray]:
    ids = np.array(sorted(spectra), dtype=np.int64)
    parts = [spectra[i] for i in ids]
    packed: dict[str, npt.NDArray] = {"ids": ids}
    for name in ("u", "r2_u"):
        packed[f"{name}_shape"] = np.array([getattr(p, name).shape for p in parts]).reshape(-1, 2)
        packed[name] = np.concatenate([getattr(p, name).ravel() for p in parts] or [np.zeros(0)])
    for name in ("svs", "r2_svs"):
        packed[name] = np.concatenate([getattr(p, name) for p in parts] or [np.zeros(0)])
    return packed


def _unpack(packed: dict[str, npt.NDArray]) -> dict[int, Spectrum]:
    spectra = {}
    cursors = dict.fromkeys(("u", "r2_u", "svs", "r2_svs"), 0)
    for row, block in enumerate(packed["ids"].tolist()):
        fields = {}
        for name, svs in (("u", "svs"), ("r2_u", "r2_svs")):
            o, k = packed[f"{name}_shape"][row]
            fields[name] = packed[name][cursors[name] : cursors[name] + o * k].reshape(o, k)
            fields[svs] = packed[svs][cursors[svs] : cursors[svs] + k]
            cursors[name] += o * k
            cursors[svs] += k
        spectra[block] = Spectrum(**fields)
    return spectra


# what numpy raises on a damaged .npz: truncated or not a zip, text, empty, other arrays
UNREADABLE: tuple[type[Exception], ...] = (
    OSError, ValueError, KeyError, IndexError, TypeError, EOFError, zipfile.BadZipFile, zlib.error,
)  # fmt: skip


def _read_cache(path: Path, panel: ChromPanel) -> dict[int, Spectrum] | None:
    """The spectra cached in `path`, or None (with a warning naming it) when it cannot be
    read or does not fit the panel's blocks (a damaged or truncated file): recomputed."""
    try:
        with np.load(path) as packed:
            spectra = _unpack(dict(packed))
        _check_fits(spectra, panel)
    except UNREADABLE as error:
        log.warning(
            "%s: unreadable LD-spectrum cache entry (%s: %s); computing the spectra again "
            "and rewriting it",
            path,
            type(error).__name__,
            error,
        )
        return None
    return spectra


def _check_fits(spectra: dict[int, Spectrum], panel: ChromPanel) -> None:
    """Raise ValueError unless `spectra` holds one spectrum per block of `panel` with print
    SNPs, each with one eigenvector row per print SNP."""
    expected = {}
    for block, start, stop in zip(
        panel.block_ids, panel.block_start, panel.block_stop, strict=True
    ):
        printed = int(panel.printed[start:stop].sum())
        if printed:
            expected[int(block)] = printed
    if set(spectra) != set(expected):
        raise ValueError("its blocks are not the panel's blocks with print SNPs")
    for block, spectrum in spectra.items():
        rows = (spectrum.u.shape[0], spectrum.r2_u.shape[0])
        sizes = (spectrum.svs.shape[0], spectrum.r2_svs.shape[0])
        if rows != (expected[block],) * 2 or sizes != (spectrum.u.shape[1], spectrum.r2_u.shape[1]):
            raise ValueError(f"block {block}'s arrays do not fit its {expected[block]} print SNPs")


def cache_path(
    panel: ChromPanel, blocks: LdBlocks, percent: float, cache: str | os.PathLike[str] | None
) -> Path | None:
    """``{cache}/{chrom}.{key}.npz`` for the panel's spectra, or None without a cache."""
    return Path(cache) / f"{panel.chrom}.{cache_key(panel, blocks, percent)}.npz" if cache else None


def read_cached_spectra(path: Path | None, panel: ChromPanel) -> dict[int, Spectrum] | None:
    """The spectra cached in `path` when it is there and readable, else None (a damaged
    entry is warned about, and is to be recomputed and replaced)."""
    if path is None or not path.exists():
        return None
    cached = _read_cache(path, panel)
    if cached is not None:
        log.info("%s: LD spectra from %s", panel.label, path)
    return cached


def write_cached_spectra(path: Path | None, spectra: dict[int, Spectrum]) -> None:
    """Write `spectra` to `path` atomically (nothing without a cache)."""
    if path is not None:
        with atomic_write(path, "wb") as handle:
            np.savez(handle, **_pack(spectra))  # type: ignore[arg-type]
