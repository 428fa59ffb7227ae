"""VCF and GTF readers/writers: coordinates, round trips, real files, clear errors."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from crossreg.genome import Genome
from crossreg.io.gtf import GtfRecord, gene_tss, read_gtf, write_gtf
from crossreg.io.vcf import Variant, check_reference, read_vcf, reference_bases, write_vcf

DATA = Path(__file__).parent / "data" / "basenji"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def test_vcf_pos_becomes_zero_based(tmp_path):
    path = _write(tmp_path / "a.vcf", HEADER + "chr1\t1\tv1\tA\tG,T\t50\tPASS\tKIND=x;FLAG\n")
    (v,) = read_vcf(path)
    assert (v.chrom, v.pos, v.end, v.ref, v.alts, v.id) == ("chr1", 0, 1, "A", ("G", "T"), "v1")
    assert v.info == {"KIND": "x", "FLAG": True}
    assert v.is_snp


def test_vcf_telomere_breakends_at_pos_0_are_read(tmp_path):
    """VCF 4.3's telomere example (section 5.4.8): POS 0, a virtual telomere, is read for a
    record whose ALTs are breakends or symbolic (0-based -1); with an ALT of bases it stays
    an error."""
    body = (
        "1\t0\tbnd_X\tN\t.[13:123457[\t6\tPASS\tSVTYPE=BND;MATEID=bnd_V\n"
        "1\t1\tbnd_Y\tT\t]13:123456]T\t6\tPASS\tSVTYPE=BND;MATEID=bnd_U\n"
        "13\t123456\tbnd_U\tC\tC[1:1[\t6\tPASS\tSVTYPE=BND;MATEID=bnd_Y\n"
        "13\t123457\tbnd_V\tA\t]1:0]A\t6\tPASS\tSVTYPE=BND;MATEID=bnd_X\n"
        "1\t0\tdel\tN\t<DEL>,*\t.\t.\t.\n"
    )
    got = [(v.id, v.pos, v.alts) for v in read_vcf(_write(tmp_path / "a.vcf", HEADER + body))]
    assert got == [
        ("bnd_X", -1, (".[13:123457[",)),
        ("bnd_Y", 0, ("]13:123456]T",)),
        ("bnd_U", 123455, ("C[1:1[",)),
        ("bnd_V", 123456, ("]1:0]A",)),
        ("del", -1, ("<DEL>", "*")),
    ]


def test_vcf_round_trip(tmp_path):
    variants = [
        Variant("chr1", 9, "A", ("C",), id="s1", info={"KIND": "break", "UP": "a,b"}),
        Variant("chr2", 0, "ACG", ("A",), id="d1"),
        Variant("chr2", 5, "T", ("TTTA",), id="i1", info={"FLAG": True}),
    ]
    path = tmp_path / "out.vcf"
    write_vcf(
        path,
        variants,
        contigs={"chr1": 100, "chr2": 50},
        info_header=[("KIND", "1", "String", "k")],
    )
    text = path.read_text()
    assert "##contig=<ID=chr1,length=100>" in text
    assert "chr1\t10\ts1\tA\tC\t.\t.\tKIND=break;UP=a,b" in text
    back = read_vcf(path)
    assert back == variants
    assert [v.info for v in back] == [v.info for v in variants]


def test_real_basenji_vcf_with_seven_columns():
    variants = read_vcf(DATA / "regulatory_validated.vcf")
    assert len(variants) == 16
    first = variants[0]
    assert (first.chrom, first.pos, first.id, first.ref, first.alts) == (
        "chr1",
        56972352,
        "rs72664324",
        "G",
        ("A",),
    )
    insertions = [v for v in variants if len(v.alts[0]) > len(v.ref)]
    assert [(v.id, v.ref, v.alts) for v in insertions] == [("rs144361550", "A", ("AGGGCCC",))]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("chr1\tx\tv\tA\tC\t.\t.\t.\n", r"a\.vcf:3: POS 'x' is not a whole number"),
        ("chr1\t0\tv\tA\tC\t.\t.\t.\n", r"a\.vcf:3: POS 0 is invalid"),
        ("chr1\t0\tv\tN\t<DEL>,c\n", r"a\.vcf:3: POS 0 is invalid .* an ALT of bases \('c'\)"),
        ("chr1\t-1\tv\tN\t<DEL>\n", r"a\.vcf:3: POS -1 is invalid \(VCF POS is 1-based\)$"),
        ("chr1\t5\tv\tAZ\tC\t.\t.\t.\n", r"a\.vcf:3: REF 'AZ'"),
        ("chr1\t5\tv\tA\tC?\t.\t.\t.\n", r"a\.vcf:3: ALT allele 'C\?'"),
        ("chr1\t5\tv\n", r"a\.vcf:3: 3 tab-separated fields.*INFO\)$"),
        ("chr1 5 v A C\n", r"a\.vcf:3: 1 tab-sep.*separated by spaces.*\(tr ' ' '\\t'\)$"),
        ("chr1\t5\tv\tRA\tC\n", r"a\.vcf:3: REF 'RA' .*IUPAC.*correct the record or remove it$"),
        ("chr1\t5\tv\tAX\tC\n", r"a\.vcf:3: REF 'AX' must be bases A, C, G, T or N$"),
        ("\t5\tv\tA\tC\t.\t.\t.\n", r"a\.vcf:3: CHROM is empty"),
        (" \t5\tv\tA\tC\t.\t.\t.\n", r"a\.vcf:3: CHROM is empty"),
    ],
)
def test_vcf_errors_name_file_and_line(tmp_path, body, message):
    path = _write(tmp_path / "a.vcf", HEADER + body)
    with pytest.raises(ValueError, match=message):
        read_vcf(path)


def test_basenji_tutorial_vcf_without_header_and_with_six_columns(tmp_path, logs):
    # Basenji's tutorial VCF: VCFv4.0, no #CHROM line, records of six columns
    text = "##fileformat=VCFv4.0\nchr6\t117210052\trs339331\tT\tC\t100\n"
    (v,) = read_vcf(_write(tmp_path / "a.vcf", text))
    assert (v.chrom, v.pos, v.id, v.ref, v.alts, v.qual) == (
        "chr6", 117210051, "rs339331", "T", ("C",), "100"
    )  # fmt: skip
    assert "no '#CHROM POS ID REF ALT ...' header line" in logs.text
    short_header = "#CHROM\tPOS\tID\tREF\tALT\nchr1\t5\tv\tA\tC\n"
    assert read_vcf(_write(tmp_path / "s.vcf", short_header))[0].alts == ("C",)
    with pytest.raises(ValueError, match="no records and no '#CHROM"):
        read_vcf(_write(tmp_path / "b.vcf", "##fileformat=VCFv4.2\n"))
    with pytest.raises(ValueError, match="must start with #CHROM POS ID REF ALT"):
        read_vcf(_write(tmp_path / "c.vcf", "#CHROM\tSTART\tEND\nchr1\t5\t6\n"))
    with pytest.raises(ValueError, match="3 tab-separated fields"):
        read_vcf(_write(tmp_path / "d.vcf", "chr1\t5\t6\n"))


def test_a_vcf_without_header_warns_once_per_sad_run(tmp_path, logs):
    from crossreg.variants.sad_survey import kept_records, survey_vcf

    fasta = _write(tmp_path / "g.fa", ">chr1\n" + "ACGT" * 50 + "\n")
    vcf = _write(tmp_path / "t.vcf", "##fileformat=VCFv4.0\nchr1\t5\ta\tA\tC\nchr1\t9\tb\tA\tG\n")
    genome = Genome(fasta)
    # write_sad's two passes: the survey, then the records it scores
    survey = survey_vcf(vcf, genome, 64, source=str(vcf))
    assert survey.kept == 2 and [v.id for v in kept_records(vcf, genome)] == ["a", "b"]
    assert logs.text.count("header line") == 1
    assert len(read_vcf(vcf)) == 2 and logs.text.count("header line") == 2  # a new reading


def test_vcf_reference_check(tmp_path):
    fasta = _write(tmp_path / "g.fa", ">chr1\nACGTACGTAC\n")
    genome = Genome(fasta)
    good = _write(tmp_path / "good.vcf", HEADER + "chr1\t2\tv\tCG\tC\t.\t.\t.\n")
    assert read_vcf(good, genome=genome)[0].ref == "CG"
    bad = _write(tmp_path / "bad.vcf", HEADER + "chr1\t2\tv\tA\tC\t.\t.\t.\n")
    with pytest.raises(ValueError, match="has REF A but the genome has C"):
        read_vcf(bad, genome=genome)
    with pytest.raises(ValueError, match="chromosome not in"):
        check_reference([Variant("1", 0, "A", ("C",))], genome, source="x")


def test_reference_bases_accept_a_swapped_snp_only_when_asked(tmp_path):
    genome = Genome(_write(tmp_path / "g.fa", ">chr1\nACGTACGTAC\n"))
    swapped = Variant("chr1", 1, "A", ("T", "C"), id="s")
    assert reference_bases(swapped, genome, source="x", swapped_snp=True) == "C"
    with pytest.raises(ValueError, match=r"x: variant s at chr1:2 has REF A .* or whether REF/ALT"):
        reference_bases(swapped, genome, source="x")
    past_end = Variant("chr1", 9, "CG", ("C",), id="e")
    with pytest.raises(ValueError, match=r"chr1:10 lies past the end of chr1 \(10 bp"):
        reference_bases(past_end, genome, source="x", swapped_snp=True)


def test_reference_bases_of_a_telomere_breakend_are_ns_off_the_ends(tmp_path):
    """VCF's virtual telomeres, POS 0 and N+1, hold a breakend's N off the chromosome; a
    record of bases there is past the end (or, at POS 0, refused by the reader)."""
    genome = Genome(_write(tmp_path / "g.fa", ">chr1\nACGTACGTAC\n"))
    for pos, alt in ((-1, ".[chr1:5["), (10, "]chr1:5]."), (10, "<DEL>")):
        assert reference_bases(Variant("chr1", pos, "N", (alt,)), genome, source="x") == "N"
    for alts in (("A",), ("<DEL>", "a")):
        with pytest.raises(ValueError, match=r"chr1:11 lies past the end of chr1 \(10 bp"):
            reference_bases(Variant("chr1", 10, "N", alts), genome, source="x")
    with pytest.raises(ValueError, match=r"chr1:11 lies past the end"):
        reference_bases(Variant("chr1", 10, "NN", ("<DEL>",)), genome, source="x")


def test_gtf_coordinates_and_round_trip(tmp_path):
    records = [
        GtfRecord("chr1", "src", "gene", 0, 100, ".", "+", ".", {"gene_id": "G1"}),
        GtfRecord(
            "chr1", "src", "exon", 10, 20, ".", "-", ".", {"gene_id": "G1", "transcript_id": "G1.1"}
        ),
    ]
    path = tmp_path / "a.gtf"
    write_gtf(path, records)
    assert path.read_text().splitlines()[1].split("\t")[3:5] == ["11", "20"]
    back = read_gtf(path)
    assert back == records
    assert back[1].gene_id == "G1" and back[1].transcript_id == "G1.1"


def test_real_gencode_gtf():
    records = read_gtf(DATA / "genes.gtf")
    assert len(records) == 44
    assert {r.attributes["gene_name"] for r in records} == {"CTCF", "HNRNPU"}
    first = records[0]
    assert (first.chrom, first.start, first.end, first.strand) == ("chr16", 67596309, 67596627, "+")
    assert first.attributes["exon_number"] == "1"


# UCSC Table Browser / refGene GTF: exon, CDS and codon lines only, no transcript or
# gene lines, exons in genomic order whatever the strand (gene, transcript, feature,
# chrom, 1-based start, end, strand)
REFGENE_ROWS = [
    ("DDX11L1", "NR_046018", "exon", "chr1", 11874, 12227, "+"),
    ("DDX11L1", "NR_046018", "exon", "chr1", 12613, 12721, "+"),
    ("WASH7P", "NR_024540", "exon", "chr1", 14362, 14829, "-"),
    ("WASH7P", "NR_024540", "exon", "chr1", 24738, 24891, "-"),
    ("WASH7P", "NR_024540", "exon", "chr1", 29321, 29370, "-"),
    ("OR4F5", "NM_001005484", "start_codon", "chr1", 69091, 69093, "+"),
    ("OR4F5", "NM_001005484", "CDS", "chr1", 69091, 70005, "+"),
    ("OR4F5", "NM_001005484", "exon", "chr1", 69063, 70008, "+"),
    ("OR4F5", "NM_001005484.2", "exon", "chr1", 65419, 65433, "+"),
    ("OR4F5", "NM_001005484.2", "exon", "chr1", 65520, 65573, "+"),
    ("PLCXD1", "NM_018390", "exon", "chrX", 253743, 255091, "+"),
    ("PLCXD1", "NM_018390", "exon", "chrY", 203743, 205091, "+"),
]


def _refgene_gtf(path: Path) -> Path:
    lines = []
    for number, (gene, tx, feature, chrom, start, end, strand) in enumerate(REFGENE_ROWS):
        frame = "0" if feature != "exon" else "."
        attrs = f'gene_id "{gene}"; transcript_id "{tx}"; exon_number "{number}"; '
        attrs += f'gene_name "{gene}";'
        row = [chrom, "hg38_refGene", feature, str(start), str(end), "0.000000", strand]
        lines.append("\t".join([*row, frame, attrs]) + "\n")
    return _write(path, "".join(lines))


def test_exon_only_gtf_takes_each_transcripts_first_exon(tmp_path):
    records = read_gtf(_refgene_gtf(tmp_path / "refGene.gtf"))
    assert gene_tss(records) == {
        "DDX11L1": [("chr1", 11873)],  # + strand: the smallest exon start (0-based)
        "WASH7P": [("chr1", 29369)],  # - strand: the largest exon end, its last base
        # two transcripts, each its first exon; the CDS and start codon are not TSSs
        "OR4F5": [("chr1", 69062), ("chr1", 65418)],
        "PLCXD1": [("chrX", 253742), ("chrY", 203742)],  # one transcript id on X and Y
    }


def test_transcript_lines_win_over_exons_and_genes_fall_back_to_their_record(tmp_path):
    def row(feature: str, start: int, end: int, strand: str, gene: str) -> str:
        attrs = f'gene_id "{gene}"; transcript_id "{gene}.1";'
        return f"chr2\ts\t{feature}\t{start}\t{end}\t.\t{strand}\t.\t{attrs}\n"

    text = row("transcript", 100, 900, "-", "A") + row("exon", 50, 950, "-", "A")
    text += row("gene", 2000, 3000, "-", "B") + row("exon", 2500, 2600, "+", "C")
    assert gene_tss(read_gtf(_write(tmp_path / "mixed.gtf", text))) == {
        "A": [("chr2", 899)],
        "C": [("chr2", 2499)],
        "B": [("chr2", 2999)],
    }


@pytest.mark.parametrize("name", ["genes.gtf.gz", "genes.gtf"])
def test_a_gzipped_gtf_reads_as_the_plain_one_whatever_its_name(tmp_path, name):
    plain = read_gtf(DATA / "genes.gtf")
    packed = tmp_path / name
    packed.write_bytes(gzip.compress((DATA / "genes.gtf").read_bytes()))
    records = read_gtf(packed)
    assert records == plain and [r.attributes for r in records] == [r.attributes for r in plain]
    assert records[-1].where == f"{packed}:44"
    assert gene_tss(records) == gene_tss(plain)


def test_real_exon_only_gencode_gtf_gives_each_transcripts_tss():
    records = read_gtf(DATA / "genes.gtf")
    tss = gene_tss(records)
    assert len(tss) == 2
    # reference: per transcript, the first exon on its strand, computed plainly
    for gene, sites in tss.items():
        expected = []
        for transcript in dict.fromkeys(r.transcript_id for r in records if r.gene_id == gene):
            exons = [r for r in records if r.transcript_id == transcript]
            strand, chrom = exons[0].strand, exons[0].chrom
            pos = max(r.end for r in exons) - 1 if strand == "-" else min(r.start for r in exons)
            if (chrom, pos) not in expected:
                expected.append((chrom, pos))
        assert sites == expected and sites
    ctcf = next(g for g in records if g.attributes["gene_name"] == "CTCF").gene_id
    assert ("chr16", 67596309) in tss[ctcf]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('chr1\ts\texon\t5\t4\t.\t+\t.\tgene_id "G";\n', r"a\.gtf:1: feature chr1:5-4 is invalid"),
        ('chr1\ts\texon\t0\t4\t.\t+\t.\tgene_id "G";\n', r"a\.gtf:1: feature chr1:0-4"),
        ('chr1\ts\texon\t1\t4\t.\tx\t.\tgene_id "G";\n', r"a\.gtf:1: strand 'x'"),
        ("chr1\ts\texon\t1\t4\t.\t+\n", r"a\.gtf:1: 7 tab-separated fields"),
        ('chr1\ts\texon\ta\t4\t.\t+\t.\tgene_id "G";\n', r"a\.gtf:1: start 'a'"),
        ("chr1\ts\texon\t1\t4\t.\t+\t.\tgene_id;\n", r"a\.gtf:1: attribute 'gene_id'"),
        ('chr1\ts\texon\t1\t4\t.\t+\t.\tgene_id "G"; note "open;\n', r"attribute 'note \"open'"),
    ],
)
def test_gtf_errors_name_file_and_line(tmp_path, line, message):
    with pytest.raises(ValueError, match=message):
        read_gtf(_write(tmp_path / "a.gtf", line))


def test_a_gff3_file_is_named_as_gff3(tmp_path):
    path = _write(tmp_path / "g.gff3", "chr1\ts\tgene\t1\t4\t.\t+\t.\tID=gene1;Name=G\n")
    with pytest.raises(ValueError, match=r"g\.gff3:1: attributes 'ID=gene1' are GFF3's"):
        read_gtf(path)


# AUGUSTUS (BRAKER's gene finder) writes bare ids on its gene and transcript lines, and
# gffread -T (0.12.7) of that file, which gives every line its ids: what the error advises
AUGUSTUS_GTF = """# start gene g2
chr1\tAUGUSTUS\tgene\t76\t988\t0.44\t-\t.\tg2
chr1\tAUGUSTUS\ttranscript\t76\t988\t0.44\t-\t.\tg2.t1
chr1\tAUGUSTUS\tstart_codon\t986\t988\t.\t-\t0\ttranscript_id "g2.t1"; gene_id "g2";
chr1\tAUGUSTUS\tCDS\t76\t389\t0.48\t-\t0\ttranscript_id "g2.t1"; gene_id "g2";
chr1\tAUGUSTUS\tCDS\t674\t988\t0.48\t-\t0\ttranscript_id "g2.t1"; gene_id "g2";
"""
GFFREAD_OF_AUGUSTUS = """\
chr1\tAUGUSTUS\ttranscript\t76\t988\t.\t-\t.\ttranscript_id "g2.t1"; gene_id "g2"
chr1\tAUGUSTUS\tCDS\t76\t389\t0.48\t-\t0\ttranscript_id "g2.t1"; gene_id "g2";
chr1\tAUGUSTUS\tCDS\t674\t988\t.\t-\t0\ttranscript_id "g2.t1"; gene_id "g2";
"""


def test_an_augustus_gtf_is_named_with_the_conversion_that_reads(tmp_path):
    path = _write(tmp_path / "braker.gtf", AUGUSTUS_GTF)
    with pytest.raises(ValueError) as err:
        read_gtf(path)
    text = str(err.value)
    assert text.startswith(f"{path}:2: attributes 'g2' are a bare id, as AUGUSTUS and BRAKER")
    assert "`gffread -T FILE.gtf -o FIXED.gtf`" in text
    fixed = _write(tmp_path / "fixed.gtf", GFFREAD_OF_AUGUSTUS)
    assert gene_tss(read_gtf(fixed)) == {"g2": [("chr1", 987)]}  # - strand: its end


def test_gtf_attributes_may_be_empty_or_end_in_a_comment(tmp_path):
    # before: '.' was refused and a trailing comment became an attribute named '#'
    text = (
        "chr1\ts\tgene\t1\t4\t.\t+\t.\t.\n"
        'chr1\ts\texon\t1\t4\t.\t+\t.\tgene_id "G1"; # from "build 2"; x y\n'
        'chr1\ts\texon\t1\t4\t.\t+\t.\tgene_id "G2"; note "a # b";\n'
    )
    records = read_gtf(_write(tmp_path / "c.gtf", text))
    assert [r.attributes for r in records] == [
        {},
        {"gene_id": "G1"},
        {"gene_id": "G2", "note": "a # b"},
    ]


def test_a_quoted_attribute_keeps_its_semicolons(tmp_path):
    # before: split at every ';', so a note could rename the gene without an error
    attributes = (
        'gene_id "G1"; transcript_id "T1"; note "merged; gene_id G9"; exon_number 2; '
        'tag "isoform b; alt"'
    )
    path = _write(tmp_path / "q.gtf", f"chr1\ts\texon\t100\t200\t.\t+\t.\t{attributes}\n")
    (record,) = read_gtf(path)
    assert record.attributes == {
        "gene_id": "G1",
        "transcript_id": "T1",
        "note": "merged; gene_id G9",
        "exon_number": "2",
        "tag": "isoform b; alt",
    }
    assert set(gene_tss([record])) == {"G1"}


@pytest.mark.parametrize(
    ("attributes", "what"),
    [
        ('gene_name "GB"; transcript_id "T2";', "no"),
        ('gene_id ""; transcript_id "T2";', "an empty"),
    ],
)
def test_a_gene_record_without_a_gene_id_is_refused_by_its_line(tmp_path, attributes, what):
    # before: such records were pooled into one gene '' and their scores summed
    text = (
        'chr2\tx\ttranscript\t12100\t13000\t.\t+\t.\tgene_id "GA"; transcript_id "T1";\n'
        f"chr2\tx\ttranscript\t12500\t14000\t.\t+\t.\t{attributes}\n"
    )
    records = read_gtf(_write(tmp_path / "noid.gtf", text))
    message = rf"noid\.gtf:2: transcript record has {what} gene_id attribute \(GTF requires one\)"
    with pytest.raises(ValueError, match=message):
        gene_tss(records)


def test_a_record_without_a_strand_gives_no_tss_and_is_counted(tmp_path, logs):
    # before: an unstranded ('.') transcript took its start as its TSS, a guess as likely
    # to be its end
    def row(feature: str, start: int, end: int, strand: str, gene: str) -> str:
        attrs = f'gene_id "{gene}"; transcript_id "{gene}.{start}";'
        return f"chr1\tStringTie\t{feature}\t{start}\t{end}\t1000\t{strand}\t.\t{attrs}\n"

    text = row("transcript", 100, 200, "+", "A") + row("transcript", 500, 600, ".", "A")
    text += row("exon", 500, 600, ".", "A")
    text += row("gene", 1000, 2000, "-", "B") + row("transcript", 1200, 1300, ".", "B")
    text += row("transcript", 3000, 3100, ".", "C") + row("exon", 3000, 3100, ".", "C")
    path = _write(tmp_path / "stringtie.gtf", text)
    assert gene_tss(read_gtf(path)) == {
        "A": [("chr1", 99)],  # its stranded transcript alone
        "B": [("chr1", 1999)],  # its gene record, on the minus strand: the end
    }
    (message,) = [r.getMessage() for r in logs.records if r.levelname == "WARNING"]
    assert message == (
        f"{path}:2: 5 transcript, exon or gene records of 3 genes have no strand ('.'), so "
        "their first base is unknown and they give no TSS; 1 of those genes (C) has no "
        "stranded record and is left out"
    )


def test_ucsc_browser_and_track_lines_are_skipped(tmp_path):
    # before: a GTF saved as a UCSC custom track stopped at its first line
    text = (
        "browser position chr1:1-1000\n"
        'track name=genes description="my genes" visibility=2\n'
        'chr1\ts\ttranscript\t100\t200\t.\t-\t.\tgene_id "G"; transcript_id "T";\n'
    )
    (record,) = read_gtf(_write(tmp_path / "custom.gtf", text))
    assert (record.where, record.start, record.end) == (f"{tmp_path / 'custom.gtf'}:3", 99, 200)
    assert gene_tss([record]) == {"G": [("chr1", 199)]}


@pytest.mark.skipif(not Path("/dev/fd").is_dir(), reason="needs /dev/fd")
def test_a_vcf_pipe_read_a_second_time_is_named_as_a_pipe(tmp_path):
    # before: the first read found no records (the gzip sniff ate the pipe), and an empty
    # pipe was reported as a VCF without records, with no word of why
    read_end, write_end = os.pipe()
    os.write(write_end, (HEADER + "chr1\t5\trs1\tA\tC\t.\t.\t.\n").encode())
    os.close(write_end)
    path = f"/dev/fd/{read_end}"
    try:
        assert [v.id for v in read_vcf(path)] == ["rs1"]
        with pytest.raises(ValueError, match=r"no records .* it is a pipe, which can be read only"):
            read_vcf(path)
    finally:
        os.close(read_end)
