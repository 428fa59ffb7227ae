"""The weighted statistics W⁻¹α̂ of a phenotype over one LD block (§4.4)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from crossreg.stats.sldp.refpanel import Spectrum

WEIGHTS = ("Winv_ahat_h", "Winv_ahat_I")


@dataclass(frozen=True)
class BlockWeights:
    """A block's weighting for one phenotype: the typed print SNPs, W⁻¹α̂ at them, and the
    basis B (typed × k) and divisors c (k) with W⁻¹ = B diag(1/c) Bᵀ (for ``Winv_ahat_I``,
    B is None: W⁻¹ = I)."""

    typed: npt.NDArray[np.bool_]
    winv_ahat: npt.NDArray[np.float64]
    basis: npt.NDArray[np.float64] | None
    divisors: npt.NDArray[np.float64] | None


def block_weights(
    spectrum: Spectrum,
    ahat: npt.NDArray[np.float64],
    n: npt.NDArray[np.float64],
    sigma2g: float,
    mode: str,
) -> BlockWeights:
    """W⁻¹α̂ over a block's print SNPs (§4.4): typed = α̂ present; N_b = mean N over
    them; W⁻¹ ≈ U_t diag(1/(σ²_g λ² + λ/N_b)) U_tᵀ (``Winv_ahat_h``) or I."""
    typed = ~np.isnan(ahat)
    if mode == "Winv_ahat_I":
        return BlockWeights(typed, ahat[typed], None, None)
    u = spectrum.u[typed, :]
    svs = spectrum.svs
    divisors = sigma2g * svs**2 + svs / n[typed].mean()
    return BlockWeights(typed, (u / divisors).dot(u.T.dot(ahat[typed])), u, divisors)
