"""Each long step reports its progress: log lines with counts and totals off a terminal,
nothing on torchrun ranks other than 0."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from crossreg.data import BuildOptions, Layout, build_dataset
from crossreg.data.store import DataStore
from crossreg.evaluate.accuracy import evaluate_model
from crossreg.genome import Genome
from crossreg.model.checkpoint import make_config, save_checkpoint
from crossreg.model.inference import InferenceOptions
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.predict import write_predictions
from crossreg.stats.denovo import track_tests
from crossreg.synth import synthesize
from crossreg.synth.species import species_of
from crossreg.synth.world import _stage_count
from crossreg.train.options import TrainOptions
from crossreg.train.trainer import train
from crossreg.variants.ism import write_ism
from tests.data_inputs import small_inputs
from tests.pipeline import small_params
from tests.test_sldp_estimator import run_world, write_world

LAYOUT = Layout(seq_length=4096, pool_width=128, crop_bins=4, stride=1500)


@pytest.fixture
def progress_logs(logs: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch):
    """Log-mode progress with a line per update, as rank 0."""
    monkeypatch.setenv("CROSSREG_PROGRESS", "log")
    monkeypatch.setenv("CROSSREG_PROGRESS_INTERVAL", "0")
    monkeypatch.delenv("RANK", raising=False)
    return logs


def messages(logs: pytest.LogCaptureFixture, prefix: str) -> list[str]:
    return [r.getMessage() for r in logs.records if r.getMessage().startswith(prefix)]


def build(root: Path, inputs: dict[str, Path]):
    return build_dataset(
        root,
        fasta=inputs["fasta"],
        targets=inputs["targets"],
        regions=inputs["regions"],
        gaps=inputs["gaps"],
        options=BuildOptions(genome="test", layout=LAYOUT, threads=1),
    )


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return small_inputs(tmp_path_factory.mktemp("inputs"))


def test_data_reports_tracks_times_windows(progress_logs, inputs, tmp_path):
    store = build(tmp_path / "store", inputs)
    windows, tracks = store.metadata["num_windows"], store.num_targets
    total = windows * tracks
    lines = messages(progress_logs, "targets (")
    assert lines[0].startswith(f"targets ({tracks} tracks × {windows} windows): ")
    # one native call per thread's track (threads=1): the count moves a track at a time
    counts = [int(re.search(r": (\d+)/", line).group(1)) for line in lines]
    assert counts == [k * windows for k in range(1, tracks + 1)]  # the last once, "done in"
    assert all(f"/{total} track-windows" in line for line in lines)
    assert "done in" in lines[-1]
    assert messages(progress_logs, "sequences: ")[-1].startswith(
        f"sequences: {windows}/{windows} windows (100.0%)"
    )


def test_other_ranks_report_nothing(progress_logs, inputs, tmp_path, monkeypatch):
    monkeypatch.delenv("CROSSREG_PROGRESS")
    monkeypatch.setenv("RANK", "1")
    build(tmp_path / "store", inputs)
    assert not [m for m in progress_logs.messages if "windows (" in m or "ETA" in m]


def test_train_reports_steps_loss_rate_and_one_summary_per_epoch(progress_logs, stores, tmp_path):
    tracks = {name: DataStore(d).num_targets for name, d in stores.items()}
    params = tmp_path / "params.json"
    params.write_text(json.dumps(small_params(tracks)))
    options = TrainOptions(max_epochs=2, steps_per_epoch=12)
    train(params, list(stores.values()), tmp_path / "run", options)
    for epoch in (1, 2):
        lines = messages(progress_logs, f"joint epoch {epoch}: ")
        assert lines[0].startswith(f"joint epoch {epoch}: 1/12 steps (8.3%)")
        assert "loss=" in lines[0] and "seq/s=" in lines[0] and "ETA" in lines[0]
        assert lines[-1].startswith(f"joint epoch {epoch}: 12/12 steps (100.0%)")
        assert "done in" in lines[-1]
        summary = messages(progress_logs, f"joint epoch {epoch}/2 (12 steps, ")
        assert len(summary) == 1
        assert "human: train loss" in summary[0] and "mouse: train loss" in summary[0]
        assert ", R " in summary[0]


def test_synth_reports_its_stages(progress_logs, tmp_path):
    synthesize(tmp_path / "world", "tiny", 3, cohort_sets=True)
    lines = messages(progress_logs, "synth: ")
    total = _stage_count(species_of(2), True)
    assert lines[0].startswith(f"synth: 1/{total} stages") and "stage=human tracks" in lines[0]
    stages = {line.split("stage=")[1].split(",")[0] for line in lines if "stage=" in line}
    assert {"human tracks", "mouse genome", "mouse variants", "nets", "panel"} <= stages
    assert lines[-1].startswith(f"synth: {total}/{total} stages (100.0%)")
    assert len(lines) == total  # a line per stage (interval 0), the last with "done in"


@pytest.fixture(scope="module")
def checkpoint(stores, tmp_path_factory) -> Path:
    """An untrained two-head checkpoint sized to the tiny stores."""
    opened = {name: DataStore(d) for name, d in stores.items()}
    params = small_params({name: s.num_targets for name, s in opened.items()}, dropout=0.0)
    model = SeqNN(parse_params(params).model, generator=torch.Generator().manual_seed(5)).eval()
    targets = {name: list(s.table.targets) for name, s in opened.items()}
    path = tmp_path_factory.mktemp("model") / "model"
    save_checkpoint(path, model, make_config(model, params, targets))
    return path


@pytest.fixture(scope="module")
def regions(stores, tmp_path_factory) -> tuple[Path, Path]:
    """The human FASTA of the tiny world and a BED of five regions on it."""
    fasta = Path(DataStore(stores["human"]).metadata["inputs"]["fasta"])
    chrom, size = next(iter(Genome(fasta).sizes.items()))
    bed = tmp_path_factory.mktemp("regions") / "regions.bed"
    bed.write_text("".join(f"{chrom}\t{s}\t{s + 100}\tr{s}\n" for s in range(10_000, 15_000, 1000)))
    assert size > 20_000
    return fasta, bed


def test_evaluate_reports_windows(progress_logs, checkpoint, stores, tmp_path):
    store = DataStore(stores["human"])
    count = store.splits["valid"]["count"]
    evaluate_model(checkpoint, stores["human"], tmp_path / "eval", split="valid")
    lines = messages(progress_logs, "evaluating human valid: ")
    assert lines[0].startswith(f"evaluating human valid: 4/{count} windows")
    assert lines[-1].startswith(f"evaluating human valid: {count}/{count} windows (100.0%)")


def test_predict_reports_windows(progress_logs, checkpoint, regions, tmp_path):
    fasta, bed = regions
    options = InferenceOptions(batch_size=2)
    write_predictions(checkpoint, fasta, tmp_path / "p.npy", head="human", bed=bed, options=options)
    lines = messages(progress_logs, "predicting: ")
    assert [line.split(" windows")[0] for line in lines] == [
        "predicting: 2/5",
        "predicting: 4/5",
        "predicting: 5/5",
    ]
    assert "windows/s" in lines[0] and "done in" in lines[-1]


def test_ism_reports_sequences_batch_by_batch_with_the_sites_done(
    progress_logs, checkpoint, regions, tmp_path
):
    # One site of a full-size model takes minutes on a CPU: progress counts the sequences
    # as each batch is scored, not only the sites finished.
    fasta, bed = regions
    one = tmp_path / "one.bed"
    one.write_text(bed.read_text().splitlines()[0] + "\n")
    options = InferenceOptions(batch_size=4)
    out = tmp_path / "ism.h5"
    write_ism(checkpoint, fasta, out, bed=one, head="human", width=4, options=options, plots=False)
    with h5py.File(out) as handle:
        total = 1 + sum(3 if row.any() else 4 for row in handle["seqs"][0])
    lines = messages(progress_logs, "ISM: ")
    counts = [int(line.split("/")[0].removeprefix("ISM: ")) for line in lines]
    assert counts == [*range(4, total, 4), total]
    assert f"/{total} sequences" in lines[0] and "sequences/s" in lines[0]
    assert "sites=0/1" in lines[0] and "sites=1/1" in lines[-1] and "done in" in lines[-1]


def test_ism_reports_every_site(progress_logs, checkpoint, regions, tmp_path):
    fasta, bed = regions
    write_ism(checkpoint, fasta, tmp_path / "ism.h5", bed=bed, head="human", width=2)
    lines = messages(progress_logs, "ISM: ")
    assert lines[0].startswith("ISM: ") and "sites=" in lines[0]
    assert "sites=5/5" in lines[-1] and "(100.0%)" in lines[-1] and "done in" in lines[-1]


def test_ism_figures_report_each_figure_drawn(progress_logs, checkpoint, regions, tmp_path):
    # half a second a figure at width 200: a thousand sites are minutes of drawing
    fasta, bed = regions
    out = tmp_path / "ism.h5"
    write_ism(checkpoint, fasta, out, bed=bed, head="human", width=2, tracks="0-1", svg=True)
    lines = messages(progress_logs, "drawing ISM figures: ")
    assert [line.split(" figures (")[0] for line in lines] == [
        f"drawing ISM figures: {k}/10" for k in range(1, 11)
    ]
    assert lines[-1].startswith("drawing ISM figures: 10/10 figures (100.0%)")
    assert "done in" in lines[-1]


def test_sldp_reports_blocks_and_annotations(progress_logs, tmp_path):
    write_world(tmp_path)
    results = run_world(tmp_path, tmp_path / "out")
    n_blocks = sum(1 for line in (tmp_path / "blocks.bed").read_text().splitlines() if line)
    # the block loop computes each block's LD spectrum (no cache here) with its profiles
    profiles = messages(progress_logs, "SLDP signed LD profiles: ")
    assert profiles[0].startswith(f"SLDP signed LD profiles: 1/{n_blocks} blocks")
    assert profiles[-1].startswith(f"SLDP signed LD profiles: {n_blocks}/{n_blocks} blocks")
    flips = messages(progress_logs, "SLDP sign flips: ")
    n = results.height  # one phenotype: one row per annotation
    assert [line.split(" annotations")[0] for line in flips] == [
        f"SLDP sign flips: {k}/{n}" for k in range(1, n + 1)
    ]
    assert "pheno=trait" in flips[0]


def test_denovo_reports_tracks(progress_logs):
    rng = np.random.default_rng(0)
    tests = track_tests(rng.normal(size=(40, 6)), np.arange(40) < 20)
    assert len(tests) == 6
    lines = messages(progress_logs, "case/control tests: ")
    assert lines[0].startswith("case/control tests: 1/6 tracks (16.7%)")
    assert lines[-1].startswith("case/control tests: 6/6 tracks (100.0%)")


def test_transfer_heat_maps_report_each_experiment(tmp_path, progress_logs):
    # the paper's tables hold dozens of shared experiments: a second or two each
    from crossreg.evaluate.transfer_figures import plot_matrix_file
    from crossreg.evaluate.transfer_stats import transfer_tables

    rng = np.random.default_rng(0)
    cells = ["liver", "lung", "brain"]
    labels = [f"{assay}:{c}" for assay in ("CAGE", "DNASE") for c in cells]
    ids = [f"t{i}" for i in range(len(labels))]
    measured = np.expm1(rng.normal(size=(40, len(labels))) + 5)
    predicted = measured * np.exp(rng.normal(scale=0.3, size=measured.shape))
    tables = transfer_tables(measured, predicted, ids, labels, ids, labels)
    path = tmp_path / "matrix.tsv"
    path.write_text(tables.matrix.write_csv(separator="\t", float_precision=6))
    drawn = plot_matrix_file(path, tmp_path / "figures", pairing="cell type")
    assert [p.name for p in drawn] == ["matrix_CAGE.png", "matrix_DNASE.png"]
    lines = messages(progress_logs, "transfer heat maps:")
    assert lines and "2/2 experiments" in lines[-1]


def test_sad_outputs_report_their_writing(tmp_path, progress_logs):
    # 1,000,000 alleles × 5,313 tracks: minutes of copying, percentiles and, for a .tsv,
    # formatting after the last allele is scored
    from crossreg.variants.sad_h5 import write_h5
    from crossreg.variants.sad_tsv import write_tsv

    rng = np.random.default_rng(0)
    part = {
        "snp": np.array([b"rs1", b"rs2", b"rs3"]),
        "chr": np.array([b"chr1"] * 3),
        "pos": np.array([101, 201, 301]),
        "ref_allele": np.array([b"A", b"G", b"C"]),
        "alt_allele": np.array([b"C", b"T", b"A"]),
        "SAD": rng.normal(size=(3, 4)).astype(np.float16),
    }
    ids, labels = [f"t{i}" for i in range(4)], [f"DNASE:c{i}" for i in range(4)]
    assert write_h5(tmp_path / "s.h5", [part], ["SAD"], ids, labels, {"stats": "SAD"}) == 3
    rows = messages(progress_logs, "writing s.h5:")
    assert rows and "18/18 rows" in rows[-1]  # SAD and the five allele fields
    tables = messages(progress_logs, "percentile tables:")
    assert tables and "4/4 tracks" in tables[-1]
    assert write_tsv(tmp_path / "s.tsv", [part], ["SAD"], ids, labels, {"stats": "SAD"}) == 3
    written = messages(progress_logs, "writing s.tsv:")
    assert written and "3/3 alleles" in written[-1]


def test_sads_counting_pass_reports_the_records_read(tmp_path, progress_logs):
    # a 1000 Genomes VCF holds tens of millions of records: minutes before scoring starts
    from crossreg.variants.sad_survey import survey_vcf

    fasta = tmp_path / "g.fa"
    fasta.write_text(">chr1\n" + "ACGT" * 50 + "\n")
    vcf = tmp_path / "v.vcf"
    records = [f"chr1\t{p}\trs{p}\t{'ACGT'[(p - 1) % 4]}\tN\t.\t.\t." for p in (10, 20, 30)]
    vcf.write_text("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "\n".join(records) + "\n")
    survey = survey_vcf(vcf, Genome(fasta), 64, source=str(vcf))
    assert survey.kept == 3
    lines = messages(progress_logs, "counting the VCF's records:")
    assert lines and lines[-1].startswith("counting the VCF's records: 3 records")


def test_a_resumed_data_build_counts_its_kept_tracks_apart_from_the_rate(
    progress_logs, inputs, tmp_path, monkeypatch
):
    # thousands of BigWigs: a build resumed half way must not take the kept half for
    # work done in its first second, and so end its time left early
    from crossreg.cli import main
    from tests.test_data_resume import TRACKS, _argv, _interrupted

    out = tmp_path / "store"
    _interrupted(inputs, out, monkeypatch, progress_logs, 2)
    progress_logs.clear()
    assert main(_argv(inputs, out, "--resume")[1:]) == 0
    windows = DataStore(out).metadata["num_windows"]
    lines = messages(progress_logs, "targets (")
    kept = f"{2 * windows} kept from the stopped run"
    assert [int(re.search(r": (\d+)/", line).group(1)) for line in lines] == [
        3 * windows,
        4 * windows,
    ]
    assert all(kept in line for line in lines) and "done in" in lines[-1]
    assert f"/{TRACKS * windows} track-windows" in lines[0]


def test_a_resumed_sldp_counts_the_checkpoints_blocks_and_flips_apart(progress_logs, tmp_path):
    from crossreg.errors import Interrupted
    from crossreg.stats.sldp import outputs
    from tests.test_sldp_resume import INPUTS, computed_chroms
    from tests.test_sldp_resume import run as run_sldp

    world = Path(shutil.copytree(INPUTS, tmp_path / "inputs"))
    blocks = [line.split("\t")[0] for line in (world / "blocks.bed").read_text().splitlines()]
    out = tmp_path / "out"
    with pytest.MonkeyPatch.context() as patch:
        computed_chroms(patch, stop_at="22")
        with pytest.raises(Interrupted):
            run_sldp(world, out)
    progress_logs.clear()
    run_sldp(world, out, resume=True)
    profiles = messages(progress_logs, "SLDP signed LD profiles: ")
    assert all(f"{blocks.count('chr1')} kept from the stopped run" in p for p in profiles)
    assert profiles[-1].startswith(f"SLDP signed LD profiles: {len(blocks)}/{len(blocks)} ")
    # a run stopped in the second phenotype's sign flips keeps the first one's
    real, regressed = outputs.regress, []

    def regress(*args, **kwargs):
        regressed.append(1)
        if len(regressed) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outputs, "regress", regress)
        with pytest.raises(Interrupted):
            run_sldp(world, tmp_path / "flips")
    progress_logs.clear()
    run_sldp(world, tmp_path / "flips", resume=True)
    flips = messages(progress_logs, "SLDP sign flips: ")
    total = int(flips[-1].split("/")[1].split(" ")[0])  # two phenotypes' annotations
    assert flips[-1].startswith(f"SLDP sign flips: {total}/{total} annotations (100.0%)")
    assert all(f"{total // 2} kept from the stopped run" in f for f in flips)
