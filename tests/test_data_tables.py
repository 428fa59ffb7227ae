"""The paper's two targets tables parse, with the published settings per assay."""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from crossreg.io.targets_read import read_targets

TABLES = Path(__file__).parent / "data" / "basenji_targets"


@pytest.mark.parametrize(
    ("name", "count", "first_index", "combos"),
    [
        (
            "targets_human.txt",
            5313,
            0,
            {
                ("DNASE", 32, 2, "mean"): 674,
                ("ATAC", 64, 1, "sum"): 10,
                ("CHIP", 32, 2, "mean"): 3832,
                ("CHIP", 64, 1, "sum"): 159,
                ("CAGE", 384, 1, "sum"): 638,
            },
        ),
        (
            "targets_mouse.txt",
            1643,
            5313,
            {
                ("DNASE", 32, 2, "mean"): 93,
                ("DNASE", 64, 1, "sum"): 8,
                ("ATAC", 32, 2, "mean"): 42,
                ("ATAC", 32, 4, "mean"): 85,
                ("CHIP", 32, 2, "mean"): 884,
                ("CHIP", 64, 1, "sum"): 174,
                ("CAGE", 384, 1, "sum"): 357,
            },
        ),
    ],
)
def test_paper_tables_parse_with_their_settings(name, count, first_index, combos):
    table = read_targets(TABLES / name)
    assert len(table) == count
    assert [t.index for t in table] == list(range(first_index, first_index + count))
    found = Counter((t.assay, t.clip, t.scale, t.sum_stat) for t in table)
    assert found == combos
    assert all(t.soft_clip_threshold == t.clip for t in table)  # no clip_soft column
    assert {t.extra["genome"] for t in table} == {"0" if first_index == 0 else "1"}


def test_a_stranded_pair_is_refused_and_a_self_pair_read(tmp_path):
    # before: the column was kept unread, and reverse-complement augmentation flipped the
    # bins of + and - tracks without swapping them
    head = "index\tidentifier\tfile\tclip\tscale\tsum_stat\tstrand_pair\tdescription\n"
    path = tmp_path / "t.txt"
    path.write_text(head + "0\tp\ta.bw\t32\t1\tsum\t1\tCAGE:+\n1\tm\tb.bw\t32\t1\tsum\t0\tCAGE:-\n")
    with pytest.raises(ValueError, match=r"t\.txt:2: strand_pair 1 pairs track 'p' \(index 0\)"):
        read_targets(path)
    path.write_text(
        head + "0\tp\ta.bw\t32\t1\tsum\t0\tDNASE:x\n1\tm\tb.bw\t32\t1\tsum\t1\tDNASE:y\n"
    )
    assert [t.identifier for t in read_targets(path)] == ["p", "m"]


def test_basenjis_avg_sum_stat_and_any_case_read_as_the_stat(tmp_path):
    head = "index\tidentifier\tfile\tclip\tscale\tsum_stat\tdescription\n"
    path = tmp_path / "t.txt"
    rows = ["0\ta\ta.bw\t32\t2\tavg\tDNASE:x", "1\tb\tb.bw\t32\t2\tSUM\tCAGE:y"]
    path.write_text(head + "\n".join(rows) + "\n")
    assert [t.sum_stat for t in read_targets(path)] == ["mean", "sum"]


def test_select_targets_by_index_range_identifier_and_pattern():
    from crossreg.io.targets import Target
    from crossreg.io.targets_select import select_targets

    described = ["DNASE:liver", "CAGE:liver", "CAGE:macrophage", "CHIP:CTCF/liver", "ATAC:heart"]
    targets = [
        Target(i, f"T{i}", (f"t{i}.bw",), 32.0, 2.0, "sum", text)
        for i, text in enumerate(described)
    ]
    assert select_targets(targets, None) == [0, 1, 2, 3, 4]
    assert select_targets(targets, "CAGE") == [1, 2]
    assert select_targets(targets, "4,0-1") == [4, 0, 1]  # in the order named
    assert select_targets(targets, ["T3", "cage:MAC*"]) == [3, 2]
    assert select_targets(targets, "*liver,1") == [0, 1, 3]  # each once
    assert select_targets(targets, "t?") == [0, 1, 2, 3, 4]  # globs see identifiers too
    for spec, message in (("9", "tracks are 0-4"), ("3-1", "tracks are"), ("RNA", "selects no")):
        with pytest.raises(ValueError, match=message):
            select_targets(targets, spec)
    # before: an int index failed with "'int' object has no attribute 'split'"
    for odd in ([0, 3], ["0", np.int64(3)], 5):
        with pytest.raises(TypeError, match="tracks are named by strings such as '5'"):
            select_targets(targets, odd)


def test_a_description_holding_commas_selects_its_own_tracks():
    # 571 human descriptions hold commas; cut at them, one selected 1,313 tracks
    from crossreg.io.targets_read import read_targets
    from crossreg.io.targets_select import select_targets

    targets = read_targets(TABLES / "targets_human.txt")
    text = "CAGE:liver, adult, pool1"
    exact = [i for i, t in enumerate(targets) if t.description == text]
    assert exact and select_targets(targets, text) == exact
    other = "DNASE:CD8-positive, alpha-beta T cell male adult (21 year)"
    both = select_targets(targets, f"{text},{other}")
    assert both == exact + [i for i, t in enumerate(targets) if t.description == other]
    assert select_targets(targets, [text, "0"]) == [*exact, 0]
    assert len(select_targets(targets, "CAGE,DNASE")) == 638 + 674  # words still words


def test_every_bad_row_is_listed_in_one_error(tmp_path):
    from crossreg.io.targets_read import read_targets

    header = "index\tidentifier\tfile\tclip\tscale\tsum_stat\tdescription"
    rows = [
        "0\tT0\ta.bw\t32\t2\tsum\tDNASE:liver",  # file missing
        "1\tT1\tb.bw\tlots\t2\tsum\tDNASE:heart",  # bad clip
        "2\tT0\tc.bw\t32\t2\tsum\tCAGE:liver",  # duplicate identifier
        "3\tT3\td.bw\t32\t2\tmedian\tCAGE:heart",  # unknown sum_stat
    ]
    table = tmp_path / "targets.txt"
    table.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(ValueError) as caught:
        read_targets(table, check_files=True)
    text = str(caught.value)
    assert text.startswith(f"{table}: 4 problems in the targets table:")
    needles = (
        ":2: track file",
        ":3: column 'clip' is 'lots'",
        ":4: identifier 'T0'",
        ":5: sum_stat 'median'",
    )
    for needle in needles:
        assert needle in text, needle
    # in line order: the missing file of line 2 (found after every row is read) comes first
    assert sorted(needles, key=text.index) == list(needles)


def test_problems_beyond_the_cap_are_counted_in_line_order(tmp_path):
    from crossreg.io.targets_read import MAX_PROBLEMS, read_targets

    header = "identifier\tfile\tclip\tscale\tsum_stat\tdescription"
    # even rows: a missing file (found after reading); odd rows: a bad scale (found reading)
    rows = [
        f"T{i}\tt{i}.bw\t32\t{'x' if i % 2 else 2}\tsum\tDNASE:{i}" for i in range(MAX_PROBLEMS + 5)
    ]
    table = tmp_path / "targets.txt"
    table.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(ValueError) as caught:
        read_targets(table, check_files=True)
    listed = str(caught.value).splitlines()[1:]
    lines = [int(entry.split(":")[1]) for entry in listed[:MAX_PROBLEMS]]
    assert lines == list(range(2, MAX_PROBLEMS + 2))
    assert listed[MAX_PROBLEMS].strip() == "... and 5 more"


def test_a_track_list_needs_only_identifier_and_description(tmp_path):
    """A model's track list (import-basenji) reads coverage columns only when given;
    a dataset's table (crossreg data) needs all but clip and scale, as Basenji's."""
    table = tmp_path / "tracks.txt"
    table.write_text(
        "index\tidentifier\tdescription\tgenome\tscale\n"
        "7\tT7\tDNASE:liver\t0\t\n"
        "8\tT8\tCAGE:liver\t0\t4\n"
    )
    with pytest.raises(ValueError, match=r"lacks column\(s\) file, sum_stat;"):
        read_targets(table)
    tracks = read_targets(table, tracks_only=True)
    assert [(t.index, t.identifier, t.description) for t in tracks] == [
        (7, "T7", "DNASE:liver"),
        (8, "T8", "CAGE:liver"),
    ]
    assert [t.scale for t in tracks] == [1.0, 4.0]  # empty: the default; given: read
    assert all(t.files == () and t.clip == float("inf") and t.sum_stat == "sum" for t in tracks)
    assert tracks[0].extra == {"genome": "0"}
    bad = tmp_path / "bad.txt"
    bad.write_text("identifier\tdescription\tclip\nT0\tDNASE:liver\tlots\n")
    with pytest.raises(ValueError, match=r"bad.txt:2: column 'clip' is 'lots', not a number"):
        read_targets(bad, tracks_only=True)
    nameless = tmp_path / "nameless.txt"
    nameless.write_text("identifier\nT0\n")
    with pytest.raises(ValueError, match=r"lacks column\(s\) description;"):
        read_targets(nameless, tracks_only=True)


def test_a_quote_that_never_closes_is_named_not_read_as_one_long_description(tmp_path):
    header = "index\tidentifier\tfile\tclip\tscale\tsum_stat\tdescription\n"
    rows = [f"{i}\tE{i}\ta.bw\t32\t2\tmean\tDNASE:cell {i}\n" for i in range(3)]
    table = tmp_path / "targets.txt"
    table.write_text(header + rows[0].replace("DNASE", '"DNASE') + rows[1] + rows[2])
    with pytest.raises(ValueError, match=r"targets\.txt:4: unexpected end of data.*double quote"):
        read_targets(table)
    quoted = rows[0].replace("DNASE:cell 0", '"DNASE:cell\t""0"""')  # a tab and quotes inside
    table.write_text(header + quoted + rows[1])
    assert [t.description for t in read_targets(table)] == ['DNASE:cell\t"0"', "DNASE:cell 1"]


def test_a_header_that_repeats_a_column_is_refused_by_its_line(tmp_path):
    # before: the last copy of the column silently won
    path = tmp_path / "t.txt"
    path.write_text(
        "\tidentifier\tfile\tclip\tscale\tsum_stat\tdescription\tclip\n"
        "0\tENC1\ta.w5\t32\t2\tmean\tDNASE:liver\t384\n"
    )
    with pytest.raises(ValueError, match=r"t\.txt:1: the header repeats column 'clip'"):
        read_targets(path)


def test_tracks_are_in_row_order_not_index_order(tmp_path):
    """Basenji reads the table with ``index_col=0`` and writes output column k from row k
    (``seqs_cov/{row}.h5``), whatever the index says; a track index names a row."""
    from crossreg.io.targets_select import select_targets

    table = tmp_path / "targets.txt"
    table.write_text(
        "\tidentifier\tfile\tclip\tscale\tsum_stat\tdescription\n"
        "9\tT9\tt9.bw\t32\t2\tmean\tDNASE:liver\n"
        "2\tT2\tt2.bw\t384\t1\tsum\tCAGE:liver\n"
    )
    tracks = read_targets(table)
    assert [(t.index, t.identifier) for t in tracks] == [(9, "T9"), (2, "T2")]
    assert select_targets(tracks.targets, "0") == [0]
    assert tracks.identifiers == ["T9", "T2"]


def test_a_paper_table_whose_files_are_all_elsewhere_says_so_at_the_end(tmp_path):
    with pytest.raises(ValueError) as caught:
        read_targets(TABLES / "targets_human.txt", check_files=True)
    text = str(caught.value)
    assert text.startswith(f"{TABLES / 'targets_human.txt'}: 5313 problems in the targets table")
    last = text.splitlines()[-1].strip()
    paths = [f for t in read_targets(TABLES / "targets_human.txt") for f in t.files]
    under = os.path.commonpath(paths)
    assert last.startswith(
        f"none of the table's 5,313 track files exists (all under {under}): its file column "
        "names the files of another machine; write the paths of your BigWigs into it; the "
        "files it names are Basenji's HDF5 coverage"
    )
    # a table some of whose files exist lists the missing ones alone
    (tmp_path / "a.bw").write_bytes(b"")
    header = "identifier\tfile\tclip\tscale\tsum_stat\tdescription"
    rows = [f"T{i}\t{name}\t32\t2\tsum\tDNASE:x" for i, name in enumerate(["a.bw", "b.bw", "c.bw"])]
    table = tmp_path / "targets.txt"
    table.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(ValueError, match="2 problems") as caught:
        read_targets(table, check_files=True)
    assert "none of the table's" not in str(caught.value)
    (tmp_path / "a.bw").unlink()
    with pytest.raises(ValueError) as caught:
        read_targets(table, check_files=True)
    assert "HDF5" not in str(caught.value)


def test_a_table_whose_files_beside_it_are_not_fetched_yet_says_to_fetch_them(tmp_path):
    # as the real-data page writes the paper's table: bigwigs/<identifier>.bigWig, relative
    header = "identifier\tfile\tclip\tscale\tsum_stat\tdescription"
    rows = [f"T{i}\tbigwigs/T{i}.bigWig\t32\t2\tmean\tDNASE:x" for i in range(3)]
    table = tmp_path / "targets.local.txt"
    table.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(ValueError) as caught:
        read_targets(table, check_files=True)
    last = str(caught.value).splitlines()[-1].strip()
    assert last == (
        f"none of the table's 3 track files exists (all under {tmp_path / 'bigwigs'}): fetch "
        "the BigWigs to the paths its file column names, or write theirs into it"
    )
    # a table elsewhere naming these files is one of another machine's
    other = tmp_path / "tables" / "targets.txt"
    other.parent.mkdir()
    other.write_text(table.read_text().replace("bigwigs/", f"{tmp_path}/bigwigs/"))
    with pytest.raises(ValueError, match="names the files of another machine"):
        read_targets(other, check_files=True)


HEADER = "index\tidentifier\tfile\tclip\tscale\tsum_stat\tdescription"
ROWS = ["0\tT0\ta.bw\t32\t2\tmean\tDNASE:liver", "1\tT1\tb.bw\t384\t1\tsum\tCAGE:brain"]


def _table(tmp_path: Path, lines: list[str], end: str = "\n") -> Path:
    path = tmp_path / "targets.txt"
    path.write_bytes(end.join(lines).encode() + end.encode())
    return path


@pytest.mark.parametrize(
    "lines",
    [
        [HEADER + "\t", *ROWS],  # a spreadsheet's trailing tab on the header alone
        [HEADER, *(row + "\t" for row in ROWS)],  # ... on the rows alone
        [HEADER + "\t", *(row + "\t\t " for row in ROWS)],  # ... on both, some blank
    ],
)
def test_trailing_tabs_add_no_column(tmp_path, lines):
    # before: "7 tab-separated fields but the header has 8" (or 8 and 7) on every row,
    # and a trailing tab on both kept an unnamed column '' among the extra columns
    table = read_targets(_table(tmp_path, lines))
    assert read_targets(_table(tmp_path, [HEADER, *ROWS])).targets == table.targets
    assert [t.extra for t in table] == [{}, {}]


def test_a_row_with_a_value_past_the_header_is_still_refused(tmp_path):
    path = _table(tmp_path, [HEADER, ROWS[0] + "\t\tx", ROWS[1]])
    with pytest.raises(ValueError, match=r"targets\.txt:2: 9 tab-separated fields but the header"):
        read_targets(path)


def test_crlf_and_cr_line_ends_read_as_newlines(tmp_path):
    plain = read_targets(_table(tmp_path, [HEADER, *ROWS]))
    for end in ("\r\n", "\r"):
        table = read_targets(_table(tmp_path, [HEADER, *ROWS], end))
        assert table.targets == plain.targets
        assert [t.description for t in table] == ["DNASE:liver", "CAGE:brain"]
        assert [table.line_of(t) for t in table] == [2, 3]
    # a spreadsheet's export on Windows: a byte-order mark, an unnamed index, CRLF
    excel = _table(tmp_path, ["\ufeff" + HEADER.removeprefix("index"), *ROWS], "\r\n")
    assert read_targets(excel).targets == plain.targets


def test_a_table_without_clip_or_scale_columns_takes_basenjis_defaults(tmp_path):
    # Basenji's basenji_data.py reads clip and scale only when their column exists (no
    # clip, scale 1); before: "the header lacks column(s) clip, scale"
    lines = ["identifier\tfile\tsum_stat\tdescription", "T0\ta.bw\tmean\tDNASE:liver"]
    (track,) = read_targets(_table(tmp_path, lines))
    assert (track.clip, track.scale, track.sum_stat, track.extra) == (math.inf, 1.0, "mean", {})
    assert (track.soft_clip_threshold, track.hard_clip) == (math.inf, math.inf)
    # a column that is there still needs its cells
    path = _table(tmp_path, ["identifier\tfile\tclip\tsum_stat\tdescription", "T0\ta.bw\t\tsum\tx"])
    with pytest.raises(ValueError, match=r"targets\.txt:2: column 'clip' is '', not a number"):
        read_targets(path)
    # sum_stat has no default in Basenji's basenji_data.py (it reads the column)
    path = _table(tmp_path, ["identifier\tfile\tdescription", "T0\ta.bw\tx"])
    with pytest.raises(ValueError, match=r"targets\.txt:1: the header lacks column\(s\) sum_stat;"):
        read_targets(path)


def test_columns_in_any_order_with_extra_columns_kept(tmp_path):
    lines = [
        "description\tnote\tsum_stat\tscale\tclip\tfile\tidentifier\tindex",
        "DNASE:liver\tfrom lab\tmean\t2\t32\ta.bw\tT0\t0",
        "CAGE:brain\t\tsum\t1\t384\tb.bw\tT1\t1",
    ]
    table = read_targets(_table(tmp_path, lines))
    assert table.targets == read_targets(_table(tmp_path, [HEADER, *ROWS])).targets
    assert [t.extra for t in table] == [{"note": "from lab"}, {"note": ""}]


def test_numbers_in_exponent_form_and_an_infinite_clip_read(tmp_path):
    lines = [HEADER, "0\tT0\ta.bw\t1e3\t1E-1\tmax\tDNASE:x", "1\tT1\tb.bw\tInfinity\t2.5\tsum\tx"]
    table = read_targets(_table(tmp_path, lines))
    assert [(t.clip, t.scale) for t in table] == [(1000.0, 0.1), (math.inf, 2.5)]


def test_duplicate_and_unsorted_indices_are_kept_as_basenji_keeps_them(tmp_path):
    # Basenji reads rows by position (iloc), so its index need not be unique or sorted
    lines = [
        HEADER,
        "7\tT0\ta.bw\t32\t2\tmean\tx",
        "7\tT1\tb.bw\t32\t2\tmean\ty",
        "-1\tT2\tc.bw\t32\t2\tmean\tz",
    ]
    assert [(t.index, t.identifier) for t in read_targets(_table(tmp_path, lines))] == [
        (7, "T0"),
        (7, "T1"),
        (-1, "T2"),
    ]


STRANDED = "index\tidentifier\tfile\tclip\tscale\tsum_stat\tstrand_pair\tdescription"


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (("7", "6"), r":2: strand_pair 7 of track 'P' names no track \(no row has index 7\); an "),
        (("x", "6"), r":2: strand_pair 'x' is not a whole number; give the index of the track's"),
        (("5.0", "6"), r":2: strand_pair '5\.0' is not a whole number"),
        (("6", "6"), r":2: strand_pair 6 pairs track 'P' \(index 5\) with its other strand;"),
        (("5", "5"), r":3: strand_pair 5 pairs track 'M' \(index 6\) with its other strand;"),
    ],
)
def test_a_strand_pair_is_its_own_index_or_refused_saying_why(tmp_path, pairs, message):
    # before: 'x' and an index no row has were both called the track's other strand
    lines = [
        STRANDED,
        f"5\tP\ta.bw\t384\t1\tsum\t{pairs[0]}\tCAGE:x+",
        f"6\tM\tb.bw\t384\t1\tsum\t{pairs[1]}\tCAGE:x-",
    ]
    with pytest.raises(ValueError, match=r"targets\.txt" + message):
        read_targets(_table(tmp_path, lines))


def test_a_self_paired_table_of_any_index_reads(tmp_path):
    lines = [STRANDED, "5313\tP\ta.bw\t384\t1\tsum\t5313\tx", "5314\tM\tb.bw\t384\t1\tsum\t\ty"]
    table = read_targets(_table(tmp_path, lines))
    assert [t.extra for t in table] == [{"strand_pair": "5313"}, {"strand_pair": ""}]
    unindexed = [line.split("\t", 1)[1] for line in lines]  # the row's position is its index
    unindexed[1:] = ["P\ta.bw\t384\t1\tsum\t0\tx", "M\tb.bw\t384\t1\tsum\t1\ty"]
    assert read_targets(_table(tmp_path, unindexed)).identifiers == ["P", "M"]


def test_replicates_are_comma_separated_and_each_named_once(tmp_path):
    lines = [HEADER, "0\tT0\ta.bw, reps/b.bw,\t32\t2\tmean\tDNASE:x"]
    (track,) = read_targets(_table(tmp_path, lines))
    assert track.files == ("a.bw", "reps/b.bw")
    # before: read as three replicates, a.bw counted twice in their average
    lines = [HEADER, "0\tT0\ta.bw,b.bw,./a.bw\t32\t2\tmean\tDNASE:x"]
    message = r"targets\.txt:2: the file column of 'T0' names a\.bw 2 times; its replicates"
    with pytest.raises(ValueError, match=message):
        read_targets(_table(tmp_path, lines))


def test_relative_track_files_resolve_against_the_tables_folder_not_the_cwd(tmp_path, monkeypatch):
    # Basenji hands the path to a subprocess run in the working directory; crossreg reads
    # it beside the table, wherever the command runs
    folder = tmp_path / "tables"
    folder.mkdir()
    (folder / "bw").mkdir()
    (folder / "bw" / "a.bw").write_bytes(b"")
    path = folder / "targets.txt"
    path.write_text(f"{HEADER}\n0\tT0\tbw/a.bw,/abs/b.bw\t32\t2\tmean\tx\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    table = read_targets(Path("..") / "tables" / "targets.txt")
    assert table.track_files(table[0]) == [folder / "bw" / "a.bw", Path("/abs/b.bw")]
    with pytest.raises(ValueError, match=r"track file /abs/b\.bw of 'T0' does not exist"):
        read_targets(path, check_files=True)


def test_a_description_names_its_assay_and_cell_type_as_the_papers_tables_do():
    from crossreg.io.assays import assay_of, split_description

    table = read_targets(TABLES / "targets_human.txt")
    assert Counter(t.assay for t in table) == {"DNASE": 674, "ATAC": 10, "CHIP": 3991, "CAGE": 638}
    cases = {
        "CHIP:H3K4me3:liver": ("CHIP", ("CHIP:H3K4me3", "liver")),
        "CAGE:acute myeloid leukemia (FAB M5) cell line:THP-1": (
            "CAGE",
            ("CAGE", "acute myeloid leukemia (FAB M5) cell line:THP-1"),
        ),
        "CHIP:CTCF": ("CHIP", ("CHIP", "CTCF")),
        "liver": ("OTHER", ("liver", "liver")),
    }
    for description, (assay, parts) in cases.items():
        assert (assay_of(description), split_description(description)) == (assay, parts)
