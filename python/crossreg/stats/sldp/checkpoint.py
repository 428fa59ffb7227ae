"""The checkpoint of a run's block pass: ``OUT/.partial/``, one ``chr{N}.npz`` per finished
panel chromosome (its :class:`~crossreg.stats.sldp.chrom_part.ChromPart`, written whole or
not at all; each phenotype's block statistics are members of their own, which the
regression reads back one phenotype at a time) and ``settings.json``, the fingerprint of
everything that decides those numbers (the options and the content of every input file:
its size and SHA-256, so that copies of the inputs at other paths resume; their paths are
recorded only to name one). A run killed at chromosome 21 continues with ``resume`` from
there, and ends with the same bytes as an uninterrupted run; a resume with other settings
or an edited input is refused, naming what differs. Without ``resume`` a left-over
checkpoint is refused, as ``crossreg sad`` refuses its ``OUT.partial/``."""

from __future__ import annotations

import json
import logging
import os
import shutil
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from crossreg.errors import Interrupted
from crossreg.io.atomic import atomic_write
from crossreg.io.changes import Option, changes
from crossreg.io.identity import (
    IDENTITY_RULE,
    content_identity,
    identity_difference,
    old_store_refusal,
    sampled_identity,
    settings_hash,
)
from crossreg.stats.sldp.annotations import INFO_FIELDS
from crossreg.stats.sldp.chrom_part import AnnotationState, ChromPart, Info, PhenoBlocks
from crossreg.stats.sldp.panel import chrom_label
from crossreg.stats.sldp.regression import BlockStats, Results

log = logging.getLogger("crossreg")

CHECKPOINT = ".partial"
SETTINGS_FILE = "settings.json"
STATS_FIELDS = ("numerator", "dkk", "dkb", "dbb")
RESULT_FIELDS = ("z", "p", "z_fast", "p_fast", "mu", "se", "q", "r")
REGRESSIONS = "regression"  # OUT/.partial/regression/p{k}.npz: phenotype k's finished flips
#: What a resumed run must share with the one it continues (named in messages).
SLDP_INPUTS = "panel, print SNPs, LD blocks, LD scores, annotations, phenotypes and options"
SHOWN = 5  # differences named in a refusal
#: The recorded options whose unset value reads otherwise than "none" (the others are
#: spelt as their keys: ``jk_blocks`` is ``--jk-blocks``; :mod:`crossreg.io.changes`)
SLDP_OPTIONS = {"eqtl_n": Option("--eqtl-n", unset="each table's N column")}


def checkpoint_dir(out: str | os.PathLike[str]) -> Path:
    """``OUT/.partial/``: the finished chromosomes of a run being written."""
    return Path(out) / CHECKPOINT


def refuse_checkpoint(out: str | os.PathLike[str]) -> None:
    """Stop when an interrupted run left its checkpoint in `out` and ``resume`` was not
    asked (as ``crossreg sad`` does with its ``OUT.partial/``)."""
    folder = checkpoint_dir(out)
    if folder.exists():
        raise FileExistsError(
            f"{folder} is left from an interrupted run: rerun with --resume to continue it "
            f"(same {SLDP_INPUTS}), or delete {folder} to start again"
        )


def fingerprint(
    options: Mapping[str, object],
    files: Sequence[str | os.PathLike[str]],
    sampled: Sequence[str | os.PathLike[str]] = (),
) -> dict[str, object]:
    """What decides a run's block pass: its `options` (JSON values) and, in order, the
    content identity of each of its input `files` (:func:`content_identity`; None for one
    that is absent; of those in `sampled`, read in part, :func:`sampled_identity`), so that
    copies of the inputs at other paths resume; their paths are recorded (``paths``) to
    name a file that differs, but do not decide."""
    read_in_part = {Path(path) for path in sampled}

    def identity(path: Path) -> dict[str, object] | None:
        if not path.exists():
            return None
        return sampled_identity(path) if path in read_in_part else content_identity(path)

    return {
        "identity": IDENTITY_RULE,
        "options": dict(options),
        "files": [identity(Path(path)) for path in files],
        "paths": [str(path) for path in files],
    }


def decisive(settings: Mapping[str, object]) -> dict[str, object]:
    """A fingerprint without what only names (``paths``): what a resume must match."""
    return {key: value for key, value in settings.items() if key != "paths"}


def differences(before: Mapping[str, object], now: Mapping[str, object]) -> list[str]:
    """How the fingerprint `now` differs from `before`: options by name, as the command
    line gives them (:func:`crossreg.io.changes.changes`: ``--chroms 1,22 then, 1 now``),
    files by the path now given (and then, where it was another) and how their content
    differs."""
    found = changes(_mapping(before.get("options")), _mapping(now.get("options")), SLDP_OPTIONS)
    old_files, new_files = _list(before.get("files")), _list(now.get("files"))
    old_paths, new_paths = _list(before.get("paths")), _list(now.get("paths"))
    if len(old_files) != len(new_files):
        found.append(f"{len(old_files)} input files were read then, {len(new_files)} now")
        return found
    for k, (old, new) in enumerate(zip(old_files, new_files, strict=True)):
        if old == new:
            continue
        path = str(new_paths[k]) if k < len(new_paths) else f"input file {k + 1}"
        if not isinstance(old, dict) or not isinstance(new, dict):
            found.append(f"{path} {'is read now, not then' if old is None else 'is missing now'}")
        else:
            was = str(old_paths[k]) if k < len(old_paths) else path
            named = path if was == path else f"{path} ({was} then)"
            found.append(f"{named}: {identity_difference(old, new)}")
    return found


def _mapping(value: object) -> dict[str, object]:
    return dict(value) if isinstance(value, dict) else {}


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def write_npz(handle: IO[bytes], members: Iterable[tuple[str, npt.NDArray[np.generic]]]) -> None:
    """The file ``np.savez`` writes (an uncompressed ``NAME.npy`` a member), written a
    member at a time as `members` yields them, so that only one is held besides what the
    caller holds."""
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in members:
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


class Checkpoint:
    """``OUT/.partial/``: :meth:`open` it, then :meth:`load` or :meth:`save` each
    chromosome's share of the pass, read each phenotype's block statistics back with
    :meth:`pheno_stats`, and :meth:`remove` it once the outputs are written."""

    def __init__(self, out: str | os.PathLike[str], phenos: Sequence[str]) -> None:
        self.root = checkpoint_dir(out)
        self.phenos = list(phenos)
        self.key = ""
        self.made_out = False  # whether `out` was made for the checkpoint
        self.chroms: list[str] = []  # the chromosomes saved or taken, in the pass's order

    def open(self, settings: dict[str, object], *, resume: bool) -> None:
        """Start afresh (without `resume` a left-over checkpoint is refused), or with
        `resume` continue one left by a run with the same `settings` (refused, naming what
        differs, when they are not)."""
        self.key = settings_hash(decisive(settings))
        record = self.root / SETTINGS_FILE
        if not resume:
            refuse_checkpoint(self.root.parent)
        elif record.is_file():
            self._check_settings(record, settings)
            finished = [p.stem for p in sorted(self.root.glob("*.npz"))]
            log.info(
                "resuming %s: %d finished chromosome(s) kept (%s)",
                self.root,
                len(finished),
                ", ".join(finished) or "none",
            )
            for stale in self.root.glob(".*.tmp"):  # a write a kill left unfinished
                stale.unlink()
            return
        else:
            log.info("%s: no finished chromosome to resume; starting from the beginning", self.root)
            shutil.rmtree(self.root, ignore_errors=True)
        self.made_out = not self.root.parent.exists()
        self.root.mkdir(parents=True)
        with atomic_write(record) as handle:
            json.dump(settings, handle, indent=1, sort_keys=True)

    def _check_settings(self, record: Path, settings: dict[str, object]) -> None:
        try:
            saved = json.loads(record.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(
                f"--resume: {record} cannot be read ({err}), so what the interrupted run "
                f"computed cannot be checked; delete {self.root} to start again"
            ) from None
        if settings_hash(decisive(saved)) == self.key:
            return
        if not isinstance(saved, dict) or saved.get("identity") != IDENTITY_RULE:
            raise ValueError(f"--resume: {old_store_refusal(self.root)}")
        if "sannot_chr" not in _mapping(saved.get("options")):
            raise ValueError(
                f"--resume: {self.root} was left by an earlier crossreg, whose checkpoint does "
                "not record which option gave each input file (the same files given to "
                "--sannot-chr or --background-sannot-chr, --sumstats or --eqtl give other "
                f"results); delete {self.root} to start again"
            )
        found = differences(saved, settings) or ["the recorded settings"]
        shown = "; ".join(found[:SHOWN]) + (
            f"; and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
        )
        raise ValueError(
            f"--resume: {self.root} was left by a run with other settings: {shown}; resume "
            f"with the {SLDP_INPUTS} it started with, or delete {self.root} to start again"
        )

    def path(self, chrom: str) -> Path:
        """The file of the chromosome `chrom`'s share: ``chr{N}.npz``."""
        return self.root / f"{chrom_label(chrom)}.npz"

    def save(self, part: ChromPart) -> None:
        """Write `part` whole (or not at all) as its chromosome's file: the `k`-th
        phenotype's blocks with statistics ``p{k}.blocks`` and their statistics
        ``p{k}.numerator``, ``p{k}.dkk``, ``p{k}.dkb``, ``p{k}.dbb`` (blocks first), each
        stacked as it is written."""
        with atomic_write(self.path(part.chrom), "wb") as handle:
            write_npz(handle, self._members(part))
        self.chroms.append(part.chrom)

    def _members(self, part: ChromPart) -> Iterator[tuple[str, npt.NDArray[np.generic]]]:
        """The arrays of `part`'s file, by name."""
        for name in INFO_FIELDS:
            yield f"info.{name}", np.asarray(part.info[name])
        phenos = []
        for k, name in enumerate(self.phenos):
            target, stats = part.per_pheno[name], part.stats[name]
            ids = np.array(list(stats), dtype=np.int64)
            yield f"p{k}.blocks", ids
            yield f"p{k}.m_h", target.m_h[ids]
            yield f"p{k}.snpind", target.snpind[ids]
            yield f"p{k}.signal", target.signal
            for field in STATS_FIELDS:
                values = [getattr(stats[int(i)], field) for i in ids]
                yield f"p{k}.{field}", np.stack(values) if values else np.zeros(0)
            phenos.append({"name": name, "typed": target.typed, "indefinite": target.indefinite})
        meta = {
            "settings": self.key,
            "chrom": part.chrom,
            "phenos": phenos,
            "counts": part.counts,
            "ranks": part.ranks,
            "annotations": {
                group: {"names": s.names, "origin": s.origin, "matched": s.matched}
                for group, s in part.annotations.items()
            },
            "snps": part.snps,
        }
        yield "meta", np.array(json.dumps(meta))

    def pheno_stats(self, pheno: int) -> dict[int, BlockStats]:
        """The `pheno`-th phenotype's statistics of its LD blocks on every chromosome saved
        or taken, read from their files (its members alone)."""
        found: dict[int, BlockStats] = {}
        for chrom in self.chroms:
            path = self.path(chrom)
            with np.load(path, allow_pickle=False) as saved:
                ids = saved[f"p{pheno}.blocks"].astype(np.int64)
                fields = [saved[f"p{pheno}.{field}"] for field in STATS_FIELDS]
            if any(len(values) != len(ids) for values in fields):
                raise ValueError(
                    f"{path}: {self.phenos[pheno]}'s statistics do not match its "
                    f"{len(ids)} LD blocks there (a damaged checkpoint); run again without "
                    "--resume"
                )
            for j, block in enumerate(ids.tolist()):
                found[block] = BlockStats(*(values[j] for values in fields))
        return found

    def results_path(self, pheno: int) -> Path:
        """The file of the `pheno`-th phenotype's finished regression: ``regression/p{k}.npz``."""
        return self.root / REGRESSIONS / f"p{pheno}.npz"

    def save_results(self, pheno: int, after: dict[str, object], results: Results) -> None:
        """Write the `pheno`-th phenotype's regression `results` whole (or not at all),
        with `after`, the options that decide them after the pass (seed, flips, chunks)."""
        arrays = {name: np.asarray(getattr(results, name)) for name in RESULT_FIELDS}
        arrays["meta"] = np.array(json.dumps({"settings": self.key, "after": after}))
        path = self.results_path(pheno)
        path.parent.mkdir(exist_ok=True)
        with atomic_write(path, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]

    def load_results(self, pheno: int, after: dict[str, object]) -> Results | None:
        """The `pheno`-th phenotype's regression when a finished one with the same pass and
        `after` options is here; else None (to compute; a file that cannot be read is
        warned about)."""
        path = self.results_path(pheno)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as saved:
                meta = json.loads(str(saved["meta"]))
                if meta != {"settings": self.key, "after": after}:
                    return None  # other --seed, --flips or --jk-blocks: computed again
                results = Results(*(saved[name] for name in RESULT_FIELDS))
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
            log.warning("%s cannot be read (%s): its sign flips are drawn again", path, err)
            return None
        log.info("%s: regression taken from the checkpoint %s", self.phenos[pheno], path)
        return results

    def load(self, chrom: str, n_blocks: int) -> ChromPart | None:
        """The chromosome `chrom`'s share (a run of `n_blocks` LD blocks) when a finished one
        is here; None when it is not (to compute), or when its file cannot be read or is
        not this run's (with a warning naming it: it is computed again)."""
        path = self.path(chrom)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as saved:
                damaged = saved.zip.testzip()  # every member's CRC, a MiB at a time
                if damaged is not None:
                    raise ValueError(f"its member {damaged} is damaged")
                part = self._part(chrom, n_blocks, saved)
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
            log.warning("%s cannot be read (%s): computing %s again", path, err, chrom_label(chrom))
            return None
        log.info(
            "%s: taken from the checkpoint %s (%d blocks with print SNPs, %d SNPs)",
            chrom_label(chrom),
            path,
            part.ranks["with_print_snps"],
            part.snps,
        )
        self.chroms.append(chrom)
        return part

    def _part(
        self, chrom: str, n_blocks: int, arrays: Mapping[str, npt.NDArray[np.generic]]
    ) -> ChromPart:
        """The share saved as `arrays` (read a member at a time), without its block
        statistics; a ValueError when it is not this run's."""
        meta = json.loads(str(arrays["meta"]))
        if meta["settings"] != self.key or meta["chrom"] != chrom:
            raise ValueError("written by another run")
        if [p["name"] for p in meta["phenos"]] != self.phenos:
            raise ValueError("its phenotypes are not this run's")
        per_pheno = {}
        for k, saved in enumerate(meta["phenos"]):
            target = PhenoBlocks.empty(n_blocks)
            ids = arrays[f"p{k}.blocks"].astype(np.int64)
            if ids.size and (ids.min() < 0 or ids.max() >= n_blocks):
                raise ValueError("its LD blocks are not this run's")
            for field in STATS_FIELDS:  # read by the regression
                if f"p{k}.{field}" not in arrays:
                    raise KeyError(f"p{k}.{field}")
            target.with_stats[ids] = True
            target.m_h[ids] = arrays[f"p{k}.m_h"]
            target.snpind[ids] = arrays[f"p{k}.snpind"]
            target.typed, target.indefinite = bool(saved["typed"]), int(saved["indefinite"])
            target.signal = arrays[f"p{k}.signal"].astype(bool)
            per_pheno[saved["name"]] = target
        info: Info = {name: np.asarray(arrays[f"info.{name}"], np.float64) for name in INFO_FIELDS}
        annotations = {
            group: AnnotationState(s["names"], s["origin"], s["matched"])
            for group, s in meta["annotations"].items()
        }
        return ChromPart(
            chrom, per_pheno, info, meta["counts"], meta["ranks"], annotations, meta["snps"], {}
        )

    @contextmanager
    def kept(self, chroms: int) -> Iterator[None]:
        """The pass over `chroms` chromosomes and what follows it, to the outputs: once
        they are written the checkpoint is removed, and so it is after an input error (a
        ValueError: the corrected rerun cannot resume); a Ctrl-C says how many
        chromosomes are kept for ``--resume``."""
        try:
            yield
        except KeyboardInterrupt:
            kept = len(list(self.root.glob("*.npz")))
            regressed = len(list((self.root / REGRESSIONS).glob("*.npz")))
            flipped = (
                f" and the regression of {regressed} of {len(self.phenos)} phenotype(s)"
                if regressed
                else ""
            )
            raise Interrupted(
                f"{kept} of {chroms} chromosome(s){flipped} kept in {self.root}; rerun with "
                "--resume to continue"
            ) from None
        except ValueError:
            self.remove()
            raise
        self.remove()

    def remove(self) -> None:
        """Delete the checkpoint (and `out`, when it was made for it and holds nothing else)."""
        shutil.rmtree(self.root, ignore_errors=True)
        if self.made_out and not any(self.root.parent.iterdir()):
            self.root.parent.rmdir()
