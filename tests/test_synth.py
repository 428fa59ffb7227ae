"""crossreg synth: determinism, the manifest contract, every file parses, planted truth holds."""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyBigWig
import pyfaidx
import pytest

from crossreg.cli import main
from crossreg.dna import reverse_complement
from crossreg.genome import Genome
from crossreg.io.bed import read_bed
from crossreg.io.gtf import gene_tss, read_gtf
from crossreg.io.targets_read import read_targets
from crossreg.io.vcf import read_vcf
from crossreg.runlog import RUNS_FILE
from crossreg.synth import PRESETS, synthesize
from crossreg.synth.cells import CORE_PROMOTER_TF, GENERAL_PROMOTER_TFS, PROGRAMS, track_specs
from crossreg.synth.elements import CORE_GAP_BP, lay_out
from crossreg.synth.genomes import build_species, make_ancestor
from crossreg.synth.motifs import bundled_motifs
from crossreg.synth.planting import plant
from crossreg.synth.regulation import Regulation
from crossreg.synth.species import species_of
from crossreg.synth.tracks import BIN_BP, DISPERSION_SHAPE, TrackSynthesizer
from crossreg.synth.world import rng_for
from tests.formats_doc import section, unnamed

CONTRACT_KEYS = {"fasta", "sizes", "gaps", "blacklist", "unmappable", "targets", "gtf", "vcf"}
ASSAY_SETTINGS = {  # (genome, assay) -> (clip, scale, sum_stat), as in the paper's tables
    ("human", "DNASE"): (32, 2, "mean"),
    ("human", "ATAC"): (64, 1, "sum"),
    ("human", "CAGE"): (384, 1, "sum"),
    ("mouse", "DNASE"): (32, 2, "mean"),
    ("mouse", "ATAC"): (32, 4, "mean"),
    ("mouse", "CAGE"): (384, 1, "sum"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world_a")
    synthesize(out, "tiny", 7)
    return out


@pytest.fixture(scope="module")
def manifest(world) -> dict:
    return json.loads((world / "manifest.json").read_text())


@pytest.fixture(scope="module")
def world_of_three(tmp_path_factory) -> Path:
    """Human, mouse and rat: two rearranged genomes, so one net has a rearranged target."""
    out = tmp_path_factory.mktemp("world_3")
    synthesize(out, "tiny", 7, cohort_sets=False, genomes=3)
    return out


def _tsv(path: Path) -> list[dict[str, str]]:
    lines = path.read_text().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_bytes_and_other_seed_differs(world, tmp_path):
    again = tmp_path / "again"
    assert main(["synth", "--preset", "tiny", "--seed", "7", "--out", str(again)]) == 0
    first, second = _hashes(world), _hashes(again)
    assert second.pop(RUNS_FILE)  # the command's own record: its time and versions
    assert len(first) > 90
    assert first == second  # BigWigs, FASTA, tables: nothing embeds a time or a path
    other = tmp_path / "other"
    synthesize(other, "tiny", 8, cohort_sets=False)
    third = _hashes(other)
    for name in (
        "human/genome.fa",
        "mouse/genome.fa",
        "human.mouse.net",
        "human/tracks/hs_DNASE_liver.bw",
        "mouse/variants.vcf",
    ):
        assert third[name] != first[name], name


def test_a_world_is_replaced_whole_and_only_when_asked(world_of_three, tmp_path, monkeypatch):
    out = tmp_path / "w"
    shutil.copytree(world_of_three, out)
    before = _hashes(out)
    with pytest.raises(ValueError, match="already holds a synthetic world; pass --overwrite"):
        synthesize(out, "tiny", 8, cohort_sets=False)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:  # stopped after the genomes, before the nets
        patch.setattr("crossreg.synth.world.write_net", interrupted)
        with pytest.raises(KeyboardInterrupt):
            synthesize(out, "tiny", 8, cohort_sets=False, overwrite=True)
    assert _hashes(out) == before  # the old world, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]  # no partial world left

    synthesize(out, "tiny", 8, cohort_sets=False, overwrite=True)
    assert not (out / "rat").exists() and not list(out.glob("*rat*"))
    assert json.loads((out / "manifest.json").read_text())["seed"] == 8


def test_manifest_contract(world, manifest):
    assert set(manifest["genomes"]) == {"human", "mouse"}
    for name, entry in manifest["genomes"].items():
        assert set(entry) >= CONTRACT_KEYS
        for key, value in entry.items():
            if isinstance(value, str):
                assert not Path(value).is_absolute()
                assert (world / value).is_file(), (name, key)
    assert manifest["nets"] == [{"genomes": ["human", "mouse"], "file": "human.mouse.net"}]
    assert (world / manifest["nets"][0]["file"]).is_file()
    for key, value in manifest["cohorts"].items():
        if isinstance(value, str) and "/" in value:
            assert (world / value).is_file(), key


def test_every_file_parses(world, manifest):
    offset = 0
    for genome_index, (name, entry) in enumerate(manifest["genomes"].items()):
        fasta = pyfaidx.Fasta(str(world / entry["fasta"]))
        genome = Genome(world / entry["fasta"])
        sizes = dict(line.split("\t") for line in (world / entry["sizes"]).read_text().splitlines())
        sizes = {c: int(n) for c, n in sizes.items()}
        assert genome.sizes == sizes == {r.name: len(r) for r in fasta}
        assert sum(sizes.values()) < 1_000_000  # tiny: under 1 Mbp per genome
        assert str(fasta["chr1"][100:160]) == genome.fetch("chr1", 100, 160).decode()
        for key in ("gaps", "blacklist", "unmappable", "no_data"):
            assert read_bed(world / entry[key], sizes=sizes)
        for key in ("targets", "targets_noise_free", "targets_in_window"):
            table = read_targets(world / entry[key], check_files=True)
            assert [t.index for t in table] == list(range(offset, offset + len(table)))
            assert {t.extra["genome"] for t in table} == {str(genome_index)}
            assert {t.assay for t in table} == {"DNASE", "ATAC", "CHIP", "CAGE"}
            assert all(not f.startswith("/") for t in table for f in t.files)
            for t in table:
                expected = ASSAY_SETTINGS.get((name, t.assay), (32, 2, "mean"))
                if t.assay == "CHIP" and "H3K4me3" in t.description:
                    expected = (64, 1, "sum")
                assert (t.clip, t.scale, t.sum_stat) == expected, t.identifier
                for file in table.track_files(t):
                    bw = pyBigWig.open(str(file))
                    assert bw.chroms() == sizes
                    bw.close()
        offset += len(table)
        gtf = read_gtf(world / entry["gtf"])
        genes = {r.gene_id: r for r in gtf if r.feature == "gene"}
        assert genes and {r.feature for r in gtf} == {"gene", "transcript", "exon"}
        for r in gtf:
            gene = genes[r.gene_id]
            assert gene.start <= r.start < r.end <= gene.end <= sizes[r.chrom]
        variants = read_vcf(world / entry["vcf"], genome=genome)  # checks every REF
        assert len(variants) == 60


def test_gaps_are_the_n_runs(world, manifest):
    for entry in manifest["genomes"].values():
        genome = Genome(world / entry["fasta"])
        gaps = read_bed(world / entry["gaps"])
        for chrom, size in genome.sizes.items():
            seq = np.frombuffer(genome.fetch(chrom, 0, size), dtype=np.uint8)
            in_gap = np.zeros(size, dtype=bool)
            for iv in gaps:
                if iv.chrom == chrom:
                    in_gap[iv.start : iv.end] = True
            assert np.array_equal(seq == ord("N"), in_gap)


def _read_net(path: Path) -> list[tuple[str, list[str], list[list[str]], list[list[str]]]]:
    """Top-level fills of a .net file as (t_chrom, fill fields, gap fields, nested fills)."""
    fills: list[tuple[str, list[str], list[list[str]], list[list[str]]]] = []
    chrom = ""
    for line in path.read_text().splitlines():
        fields = line.split()
        if line.startswith("net "):
            chrom = fields[1]
        elif line.startswith(" fill "):
            assert fields[fields.index("type") + 1] == "top"
            fills.append((chrom, fields, [], []))
        elif line.startswith("  gap "):
            fills[-1][2].append(fields)
        elif line.startswith("   fill "):
            assert fields[fields.index("type") + 1] == "inv"
            fills[-1][3].append(fields)
        else:
            raise AssertionError(f"unexpected net line: {line!r}")
    return fills


def _net_blocks(path: Path) -> list[tuple[str, int, str, int, int, str]]:
    """Aligned blocks (t_chrom, t_start, q_chrom, q_start, length, q_strand) of a .net file.

    The blocks of a top-level fill are the stretches between its gaps; on the '-' strand
    the query walks down from the fill's end (query coordinates are forward-strand).
    """
    blocks = []
    for chrom, fill, gaps, nested in _read_net(path):
        t0, t_size, q_chrom, strand, q0, q_size = fill[1:7]
        q_first, q_last = int(q0), int(q0) + int(q_size)
        if strand == "-":  # the query walks down from the fill's end
            q_first, q_last = q_last, q_first
        t_bounds, q_bounds = [int(t0)], [q_first]
        for g in gaps:
            assert g[3] == q_chrom and g[4] == strand
            t_bounds += [int(g[1]), int(g[1]) + int(g[2])]
            q_gap = [int(g[5]), int(g[5]) + int(g[6])]
            q_bounds += q_gap if strand == "+" else q_gap[::-1]
        t_bounds.append(int(t0) + int(t_size))
        q_bounds.append(q_last)
        for k in range(0, len(t_bounds), 2):
            t_start, t_end = t_bounds[k], t_bounds[k + 1]
            q_start, q_end = sorted(q_bounds[k : k + 2])
            assert t_end - t_start == q_end - q_start
            blocks.append((chrom, t_start, q_chrom, q_start, t_end - t_start, strand))
        for f in nested:
            assert f[2] == f[6]
            blocks.append((chrom, int(f[1]), f[3], int(f[5]), int(f[2]), f[4]))
    return blocks


def test_net_agrees_with_sequences(world, manifest):
    _net_agrees_with_sequences(world, manifest, "human", "mouse")


def test_three_genomes_have_a_net_for_every_pair(world_of_three):
    manifest = json.loads((world_of_three / "manifest.json").read_text())
    assert list(manifest["genomes"]) == ["human", "mouse", "rat"]
    pairs = [tuple(net["genomes"]) for net in manifest["nets"]]
    assert pairs == [("human", "mouse"), ("human", "rat"), ("mouse", "rat")]
    for target, query in pairs:  # mouse.rat: both genomes rearranged
        _net_agrees_with_sequences(world_of_three, manifest, target, query)
    rat = manifest["genomes"]["rat"]
    assert {"liver", "macrophage"} <= set(rat["cell_types"])
    assert read_targets(world_of_three / rat["targets"]).identifiers[0].startswith("rn_")


def test_worlds_hold_two_to_four_genomes(tmp_path):
    with pytest.raises(ValueError, match="2 to 4 genomes, got 5"):
        synthesize(tmp_path, "tiny", 0, genomes=5)
    with pytest.raises(ValueError, match="unknown preset 'huge'; known: tiny, mini, small"):
        synthesize(tmp_path, "huge", 0)
    for seed in (-1, 1.5, True):
        with pytest.raises(ValueError, match=f"whole number from 0, got {seed}"):
            synthesize(tmp_path, "tiny", seed)
    assert not list(tmp_path.iterdir())
    with pytest.raises(SystemExit) as exit_:
        main(["synth", "--genomes", "1", "--out", str(tmp_path)])
    assert exit_.value.code == 2


def _net_agrees_with_sequences(world: Path, manifest: dict, target: str, query: str) -> None:
    """Every aligned block of the target.query net holds orthologous DNA (85% identical)
    and the blocks add up to the ancestral units."""
    human = Genome(world / manifest["genomes"][target]["fasta"])
    mouse = Genome(world / manifest["genomes"][query]["fasta"])
    blocks = _net_blocks(world / f"{target}.{query}.net")
    assert {b[5] for b in blocks} == {"+", "-"}
    identities = []
    aligned = 0
    for t_chrom, t_start, q_chrom, q_start, length, strand in blocks:
        if length == 0:
            continue
        t = human.fetch(t_chrom, t_start, t_start + length).upper()
        q = mouse.fetch(q_chrom, q_start, q_start + length).upper()
        if strand == "-":
            q = reverse_complement(q)
        same = np.frombuffer(t, np.uint8) == np.frombuffer(q, np.uint8)
        identities.append(same.mean())
        aligned += length
        shuffled = np.frombuffer(t, np.uint8) == np.frombuffer(q, np.uint8)[::-1]
        assert shuffled.mean() < 0.5
    identity = np.array(identities)
    assert identity.min() > 0.75
    # planted divergence 15% (plus motif sites sampled separately in each species)
    assert 0.82 < np.average(identity, weights=None) < 0.9
    units = _tsv(world / "orthology.tsv")
    assert sum(int(u["length"]) for u in units) == aligned


def _called_bp(genome: Genome) -> int:
    """Bases outside assembly gaps."""
    return sum(
        int((np.frombuffer(genome.fetch(c, 0, n), np.uint8) != ord("N")).sum())
        for c, n in genome.sizes.items()
    )


@pytest.mark.parametrize("world_name", ["world", "world_of_three"])
def test_turnover_and_aligned_fraction_match_the_preset(world_name, request):
    world = request.getfixturevalue(world_name)
    manifest = json.loads((world / "manifest.json").read_text())
    preset = PRESETS[manifest["preset"]]
    units = _tsv(world / "orthology.tsv")
    aligned = sum(int(u["length"]) for u in units)
    enhancers, sites = {}, {}
    for k, (name, entry) in enumerate(manifest["genomes"].items()):
        genome = Genome(world / entry["fasta"])
        # the share of each genome in ancestral units, gaps aside
        wanted = preset.aligned_fraction[min(k, 1)]  # rat and dog as mouse
        assert aligned / _called_bp(genome) == pytest.approx(wanted, abs=0.03)
        elements = _tsv(world / entry["regulatory_elements"])
        enhancers[name] = {e["element_id"]: e for e in elements if e["kind"] == "enhancer"}
        sites[name] = {s["element_id"] for s in _tsv(world / entry["motif_sites"])}
    spans = {
        name: [(u[f"{name}_chrom"], int(u[f"{name}_start"]), int(u[f"{name}_end"])) for u in units]
        for name in enhancers
    }
    for name, other in itertools.permutations(manifest["genomes"], 2):
        own = set(enhancers[name]) - set(enhancers[other])
        # half of each species' enhancers are its own (the other lost them, or it gained them)
        assert len(own) / len(enhancers[name]) == pytest.approx(preset.turnover, abs=0.06)
        assert not own & sites[other]  # their motif sites are planted in this species only
        gained = [
            e
            for k in own
            for e in [enhancers[name][k]]
            if not any(c == e["chrom"] and s <= int(e["start"]) < e_ for c, s, e_ in spans[name])
        ]
        # the gained ones lie in the species' inserted DNA, as many as were lost: a quarter
        # of the species' enhancers each
        assert 0.4 * len(own) < len(gained) < 0.6 * len(own)
        programs = {e["program"] for e in gained}
        assert len(programs) >= 4  # the same programmes (grammar) as the shared ones


MATCHED = ["liver", "erythroid", "macrophage", "muscle", "neuron", "tcell"]
DOCUMENTED_CELLS = {  # docs/steps/synth.md, "The world": six matched, two of each genome's own
    "human": [*MATCHED, "bcell", "keratinocyte"],
    "mouse": [*MATCHED, "megakaryocyte", "kidney"],
    "rat": [*MATCHED, "kidney", "bcell"],
    "dog": [*MATCHED, "keratinocyte", "megakaryocyte"],
}
# DNase in 5 cell types, ATAC in 1, CTCF, TF ChIP and H3K27ac in 4, H3K4me3, CAGE in all 8
DOCUMENTED_ASSAYS = {"DNASE": 5, "ATAC": 1, "CTCF": 1, "TF": 4, "H3K27ac": 4, "H3K4me3": 1}


def _assay_mix(descriptions: list[str]) -> Counter[str]:
    """How many tracks of each assay (TF ChIP of any factor counted as ``TF``)."""
    assays: Counter[str] = Counter()
    for d in descriptions:
        parts = d.split(":")
        if parts[0] != "CHIP":
            assays[parts[0]] += 1
        else:
            assays[parts[1] if parts[1] in ("CTCF", "H3K27ac", "H3K4me3") else "TF"] += 1
    return assays


def test_cell_types_and_tracks_per_genome(world, world_of_three):
    """Each genome's cell types and 24 tracks are the documented ones (dog's as it would
    write them: no world of four, for the tests' time), and each following genome's track
    indices continue after the one before."""
    written: dict[str, tuple[list[str], list[str], list[int]]] = {}
    for root in (world, world_of_three):
        manifest = json.loads((root / "manifest.json").read_text())
        for name, entry in manifest["genomes"].items():
            table = read_targets(root / entry["targets"])
            indices = [t.index for t in table]
            written[name] = (entry["cell_types"], table.descriptions, indices)
    dog = track_specs("dog", species_of(4)[-1].prefix)
    written["dog"] = (DOCUMENTED_CELLS["dog"], [s.description for s in dog], list(range(72, 96)))
    for k, (name, (cells, descriptions, indices)) in enumerate(written.items()):
        assert cells == DOCUMENTED_CELLS[name]
        assert indices == list(range(24 * k, 24 * (k + 1)))
        assert _assay_mix(descriptions) == {**DOCUMENTED_ASSAYS, "CAGE": 8}
        assert [d.split(":")[1] for d in descriptions if d.startswith("CAGE:")] == cells


def test_planted_motifs_score_where_the_truth_says(world, manifest):
    motifs = bundled_motifs()
    for entry in manifest["genomes"].values():
        genome = Genome(world / entry["fasta"])
        sites = _tsv(world / entry["motif_sites"])
        assert len(sites) > 100
        for s in sites:
            motif = motifs[s["tf"]]
            assert s["matrix_id"] == motif.matrix_id
            seq = genome.fetch(s["chrom"], int(s["start"]), int(s["end"]))
            strand = 1 if s["strand"] == "+" else -1
            score = motif.score(seq, strand)
            assert score == pytest.approx(float(s["score"]), abs=1e-3)
            if s["latent"] == "0":
                assert score >= motif.max_score - 1.5
            else:
                assert motif.occupancy(score) < 0.5
        # planted sites stand out: they beat 99.9% of the windows of a stretch of background
        # (elements masked: genes and their elements are a few kbp apart)
        chrom = sites[0]["chrom"]
        end = min(genome.sizes[chrom], 100_000)
        background = bytearray(genome.fetch(chrom, 0, end))
        for e in _tsv(world / entry["regulatory_elements"]):
            if e["chrom"] == chrom and int(e["start"]) < end:
                start, stop = int(e["start"]), min(int(e["end"]), end)
                background[start:stop] = b"N" * (stop - start)
        for tf in {s["tf"] for s in sites}:
            scores = motifs[tf].scan(bytes(background))
            cutoff = np.quantile(scores[np.isfinite(scores)], 0.999)
            planted = [float(s["score"]) for s in sites if s["tf"] == tf and s["latent"] == "0"]
            assert min(planted) > cutoff, tf


def test_the_gtf_gives_each_gene_its_planted_tss(world, manifest):
    """The TSS crossreg reads from the world's GTF (1-based, strand-aware) is the first
    transcribed base the world planted its promoter and CAGE signal at, for every gene."""
    for entry in manifest["genomes"].values():
        planted = {
            g["gene_id"]: [(g["chrom"], int(g["tss"]))]
            for g in _tsv(world / entry["gene_expression"])
        }
        strands = {g["gene_id"]: g["strand"] for g in _tsv(world / entry["gene_expression"])}
        assert set(strands.values()) == {"+", "-"}
        assert gene_tss(read_gtf(world / entry["gtf"])) == planted


def test_every_promoter_has_its_core_site_a_fixed_gap_upstream_of_its_tss(world, manifest):
    for entry in manifest["genomes"].values():
        tss = {
            g["gene_id"]: (int(g["tss"]), g["strand"])
            for g in _tsv(world / entry["gene_expression"])
        }
        promoters = {
            e["element_id"]: e["gene_id"]
            for e in _tsv(world / entry["regulatory_elements"])
            if e["kind"] == "promoter"
        }
        cores = [s for s in _tsv(world / entry["motif_sites"]) if s["element_id"] in promoters]
        assert {s["element_id"] for s in cores if s["tf"] == CORE_PROMOTER_TF} == set(promoters)
        for s in cores:
            if s["tf"] != CORE_PROMOTER_TF:
                continue
            position, strand = tss[promoters[s["element_id"]]]
            assert s["strand"] == strand
            if strand == "+":
                assert position - int(s["end"]) == CORE_GAP_BP
            else:
                assert int(s["start"]) - (position + 1) == CORE_GAP_BP


def test_promoter_rows_name_a_tissue_genes_programme(world, manifest):
    """A housekeeping promoter (no programme) has 2-4 general factors and the same activity
    in every cell type; a tissue gene's names its programme, two of whose factors it has,
    and is most active where the programme runs."""
    for entry in manifest["genomes"].values():
        cells = entry["cell_types"]
        rows = [e for e in _tsv(world / entry["regulatory_elements"]) if e["kind"] == "promoter"]
        housekeeping = 0
        for row in rows:
            factors = row["grammar"].split(",")
            assert factors.pop() == CORE_PROMOTER_TF
            activity = np.array([float(row[f"activity_{c}"]) for c in cells])
            if row["program"] == ".":
                housekeeping += 1
                assert 2 <= len(set(factors)) == len(factors) <= 4
                assert set(factors) <= set(GENERAL_PROMOTER_TFS)
                assert np.ptp(activity) == 0
            else:
                assert len(factors) == 2 and set(factors) <= set(PROGRAMS[row["program"]])
                if row["program"] in cells:
                    assert activity[cells.index(row["program"])] == activity.max() > 0
        assert 0.25 < housekeeping / len(rows) < 0.55  # 40% of some 60 genes


def _values(bw, chrom: str, size: int) -> np.ndarray:
    return np.array(bw.values(chrom, 0, size), dtype=np.float64)


def test_noisy_tracks_match_noise_free_at_the_reported_ceiling(world, manifest):
    for entry in manifest["genomes"].values():
        ceilings = {r["identifier"]: r for r in _tsv(world / entry["track_ceilings"])}
        noisy = read_targets(world / entry["targets"])
        clean = read_targets(world / entry["targets_noise_free"])
        no_data = read_bed(world / entry["no_data"])
        sizes = Genome(world / entry["fasta"]).sizes
        assert noisy.identifiers == clean.identifiers == list(ceilings)
        genome = Path(entry["fasta"]).parent.name
        unit = {
            s.identifier: s.unit
            for s in track_specs(genome, {s.name: s.prefix for s in species_of(2)}[genome])
        }
        for t_noisy, t_clean in zip(noisy, clean, strict=True):
            a = pyBigWig.open(str(noisy.track_files(t_noisy)[0]))
            b = pyBigWig.open(str(clean.track_files(t_clean)[0]))
            xs, ys = [], []
            for chrom, size in sizes.items():
                x, y = _values(a, chrom, size), _values(b, chrom, size)
                assert np.array_equal(np.isnan(x), np.isnan(y))
                for iv in no_data:
                    if iv.chrom == chrom and iv.extra[0] == t_noisy.identifier:
                        assert np.isnan(x[iv.start : iv.end]).all()
                counts = x[~np.isnan(x)] / unit[t_noisy.identifier]  # coverage in reads
                assert np.allclose(counts, np.round(counts), atol=1e-3)
                n = size // BIN_BP * BIN_BP
                xb, yb = x[:n].reshape(-1, BIN_BP), y[:n].reshape(-1, BIN_BP)
                has = ~np.isnan(xb).all(axis=1)
                xs.append(np.nansum(xb, axis=1)[has])
                ys.append(np.nansum(yb, axis=1)[has])
            r = np.corrcoef(np.concatenate(xs), np.concatenate(ys))[0, 1]
            row = ceilings[t_noisy.identifier]
            assert r == pytest.approx(float(row["pearson_r_128bp"]), abs=1e-5)
            assert int(row["bins"]) == sum(len(x) for x in xs)
            assert 0.5 < r < 1.0
            # the in-window truth (what the window determines) is no closer to the
            # measurements than the noise-free truth
            reachable = float(row["pearson_r_128bp_in_window"])
            assert 0.5 < reachable <= r + 1e-3


def _mean_signal(bw, elements: list[dict[str, str]]) -> float:
    values = [bw.stats(e["chrom"], int(e["start"]), int(e["end"]))[0] for e in elements]
    return float(np.mean([v for v in values if v is not None]))


def test_tracks_follow_planted_activity(world, manifest):
    entry = manifest["genomes"]["human"]
    elements = _tsv(world / entry["regulatory_elements"])
    table = read_targets(world / entry["targets_noise_free"])
    noisy = read_targets(world / entry["targets"])
    for cell in ("liver", "erythroid"):
        (t,) = [t for t in noisy if t.description == f"DNASE:{cell}"]
        bw = pyBigWig.open(str(noisy.track_files(t)[0]))
        on = [e for e in elements if e["kind"] == "enhancer" and float(e[f"activity_{cell}"]) > 0.5]
        off = [
            e for e in elements if e["kind"] == "enhancer" and float(e[f"activity_{cell}"]) < 0.05
        ]

        assert _mean_signal(bw, on) > 5 * _mean_signal(bw, off)
    genes = _tsv(world / entry["gene_expression"])
    (cage,) = [t for t in table if t.description == "CAGE:liver"]
    bw = pyBigWig.open(str(table.track_files(cage)[0]))
    tss_signal = [
        bw.stats(g["chrom"], int(g["tss"]) - 30, int(g["tss"]) + 31, type="sum")[0] for g in genes
    ]
    expr = [float(g["cage_liver"]) for g, s in zip(genes, tss_signal, strict=True) if s]
    tss_signal = [s for s in tss_signal if s]
    assert len(tss_signal) > 0.8 * len(genes)
    assert np.corrcoef(np.log(tss_signal), np.log(expr))[0, 1] > 0.95
    assert max(expr) / min(expr) > 10  # promoters and nearby enhancers spread expression


def test_blacklist_and_unmappable_regions(world, manifest):
    for entry in manifest["genomes"].values():
        genome = Genome(world / entry["fasta"])
        table = read_targets(world / entry["targets"])
        bw = pyBigWig.open(str(table.track_files(table[0])[0]))
        median = np.nanmedian(_values(bw, "chr1", genome.sizes["chr1"]))
        for iv in read_bed(world / entry["blacklist"]):
            assert bw.stats(iv.chrom, iv.start, iv.end)[0] > 20 * max(median, 0.1)
        dups = read_bed(world / entry["unmappable"])
        assert len(dups) == 2
        a, b = (genome.fetch(iv.chrom, iv.start, iv.end) for iv in dups)
        assert a == b
        for iv in dups:
            inner = _values(bw, iv.chrom, genome.sizes[iv.chrom])[iv.start + 100 : iv.end - 100]
            assert np.nanmax(inner) == 0


def test_variants_carry_expected_signs(world, manifest):
    for name, entry in manifest["genomes"].items():
        variants = read_vcf(world / entry["vcf"])
        effects = _tsv(world / entry["variant_effects"])
        kinds = {v.info["KIND"] for v in variants}
        assert kinds == {"break", "create", "site_deletion", "neutral", "neutral_indel"}, name
        by_id: dict[str, dict[str, int]] = {}
        for row in effects:
            by_id.setdefault(row["variant_id"], {})[row["identifier"]] = int(row["sign"])
        for v in variants:
            signs = by_id[v.id]
            up = set(v.info["UP"].split(",")) if "UP" in v.info else set()
            down = set(v.info["DOWN"].split(",")) if "DOWN" in v.info else set()
            assert up == {k for k, s in signs.items() if s > 0}
            assert down == {k for k, s in signs.items() if s < 0}
            kind = v.info["KIND"]
            if kind.startswith("neutral"):
                assert not up and not down
            elif kind == "create":
                assert up and not down
            elif v.info["MOTIF"] == "REST":
                assert up and not down  # losing a repressor site raises activity
            elif kind == "break":
                assert down and not up
        assert sum(1 for v in variants if not v.is_snp) >= 10


def test_every_manifest_key_and_table_column_is_named_on_the_formats_page(world, manifest):
    """docs/formats.md names each key of the manifest and each column of the world's
    tables (a cell type's or genome's column by its pattern, `activity_<cell type>`)."""
    keys = [k for k in manifest if k not in ("genomes", "nets")]
    keys += [k for entry in manifest["genomes"].values() for k in entry]
    keys += [*manifest["cohorts"], *manifest["panel"]]
    patterns: dict[str, str] = {}
    for genome, entry in manifest["genomes"].items():
        for part in ("chrom", "start", "end", "strand"):
            patterns[f"{genome}_{part}"] = f"<genome>_{part}"
        for cell in entry["cell_types"]:
            patterns[f"activity_{cell}"] = "activity_<cell type>"
            patterns[f"cage_{cell}"] = "cage_<cell type>"
    columns = [
        patterns.get(column, column)
        for table in sorted(world.rglob("*.tsv"))
        for column in table.read_text().splitlines()[0].split("\t")
    ]
    text = section("Synthetic world: `manifest.json`")
    assert not unnamed(keys, text)
    assert not unnamed(columns, text)


def test_cohorts_carry_the_planted_signal(world, manifest):
    cohorts = manifest["cohorts"]
    human = Genome(world / manifest["genomes"]["human"]["fasta"])
    cases = read_vcf(world / cohorts["denovo_cases"], genome=human)
    controls = read_vcf(world / cohorts["denovo_controls"], genome=human)
    truth = {r["variant_id"]: r for r in _tsv(world / cohorts["denovo_truth"])}
    assert len(truth) == len(cases) + len(controls)
    order = {c: k for k, c in enumerate(human.sizes)}
    for records in (cases, controls):
        keys = [(order[v.chrom], v.pos) for v in records]
        assert keys == sorted(keys)
        carried = [(truth[v.id]["sample"], v.chrom, v.pos) for v in records]
        assert len(set(carried)) == len(carried)  # no sample carries a call twice
    planted = [v for v in cases if truth[v.id]["planted"] == "1"]
    assert planted and not any(truth[v.id]["planted"] == "1" for v in controls)
    entry = manifest["genomes"]["human"]
    program = {e["element_id"]: e["program"] for e in _tsv(world / entry["regulatory_elements"])}
    sites = _tsv(world / entry["motif_sites"])
    for v in planted:  # each planted call breaks a site of an enhancer of the enriched program
        (hit,) = [
            s for s in sites if s["chrom"] == v.chrom and int(s["start"]) <= v.pos < int(s["end"])
        ]
        assert program[hit["element_id"]] == cohorts["denovo_enriched_cell_type"]
    assert {truth[v.id]["sample"] for v in controls} <= {f"control{k:04d}" for k in range(1, 21)}
    stats = _tsv(world / cohorts["eqtl_sumstats"])
    deltas = {
        r["snp"]: float(r["delta_log_expression"]) for r in _tsv(world / cohorts["eqtl_truth"])
    }
    assert len(stats) == 300
    z = np.array([float(r["z"]) for r in stats])
    d = np.array([deltas[r["snp"]] for r in stats])
    assert (d != 0).sum() > 20
    # z = tau * sqrt(N) * delta + N(0, 1): least squares recovers the planted slope
    slope, se = (z * d).sum() / (d * d).sum(), 1 / np.sqrt((d * d).sum())
    expected_slope = cohorts["eqtl_tau"] * np.sqrt(float(stats[0]["n"]))
    assert abs(slope - expected_slope) < 4 * se
    assert slope / se > 4
    null = z[d == 0]
    assert abs(null.mean()) < 0.3 and 0.7 < null.std() < 1.3
    tss = {
        g["gene_id"]: (g["chrom"], int(g["tss"])) for g in _tsv(world / entry["gene_expression"])
    }
    for r in stats:  # a SNP names a gene on its chromosome; without effect, the nearest one
        chrom, pos = r["chrom"], int(r["pos"]) - 1
        assert tss[r["gene_id"]][0] == chrom, r
        if deltas[r["snp"]] == 0:
            nearest = min(abs(t - pos) for c, t in tss.values() if c == chrom)
            assert abs(tss[r["gene_id"]][1] - pos) == nearest, r
    for r in stats[:50]:
        assert (
            human.fetch(r["chrom"], int(r["pos"]) - 1, int(r["pos"])).decode().upper() == r["ref"]
        )


def test_cli_rejects_a_negative_seed(tmp_path, capsys):
    out = tmp_path / "w"
    with pytest.raises(SystemExit) as stop:
        main(["synth", "--preset", "tiny", "--seed", "-1", "--out", str(out)])
    assert stop.value.code == 2
    assert "argument --seed: must be a whole number from 0 to 4,294,967,295, got -1" in (
        capsys.readouterr().err
    )
    assert not out.exists()


def test_read_rate_noise_is_drawn_per_base(monkeypatch):
    """A gamma factor per base (shape DISPERSION_SHAPE): a bin's read-start count has
    variance/mean 1 + rate / shape, as the tracks module documents."""
    preset, motifs = PRESETS["tiny"], bundled_motifs()
    ancestor = make_ancestor(rng_for(0, "ancestor"), preset)
    layout = lay_out(rng_for(0, "layout"), preset, ancestor, ("human", "mouse"))
    genome = build_species(rng_for(0, "human/genome"), preset, ancestor, "human", rearrange=False)
    sites = plant(rng_for(0, "human/motifs"), layout, genome, motifs)
    reg = Regulation(genome, layout, sites, rng_for(0, "human/regulation"))
    synth = TrackSynthesizer(genome, reg, 1.0, rng_for(0, "human/chromatin"))
    rate = 25.0
    monkeypatch.setattr(
        synth, "expected", lambda spec, chrom, **_: np.full(genome.sizes[chrom], rate)
    )
    spec = replace(track_specs("human", "hs")[0], read_bp=1, unit=1.0)  # coverage = starts
    starts = synth.sample(spec, "chr1", [], np.random.default_rng(0)).noisy
    n = starts.size // BIN_BP * BIN_BP
    bins = starts[:n].astype(np.float64).reshape(-1, BIN_BP)
    counts = bins[~np.isnan(bins).any(axis=1)].sum(axis=1)
    assert counts.size > 1_000
    assert counts.mean() == pytest.approx(rate * BIN_BP, rel=0.01)
    assert counts.var() / counts.mean() == pytest.approx(1 + rate / DISPERSION_SHAPE, rel=0.12)
