"""The line-by-line Python VCF reader that crossreg.io.vcf.iter_vcf replaced with a native
one: the plain reference its records, warnings and messages are checked against (and, for
its baseline, ``benches/bench_sad_vcf.py``'s)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from crossreg.io.text import bgzf_end_missing, numbered_lines
from crossreg.io.vcf import HEADER_COLUMNS, Variant

log = logging.getLogger("crossreg")

_ALLELE = re.compile(r"^[ACGTNacgtn]+$")
_ALT = re.compile(
    r"^([ACGTNacgtn]+|\*|\.|<[^>]+>"
    r"|[ACGTNacgtn]*[\[\]][^\[\]]+[\[\]][ACGTNacgtn]*|\.[ACGTNacgtn]+|[ACGTNacgtn]+\."
    r"|\.[\[\]][^\[\]]+[\[\]]|[\[\]][^\[\]]+[\[\]]\.)$"
)


def _space_hint(text: str) -> str:
    """The fix for a record line whose columns are separated by spaces, else ''."""
    if " " in text and len(re.split("[ \t]+", text.strip(" \t"))) >= 5:
        return (
            "; its columns are separated by spaces, which VCF separates by tabs: convert them "
            "(tr ' ' '\\t')"
        )
    return ""


def _iupac_hint(ref: str) -> str:
    """The fix for a REF of bases and IUPAC ambiguity codes, else ''."""
    if re.fullmatch("[ACGTNRYSWKMBDHVacgtnryswkmbdhv]+", ref):
        return (
            "; IUPAC ambiguity codes such as R or Y are not VCF bases (VCF 4.3 writes the "
            "first base a code stands for: A for R): correct the record or remove it"
        )
    return ""


def _parse_info(text: str) -> dict[str, str | bool]:
    if text in (".", ""):
        return {}
    info: dict[str, str | bool] = {}
    for item in text.split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        info[key] = value if sep else True
    return info


def reference_iter_vcf(
    path: str | os.PathLike[str],
    *,
    warn: bool = True,
    sites_only: bool = False,
    pass_over: Callable[[str], bool] | None = None,
) -> Iterator[Variant]:
    """The records of `path` as the line-by-line Python reader read them."""
    path = Path(path)
    if warn and bgzf_end_missing(path):
        log.warning(
            "%s: the BGZF file lacks its end-of-file block, so it may be truncated; "
            "re-download or re-compress it (bgzip -t tests it)",
            path,
        )
    seen_header = False
    first: tuple[int, int] | None = None  # the first record's line and number of fields
    for line_no, line in numbered_lines(path):
        text = line.rstrip("\r\n")
        if text.startswith("##") or not text.strip():
            continue
        fields = text.split("\t", 8) if sites_only else text.split("\t")
        if text.startswith("#"):
            shown = tuple(fields[:8])
            if len(shown) < 5 or shown != HEADER_COLUMNS[: len(shown)]:
                raise ValueError(
                    f"{path}:{line_no}: the column header must start with "
                    f"{' '.join(HEADER_COLUMNS[:5])} (tab-separated; then QUAL FILTER "
                    f"INFO), got '{text[:80]}'"
                )
            seen_header = True
            continue
        if pass_over is not None and pass_over(line):
            seen_header = True
            continue
        if not line.endswith("\n"):
            raise ValueError(
                f"{path}:{line_no}: the last record has no newline, so the file may be "
                "truncated; re-download or re-compress it (if it is complete, end it with "
                "a newline)"
            )
        if len(fields) < 5:
            raise ValueError(
                f"{path}:{line_no}: {len(fields)} tab-separated fields; a VCF record needs "
                f"CHROM POS ID REF ALT (then QUAL FILTER INFO){_space_hint(text)}"
            )
        if first is None:
            first = (line_no, len(fields))
        elif len(fields) < min(first[1], len(HEADER_COLUMNS)):
            raise ValueError(
                f"{path}:{line_no}: {len(fields)} tab-separated fields where the first "
                f"record (line {first[0]}) has {first[1]}; is the record cut short?"
            )
        if not seen_header and warn:  # older files (Basenji's tutorial VCF) have none
            log.warning(
                "%s: no '#CHROM POS ID REF ALT ...' header line; reading the records as "
                "CHROM POS ID REF ALT [QUAL FILTER INFO]",
                path,
            )
        seen_header = True
        fields += ["."] * (8 - len(fields))
        chrom, pos_text, vid, ref, alt = fields[:5]
        if not chrom.strip():
            raise ValueError(f"{path}:{line_no}: CHROM is empty")
        try:
            pos1 = int(pos_text)
        except ValueError:
            raise ValueError(f"{path}:{line_no}: POS '{pos_text}' is not a whole number") from None
        if pos1 < 0:
            raise ValueError(f"{path}:{line_no}: POS {pos1} is invalid (VCF POS is 1-based)")
        if not _ALLELE.match(ref):
            raise ValueError(
                f"{path}:{line_no}: REF '{ref}' must be bases A, C, G, T or N{_iupac_hint(ref)}"
            )
        alts = tuple(alt.split(","))
        bad = [a for a in alts if not _ALT.match(a)]
        if bad:
            raise ValueError(
                f"{path}:{line_no}: ALT allele '{bad[0]}' is not bases, '*', '.', <ID> or a "
                "breakend"
            )
        bases = [a for a in alts if pos1 == 0 and _ALLELE.match(a)]
        if bases:
            raise ValueError(
                f"{path}:{line_no}: POS 0 is invalid for a record with an ALT of bases "
                f"('{bases[0]}'): VCF POS is 1-based, and 0 marks a telomere, for breakend and "
                "symbolic ALTs only"
            )
        yield Variant(
            chrom=chrom,
            pos=pos1 - 1,
            ref=ref.upper(),
            alts=tuple(a.upper() if _ALLELE.match(a) else a for a in alts),
            id=vid,
            qual=fields[5],
            filter=fields[6],
            info=_parse_info(fields[7]),
            samples=() if sites_only else tuple(fields[8:]),
        )
    if not seen_header:
        raise ValueError(f"{path}: no records and no '#CHROM POS ID REF ALT ...' header line")
