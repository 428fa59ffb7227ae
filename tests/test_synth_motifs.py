"""JASPAR matrices shipped with crossreg.synth: parsing, scoring, sampling."""

from __future__ import annotations

import numpy as np
import pytest

from crossreg.dna import reverse_complement
from crossreg.synth.motifs import BACKGROUND, bundled_motifs, read_jaspar
from crossreg.synth.planting import broken_site

EXPECTED = {
    "CTCF": ("MA0139.2", 15),
    "YY1": ("MA0095.2", 12),
    "Nrf1": ("MA0506.3", 12),
    "SP1": ("MA0079.5", 9),
    "NFYA": ("MA0060.4", 8),
    "TBP": ("MA0108.3", 7),
    "HNF4A": ("MA0114.5", 9),
    "HNF1A": ("MA0046.3", 13),
    "FOXA2": ("MA0047.4", 8),
    "CEBPB": ("MA0466.4", 10),
    "GATA1": ("MA0035.4", 11),
    "GATA1::TAL1": ("MA0140.2", 18),
    "Spi1": ("MA0080.7", 13),
    "MYOD1": ("MA0499.3", 9),
    "REST": ("MA0138.3", 20),
    "FOS::JUN": ("MA0099.3", 10),
    "CREB1": ("MA0018.4", 13),
}


def test_bundled_matrices():
    motifs = bundled_motifs()
    assert {n: (m.matrix_id, m.length) for n, m in motifs.items()} == EXPECTED
    ctcf = motifs["CTCF"].counts
    assert ctcf[:, 0].tolist() == [281, 49, 449, 134]  # column 1 of MA0139.2 (A, C, G, T)
    assert motifs["SP1"].counts[0, 0] == pytest.approx(1.055)
    assert motifs["CTCF"].consensus == b"GCCACCAGGGGGCGC"


def test_score_matches_plain_log_odds_and_scan():
    rng = np.random.default_rng(3)
    for motif in bundled_motifs().values():
        probs = motif.counts / motif.counts.sum(axis=0) + 0.01
        probs /= probs.sum(axis=0)
        seq = bytes(rng.choice(list(b"ACGT"), size=motif.length + 6).tolist())
        scan = motif.scan(seq)
        for k in range(7):
            site = seq[k : k + motif.length]
            plain = sum(
                np.log(probs["ACGT".index(chr(b)), j] / BACKGROUND["ACGT".index(chr(b))])
                for j, b in enumerate(site)
            )
            assert motif.score(site) == pytest.approx(plain)
            assert scan[0, k] == pytest.approx(plain)
            assert scan[1, k] == pytest.approx(motif.score(reverse_complement(site)))
            assert motif.score(site, -1) == pytest.approx(motif.score(reverse_complement(site)))


def test_sampled_sites_bind_and_broken_sites_do_not():
    rng = np.random.default_rng(0)
    for motif in bundled_motifs().values():
        for _ in range(5):
            site = motif.sample(rng)
            assert motif.score(site) >= motif.max_score - 1.5
            assert motif.occupancy(motif.score(site)) > 0.9
            broken = broken_site(motif, site)
            assert sum(a != b for a, b in zip(site, broken, strict=True)) <= 1
            assert motif.occupancy(motif.score(broken)) < motif.occupancy(motif.score(site)) - 0.3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (">M1 X\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 2 ]\n", r"m\.jaspar:1: matrix M1 needs rows A, C, G"),
        (">M1 X\nA [ 1 2 ]\nC [ 1 ]\nG [ 1 2 ]\nT [ 1 2 ]\n", "differ in length"),
        (">M1 X\nA [ 1 z ]\n", r"m\.jaspar:2: non-numeric count"),
        ("A [ 1 2 ]\n", r"m\.jaspar:1: expected a row"),
        ("", "no JASPAR matrices"),
    ],
)
def test_jaspar_errors(tmp_path, text, message):
    path = tmp_path / "m.jaspar"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_jaspar(path)


@pytest.mark.parametrize(("preset", "seed"), [("tiny", 123456789), ("mini", 0)])
def test_every_planted_site_scores_in_the_genome_as_recorded(preset, seed):
    # before: a gene's promoter could be laid over the previous gene's enhancer, and its
    # sites overwrote the enhancer's after their scores were recorded (truth went stale:
    # 2 sites of the tiny world of this seed, 14 and 11 of the mini one's genomes)
    from crossreg.synth.elements import lay_out, lay_out_private
    from crossreg.synth.genomes import build_species, make_ancestor
    from crossreg.synth.planting import plant
    from crossreg.synth.presets import PRESETS
    from crossreg.synth.species import species_of
    from crossreg.synth.world import rng_for

    config, motifs = PRESETS[preset], bundled_motifs()
    ancestor = make_ancestor(rng_for(seed, "ancestor"), config)
    species = species_of(2)
    layout = lay_out(rng_for(seed, "layout"), config, ancestor, tuple(s.name for s in species))
    for kind in species:
        genome = build_species(
            rng_for(seed, f"{kind.name}/genome"), config, ancestor, kind.name,
            rearrange=kind.rearranged,
        )  # fmt: skip
        lay_out_private(rng_for(seed, f"{kind.name}/private"), config, genome, layout)
        sites = plant(rng_for(seed, f"{kind.name}/motifs"), layout, genome, motifs)
        for site in sites:
            written = genome.sequences[site.chrom][site.start : site.end].tobytes()
            assert motifs[site.tf].score(written, site.strand) == pytest.approx(site.score)


def test_planting_stops_at_sites_that_would_overwrite_each_other():
    from crossreg.synth.planting import Site, _check_apart

    def site(element: str, start: int) -> Site:
        return Site(element, "YY1", "chr1", start, start + 12, 1, 5.0, 0.5, False)

    _check_apart([site("E1", 0), site("E2", 12), site("P1", 100)])
    with pytest.raises(RuntimeError, match="the YY1 site of P1 at chr1:11 overlaps the YY1 "):
        _check_apart([site("P1", 11), site("E1", 0), site("E2", 40)])
