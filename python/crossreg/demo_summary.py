"""What ``crossreg demo`` found, from the files its steps wrote: the synthetic ceilings of
each store, per genome and assay the joint and single-genome models' test R beside them,
the SLDP and saturation-mutagenesis summaries, and the whole summary as a readable table
(``summary.txt``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
import torch

from crossreg.data.store import DataStore
from crossreg.errors import CommandError
from crossreg.evaluate.transfer_tracks import experiment_label
from crossreg.io.h5 import read_h5
from crossreg.io.tables import as_float, as_int
from crossreg.model.metrics import TrackMetrics
from crossreg.synth.motifs import Motif
from crossreg.variants.ism_figures import marked_motifs
from crossreg.variants.ism_motifs import motif_matches
from crossreg.variants.ism_stored_sites import chromosome_bounds, strongest_track
from crossreg.variants.sad_read import read_sad


def store_ceilings(measured: Path, noise_free: Path, split: str = "test") -> dict[str, float]:
    """Per-track Pearson R of the measured targets against the noise-free ones on `split`.

    Both stores hold the same windows through the same transforms (clipping, scaling,
    masking), so this is the best R any model can reach there, measured as the models are.
    Given the in-window truth's store instead (``synth``'s ``targets_in_window``: what the
    window's sequence determines), it is the reachable ceiling: the R of a model that
    predicts everything its window can tell.
    """
    a, b = DataStore(measured), DataStore(noise_free)
    ids = a.table.identifiers
    if a.windows(split) != b.windows(split) or a.num_targets != b.num_targets:
        raise CommandError(f"{measured} and {noise_free} do not hold the same windows and tracks")
    metrics = TrackMetrics(len(ids))
    y, clean = a.targets(split), b.targets(split)
    for start in range(0, len(y), 64):
        metrics.update(
            torch.from_numpy(clean[start : start + 64].astype(np.float32)),
            torch.from_numpy(y[start : start + 64].astype(np.float32)),
        )
    return dict(zip(ids, metrics.pearson_r().tolist(), strict=True))


def sldp_summary(results: pl.DataFrame, tables: list[Path], panel: dict) -> dict:
    """Per head and tissue: the z and p of the head's tracks of that tissue's cell type
    (all tracks for the null tissue), and how many pass p < 0.05 with a positive z."""
    summary: dict[str, dict] = {}
    for table in tables:
        sad = read_sad(table)
        head = table.name.split(".")[1].removesuffix("_head")
        for tissue in panel["tissues"]:
            cell = panel["cell_types"].get(tissue)
            wanted = [
                i
                for i, d in zip(sad.identifiers, sad.descriptions, strict=True)
                if cell is None or d.endswith(f":{cell}")
            ]
            rows = results.filter((pl.col("pheno") == tissue) & pl.col("annot").is_in(wanted))
            summary[f"{head}_head_on_{tissue}"] = {
                "tracks": rows.height,
                "significant_positive": int(((rows["p"] < 0.05) & (rows["z"] > 0)).sum()),
                "significant": int((rows["p"] < 0.05).sum()),
                "mean_z": round(as_float(rows["z"].mean()), 3) if rows.height else None,
                "best": {
                    r["annot"]: [round(r["z"], 3), float(f"{r['p']:.3g}")]
                    for r in rows.sort("p").head(3).iter_rows(named=True)
                },
            }
    return summary


def ism_summary(table: Path, sites: pl.DataFrame, motifs: Sequence[Motif] = ()) -> dict:
    """Share of each ISM site's |importance| on the motif site under its variant (its
    ``pos``: the demo scores a VCF), beside the share by chance; with
    `motifs`, how many sites' figures name the planted motif (``tf`` of `sites`) among the
    matches they mark over it (:func:`crossreg.variants.ism_figures.marked_motifs`)."""
    with read_h5(table, "rerun crossreg demo to write it again") as handle:
        # sites, width, 4, tracks; NaN at positions off a chromosome
        drawn = handle["sum"][:].astype(np.float32)  # as the figures read them
        scores = drawn.astype(np.float64)
        reference = handle["seqs"][:].astype(np.float64)  # sites, width, 4
        chroms = handle["chr"][:].astype(str)
        starts = handle["start"][:].astype(np.int64)
        positions = handle["pos"][:].astype(np.int64) - 1  # the variants' 0-based first bases
    # importance: minus the mean effect of the three mutations (4/3 of the reference
    # base's mean-removed score)
    on_chromosome = ~np.isnan(scores).all(axis=(2, 3))  # sites, width
    scores = np.nan_to_num(scores, nan=0.0)
    importance = np.abs(4 / 3 * np.einsum("swbt,swb->swt", scores, reference))
    width = scores.shape[1]
    shares, chance, named = [], [], 0
    for k, (chrom, start, position) in enumerate(zip(chroms, starts, positions, strict=True)):
        site = sites.filter(
            (pl.col("chrom") == chrom) & (pl.col("start") <= position) & (pl.col("end") > position)
        )
        if site.is_empty():
            continue
        lo, hi = as_int(site["start"].min()) - start, as_int(site["end"].max()) - start
        track = int(importance[k].sum(axis=0).argmax())
        per_base = importance[k, :, track]
        shares.append(float(per_base[max(lo, 0) : min(hi, width)].sum() / per_base.sum()))
        on_motif = on_chromosome[k, max(lo, 0) : min(hi, width)].sum()
        chance.append(on_motif / on_chromosome[k].sum())
        if motifs:
            named += _figure_names_motif(drawn[k], reference[k], site, start, motifs)
    return {
        "sites": len(shares),
        "mean_share_on_motif": round(float(np.mean(shares)), 3) if shares else None,
        "mean_share_by_chance": round(float(np.mean(chance)), 3) if chance else None,
        "sites_above_chance": int(sum(a > b for a, b in zip(shares, chance, strict=True))),
        **({"sites_motif_named": named} if motifs else {}),
    }


def _figure_names_motif(
    scores: np.ndarray,
    reference: np.ndarray,
    site: pl.DataFrame,
    start: int,
    motifs: Sequence[Motif],
) -> bool:
    """Whether the figure of one ISM site starting at `start` (`scores` ``(width, 4,
    tracks)``, NaN off the chromosome) marks a match of a planted motif of `site` (rows of
    the motif-site table) overlapping that motif's bases: drawn as
    :func:`~crossreg.variants.ism_figures.plot_ism_file` draws it, over the positions on
    the chromosome, for its strongest track."""
    first, end = chromosome_bounds(scores, reference)
    scores, reference = scores[first:end], reference[first:end].astype(np.float32)
    track = strongest_track(scores)
    marked = marked_motifs(scores[..., track], reference, motif_matches(reference, motifs))
    start += first
    return any(
        hit.name == row["tf"] and hit.start < row["end"] - start and row["start"] - start < hit.end
        for hit in marked
        for row in site.iter_rows(named=True)
    )


def genome_summary(
    pairs: pl.DataFrame,
    comparison: pl.DataFrame,
    ceilings: dict[str, float],
    reachable: dict[str, float],
) -> dict[str, dict]:
    """Per assay: mean test R of both models, the mean noise ceiling and reachable ceiling
    of its tracks (:func:`store_ceilings`), and how many tracks joint training improves."""
    rows = pairs.with_columns(
        pl.col("identifier").replace_strict(ceilings, default=None).alias("ceiling"),
        pl.col("identifier").replace_strict(reachable, default=None).alias("reachable"),
    )
    result = {}
    for row in comparison.iter_rows(named=True):
        assay = row["assay"]
        group = rows if assay == "ALL" else rows.filter(pl.col("assay") == assay)
        ceiling = as_float(group["ceiling"].mean())
        reach = as_float(group["reachable"].mean())
        result[assay] = {
            "tracks": row["tracks"],
            "test_r_joint": round(row["mean_r_joint"], 4),
            "test_r_single": round(row["mean_r_single"], 4),
            "ceiling": round(ceiling, 4),
            "joint_over_ceiling": round(row["mean_r_joint"] / ceiling, 3),
            "reachable_ceiling": round(reach, 4),
            "joint_over_reachable": round(row["mean_r_joint"] / reach, 3),
            "improved_by_joint": row["improved"],
            "binomial_p": float(f"{row['binomial_p']:.3g}"),
        }
    return result


def _fmt(value: float | None) -> str:
    """A correlation for the summary table (``n/a`` when it could not be computed; the
    transfer rows then say why)."""
    return "n/a" if value is None else f"{value:.3f}"


def _run_time(summary: dict) -> str:
    """The run's time over its sittings, and this sitting's when there were several (a
    summary written before sittings were counted gives its ``seconds`` alone)."""
    sittings = summary.get("sittings", 1)
    if sittings == 1:
        return f"{summary['seconds']} s"
    return f"{summary['seconds']} s in {sittings} sittings, this one {summary['sitting_seconds']} s"


def format_summary(summary: dict) -> str:
    """The summary as a readable table."""
    lines = [f"crossreg demo ({summary['settings']['preset']} preset, {_run_time(summary)})"]
    lines.append(
        "ceiling: R of the measured vs noise-free targets; reach: vs the in-window truth "
        "(what the window's sequence determines)"
    )
    header = f"{'genome':8s} {'assay':6s} {'tracks':>6s} {'joint R':>8s} {'single R':>8s}"
    header += f" {'ceiling':>8s} {'joint/ceil':>10s} {'reach':>6s} {'joint/reach':>11s}"
    header += f" {'improved':>9s} {'binom p':>8s}"
    lines.append(header)
    for genome, assays in summary["genomes"].items():
        for assay, s in assays.items():
            lines.append(
                f"{genome:8s} {assay:6s} {s['tracks']:6d} {s['test_r_joint']:8.3f} "
                f"{s['test_r_single']:8.3f} {s['ceiling']:8.3f} {s['joint_over_ceiling']:10.3f} "
                f"{s['reachable_ceiling']:6.3f} {s['joint_over_reachable']:11.3f} "
                f"{s['improved_by_joint']:4d}/{s['tracks']:<4d} {s['binomial_p']:8.3g}"
            )
    if summary.get("transfer"):
        lines.append("")
        lines.append(
            "transfer at held-out sites (valid+test; CAGE/CHIP at gene TSSs, DNASE/ATAC, one "
            "class, at the 10% most variable bins), joint model"
        )
        header = f"{'head on genome':22s} {'assay':10s} {'pairs':>5s} {'sites':>6s} {'raw R':>7s}"
        header += f" {'norm pairs':>10s} {'norm R matched':>14s} {'norm R unmatched':>16s}"
        lines.append(header)
        for key, assays in summary["transfer"].items():
            for assay, t in assays.items():
                sites = t.get("tss", t.get("sites", 0))
                lines.append(
                    f"{key.replace('_', ' '):22s} {experiment_label(assay):10s} {t['pairs']:5d} "
                    f"{sites:6d} "
                    f"{_fmt(t['raw_r']):>7s} {t['normalised_pairs']:10d} "
                    f"{_fmt(t['normalised_r_matched']):>14s} "
                    f"{_fmt(t['normalised_r_unmatched']):>16s}"
                    + (
                        f"  (normalised: {t['normalised_r_note']})"
                        if None in (t["normalised_r_matched"], t["normalised_r_unmatched"])
                        else ""
                    )
                )
    lines.append("")
    lines.append("planted variant effects, SAD of the joint model (--rc), tracks matched by assay")
    header = f"{'head on variants':22s} {'pairs':>6s} {'sign agrees':>11s} {'p':>9s}"
    lines.append(header + f" {'|SAD| effect/neutral':>21s}")
    for key, v in summary.get("variants", {}).items():
        lines.append(
            f"{key.replace('_', ' '):22s} {v['pairs_with_effect']:6d} {v['sign_agreement']:11.3f} "
            f"{v['sign_p']:9.3g} {v['effect_vs_neutral']:21.2f}"
        )
    if "denovo" in summary:
        d = summary["denovo"]
        lines.append("")
        lines.append(
            f"de novo variants of {d['cases']} cases vs {d['controls']} controls (planted: "
            f"{d['enriched_cell_type']} enhancer sites broken in cases)"
        )
        lines.append(
            f"tracks with BH q < 0.05: {', '.join(d['tracks_q_below_0.05']) or 'none'}; top "
            f"{d['top_track']} (q {d['top_track_q']:.3g})"
        )
        lines.append(
            f"per-person risk score, 5-fold: AUC {d['risk_auc']:.3f} (p {d['risk_p']:.3g})"
        )
    if summary.get("ism", {}).get("sites"):
        m = summary["ism"]
        lines.append("")
        lines.append(
            f"saturation mutagenesis of {m['sites']} planted motif-breaking variants (human head): "
            f"{m['mean_share_on_motif']:.2f} of the importance on the broken motif site "
            f"(chance {m['mean_share_by_chance']:.2f}; {m['sites_above_chance']}/{m['sites']} "
            "sites above chance)"
            + (
                f"; the figure names the broken motif at {m['sites_motif_named']}/{m['sites']}"
                if "sites_motif_named" in m
                else ""
            )
        )
    if "sldp" in summary:
        lines.append("")
        lines.append(
            "SLDP of the panel's SAD (joint model) on each tissue's statistics: the head's tracks "
            "of that cell type (all tracks on null)"
        )
        lines.append(f"{'head on tissue':26s} {'tracks':>6s} {'p<0.05, z>0':>11s} {'mean z':>7s}")
        for key, v in summary["sldp"].items():
            mean_z = "n/a" if v["mean_z"] is None else f"{v['mean_z']:.2f}"
            lines.append(
                f"{key.replace('_', ' '):26s} {v['tracks']:6d} "
                f"{v['significant_positive']:5d}/{v['tracks']:<5d} {mean_z:>7s}"
            )
    return "\n".join(lines) + "\n"
