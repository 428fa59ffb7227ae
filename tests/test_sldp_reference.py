"""crossreg sldp against the reference package sldp 1.1.5 run on tests/data/sldp/inputs
(outputs in tests/data/sldp/reference, made by tests/data/sldp/make_reference.sh): every
number within 1e-9 relative, the sign-flip z and p exactly (same seed, same order)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from crossreg.stats.sldp.annotations import ChromAnnotations, read_sannot, signed_ld_profiles
from crossreg.stats.sldp.heritability import estimate_h2g
from crossreg.stats.sldp.inputs import read_print_snps
from crossreg.stats.sldp.ldscores import read_ldscores
from crossreg.stats.sldp.panel import ChromPanel, LdBlocks, load_chrom_panel, read_ld_blocks
from crossreg.stats.sldp.plink import standardized_genotypes
from crossreg.stats.sldp.refpanel import Spectrum, block_spectrum
from crossreg.stats.sldp.run import write_sldp
from crossreg.stats.sldp.sumstats import read_sumstats
from crossreg.stats.sldp.weights import block_weights

DATA = Path(__file__).parent / "data" / "sldp"
INPUTS = DATA / "inputs"
REFERENCE = DATA / "reference"
PHENOS = ("pheno_a", "pheno_b")
CONFIGS = {
    "h.bg": ("Winv_ahat_h", True),
    "h.nobg": ("Winv_ahat_h", False),
    "I.bg": ("Winv_ahat_I", True),
}
RTOL = 1e-9

pytestmark = pytest.mark.skipif(not REFERENCE.exists(), reason="no reference fixtures")


def close(ours, theirs, rtol: float = RTOL) -> None:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    scale = np.max(np.abs(theirs)) if theirs.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale * 1e-3)


def read_tsv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, separator="\t", null_values=["nan", ""])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sldp_ref")
    out = {}
    for config, (weights, background) in CONFIGS.items():
        out[config] = root / config
        write_sldp(
            str(INPUTS / "panel."), INPUTS / "print_snps.txt", INPUTS / "blocks.bed",
            str(INPUTS / "ld."), out[config],
            sumstats=[INPUTS / f"{p}.sumstats.gz" for p in PHENOS],
            sannot_chr=[str(INPUTS / "annot.")],
            background_sannot_chr=[str(INPUTS / "bg.")] if background else [],
            seed=0, flips=1_000_000, jk_blocks=25, weights=weights, ld_cache=root / "cache",
            verbose_thresh=1.0,
        )  # fmt: skip
    return out


@pytest.mark.parametrize("config", CONFIGS)
def test_results_match_the_reference(runs, config):
    ours = read_tsv(runs[config] / "results.tsv")
    for pheno in PHENOS:
        theirs = read_tsv(REFERENCE / "sldp" / f"{pheno}.{config}.gwresults")
        mine = ours.filter(pl.col("pheno") == pheno)
        assert mine["annot"].to_list() == [a.removesuffix(".R") for a in theirs["annot"]]
        # p exactly (same draws, same counts); z = score/(|score|/√χ²⁻¹(p)) differs from
        # the reference's only in the last bits of the score sum
        assert mine["p"].to_list() == theirs["p"].to_list()
        assert (np.sign(mine["z"]) == np.sign(theirs["z"])).all()
        close(mine["z"], theirs["z"], 1e-12)
        pairs = {
            "z_fast": "z_fast", "p_fast": "p_fast", "mu": "mu", "se_mu": "se(mu)", "h2g": "h2g",
            "r_f": "rf", "h2v_h2g": "h2v/h2g", "h2v": "h2v", "supp_frac": "supp(v)/M",
        }  # fmt: skip
        for column, reference in pairs.items():
            close(mine[column], theirs[reference])


@pytest.mark.parametrize("config", CONFIGS)
def test_chunks_match_the_reference(runs, config):
    for pheno in PHENOS:
        for annot in ("pred1", "pred2", "sparse"):
            ours = read_tsv(runs[config] / "chunks" / pheno / f"{annot}.tsv")
            theirs = read_tsv(REFERENCE / "sldp" / f"{pheno}.{config}.{pheno}.{annot}.R.chunks.gz")
            assert ours.columns == theirs.columns
            for column in ("ldblock_begin", "ldblock_end", "bp_begin", "bp_end", "numsnps"):
                assert ours[column].cast(float).to_list() == theirs[column].cast(float).to_list()
            for column in ("snpind_begin", "snpind_end"):
                assert ours[column].cast(float).to_list() == theirs[column].cast(float).to_list()
            assert ours["chr_begin"].to_list() == theirs["chr_begin"].to_list()
            close(ours["q"], theirs["q"], 1e-8)
            close(ours["r"], theirs["r"], 1e-8)


def test_heritability_matches_the_reference(runs):
    summary = json.loads((runs["h.bg"] / "summary.json").read_text())
    for pheno in PHENOS:
        theirs = read_tsv(REFERENCE / "pheno" / f"{pheno}.KG3.95" / "info")
        mine = summary["phenotypes"][pheno]
        for key in ("h2g", "sigma2g", "Nbar"):
            close(mine[key], theirs[key])


@pytest.fixture(scope="module")
def world():
    printed = read_print_snps(INPUTS / "print_snps.txt")
    blocks = read_ld_blocks(INPUTS / "blocks.bed")
    panels = {c: load_chrom_panel(str(INPUTS / "panel."), c, printed, blocks) for c in ("1", "22")}
    return printed, blocks, panels


def chrom_spectra(panel: ChromPanel, blocks: LdBlocks) -> dict[int, Spectrum]:
    """The spectrum of every block of `panel` with print SNPs, by block id, from its
    standardised genotypes (as write_sldp's block loop computes them)."""
    spectra = {}
    rows = zip(panel.block_ids, panel.block_start, panel.block_stop, strict=True)
    for block, start, stop in rows:
        printed = panel.printed[start:stop]
        if printed.any():
            x = standardized_genotypes(panel.bed, panel.n_samples, len(panel.bim), start, stop)
            spectra[int(block)] = block_spectrum(x, printed, 95.0)
    return spectra


def test_spectra_ranks_and_eigenvalues_match_the_reference(world):
    _, blocks, panels = world
    svd = np.load(REFERENCE / "svd.npz")
    seen = 0
    for panel in panels.values():
        for block, spectrum in chrom_spectra(panel, blocks).items():
            assert spectrum.u.shape[1] == int(svd[f"R_{block}_k"])
            assert spectrum.r2_u.shape[1] == int(svd[f"R2_{block}_k"])
            close(spectrum.svs, svd[f"R_{block}_svs"])
            close(spectrum.r2_svs, svd[f"R2_{block}_svs"])
            if f"R_{block}_U" in svd:  # eigenvectors up to sign
                theirs = svd[f"R_{block}_U"]
                signs = np.sign((spectrum.u * theirs).sum(axis=0))
                close(spectrum.u * signs, theirs, 1e-7)
            seen += 1
    assert seen == sum(1 for k in svd.files if k.startswith("R_") and k.endswith("_k"))


def test_profiles_and_info_match_the_reference(world):
    _, _, panels = world
    for chrom, panel in panels.items():
        tables = [read_sannot(INPUTS / f"annot.{chrom}.sannot.gz")]
        annotations = ChromAnnotations(panel, tables, [t.align(panel) for t in tables])
        rv = np.zeros((len(panel.bim), len(tables[0].names)))
        for start, stop in zip(panel.block_start, panel.block_stop, strict=True):
            mask = panel.printed[start:stop]
            if mask.any():
                x = standardized_genotypes(panel.bed, panel.n_samples, len(panel.bim), start, stop)
                rv[np.arange(start, stop)[mask]] = signed_ld_profiles(
                    x, mask, annotations.values(start, stop)
                )
        theirs = read_tsv(REFERENCE / "annot" / f"annot.{chrom}.RV.gz")
        assert theirs["SNP"].to_list() == panel.bim.snp[panel.printed].tolist()
        for k, name in enumerate(tables[0].names):
            close(annotations.values(0, len(panel.bim))[panel.printed, k], theirs[name])
            close(rv[panel.printed, k], theirs[f"{name}.R"])
        info = read_tsv(REFERENCE / "annot" / f"annot.{chrom}.info")
        mine = annotations.info()
        for field in ("M", "M_5_50", "sqnorm", "sqnorm_5_50", "supp", "supp_5_50"):
            close(mine[field], info[field])


def test_weighted_sumstats_match_the_reference(world):
    printed, blocks, panels = world
    ld = read_ldscores(str(INPUTS / "ld."))
    for pheno in PHENOS:
        stats = read_sumstats(INPUTS / f"{pheno}.sumstats.gz", printed)
        sigma2g = estimate_h2g(stats, ld).sigma2g
        for chrom, panel in panels.items():
            _, z, n = stats.align(panel)
            ahat = z / np.sqrt(n)
            winv = np.full(len(panel.bim), np.nan)
            for block, spectrum in chrom_spectra(panel, blocks).items():
                i = int(np.nonzero(panel.block_ids == block)[0][0])
                rows = np.arange(panel.block_start[i], panel.block_stop[i])
                rows = rows[panel.printed[rows]]
                if np.isnan(ahat[rows]).all():
                    continue
                w = block_weights(spectrum, ahat[rows], n[rows], sigma2g, "Winv_ahat_h")
                winv[rows[w.typed]] = w.winv_ahat
            theirs = read_tsv(REFERENCE / "pheno" / f"{pheno}.KG3.95" / f"{chrom}.pss.gz")
            mine = winv[panel.printed]
            reference = theirs["Winv_ahat_h"].to_numpy()
            assert (np.isnan(mine) == np.isnan(reference)).all()
            close(mine[~np.isnan(mine)], reference[~np.isnan(reference)])
            close(n[panel.printed][~np.isnan(mine)], theirs["N"].to_numpy()[~np.isnan(reference)])


def test_planted_effect_is_recovered_and_the_null_is_not(runs):
    truth = json.loads((INPUTS / "world.json").read_text())["truth"]
    ours = read_tsv(runs["h.bg"] / "results.tsv").filter(pl.col("annot") == "pred1")
    planted = ours.filter(pl.col("pheno") == "pheno_a").row(0, named=True)
    null = ours.filter(pl.col("pheno") == "pheno_b").row(0, named=True)
    assert truth["pheno_a"]["mu_pred1"] > 0 and truth["pheno_b"]["mu_pred1"] == 0
    assert abs(planted["mu"] - truth["pheno_a"]["mu_pred1"]) < 3 * planted["se_mu"]
    assert planted["z"] > 3 and planted["p"] < 1e-3
    assert null["p"] > 0.05 and abs(null["mu"]) < 3 * null["se_mu"]
