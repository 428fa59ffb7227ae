"""crossreg.variants.sad_survey.survey_vcf surveys natively (crossreg._native.VcfSurvey)
as the record-by-record Python survey it replaced (tests/sad_survey_reference.py): the
same counts, reasons, skipped chromosomes, warnings and error messages, and the VCF's
content identity taken from the same read, on the real VCFs and on random awkward ones
(SNPs, indels, multi-allelic records, symbolic and breakend ALTs, N in REF, REFs the
genome contradicts, records off the genome or past its end, alleles longer than the
window, POS beyond 2³² or padded with whitespace, lower-case REFs, IUPAC codes in the
genome, CRLF line ends), plain and gzipped in several members (some with bytes after the
last that are not gzip)."""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from crossreg.genome import Genome
from crossreg.io.identity import content_identity
from crossreg.variants.sad_survey import Survey, survey_vcf

from .sad_survey_reference import reference_survey_vcf

DATA = Path(__file__).parent / "data"

Outcome = tuple[tuple[object, ...] | None, str | None, list[str]]


def _outcome(survey, vcf: Path, genome: Genome, seq_length: int, strict: bool, logs) -> Outcome:
    """The survey's fields (reasons by name) or its error's message, and the warnings."""
    logs.clear()
    found: Survey | None = None
    error = None
    try:
        found = survey(vcf, genome, seq_length, source=str(vcf), strict=strict)
    except ValueError as e:
        error = str(e)
    warnings = [r.getMessage() for r in logs.records if r.levelno >= logging.WARNING]
    if found is None:
        return None, error, warnings
    fields = (
        found.kept,
        found.off_fasta,
        found.alleles.tolist(),
        found.unscorable_records.tolist(),
        [found.reasons[code] for code in found.unscorable_reasons],
        found.reasons,
        found.identity,
    )
    return fields, error, warnings


def _both(vcf: Path, genome: Genome, seq_length: int, strict: bool, logs) -> list[Outcome]:
    return [
        _outcome(survey, vcf, genome, seq_length, strict, logs)
        for survey in (reference_survey_vcf, survey_vcf)
    ]


REAL = [
    (DATA / "basenji_fixtures" / "sad_snps.vcf", DATA / "basenji_fixtures" / "genome_chr2.fa"),
    (DATA / "basenji" / "regulatory_validated.vcf", DATA / "basenji" / "gata4.fa"),
]


@pytest.mark.parametrize(("vcf", "fasta"), REAL, ids=lambda p: p.name)
@pytest.mark.parametrize("strict", [False, True])
def test_real_vcfs_surveyed_alike(vcf, fasta, strict, logs, tmp_path):
    genome = Genome(fasta)
    packed = tmp_path / "x.vcf.gz"
    packed.write_bytes(gzip.compress(vcf.read_bytes()))
    for path in (vcf, packed):
        for seq_length in (4, 1024):
            expected, got = _both(path, genome, seq_length, strict, logs)
            assert got == expected


def _random_genome(rng: np.random.Generator, path: Path) -> Genome:
    """chr1 and chr2 of random bases, some lower case, with a run of N in each and an
    IUPAC code (R, y) in each."""
    text = ""
    for name, size in (("chr1", 300), ("chr2", 200)):
        bases = rng.choice(list("ACGTacgt"), size)
        gap = int(rng.integers(0, size - 20))
        bases[gap : gap + 15] = "N"
        bases[int(rng.integers(0, size))] = "R" if name == "chr1" else "y"
        text += f">{name}\n{''.join(bases)}\n"
    path.write_text(text)
    return Genome(path)


SYMBOLIC = [
    *["<DEL>", "*", ".", "G[chr1:5[", "]chr2:9]T", ".A", "T.", "<INS:ME>"],
    *["<NON_REF>", "<*>", "C[<ctg1>:7["],
]
INFOS = [".", "AF=0.1", "DB;AF=0.5", "SVTYPE=DEL", "SVTYPE", "X=1;SVTYPE=INS", "SVTYPEX=1"]


def _record(rng: np.random.Generator, genome: Genome) -> str:
    """One record: mostly on the genome with its bases as REF, sometimes not."""
    names = ["chr1", "chr2", "chr3", "chrUn", "chré"]
    chrom = str(rng.choice(names, p=[0.5, 0.3, 0.1, 0.098, 0.002]))
    size = genome.sizes.get(chrom, 400)
    length = 1 if rng.random() < 0.7 else int(rng.integers(2, 13))
    pos = int(rng.integers(1, size + 6))
    if chrom in genome.sizes:
        ref = genome.fetch(chrom, pos - 1, pos - 1 + length).decode().upper()
    else:
        ref = "".join(rng.choice(list("ACGT"), length))
    if rng.random() < 0.015:  # a REF the genome contradicts (or, for a SNP, swapped)
        ref = "".join(rng.choice(list("ACGT"), len(ref)))
    if rng.random() < 0.05:
        ref = ref.lower()
    alts = []
    for _ in range(int(rng.choice([1, 1, 1, 2, 3]))):
        kind = rng.random()
        if kind < 0.6:
            alts.append("".join(rng.choice(list("ACGTacgt"), int(rng.choice([1, 1, 1, 2, 5, 11])))))
        elif kind < 0.7:
            alts.append(ref.lower() if rng.random() < 0.5 else ref)
        elif kind < 0.8 and chrom in genome.sizes:
            alts.append(genome.fetch(chrom, pos - 1, pos).decode().upper() or "A")
        else:
            alts.append(str(rng.choice(SYMBOLIC)))
    vid = str(rng.choice(["rs1", ".", "rs_ï"], p=[0.6, 0.398, 0.002]))
    info = str(rng.choice(INFOS, p=[0.5, 0.2, 0.1, 0.05, 0.05, 0.05, 0.05]))
    pos_text = str(pos + 2**32 if rng.random() < 0.01 else pos)  # past the end
    if rng.random() < 0.02:
        pos_text = f" {pos_text}\u3000"  # whitespace int() strips
    return "\t".join([chrom, pos_text, vid, ref, ",".join(alts), "50", "PASS", info])


def _random_vcf(rng: np.random.Generator, genome: Genome) -> str:
    lines = ["##fileformat=VCFv4.2"] if rng.random() < 0.8 else []
    if rng.random() < 0.9:
        lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    lines += [_record(rng, genome) for _ in range(int(rng.integers(0, 60)))]
    if rng.random() < 0.05:
        lines.append("chr1\tx\t.\tA\tG")
    end = "\r\n" if rng.random() < 0.1 else "\n"
    return "".join(line + end for line in lines)


def test_random_vcfs_surveyed_alike(tmp_path, logs):
    rng = np.random.default_rng(11)
    genome = _random_genome(rng, tmp_path / "g.fa")
    errors, complete = 0, 0
    for case in range(120):
        data = _random_vcf(rng, genome).encode()
        path = tmp_path / f"{case}.vcf"
        if case % 3 == 0:
            cut = int(rng.integers(0, len(data) + 1))
            data = gzip.compress(data[:cut]) + gzip.compress(data[cut:])
            if rng.random() < 0.1:  # a plain file appended
                data += b"chr1\t5\t.\tA\tG\n"
        path.write_bytes(data)
        strict = bool(rng.random() < 0.2)
        seq_length = int(rng.choice([4, 16, 1024]))
        expected, got = _both(path, genome, seq_length, strict, logs)
        assert got == expected, (case, data)
        errors += expected[1] is not None
        complete += expected[0] is not None and bool(expected[0][0])
    assert errors > 20 and complete > 40, "the cases mix good files and bad ones"


def test_telomere_breakends_at_pos_0_are_skipped_as_symbolic(tmp_path, logs):
    """A structural-variant callset's record at POS 0 (VCF's virtual telomere, a breakend
    or symbolic ALT) is counted as a symbolic ALT, as the reference survey counts it; it
    stopped the survey as an invalid POS."""
    fasta = DATA / "basenji_fixtures" / "genome_chr2.fa"
    vcf = tmp_path / "sv.vcf"
    vcf.write_text(
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr2\t0\tbnd_X\tN\t.[chr2:50[\t.\tPASS\tSVTYPE=BND\n"
        "chr2\t0\tdel\tN\t<DEL>,.\t.\tPASS\t.\n"
    )
    genome = Genome(fasta)
    expected, got = _both(vcf, genome, 1024, False, logs)
    assert got == expected
    fields, error, _ = got
    assert error is None and fields is not None
    assert fields[0] == 2  # kept
    assert fields[2] == [0, 0]  # no scorable ALT in either record
    assert fields[4] == ["symbolic or missing ALT"] * 3


def test_the_identity_is_the_files_and_taken_in_the_surveys_read(tmp_path):
    """The identity is content_identity's (so earlier shards and stores still match),
    taken from the bytes the survey read: a pipe, which reads only once, has it too."""
    fasta = DATA / "basenji_fixtures" / "genome_chr2.fa"
    vcf = DATA / "basenji_fixtures" / "sad_snps.vcf"
    data = vcf.read_bytes()
    packed = tmp_path / "x.vcf.gz"
    packed.write_bytes(gzip.compress(data[:100]) + b"\0\0" + gzip.compress(data[100:]))
    genome = Genome(fasta)
    for path in (vcf, packed):
        assert survey_vcf(path, genome, 1024, source="v").identity == content_identity(path)
    pipe = tmp_path / "pipe.vcf"
    os.mkfifo(pipe)

    def write() -> None:
        with open(pipe, "wb") as handle:
            handle.write(data)

    writer = threading.Thread(target=write, daemon=True)  # no hang should the survey fail
    writer.start()
    survey = survey_vcf(pipe, genome, 1024, source="v")
    writer.join()
    assert survey.kept == 8
    assert survey.identity == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
