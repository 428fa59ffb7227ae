"""``crossreg ism --motifs``: JASPAR matches against a scan written out by hand (log-odds
of each placement on both strands, relative score, N, ties), the match an ISM figure marks,
and motif files in another format."""

from __future__ import annotations

import math
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from crossreg.cli import build_parser, main
from crossreg.dna import one_hot
from crossreg.io.targets import Target
from crossreg.model.checkpoint import make_config, save_checkpoint
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.synth.motifs import Motif
from crossreg.variants import ism_figures, ism_site_figure
from crossreg.variants.ism import write_ism
from crossreg.variants.ism_figures import plot_ism_file
from crossreg.variants.ism_merge import merge_ism
from crossreg.variants.ism_motifs import (
    MIN_RELATIVE,
    MotifHit,
    broken_motifs,
    motif_hits,
    motif_matches,
    read_motifs,
    weighed,
)
from crossreg.variants.ism_site_figure import importance, site_figure
from tests.pipeline import small_params

DATA = Path(__file__).resolve().parents[1] / "python" / "crossreg" / "synth" / "data"
JASPAR = DATA / "jaspar2024_selected.jaspar"
BACKGROUND = {"A": 0.295, "C": 0.205, "G": 0.205, "T": 0.295}
PAIR = str.maketrans("ACGT", "TGCA")


def _hand_scan(counts: dict[str, list[float]], seq: str) -> list[tuple[int, str, float, float]]:
    """(start, strand, log-odds, relative score) of every placement of the matrix `counts`
    on `seq` meeting :data:`MIN_RELATIVE`, the better strand of each (``+`` on a tie)."""
    width = len(counts["A"])
    logodds = []
    for j in range(width):
        total = sum(counts[b][j] for b in "ACGT")
        probs = {b: counts[b][j] / total + 0.01 for b in "ACGT"}
        norm = sum(probs.values())
        logodds.append({b: math.log(probs[b] / norm / BACKGROUND[b]) for b in "ACGT"})
    best = sum(max(col.values()) for col in logodds)
    worst = sum(min(col.values()) for col in logodds)
    found = []
    for start in range(len(seq) - width + 1):
        site = seq[start : start + width]
        if "N" in site:
            continue
        forward = sum(logodds[j][b] for j, b in enumerate(site))
        reverse = sum(logodds[j][b] for j, b in enumerate(site.translate(PAIR)[::-1]))
        score, strand = (forward, "+") if forward >= reverse else (reverse, "-")
        relative = (score - worst) / (best - worst)
        if relative >= MIN_RELATIVE:
            found.append((start, strand, score, relative))
    return found


def _matrices(text: str) -> dict[str, dict[str, list[float]]]:
    """The matrices of a JASPAR text, parsed here by name: {name: {base: counts}}."""
    out: dict[str, dict[str, list[float]]] = {}
    for block in text.split(">")[1:]:
        header, *rows = block.strip().splitlines()
        name = header.split(None, 1)[1].strip()
        out[name] = {
            r.strip()[0]: [float(v) for v in re.findall(r"[\d.]+", r.strip()[1:])] for r in rows
        }
    return out


def test_matches_equal_a_scan_written_out_by_hand():
    """Every real JASPAR matrix on a random span holding a planted CTCF site (forward), a
    planted HNF4A site (reverse) and an N: the same placements, strands and scores."""
    rng = np.random.default_rng(4)
    motifs = read_motifs(JASPAR)
    by_name = {m.name: m for m in motifs}
    seq = list("".join("ACGT"[i] for i in rng.integers(0, 4, 160)))
    ctcf = by_name["CTCF"].consensus.decode()
    hnf4a = by_name["HNF4A"].consensus.decode()
    seq[20 : 20 + len(ctcf)] = ctcf
    seq[90 : 90 + len(hnf4a)] = hnf4a.translate(PAIR)[::-1]
    seq[130] = "N"
    text = "".join(seq)
    heights = rng.standard_normal(len(text)).astype(np.float32)
    hits = motif_hits(one_hot(text, dtype=np.float32, n_value=0.0), heights, motifs)
    matrices = _matrices(JASPAR.read_text())
    assert len(matrices) == len(motifs) == 17
    for name, counts in matrices.items():
        expected = _hand_scan(counts, text)
        got = sorted((h.start, h.strand, h.score, h.relative) for h in hits if h.name == name)
        assert [g[:2] for g in got] == [e[:2] for e in expected], name
        np.testing.assert_allclose([g[2:] for g in got], [e[2:] for e in expected], rtol=1e-9)
        for h in (h for h in hits if h.name == name):
            assert h.weight == pytest.approx(float(heights[h.start : h.end].sum()), rel=1e-6)
            assert "N" not in text[h.start : h.end]
    assert ("CTCF", 20, "+") in {(h.name, h.start, h.strand) for h in hits}
    assert ("HNF4A", 90, "-") in {(h.name, h.start, h.strand) for h in hits}
    weights = [h.weight for h in hits]
    assert weights == sorted(weights, reverse=True)


def test_a_palindrome_is_one_match_and_ties_go_left(tmp_path):
    """A matrix equal to its reverse complement matches each placement once, on '+'; hits
    of equal weight and score are kept leftmost first, and an overlapping lighter one is
    not drawn."""
    (tmp_path / "p.jaspar").write_text(
        ">P1\tPAL\nA [ 10 0 0 0 ]\nC [ 0 10 0 0 ]\nG [ 0 0 10 0 ]\nT [ 0 0 0 10 ]\n"
    )  # ACGT: its own reverse complement
    motifs = read_motifs(tmp_path / "p.jaspar")
    text = "TTACGTTTTTACGTTT"
    seq = one_hot(text, dtype=np.float32)
    hits = motif_hits(seq, np.ones(len(text), dtype=np.float32), motifs)
    assert [(h.start, h.strand) for h in hits] == [(2, "+"), (10, "+")]
    assert hits[0].relative == pytest.approx(1.0)
    flat = np.full(len(text), 0.1, dtype=np.float32)  # a match's 0.4 is 1x the mean: too weak
    assert broken_motifs(motif_hits(seq, flat, motifs), flat) == []
    heights = np.zeros(len(text), dtype=np.float32)
    heights[2:6] = heights[10:14] = 1.0  # mean 0.5: each match's bases carry 2x, drawn
    hits = motif_hits(seq, heights, motifs)
    assert [h.start for h in broken_motifs(hits, heights, most=1)] == [2]
    heavy = MotifHit("X", 4, 9, "+", 1.0, 0.9, 5.0)
    kept = broken_motifs([heavy, *hits], heights)  # ACGT at 2 overlaps it: not drawn
    assert [(h.name, h.start) for h in kept] == [("X", 4), ("PAL", 10)]
    assert broken_motifs([MotifHit("Y", 0, 4, "+", 1.0, 0.9, 0.0)], heights) == []


def test_a_real_palindrome_is_on_plus_whatever_its_scores_rounding():
    """CEBPB's JASPAR matrix scores ATTGCGCAAT alike on both strands but for rounding (the
    reverse strand's sum came out 1.8e-15 higher in a 60-bp span): its match is on '+'."""
    cebpb = [m for m in read_motifs(JASPAR) if m.name == "CEBPB"]
    text = "CGTCGTCCCGGGAACCAGATTTGCATTGCGCAATCACCGATGCCGGTGACTCCAATTATA"
    forward, reverse = cebpb[0].scan(text.encode())
    assert forward[24] != reverse[24] and forward[24] == pytest.approx(reverse[24])
    hits = motif_hits(one_hot(text, dtype=np.float32), np.ones(len(text), np.float32), cebpb)
    assert [(h.start, h.strand) for h in hits if h.relative == pytest.approx(1.0)] == [(24, "+")]


def _planted_span(
    gata_strand: str,
) -> tuple[list[Motif], np.ndarray, np.random.Generator, str, str]:
    """The shipped matrices and a random 60-bp one-hot span holding CTCF's consensus at 2
    (+) and GATA1's at 40 on `gata_strand`, with the generator that drew it (for the
    scores) and both consensus sequences."""
    motifs = read_motifs(JASPAR)
    by_name = {m.name: m for m in motifs}
    rng = np.random.default_rng(8)
    seq = list("".join("ACGT"[i] for i in rng.integers(0, 4, 60)))
    ctcf, gata = by_name["CTCF"].consensus.decode(), by_name["GATA1"].consensus.decode()
    seq[2 : 2 + len(ctcf)] = ctcf
    seq[40 : 40 + len(gata)] = gata if gata_strand == "+" else gata.translate(PAIR)[::-1]
    return motifs, one_hot("".join(seq), dtype=np.float32), rng, ctcf, gata


def _one_site_table(path: Path, ref: np.ndarray, scores: np.ndarray) -> Path:
    """An ISM ``.h5`` of one site, chr1:1000-1060, over the one-hot `ref` with `scores`
    ``(60, 4, tracks)``, its tracks T0, T1, …"""
    with h5py.File(path, "w") as h5:
        h5["label"] = np.array([b"v0"])
        h5["chr"] = np.array([b"chr1"])
        h5["start"], h5["end"] = np.array([1000]), np.array([1060])
        h5["seqs"] = ref.astype(bool)[None]
        h5["sum"] = scores[None].astype(np.float16)
        h5["target_ids"] = np.array([f"T{t}".encode() for t in range(scores.shape[-1])])
    return path


def test_the_figure_marks_the_motif_the_important_bases_belong_to(tmp_path, monkeypatch):
    """Importance on a planted GATA1 site, none on a stronger CTCF site elsewhere, noise
    on the other bases: the figure marks GATA1 only, with a bracket over its columns and
    its name and strand."""
    motifs, ref, rng, _, gata = _planted_span(gata_strand="-")
    scores = rng.standard_normal((60, 4, 1)).astype(np.float32) * 0.05
    scores -= scores.mean(axis=1, keepdims=True)
    # every mutation of the GATA1 site loses 0.5: mean-removed, -0.125 and the base's 0.375
    scores[40 : 40 + len(gata), :, 0] += -0.125 + 0.5 * ref[40 : 40 + len(gata)]
    path = _one_site_table(tmp_path / "ism.h5", ref, scores)
    heights = importance(scores[..., 0], ref)
    assert heights[40 : 40 + len(gata)].min() > 0.4 and np.abs(heights[:40]).max() < 0.2
    best = {}
    for hit in motif_hits(ref, heights, motifs):
        best[hit.name] = max(best.get(hit.name, hit), hit, key=lambda h: h.score)
    assert best["CTCF"].score > best["GATA1"].score and best["CTCF"].start == 2
    drawn: list[dict] = []
    monkeypatch.setattr(ism_figures, "plot_site", lambda out, s, q, **kw: drawn.append(kw) or [])
    plot_ism_file(path, tmp_path / "figures", motifs=motifs)
    (shown,) = drawn
    assert [(h.name, h.start, h.end, h.strand) for h in shown["motifs"]] == [
        ("GATA1", 40, 40 + len(gata), "-")
    ]
    figure = site_figure(scores[..., 0], ref, title="v0", motifs=shown["motifs"])
    assert "GATA1 (-)" in [t.get_text() for t in figure.axes[0].texts]
    top = figure.axes[0].get_ylim()[1]
    assert top > 1.4 * 0.5  # room above the tallest letter for the bracket and its name
    monkeypatch.undo()
    pngs = plot_ism_file(path, tmp_path / "figures", motifs=motifs)
    assert len(pngs) == 1 and pngs[0].stat().st_size > 0


MEME = "MEME version 4\n\nALPHABET= ACGT\n\nMOTIF MA0139.2 CTCF\nletter-probability matrix:\n"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (MEME, r"m\.meme:1: expected a row like 'A \[ 1 2 3 \]' after a '>' header"),
        (">MA1\tX\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 2 ]\n", r"m\.meme:1: matrix MA1 needs rows A, C"),
        ("", r"m\.meme: no JASPAR matrices found"),
        (b"\x89PNG\r\n\x1a\n\xff\xfe", r"m\.meme: not a text file"),
    ],
)
def test_a_motif_file_in_another_format_names_the_file_and_the_form(tmp_path, text, said):
    path = tmp_path / "m.meme"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError, match=said) as error:
        read_motifs(path)
    assert "--motifs takes JASPAR matrices: a '>ID NAME' line" in str(error.value)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A random 20-kbp chr1, a small checkpoint and a VCF of one SNP."""
    root = tmp_path_factory.mktemp("ism_motifs")
    seq = "".join("ACGT"[i] for i in np.random.default_rng(2).integers(0, 4, 20_000))
    (root / "genome.fa").write_text(f">chr1\n{seq}\n")
    params = small_params({"human": 1}, dropout=0.0)
    model = SeqNN(parse_params(params).model, generator=torch.Generator().manual_seed(2)).eval()
    target = Target(0, "T0", ("t0.bw",), 32.0, 1.0, "sum", "DNASE:0")
    save_checkpoint(root / "model", model, make_config(model, params, {"human": [target]}))
    alt = "A" if seq[9_999] != "A" else "C"
    (root / "one.vcf").write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t10000\trs1\t{seq[9_999]}\t{alt}\t.\t.\t.\n"
    )
    return root


def test_cli_motifs_marks_the_figures_of_ism_and_ism_merge(world, tmp_path, monkeypatch):
    """--motifs on ism and on ism-merge draws each figure with its matches (the same ones);
    a motif file in another format, --motifs with --no-plots and with --shard stop before
    any work, naming what to do."""
    base = ["ism", "--model", str(world / "model"), "--fasta", str(world / "genome.fa")]
    base += ["--vcf", str(world / "one.vcf"), "--width", "24"]
    marked: list[list[MotifHit]] = []
    figure = ism_site_figure.site_figure

    def record(*args, **kwargs):
        marked.append(list(kwargs["motifs"]))
        return figure(*args, **kwargs)

    monkeypatch.setattr(ism_site_figure, "site_figure", record)
    one = tmp_path / "one.h5"
    assert main([*base, "--out", str(one), "--motifs", str(JASPAR)]) == 0
    assert [p.name for p in (tmp_path / "one.figures").glob("*.png")] == ["0000_rs1_T0.png"]
    shard = tmp_path / "s.0.h5"
    assert main([*base, "--out", str(shard), "--shard", "0/1"]) == 0
    merged = tmp_path / "merged.h5"
    assert main(["ism-merge", "--out", str(merged), "--motifs", str(JASPAR), str(shard)]) == 0
    assert len(marked) == 2 and marked[0] == marked[1]
    meme = tmp_path / "m.meme"
    meme.write_text(MEME)
    refused = {
        "m.meme:1: expected a row like": ["--motifs", str(meme)],
        "--motifs marks matches on the figures, but --no-plots": [
            "--motifs",
            str(JASPAR),
            "--no-plots",
        ],
        "give --figures, --svg and --motifs to crossreg ism-merge": [
            "--motifs",
            str(JASPAR),
            "--shard",
            "0/2",
        ],
    }
    for said, extra in refused.items():
        out = tmp_path / "refused" / "x.h5"
        with pytest.raises(ValueError, match=re.escape(said)):
            args = build_parser().parse_args([*base, "--out", str(out), *extra])
            args.run(args)
        assert not out.parent.exists() or not list(out.parent.iterdir())


def test_motifs_without_plots_are_refused_in_python_before_any_work(world, tmp_path):
    """``write_ism`` and ``merge_ism`` refuse `motifs` with ``plots=False``, as the command
    line refuses ``--motifs`` with ``--no-plots`` (and as they refuse ``svg``): the matches
    are marked on the figures only, so they would go unused. Nothing is written (before,
    the run scored every site and ignored the motifs)."""
    motifs = read_motifs(JASPAR)
    out = tmp_path / "api" / "o.h5"
    said = "motifs are marked on the figures, but plots=False draws none"
    with pytest.raises(ValueError, match=said):
        write_ism(
            world / "model", world / "genome.fa", out, vcf=world / "one.vcf", width=24,
            plots=False, motifs=motifs,
        )  # fmt: skip
    shard = tmp_path / "s.0.h5"
    write_ism(
        world / "model", world / "genome.fa", shard, vcf=world / "one.vcf", width=24,
        shard="0/1",
    )  # fmt: skip
    with pytest.raises(ValueError, match=said):
        merge_ism(out, [shard], plots=False, motifs=motifs)
    assert not out.parent.exists()
    assert (
        write_ism(
            world / "model", world / "genome.fa", out, vcf=world / "one.vcf", width=24, plots=False
        ).figures
        == []
    )


def test_a_resume_with_motifs_of_a_finished_run_draws_its_figures_again(
    world, tmp_path, monkeypatch, logs
):
    """A finished run's figures do not record the matches they mark: a ``--resume`` that
    adds ``--motifs`` draws them again from the finished file (before, it said there was
    nothing to do, and the figures stayed unmarked); one without ``--motifs`` keeps them."""
    base = ["ism", "--model", str(world / "model"), "--fasta", str(world / "genome.fa")]
    base += ["--vcf", str(world / "one.vcf"), "--width", "24", "--out", str(tmp_path / "o.h5")]
    drawn: list[int] = []
    figure = ism_site_figure.site_figure

    def record(*args, **kwargs):
        drawn.append(len(kwargs["motifs"]))
        return figure(*args, **kwargs)

    monkeypatch.setattr(ism_site_figure, "site_figure", record)
    assert main(base) == 0 and len(drawn) == 1
    monkeypatch.setattr(ism_figures, "broken_motifs", lambda hits, heights: list(hits[:1]))
    assert main([*base, "--resume", "--motifs", str(JASPAR)]) == 0
    assert drawn == [0, 1]
    assert "with the --motifs matches marked; drawing them from its outputs" in logs.text
    assert main([*base, "--resume"]) == 0 and drawn == [0, 1]


def test_each_track_s_figure_marks_its_own_matches_from_one_scan_of_the_site(tmp_path, monkeypatch):
    """Drawn for every track, a site's span is scanned once (each matrix once, not once a
    track: 900 JASPAR CORE matrices cost ~70 ms a scan) and each track's figure marks the
    matches its own importance lies on: GATA1 on the first, CTCF on the second, none on
    the third (noise only)."""
    motifs, ref, rng, ctcf, gata = _planted_span(gata_strand="+")
    scores = rng.standard_normal((60, 4, 3)).astype(np.float32) * 0.05
    scores -= scores.mean(axis=1, keepdims=True)
    for track, (at, length) in enumerate([(40, len(gata)), (2, len(ctcf))]):
        scores[at : at + length, :, track] += -0.125 + 0.5 * ref[at : at + length]
    path = _one_site_table(tmp_path / "ism.h5", ref, scores)
    scans: list[str] = []
    scan = Motif.scan

    def counted(self, text):
        scans.append(self.name)
        return scan(self, text)

    monkeypatch.setattr(Motif, "scan", counted)
    drawn: list[dict] = []
    monkeypatch.setattr(ism_figures, "plot_site", lambda out, s, q, **kw: drawn.append(kw) or [])
    plot_ism_file(path, tmp_path / "figures", all_tracks=True, motifs=motifs)
    assert scans == [m.name for m in motifs]
    assert [[(h.name, h.start, h.strand) for h in kw["motifs"]] for kw in drawn] == [
        [("GATA1", 40, "+")],
        [("CTCF", 2, "+")],
        [],
    ]


def test_the_bounds_are_inclusive_a_match_at_the_threshold_and_touching_matches():
    """A placement whose relative score equals the threshold is a match; two matches that
    touch (one ends where the other starts) do not overlap and are both drawn; bases that
    carry exactly ENRICHMENT times the span's mean |importance| are enough."""
    rng = np.random.default_rng(8)
    text = "".join("ACGT"[i] for i in rng.integers(0, 4, 200))
    seq = one_hot(text, dtype=np.float32)
    motifs = read_motifs(JASPAR)
    some = motif_matches(seq, motifs, min_relative=0.5)
    for hit in some[:: max(1, len(some) // 5)]:
        at = motif_matches(seq, motifs, min_relative=hit.relative)
        assert (hit.name, hit.start) in {(h.name, h.start) for h in at}
    heights = np.zeros(16, dtype=np.float32)
    heights[:8] = 1.0  # mean 0.5: bases of 1 carry 2x, the floor itself
    touching = [
        MotifHit("A", 0, 4, "+", 1.0, 0.9, 4.0),
        MotifHit("B", 4, 8, "+", 1.0, 0.9, 4.0),
    ]
    assert [h.name for h in broken_motifs(touching, heights)] == ["A", "B"]


def test_equal_weights_go_to_the_higher_score_and_nothing_is_drawn_without_importance():
    heights = np.zeros(12, dtype=np.float32)
    heights[0:4] = heights[6:10] = 1.0
    weaker = MotifHit("weaker", 0, 4, "+", 1.0, 0.8, 0.0)
    stronger = MotifHit("stronger", 6, 10, "+", 2.0, 0.9, 0.0)
    assert [h.name for h in weighed([weaker, stronger], heights)] == ["stronger", "weaker"]
    # a span whose mutations change nothing: a match there weighs 0 and is not drawn
    flat = np.zeros(12, dtype=np.float32)
    assert broken_motifs(weighed([weaker], flat), flat) == []
