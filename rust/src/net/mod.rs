//! UCSC `.net` alignment files, read as a stream of aligned segments.
//!
//! A net (from `chainNet`/`netSyntenic`) lists, per target chromosome, the fills of the
//! alignment and, nested inside them, the gaps of each fill; a gap may hold fills again
//! (an alignment to another query place), and so on to any depth. Indentation (one space
//! per level) gives the nesting:
//!
//! ```text
//! net chr1 248956422
//!  fill 10000 5000 chr5 + 2000 5100 id 1 score 900 ali 4800
//!   gap 11000 200 chr5 + 3000 300
//!    fill 11050 100 chr9 - 500 100 id 7 score 90 ali 100
//! ```
//!
//! Fill and gap lines start with `tStart tSize qChrom qStrand qStart qSize` and go on with
//! key/value pairs, of which only a fill's `type`, `score` and `ali` are read, to count the
//! `nonSyn` fills that UCSC's syntenic net leaves out (they mark a full net; every fill is
//! reported whatever its type). Query coordinates are forward-strand coordinates on
//! both strands (kent's `chainNet` converts minus-strand chain coordinates back with
//! `reverseIntRange` before writing; `netToAxt` reads `[qStart, qStart + qSize)` and
//! reverse-complements it). On the minus strand the query position therefore decreases
//! as the target position increases: the gaps of a minus-strand fill, listed in target
//! order, have decreasing query starts. Internally such coordinates are turned into
//! reverse-strand ones, `qChromSize − (qStart + qSize)`, which increase along the fill.
//!
//! A fill's aligned part is the fill minus its own child gaps. [`read_net`] cuts every fill
//! (at any depth) at its gaps and reports each piece between two gaps as a [`Segment`];
//! fills nested inside a gap are reported as segments of their own. Plain and
//! gzip-compressed (also bgzip) files are read alike, detected by their first bytes, which
//! are read through the one handle that reads the file, so that a pipe reads whole.

mod chrom_errors;
mod nesting;
mod parser;
mod sizes;
mod syntenic;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use crate::file_kind::{check_kind, sniff, GZIP_MAGIC};
use crate::{Error, Result};
use parser::parse_stream;
pub use sizes::{ChromSizes, MAX_CHROM_LENGTH};

/// Strand of the query side of a fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strand {
    Plus,
    Minus,
}

/// One aligned piece of a fill: target `[t_start, t_start + t_len)` against query
/// `[q_start, q_start + q_len)` in query *strand* coordinates: on the minus strand they
/// count along the reverse strand (reverse start = `qChromSize − forward end`), so that on
/// both strands the query position increases with the target position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub t_chrom: u32,
    pub t_start: u64,
    pub t_len: u64,
    pub q_chrom: u32,
    pub q_start: u64,
    pub q_len: u64,
    pub strand: Strand,
}

impl Segment {
    /// Bases the segment aligns: the shorter of its two sides.
    pub fn aligned(&self) -> u64 {
        self.t_len.min(self.q_len)
    }
}

/// Counts of what a net file held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetSummary {
    /// `net` blocks (target chromosomes) read.
    pub chroms: u64,
    /// Fill lines read, at every depth.
    pub fills: u64,
    /// Gap lines read, at every depth.
    pub gaps: u64,
    /// Aligned segments reported.
    pub segments: u64,
    /// Aligned bases of the segments (sum of [`Segment::aligned`]).
    pub aligned_bases: u64,
    /// Fill lines skipped because a chromosome is not in the sizes (only with `skip_unknown`).
    pub skipped_fills: u64,
    /// Distinct chromosome names skipped (only with `skip_unknown`), sorted.
    pub skipped_chroms: Vec<String>,
    /// `nonSyn` fills below the thresholds `netFilter -syn` keeps them above
    /// ([`syntenic::left_out_of_syntenic_net`]): a full net's paralogues and pseudogenes
    /// (its other rules, on `qFar` and top-level scores, are not applied). Counted among the
    /// fills; skipped fills are not counted here.
    pub non_syntenic_fills: u64,
    /// Aligned bases of those fills (their own pieces; fills nested in their gaps are not
    /// theirs), counted among `aligned_bases`.
    pub non_syntenic_bases: u64,
    /// Each `net` block's target chromosome and the line it starts on, in file order.
    pub blocks: Vec<(String, usize)>,
}

/// Open `path` for reading, decompressing it when it starts with the gzip magic bytes;
/// also says whether it is compressed. The file is opened once and its first bytes are
/// read through the handle that then reads it whole, so a pipe (a shell's `<(...)`, a
/// named FIFO) reads as a file does. A bzip2, xz or zstd file and UTF-16 text (also
/// inside gzip) are refused saying how to convert them; a leading UTF-8 byte-order mark
/// is dropped.
pub fn open_maybe_gzip(path: &Path) -> Result<(Box<dyn BufRead>, bool)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let (head, raw) = sniff(file).map_err(|e| Error::io(path, e))?;
    if head.starts_with(GZIP_MAGIC) {
        let source = Source {
            path,
            compressed: true,
        };
        let decoder = MultiGzDecoder::new(BufReader::with_capacity(1 << 16, raw));
        let (head, text) = sniff(decoder).map_err(|e| read_error(source, 1, e))?;
        check_kind(path, &head)?;
        Ok((Box::new(BufReader::with_capacity(1 << 16, text)), true))
    } else {
        check_kind(path, &head)?;
        Ok((Box::new(BufReader::with_capacity(1 << 16, raw)), false))
    }
}

/// Read the net at `path` (plain or gzipped) between genomes `target` (its `net` lines)
/// and `query`, calling `on_segment` for every aligned segment in file order.
///
/// A chromosome missing from the sizes stops with an error naming it, unless
/// `skip_unknown`, which skips the alignments that involve it (counted in the summary).
pub fn read_net(
    path: &Path,
    target: &ChromSizes,
    query: &ChromSizes,
    skip_unknown: bool,
    on_segment: impl FnMut(Segment),
) -> Result<NetSummary> {
    let (reader, compressed) = open_maybe_gzip(path)?;
    let source = Source { path, compressed };
    parse_stream(reader, source, target, query, skip_unknown, on_segment)
}

/// As [`read_net`] on an open reader of plain text; `path` names the source in messages.
pub fn parse_net<R: BufRead>(
    reader: R,
    path: &Path,
    target: &ChromSizes,
    query: &ChromSizes,
    skip_unknown: bool,
    on_segment: impl FnMut(Segment),
) -> Result<NetSummary> {
    let source = Source {
        path,
        compressed: false,
    };
    parse_stream(reader, source, target, query, skip_unknown, on_segment)
}

/// Where the lines come from: the file (for messages) and whether it is gzipped.
#[derive(Clone, Copy)]
pub(super) struct Source<'a> {
    pub(super) path: &'a Path,
    pub(super) compressed: bool,
}

/// A failed read: in a gzipped file, most likely a truncated or corrupt stream.
pub(super) fn read_error(source: Source<'_>, line: usize, e: std::io::Error) -> Error {
    if source.compressed {
        Error::parse(
            source.path,
            line,
            format!("cannot read the file ({e}); is the gzip file truncated or corrupt?"),
        )
    } else {
        Error::io(source.path, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_kind::UTF8_BOM;
    use crate::inflate::tests::gzip;
    use std::io::Write;
    use std::path::PathBuf;

    pub(super) fn sizes(genome: &str, chroms: &[(&str, u64)]) -> ChromSizes {
        ChromSizes::new(
            genome,
            chroms.iter().map(|(n, s)| (n.to_string(), *s)).collect(),
        )
        .unwrap()
    }

    pub(super) fn segments(text: &str, skip: bool) -> Result<(Vec<Segment>, NetSummary)> {
        let t = sizes("a", &[("chr1", 100_000), ("chr2", 50_000)]);
        let q = sizes("b", &[("chrA", 80_000), ("chrB", 60_000)]);
        let mut out = Vec::new();
        let summary = parse_net(text.as_bytes(), Path::new("x.net"), &t, &q, skip, |s| {
            out.push(s)
        })?;
        Ok((out, summary))
    }

    pub(super) fn seg(t: u64, tl: u64, qc: u32, q: u64, ql: u64, strand: Strand) -> Segment {
        Segment {
            t_chrom: 0,
            t_start: t,
            t_len: tl,
            q_chrom: qc,
            q_start: q,
            q_len: ql,
            strand,
        }
    }

    #[test]
    fn gzipped_and_plain_files_read_alike() {
        let text = "net chr2 50000\n fill 0 100 chrB - 0 100\n";
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.net");
        std::fs::write(&plain, text).unwrap();
        let gz = dir.path().join("a.net.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::default(),
        );
        enc.write_all(text.as_bytes()).unwrap();
        enc.finish().unwrap();
        let t = sizes("a", &[("chr2", 50_000)]);
        let q = sizes("b", &[("chrB", 60_000)]);
        for path in [&plain, &gz] {
            let mut out = Vec::new();
            read_net(path, &t, &q, false, |s| out.push(s)).unwrap();
            assert_eq!(out, vec![seg(0, 100, 0, 59_900, 100, Strand::Minus)]);
        }
    }

    fn read_file(path: &Path) -> Result<Vec<Segment>> {
        let t = sizes("a", &[("chr2", 50_000)]);
        let q = sizes("b", &[("chrB", 60_000)]);
        let mut out = Vec::new();
        read_net(path, &t, &q, false, |s| out.push(s))?;
        Ok(out)
    }

    const SMALL_NET: &str = "net chr2 50000\n fill 0 100 chrB - 0 100\n";

    #[cfg(target_os = "linux")]
    #[test]
    fn a_pipe_reads_whole_plain_or_gzipped() {
        // before: the file was opened twice, and the second open of a pipe lost the two
        // bytes the first had read ("unknown line type 't'", "invalid gzip header")
        use std::os::fd::AsRawFd;
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.net");
        std::fs::write(&plain, SMALL_NET).unwrap();
        let gz = dir.path().join("a.net.gz");
        std::fs::write(&gz, gzip(SMALL_NET.as_bytes())).unwrap();
        for file in [&plain, &gz] {
            let mut child = Command::new("cat")
                .arg(file)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let pipe = child.stdout.take().unwrap();
            let path = PathBuf::from(format!("/proc/self/fd/{}", pipe.as_raw_fd()));
            let segments = read_file(&path);
            drop(pipe);
            child.wait().unwrap();
            assert_eq!(
                segments.unwrap(),
                vec![seg(0, 100, 0, 59_900, 100, Strand::Minus)],
                "{}",
                file.display()
            );
        }
    }

    #[test]
    fn other_compressions_and_utf16_say_how_to_convert_and_a_bom_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend(SMALL_NET.encode_utf16().flat_map(u16::to_le_bytes));
        let refused: [(&str, Vec<u8>, &str); 6] = [
            ("a.net.bz2", b"BZh91AY&SY\x01\x02".to_vec(), "bzip2-compressed, which crossreg does not read; decompress it (bzip2 -d) or recompress it with gzip or bgzip"),
            ("a.net.xz", b"\xfd7zXZ\x00\x00\x04".to_vec(), "xz-compressed, which crossreg does not read; decompress it (xz -d)"),
            ("a.net.zst", b"\x28\xb5\x2f\xfd\x00\x58".to_vec(), "zstd-compressed, which crossreg does not read; decompress it (zstd -d)"),
            ("le.net", utf16.clone(), "the file is UTF-16 text, not UTF-8; convert it to UTF-8 (iconv -f utf-16 -t utf-8)"),
            ("be.net", vec![0xfe, 0xff, 0, b'n', 0, b'e', 0, b't'], "the file is UTF-16 text"),
            ("le.net.gz", gzip(&utf16), "the file is UTF-16 text"),
        ];
        for (name, bytes, expected) in refused {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let err = read_file(&path).unwrap_err().to_string();
            assert_eq!(
                err.split_once(": ")
                    .map(|(p, m)| (p.to_string(), m.contains(expected))),
                Some((path.display().to_string(), true)),
                "{err}"
            );
        }
        let bom = [UTF8_BOM, SMALL_NET.as_bytes()].concat();
        for (name, bytes) in [("bom.net", bom.clone()), ("bom.net.gz", gzip(&bom))] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(
                read_file(&path).unwrap(),
                vec![seg(0, 100, 0, 59_900, 100, Strand::Minus)],
                "{name}"
            );
        }
        // shorter than the bytes looked at: read as any file is
        let short = dir.path().join("short.net");
        std::fs::write(&short, "net").unwrap();
        assert!(read_file(&short)
            .unwrap_err()
            .to_string()
            .contains("expected 'net <chrom> <size>'"));
    }
}
