"""``crossreg transfer`` refuses a GTF of another genome (a mouse GTF on a human store):
its genes are checked against the chromosome sizes the store records."""

from __future__ import annotations

import json
import logging
import shutil
from collections import Counter
from pathlib import Path

import pytest

from crossreg.cli import main
from crossreg.data.store import DataStore
from crossreg.genome import Genome
from crossreg.io.gtf import GtfRecord, gene_tss, read_gtf, write_gtf
from crossreg.io.gtf_genome import check_gtf_genome

GENOMES = Path(__file__).parent / "data" / "genomes"


def _sizes(name: str) -> dict[str, int]:
    """The real chromosome sizes of ``human.hg38`` or ``mouse.mm10``."""
    rows = (line.split("\t") for line in (GENOMES / f"{name}.genome").read_text().splitlines())
    return {chrom: int(length) for chrom, length in rows}


def _spread_gtf(path: Path, sizes: dict[str, int], per_chrom: int = 20) -> Path:
    """A GTF of `per_chrom` one-transcript genes spread evenly along each chromosome of
    `sizes` (the last 1 kb before its end)."""
    records = []
    for chrom, length in sizes.items():
        for k in range(per_chrom):
            start = (length - 1_000) * k // (per_chrom - 1)
            gene = {"gene_id": f"{chrom}_g{k}", "transcript_id": f"{chrom}_t{k}"}
            records.append(
                GtfRecord(chrom, "t", "transcript", start, start + 500, ".", "+", ".", gene)
            )
    write_gtf(path, records)
    return path


def _main(sizes: dict[str, int]) -> dict[str, int]:
    """The main chromosomes (``chr1``...``chrMT``) of `sizes`."""
    return {c: n for c, n in sizes.items() if c.startswith("chr")}


def _tss(path: Path) -> dict[str, list[tuple[str, int]]]:
    return gene_tss(read_gtf(path))


def _check(gtf: Path, sizes: dict[str, int], genome: str, store: str) -> None:
    """`gtf` checked as ``crossreg transfer`` checks it on the store `store` of `genome`."""
    check_gtf_genome(
        gtf,
        _tss(gtf),
        sizes,
        f"the genome of {store} ({genome})",
        f"give the GTF of the store's genome, {genome}",
    )


def test_a_mouse_gtf_on_the_human_genome_is_refused_naming_a_tss_past_its_chromosome(tmp_path):
    mouse = _spread_gtf(tmp_path / "mm10.gtf", _main(_sizes("mouse.mm10")))
    human = _sizes("human.hg38")
    # mouse and human share chromosome names; mouse chr14 (124.9 Mb) outruns human's 107 Mb
    with pytest.raises(ValueError) as err:
        _check(mouse, human, "human (hg38)", "data/human")
    text = str(err.value)
    assert text.startswith(f"{mouse}: ") and "data/human (human (hg38))" in text
    assert "past the end of their chromosome" in text
    assert "give the GTF of the store's genome, human (hg38)" in text
    # the example names its gene, position, the chromosome's length and its GTF line
    first = next(
        (c, p, g) for g, s in _tss(mouse).items() for c, p in s if c in human and p >= human[c]
    )
    chrom, pos, gene = first
    assert f"gene '{gene}' at {chrom}:{pos + 1:,}, past {chrom}'s {human[chrom]:,} bp" in text
    line = (
        mouse.read_text()
        .splitlines()
        .index(next(x for x in mouse.read_text().splitlines() if f'"{gene}"' in x))
    )
    assert f"({mouse}:{line + 1})" in text
    # and each GTF on its own genome passes
    _check(mouse, _sizes("mouse.mm10"), "mouse (mm10)", "data/mouse")
    own = _spread_gtf(tmp_path / "hg38.gtf", _main(human))
    _check(own, human, "human (hg38)", "data/human")
    with pytest.raises(ValueError, match="past the end of their chromosome"):
        _check(own, _sizes("mouse.mm10"), "mouse (mm10)", "data/mouse")


def test_a_tss_at_the_chromosomes_last_base_is_in_and_one_past_it_is_not(tmp_path):
    sizes = {"chr1": 10_000}
    for end, ok in ((10_000, True), (10_001, False)):
        path = tmp_path / f"{end}.gtf"
        gene = {"gene_id": "G", "transcript_id": "T"}
        write_gtf(path, [GtfRecord("chr1", "t", "transcript", 100, end, ".", "-", ".", gene)])
        if ok:
            _check(path, sizes, "g", "store")
        else:
            with pytest.raises(ValueError, match=r"at chr1:10,001, past chr1's 10,000 bp"):
                _check(
                    path, sizes, "the genome of store (g)", "give the GTF of the store's genome, g"
                )


def test_genes_on_absent_chromosomes_warn_when_few_and_stop_when_most(tmp_path, logs):
    human = _sizes("human.hg38")
    main_only = _main(human)
    gtf = _spread_gtf(tmp_path / "all.gtf", {**main_only, "GL000220.1": human["GL000220.1"]})
    tss = _tss(gtf)
    # 20 genes on an unplaced contig a FASTA of the main chromosomes leaves out: counted
    _check(gtf, main_only, "human (hg38)", "data/human")
    assert (
        f"20 of the {len(tss)} genes of {gtf} lie on chromosomes absent from the "
        f"{len(main_only)} chromosomes of the genome of data/human (human (hg38)): "
        "GL000220.1 (20); "
        "they are left out"
    ) in logs.text
    assert all(r.levelno == logging.WARNING for r in logs.records)
    # a GTF of another assembly's names: no gene anywhere in the genome, whatever asked
    others = {f"NC_0000{k:02d}.11": n for k, n in enumerate(main_only.values())}
    renamed = _spread_gtf(tmp_path / "refseq.gtf", others, 20)
    n = len(_tss(renamed))
    for absent_is_error in (True, False):
        with pytest.raises(ValueError) as err:
            check_gtf_genome(
                renamed, _tss(renamed), main_only, "the genome of data/human (human (hg38))",
                "give the GTF of the store's genome", absent_is_error=absent_is_error,
            )  # fmt: skip
        text = str(err.value)
        assert text.startswith(
            f"{renamed}: none of its {n} genes lies on one of the {len(main_only)} chromosomes "
            "of the genome of data/human (human (hg38)): its genes lie on NC_000000.11 (20), "
            "NC_000001.11 (20), "
        )
        assert "; the genome's are chr1, chr2, chr3, chr4, chr5 and " in text
        assert f"e.g. gene 'NC_000000.11_g0' ({renamed}:1): the GTF names its chromosomes " in text
        assert text.endswith(
            "rename the GTF's chromosomes (its first column) to the genome's, or give the GTF "
            "of the store's genome"
        )
    # most genes on other names but a few on the genome's (2% of it): refused, as before
    few = _spread_gtf(tmp_path / "few.gtf", {**others, "chr21": human["chr21"]}, 20)
    with pytest.raises(ValueError) as err:
        _check(few, main_only, "human (hg38)", "data/human")
    text = str(err.value)
    assert f"{n} of the {n + 20} genes of {few} lie on chromosomes absent from " in text
    assert "; the genome's are chr1, chr2, chr3, chr4, chr5 and " in text
    assert "names its chromosomes otherwise; rename the GTF's chromosomes" in text


def test_a_whole_genome_gtf_on_a_fasta_of_some_chromosomes_warns_and_is_not_refused(tmp_path, logs):
    """A FASTA of chr2 alone (or chr1 and chr2) with the whole genome's GTF: most genes
    are on chromosomes the FASTA leaves out, yet the GTF is of its genome."""
    human = _main(_sizes("human.hg38"))
    gtf = _spread_gtf(tmp_path / "all.gtf", human)
    for kept in (["chr2"], ["chr1", "chr2"]):
        some = {c: human[c] for c in kept}
        _check(gtf, some, "human (hg38)", "data/human")
        absent = 20 * (len(human) - len(kept))
        assert f"{absent} of the {20 * len(human)} genes of {gtf} lie on chromosomes" in logs.text
        assert "they are left out" in logs.text
    # the same share of genes away from a genome whose chromosomes carry few of the rest:
    # another naming, refused (chr21 and chr22 are 2% of the genome)
    named_otherwise = {**{f"NC_{c}": n for c, n in human.items()}, "chr21": human["chr21"]}
    named_otherwise["chr22"] = human["chr22"]
    with pytest.raises(ValueError, match="names its chromosomes otherwise"):
        _check(gtf, named_otherwise, "human (hg38)", "data/human")


def test_the_store_records_its_fastas_chromosome_sizes(stores):
    store = DataStore(stores["human"])
    fasta = json.loads((stores["human"] / "dataset.json").read_text())["inputs"]["fasta"]
    assert store.chrom_sizes == Genome(fasta).sizes
    assert list(store.chrom_sizes) == Genome(fasta).names


def test_transfer_refuses_a_gtf_with_a_tss_past_the_stores_chromosome(stores, tmp_path, logs):
    """Before: the gene was silently dropped and the run went on."""
    from tests.test_transfer import _human_gtf

    sizes = DataStore(stores["human"]).chrom_sizes
    assert sizes is not None
    chrom = next(iter(sizes))
    source = _human_gtf(stores)
    stray = f"{chrom}\tt\ttranscript\t{sizes[chrom] + 5001}\t{sizes[chrom] + 6000}\t.\t+\t.\t"
    stray += 'gene_id "STRAY"; transcript_id "STRAY.1";\n'
    gtf = tmp_path / "genes.gtf"
    gtf.write_text(source.read_text() + stray)
    lines = len(gtf.read_text().splitlines())
    out = tmp_path / "out"
    argv = ["transfer", "--model", str(tmp_path / "model"), "--head", "mouse", "--data"]
    argv += [str(stores["human"]), "--gtf", str(gtf), "--out", str(out)]
    _tiny_model(stores, tmp_path / "model")
    assert main(argv) == 1
    assert f"{gtf}: 1 TSS(s) of 1 gene(s) lie past the end of their chromosome" in logs.text
    assert f"gene 'STRAY' at {chrom}:{sizes[chrom] + 5001:,}" in logs.text
    assert f"({gtf}:{lines})" in logs.text
    # the store's genome and assembly, not 'human (genome)' inside parentheses of its own
    assert f"in the genome of {stores['human']} (human, assembly genome), e.g." in logs.text
    assert "give the GTF of the store's genome (human, assembly genome)" in logs.text
    assert not out.exists()


def _tiny_model(stores: dict[str, Path], path: Path) -> None:
    """An untrained checkpoint with a head per genome of the tiny world."""
    from crossreg.model.checkpoint import make_config, save_checkpoint
    from crossreg.model.params import parse_params
    from crossreg.model.seqnn import SeqNN
    from tests.pipeline import small_params

    params = small_params({g: DataStore(p).num_targets for g, p in stores.items()})
    model = SeqNN(parse_params(params).model)
    targets = {g: list(DataStore(p).table.targets) for g, p in stores.items()}
    save_checkpoint(path, model, make_config(model, params, targets))


def test_transfer_on_a_store_without_chromosome_sizes_warns_that_the_gtf_is_unchecked(
    stores, tmp_path, logs
):
    from tests.test_transfer import _human_gtf

    old = tmp_path / "old_store"
    shutil.copytree(stores["human"], old)
    meta = json.loads((old / "dataset.json").read_text())
    del meta["chrom_sizes"]  # as a store built before they were recorded
    (old / "dataset.json").write_text(json.dumps(meta))
    _tiny_model(stores, tmp_path / "model")
    argv = ["transfer", "--model", str(tmp_path / "model"), "--head", "mouse", "--data"]
    argv += [str(old), "--gtf", str(_human_gtf(stores)), "--out", str(tmp_path / "out")]
    main(argv)
    assert f"{old} records no chromosome sizes" in logs.text
    assert "rebuild the store with `crossreg data`" in logs.text


def _old_store(stores: dict[str, Path], path: Path) -> Path:
    """A copy of the human store as an older crossreg built it: no chromosome sizes."""
    shutil.copytree(stores["human"], path)
    meta = json.loads((path / "dataset.json").read_text())
    del meta["chrom_sizes"]  # as a store built before they were recorded
    (path / "dataset.json").write_text(json.dumps(meta))
    return path


def _per_chrom(gtf: Path) -> str:
    """The chromosomes of the genes of `gtf` with their gene counts, most genes first."""
    counts = Counter(sites[0][0] for sites in _tss(gtf).values()).most_common()
    return ", ".join(f"{chrom} ({n})" for chrom, n in counts)


def _transfer(stores: dict[str, Path], tmp_path: Path, data: Path, gtf: Path) -> int:
    """``crossreg transfer`` of the tiny model's mouse head on `data` with `gtf`."""
    _tiny_model(stores, tmp_path / "model")
    argv = ["transfer", "--model", str(tmp_path / "model"), "--head", "mouse", "--data"]
    return main([*argv, str(data), "--gtf", str(gtf), "--out", str(tmp_path / "out")])


def test_a_gtf_on_none_of_an_old_stores_chromosomes_names_both_and_the_fix(stores, tmp_path, logs):
    """Before: 'only 0 of its N genes have a TSS in the unmasked target bins ... R needs 3
    sites', naming neither the GTF's chromosomes nor the store's, nor the store's age."""
    from tests.test_transfer import _human_gtf

    old = _old_store(stores, tmp_path / "old_store")
    gtf = tmp_path / "renamed.gtf"  # RefSeq-like names: no chr prefix to twin
    gtf.write_text("".join(f"NC_{line}\n" for line in _human_gtf(stores).read_text().splitlines()))
    assert _transfer(stores, tmp_path, old, gtf) == 1
    store = DataStore(old)
    chroms = list(dict.fromkeys(w.chrom for s in store.splits for w in store.windows(s)))
    assert (
        f"{gtf}: none of its {len(_tss(gtf))} genes lies on one of the {len(chroms)} "
        f"chromosomes of the windows of {old} (human, assembly genome): its genes lie on "
        f"{_per_chrom(gtf)}; "
    ) in logs.text
    assert f"the windows' are {', '.join(chroms)}; " in logs.text
    assert "rename the GTF's chromosomes (its first column) to the store's" in logs.text
    assert f"{old} records no chromosome sizes (built by an older crossreg)" in logs.text
    assert not (tmp_path / "out").exists()


def test_too_few_sites_on_an_old_store_say_the_gtf_went_unchecked(stores, tmp_path, logs):
    """A GTF of another assembly (the same chromosome names, the genes elsewhere) on a store
    without chromosome sizes: the error says the GTF could not be checked, and how to have
    it checked, beside where its genes and the held-out windows lie."""
    from tests.test_transfer import _human_gtf

    old = _old_store(stores, tmp_path / "old_store")
    gtf = tmp_path / "elsewhere.gtf"
    rows = [line.split("\t") for line in _human_gtf(stores).read_text().splitlines()]
    far = [[r[0], r[1], r[2], str(int(r[3]) + 10**8), str(int(r[4]) + 10**8), *r[5:]] for r in rows]
    gtf.write_text("".join("\t".join(r) + "\n" for r in far))
    assert _transfer(stores, tmp_path, old, gtf) == 1
    assert "and R needs 3 sites" in logs.text
    store = DataStore(old)
    held = dict.fromkeys(w.chrom for s in ("valid", "test") for w in store.windows(s))
    assert (
        f"R needs 3 sites (its genes lie on {_per_chrom(gtf)}; the held-out windows lie on "
        f"{', '.join(held)}); give the GTF of the store's genome"
    ) in logs.text
    assert (
        f"{old} records no chromosome sizes (built by an older crossreg), so the genes of "
        f"{gtf} are not checked against its genome; rebuild the store with `crossreg data` "
        "to have them checked"
    ) in logs.text
