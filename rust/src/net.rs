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

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::LazyLock;

use flate2::bufread::MultiGzDecoder;
use memchr::memmem;

use crate::error::chrom_hint;
use crate::{Error, Result};

/// The longest chromosome accepted (2^40 bp): far beyond any genome's, and small enough
/// that coordinates and region counts never overflow.
pub const MAX_CHROM_LENGTH: u64 = 1 << 40;

/// The chromosomes of one genome: names, lengths and a name lookup.
#[derive(Clone, Debug)]
pub struct ChromSizes {
    genome: String,
    names: Vec<String>,
    sizes: Vec<u64>,
    index: HashMap<String, u32>,
}

impl ChromSizes {
    /// The chromosomes `(name, length in bp)` of the genome called `genome`, in the order
    /// given. Names must be unique and lengths positive.
    pub fn new(genome: &str, chroms: Vec<(String, u64)>) -> Result<Self> {
        let mut names = Vec::with_capacity(chroms.len());
        let mut sizes = Vec::with_capacity(chroms.len());
        let mut index = HashMap::with_capacity(chroms.len());
        for (name, size) in chroms {
            if size == 0 || size > MAX_CHROM_LENGTH {
                return Err(Error::Invalid(format!(
                    "genome '{genome}': chromosome '{name}' has length {size}; give every \
                     chromosome its length in bp (1 to 2^40)"
                )));
            }
            if index.insert(name.clone(), names.len() as u32).is_some() {
                return Err(Error::Invalid(format!(
                    "genome '{genome}': chromosome '{name}' is listed twice in the sizes"
                )));
            }
            names.push(name);
            sizes.push(size);
        }
        if names.is_empty() {
            return Err(Error::Invalid(format!(
                "genome '{genome}' has no chromosomes in its sizes"
            )));
        }
        Ok(ChromSizes {
            genome: genome.to_string(),
            names,
            sizes,
            index,
        })
    }

    /// The genome's name.
    pub fn genome(&self) -> &str {
        &self.genome
    }

    /// Chromosome names in the order given.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Chromosome lengths (bp) in the order given.
    pub fn sizes(&self) -> &[u64] {
        &self.sizes
    }

    /// Number of chromosomes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no chromosomes (never true for a constructed value).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Index of chromosome `name`, if known.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// Sum of all chromosome lengths (bp).
    pub fn total(&self) -> u64 {
        self.sizes.iter().sum()
    }
}

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
    /// ([`left_out_of_syntenic_net`]): a full net's paralogues and pseudogenes (its other
    /// rules, on `qFar` and top-level scores, are not applied). Counted among the fills;
    /// skipped fills are not counted here.
    pub non_syntenic_fills: u64,
    /// Aligned bases of those fills (their own pieces; fills nested in their gaps are not
    /// theirs), counted among `aligned_bases`.
    pub non_syntenic_bases: u64,
    /// Each `net` block's target chromosome and the line it starts on, in file order.
    pub blocks: Vec<(String, usize)>,
}

/// An open fill or gap on the nesting stack.
enum Frame {
    Fill {
        level: usize,
        /// Alignments to a chromosome outside the sizes: checked, not reported.
        skipped: bool,
        /// A fill UCSC's syntenic net leaves out ([`left_out_of_syntenic_net`]).
        non_syntenic: bool,
        t_chrom: u32,
        t_end: u64,
        q_chrom: String,
        q_chrom_id: u32,
        /// Length of the query chromosome (0 when skipped).
        q_size: u64,
        strand: Strand,
        /// End of the fill on the query, in strand coordinates.
        q_end: u64,
        /// Where the next aligned piece starts (end of the last child gap), query in
        /// strand coordinates.
        cursor_t: u64,
        cursor_q: u64,
    },
    Gap {
        level: usize,
        t_start: u64,
        t_end: u64,
        /// End of the last fill nested in the gap so far (its start before any).
        fills_end: u64,
    },
}

impl Frame {
    fn level(&self) -> usize {
        match self {
            Frame::Fill { level, .. } | Frame::Gap { level, .. } => *level,
        }
    }
}

/// The six leading fields of a fill or gap line.
struct Block<'a> {
    t_start: u64,
    t_size: u64,
    q_chrom: &'a str,
    strand: Strand,
    q_start: u64,
    q_size: u64,
}

/// The first bytes of every gzip (and bgzip) file.
pub(crate) const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// The byte-order mark some editors put at the start of a UTF-8 file, dropped on reading.
const UTF8_BOM: &[u8] = &[0xef, 0xbb, 0xbf];

/// The first bytes of files compressed by a tool other than gzip, which are not read
/// (as `crossreg.io.text.OTHER_COMPRESSIONS`).
const OTHER_COMPRESSIONS: [(&[u8], &str); 3] = [
    (b"BZh", "bzip2"),
    (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], "xz"),
    (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
];

/// The byte-order marks that start UTF-16 text (little- and big-endian).
const UTF16_BOMS: [&[u8]; 2] = [&[0xff, 0xfe], &[0xfe, 0xff]];

/// How many of a file's first bytes are looked at to tell its kind.
const HEAD_SIZE: usize = 6;

/// A reader of a whole stream whose first bytes were read to tell its kind: those bytes
/// (less a leading UTF-8 byte-order mark), then the rest.
type Sniffed<R> = std::io::Chain<Cursor<Vec<u8>>, R>;

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

/// The first [`HEAD_SIZE`] bytes of `reader` (fewer when it ends first) and a reader of
/// all of it, those bytes included but for a leading UTF-8 byte-order mark.
pub(crate) fn sniff<R: Read>(mut reader: R) -> std::io::Result<(Vec<u8>, Sniffed<R>)> {
    let mut head = vec![0u8; HEAD_SIZE];
    let n = read_fully(&mut reader, &mut head)?;
    head.truncate(n);
    let mut start = Cursor::new(head.clone());
    if head.starts_with(UTF8_BOM) {
        start.set_position(UTF8_BOM.len() as u64);
    }
    Ok((head, start.chain(reader)))
}

/// Refuse text starting with `head` that is compressed by another tool than gzip or is
/// UTF-16, saying how to convert it (the messages of `crossreg.io.text`).
pub(crate) fn check_kind(path: &Path, head: &[u8]) -> Result<()> {
    for (magic, tool) in OTHER_COMPRESSIONS {
        if head.starts_with(magic) {
            return Err(Error::parse(
                path,
                0,
                format!(
                    "the file is {tool}-compressed, which crossreg does not read; decompress \
                     it ({tool} -d) or recompress it with gzip or bgzip"
                ),
            ));
        }
    }
    if UTF16_BOMS.iter().any(|bom| head.starts_with(bom)) {
        return Err(Error::parse(
            path,
            0,
            "the file is UTF-16 text, not UTF-8; convert it to UTF-8 (iconv -f utf-16 -t utf-8)",
        ));
    }
    Ok(())
}

/// Read into `buf` until it is full or the reader ends; how many bytes were read.
pub(crate) fn read_fully(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
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
struct Source<'a> {
    path: &'a Path,
    compressed: bool,
}

fn parse_stream<R: BufRead>(
    mut reader: R,
    source: Source<'_>,
    target: &ChromSizes,
    query: &ChromSizes,
    skip_unknown: bool,
    mut on_segment: impl FnMut(Segment),
) -> Result<NetSummary> {
    let path = source.path;
    let mut parser = NetParser {
        path,
        target,
        query,
        skip_unknown,
        summary: NetSummary::default(),
        stack: Vec::new(),
        chrom: None,
        top_fills_end: 0,
        blocks: HashMap::new(),
        skipped: std::collections::BTreeSet::new(),
    };
    let mut buf = Vec::with_capacity(256);
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| read_error(source, line_no + 1, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let line = std::str::from_utf8(&buf).map_err(|_| {
            Error::parse(path, line_no, "the line is not text (is this a .net file?)")
        })?;
        parser.line(
            line.trim_end_matches(['\n', '\r']),
            line_no,
            &mut on_segment,
        )?;
    }
    parser.close_to(0, &mut on_segment);
    if parser.chrom.is_none() {
        return Err(Error::parse(
            path,
            0,
            "the file holds no 'net <chrom> <size>' line; is it a UCSC .net file (from \
             chainNet/netSyntenic)?",
        ));
    }
    let mut summary = parser.summary;
    summary.skipped_chroms = parser.skipped.into_iter().collect();
    summary.blocks = parser.blocks.into_iter().collect();
    summary.blocks.sort_unstable_by_key(|&(_, line)| line);
    Ok(summary)
}

/// A failed read: in a gzipped file, most likely a truncated or corrupt stream.
fn read_error(source: Source<'_>, line: usize, e: std::io::Error) -> Error {
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

/// The target chromosome of the current `net` block: `None` when skipped.
type CurrentChrom = Option<Option<(u32, u64)>>;

struct NetParser<'a> {
    path: &'a Path,
    target: &'a ChromSizes,
    query: &'a ChromSizes,
    skip_unknown: bool,
    summary: NetSummary,
    stack: Vec<Frame>,
    /// `None` before the first `net` line; `Some(None)` inside a skipped block.
    chrom: CurrentChrom,
    /// End of the last top-level fill of the current `net` block.
    top_fills_end: u64,
    /// The line of each target chromosome's `net` line.
    blocks: HashMap<String, usize>,
    skipped: std::collections::BTreeSet<String>,
}

impl NetParser<'_> {
    fn error(&self, line: usize, message: impl Into<String>) -> Error {
        Error::parse(self.path, line, message)
    }

    fn line(&mut self, line: &str, line_no: usize, emit: &mut impl FnMut(Segment)) -> Result<()> {
        let level = line.bytes().take_while(|&b| b == b' ').count();
        let rest = &line[level..];
        if rest.is_empty() || rest.starts_with('#') {
            return Ok(());
        }
        let mut fields = rest.split_ascii_whitespace();
        let keyword = fields.next().unwrap_or("");
        match keyword {
            "net" => self.net_line(level, rest, fields, line_no, emit),
            "fill" | "gap" => {
                let Some(chrom) = self.chrom else {
                    return Err(self.error(
                        line_no,
                        format!("a '{keyword}' line before any 'net' line; the file must start with 'net <chrom> <size>'"),
                    ));
                };
                if keyword == "fill" {
                    self.summary.fills += 1;
                } else {
                    self.summary.gaps += 1;
                }
                let Some((t_chrom, t_size)) = chrom else {
                    if keyword == "fill" {
                        self.summary.skipped_fills += 1;
                    }
                    return Ok(());
                };
                let block = self.block(keyword, &mut fields, line_no)?;
                self.check_target_end(keyword, &block, t_chrom, t_size, line_no)?;
                if keyword == "fill" {
                    let non_syntenic = left_out_of_syntenic_net(block.t_size, rest);
                    self.fill_line(level, t_chrom, &block, non_syntenic, line_no, emit)
                } else {
                    self.gap_line(level, &block, line_no, emit)
                }
            }
            other => Err(self.error(
                line_no,
                format!(
                    "unknown line type '{other}'; a .net file holds 'net', 'fill' and 'gap' \
                     lines"
                ),
            )),
        }
    }

    fn net_line<'l>(
        &mut self,
        level: usize,
        text: &str,
        mut fields: impl Iterator<Item = &'l str>,
        line_no: usize,
        emit: &mut impl FnMut(Segment),
    ) -> Result<()> {
        if level != 0 {
            return Err(self.error(line_no, "a 'net' line must not be indented"));
        }
        self.close_to(0, emit);
        let (Some(name), Some(size_text)) = (fields.next(), fields.next()) else {
            return Err(self.error(
                line_no,
                format!("expected 'net <chrom> <size>', found '{text}'"),
            ));
        };
        let size = self.number(size_text, "chromosome size", line_no)?;
        if let Some(first) = self.blocks.insert(name.to_string(), line_no) {
            return Err(self.error(
                line_no,
                format!(
                    "a second 'net' block for {name} (the first is at line {first}); a net file \
                     lists each target chromosome once: was a net appended to itself? Give \
                     each net once (several files may be given)"
                ),
            ));
        }
        self.top_fills_end = 0;
        self.summary.chroms += 1;
        match self.target.id(name) {
            Some(id) => {
                let known = self.target.sizes()[id as usize];
                if known != size {
                    return Err(self.error(
                        line_no,
                        format!(
                            "the net gives {name} {size} bp but the sizes of genome '{}' give \
                             {known} bp; {}",
                            self.target.genome(),
                            self.mismatch_cause(name, size)
                        ),
                    ));
                }
                self.chrom = Some(Some((id, size)));
            }
            None if self.skip_unknown => {
                self.skipped.insert(name.to_string());
                self.chrom = Some(None);
            }
            None if self.query_has(name, size) => {
                return Err(self.error(
                    line_no,
                    format!(
                        "{name} is not a chromosome of genome '{}' but is one of '{}' with the \
                         same size; {}",
                        self.target.genome(),
                        self.query.genome(),
                        self.swap_hint()
                    ),
                ))
            }
            None => return Err(self.unknown_chrom(name, self.target, line_no)),
        }
        Ok(())
    }

    /// Whether the query genome has a chromosome `name` of `size` bp.
    fn query_has(&self, name: &str, size: u64) -> bool {
        self.query
            .id(name)
            .is_some_and(|id| self.query.sizes()[id as usize] == size)
    }

    /// Why a `net` line's size differs from the target's: the genomes given the wrong way
    /// round when the query has the chromosome at that size, else another assembly.
    fn mismatch_cause(&self, name: &str, size: u64) -> String {
        if self.query_has(name, size) {
            format!(
                "genome '{}' has {name} at that size, so {}",
                self.query.genome(),
                self.swap_hint()
            )
        } else {
            "the net and the sizes come from different assemblies".to_string()
        }
    }

    fn swap_hint(&self) -> String {
        format!(
            "the net's target (its 'net' lines) looks like genome '{q}': give it as --net \
             {q},{t}=FILE (TARGET,QUERY), or, if the net is {t},{q} as given, swap the files \
             of --sizes {t}= and --sizes {q}=",
            q = self.query.genome(),
            t = self.target.genome()
        )
    }

    fn unknown_chrom(&self, name: &str, sizes: &ChromSizes, line_no: usize) -> Error {
        let hint = match genbank_twin(name, sizes) {
            Some(twin) => format!(
                "; did you mean '{twin}'? The net names the scaffold as UCSC does, the sizes \
                 by its GenBank accession (as Basenji's .genome files do): give sizes with UCSC \
                 names (UCSC's chrom.sizes or the FASTA's .fai)"
            ),
            None => chrom_hint(name, sizes.names().iter().map(String::as_str)),
        };
        Error::UnknownChrom {
            name: name.to_string(),
            source_name: format!(
                "the sizes of genome '{}' (used at {}:{line_no})",
                sizes.genome(),
                self.path.display()
            ),
            hint: format!(
                "{hint}; add it to the sizes, or skip alignments to chromosomes outside the \
                 sizes (--skip-unknown-chroms)"
            ),
        }
    }

    fn number(&self, text: &str, what: &str, line_no: usize) -> Result<u64> {
        text.parse().map_err(|_| {
            self.error(
                line_no,
                format!("{what} is '{text}', not a non-negative whole number"),
            )
        })
    }

    fn block<'l>(
        &self,
        keyword: &str,
        mut fields: impl Iterator<Item = &'l str>,
        line_no: usize,
    ) -> Result<Block<'l>> {
        let mut take = || fields.next();
        let parts = [take(), take(), take(), take(), take(), take()];
        let [Some(t_start), Some(t_size), Some(q_chrom), Some(strand), Some(q_start), Some(q_size)] =
            parts
        else {
            let found = parts.iter().flatten().count();
            return Err(self.error(
                line_no,
                format!(
                    "a '{keyword}' line needs 6 fields after '{keyword}' (tStart tSize qChrom \
                     qStrand qStart qSize), found {found}"
                ),
            ));
        };
        let strand = match strand {
            "+" => Strand::Plus,
            "-" => Strand::Minus,
            other => {
                return Err(self.error(
                    line_no,
                    format!("query strand is '{other}'; it must be '+' or '-'"),
                ))
            }
        };
        Ok(Block {
            t_start: self.number(t_start, "tStart", line_no)?,
            t_size: self.number(t_size, "tSize", line_no)?,
            q_chrom,
            strand,
            q_start: self.number(q_start, "qStart", line_no)?,
            q_size: self.number(q_size, "qSize", line_no)?,
        })
    }

    /// Close every open frame at `level` or deeper, reporting the last piece of each fill.
    fn close_to(&mut self, level: usize, emit: &mut impl FnMut(Segment)) {
        while self.stack.last().is_some_and(|f| f.level() >= level) {
            if let Some(Frame::Fill {
                skipped: false,
                non_syntenic,
                t_chrom,
                t_end,
                q_chrom_id,
                strand,
                q_end,
                cursor_t,
                cursor_q,
                ..
            }) = self.stack.pop()
            {
                self.piece(
                    Segment {
                        t_chrom,
                        t_start: cursor_t,
                        t_len: t_end - cursor_t,
                        q_chrom: q_chrom_id,
                        q_start: cursor_q,
                        q_len: q_end - cursor_q,
                        strand,
                    },
                    non_syntenic,
                    emit,
                );
            }
        }
    }

    /// Report an aligned piece of a fill (`non_syntenic`: of a fill the syntenic net leaves
    /// out), unless it aligns nothing.
    fn piece(&mut self, segment: Segment, non_syntenic: bool, emit: &mut impl FnMut(Segment)) {
        if segment.aligned() > 0 {
            self.summary.segments += 1;
            self.summary.aligned_bases += segment.aligned();
            if non_syntenic {
                self.summary.non_syntenic_bases += segment.aligned();
            }
            emit(segment);
        }
    }

    fn fill_line(
        &mut self,
        level: usize,
        t_chrom: u32,
        b: &Block<'_>,
        non_syntenic: bool,
        line_no: usize,
        emit: &mut impl FnMut(Segment),
    ) -> Result<()> {
        if level % 2 == 0 {
            return Err(self.error(
                line_no,
                format!(
                    "a 'fill' line indented by {level} spaces; fills sit at odd depths (1, 3, \
                     ...) inside a 'net' or a 'gap'"
                ),
            ));
        }
        self.close_to(level, emit);
        let t_end = b.t_start + b.t_size;
        self.place_fill(level, t_chrom, b.t_start, t_end, line_no)?;
        let (skipped, q_chrom_id, q_size) = match self.query.id(b.q_chrom) {
            Some(id) => {
                let q_size = self.query.sizes()[id as usize];
                self.check_query_end("fill", b, q_size, line_no)?;
                if non_syntenic {
                    self.summary.non_syntenic_fills += 1;
                }
                (false, id, q_size)
            }
            None if self.skip_unknown => {
                self.skipped.insert(b.q_chrom.to_string());
                self.summary.skipped_fills += 1;
                (true, 0, 0)
            }
            None => return Err(self.unknown_chrom(b.q_chrom, self.query, line_no)),
        };
        // a skipped fill's query side is never reported: kept as the empty [0, 0)
        let (q_start, q_len) = if skipped {
            (0, 0)
        } else {
            (to_strand(b.strand, q_size, b.q_start, b.q_size), b.q_size)
        };
        self.stack.push(Frame::Fill {
            level,
            skipped,
            non_syntenic,
            t_chrom,
            t_end,
            q_chrom: b.q_chrom.to_string(),
            q_chrom_id,
            q_size,
            strand: b.strand,
            q_end: q_start + q_len,
            cursor_t: b.t_start,
            cursor_q: q_start,
        });
        Ok(())
    }

    /// Check that the fill `[t_start, t_end)` at `level` lies in its parent (the net's
    /// chromosome or the enclosing gap) after the parent's previous fill, and record it
    /// there: sibling fills follow in target order without overlap, as `chainNet` writes
    /// them, so no alignment is counted twice.
    fn place_fill(
        &mut self,
        level: usize,
        t_chrom: u32,
        t_start: u64,
        t_end: u64,
        line_no: usize,
    ) -> Result<()> {
        let name = &self.target.names()[t_chrom as usize];
        let (bounds, fills_end) = if level == 1 {
            (None, &mut self.top_fills_end)
        } else {
            match self.stack.last_mut() {
                Some(Frame::Gap {
                    level: l,
                    t_start: g_start,
                    t_end: g_end,
                    fills_end,
                }) if *l + 1 == level => (Some((*g_start, *g_end)), fills_end),
                _ => {
                    return Err(Error::parse(
                        self.path,
                        line_no,
                        format!(
                            "a 'fill' at depth {level} has no enclosing 'gap' at depth {}",
                            level - 1
                        ),
                    ))
                }
            }
        };
        if let Some((g_start, g_end)) = bounds {
            if t_start < g_start || t_end > g_end {
                return Err(Error::parse(
                    self.path,
                    line_no,
                    format!(
                        "the fill {name}:{t_start}-{t_end} is not inside its gap \
                         {name}:{g_start}-{g_end}; a nested fill lies inside its gap"
                    ),
                ));
            }
        }
        if t_start < *fills_end {
            return Err(Error::parse(
                self.path,
                line_no,
                format!(
                    "the fill {name}:{t_start}-{t_end} starts before the previous fill at depth \
                     {level} ends ({fills_end}); the fills of a net or a gap follow in target \
                     order without overlapping (is part of the net repeated?)"
                ),
            ));
        }
        *fills_end = t_end;
        Ok(())
    }

    /// Stop when the target interval of a fill or gap runs past its chromosome's end.
    fn check_target_end(
        &self,
        what: &str,
        b: &Block<'_>,
        t_chrom: u32,
        t_size: u64,
        line_no: usize,
    ) -> Result<()> {
        if end_within(b.t_start, b.t_size, t_size) {
            return Ok(());
        }
        let name = &self.target.names()[t_chrom as usize];
        Err(self.error(
            line_no,
            format!(
                "the {what} {name}:{} runs past the end of {name} ({t_size} bp in genome '{}'); \
                 the net and the sizes come from different assemblies",
                span(b.t_start, b.t_size),
                self.target.genome()
            ),
        ))
    }

    /// Stop when the query interval of a fill or gap runs past its chromosome's end.
    fn check_query_end(
        &self,
        what: &str,
        b: &Block<'_>,
        q_size: u64,
        line_no: usize,
    ) -> Result<()> {
        if end_within(b.q_start, b.q_size, q_size) {
            return Ok(());
        }
        Err(self.error(
            line_no,
            format!(
                "the {what}'s query {}:{} runs past the end of {} ({q_size} bp in genome '{}'); \
                 the net and the sizes come from different assemblies",
                b.q_chrom,
                span(b.q_start, b.q_size),
                b.q_chrom,
                self.query.genome()
            ),
        ))
    }

    fn gap_line(
        &mut self,
        level: usize,
        b: &Block<'_>,
        line_no: usize,
        emit: &mut impl FnMut(Segment),
    ) -> Result<()> {
        if level == 0 || level % 2 == 1 {
            return Err(self.error(
                line_no,
                format!(
                    "a 'gap' line indented by {level} spaces; gaps sit at even depths (2, 4, \
                     ...) inside a 'fill'"
                ),
            ));
        }
        self.close_to(level, emit);
        let Some(Frame::Fill {
            level: fill_level,
            skipped,
            non_syntenic,
            t_chrom,
            t_end,
            q_chrom,
            q_chrom_id,
            q_size,
            strand,
            q_end,
            cursor_t,
            cursor_q,
        }) = self.stack.last()
        else {
            return Err(self.error(
                line_no,
                format!(
                    "a 'gap' at depth {level} has no enclosing 'fill' at depth {}",
                    level - 1
                ),
            ));
        };
        if fill_level + 1 != level {
            return Err(self.error(
                line_no,
                format!(
                    "a 'gap' at depth {level} has no enclosing 'fill' at depth {}",
                    level - 1
                ),
            ));
        }
        if b.q_chrom != q_chrom || b.strand != *strand {
            return Err(self.error(
                line_no,
                format!(
                    "the gap is on query {} {} but its fill is on {} {}; a gap lies inside \
                     its fill",
                    b.q_chrom,
                    strand_text(b.strand),
                    q_chrom,
                    strand_text(*strand)
                ),
            ));
        }
        let g_t_end = b.t_start + b.t_size;
        // The gap's query interval in strand coordinates (not checked for skipped fills,
        // whose chromosome length is unknown).
        let (g_q_start, g_q_end) = if *skipped {
            (*cursor_q, *cursor_q)
        } else {
            self.check_query_end("gap", b, *q_size, line_no)?;
            let start = to_strand(*strand, *q_size, b.q_start, b.q_size);
            (start, start + b.q_size)
        };
        if b.t_start < *cursor_t || g_t_end > *t_end || g_q_start < *cursor_q || g_q_end > *q_end {
            // What is left of the fill, in the file's (forward) query coordinates.
            let (left_start, left_end) = match strand {
                Strand::Plus => (*cursor_q, *q_end),
                Strand::Minus => (*q_size - *q_end, *q_size - *cursor_q),
            };
            return Err(self.error(
                line_no,
                format!(
                    "the gap (target {}-{g_t_end}, query {}-{}) is not inside what is left of \
                     its fill after the previous gap (target {cursor_t}-{t_end}, query \
                     {left_start}-{left_end}); gaps lie inside their fill in target order, and \
                     on the minus strand their (forward-strand) query starts decrease",
                    b.t_start,
                    b.q_start,
                    b.q_start + b.q_size,
                ),
            ));
        }
        let non_syntenic = *non_syntenic;
        let piece = (!*skipped).then_some(Segment {
            t_chrom: *t_chrom,
            t_start: *cursor_t,
            t_len: b.t_start - *cursor_t,
            q_chrom: *q_chrom_id,
            q_start: *cursor_q,
            q_len: g_q_start - *cursor_q,
            strand: *strand,
        });
        if let Some(Frame::Fill {
            cursor_t, cursor_q, ..
        }) = self.stack.last_mut()
        {
            *cursor_t = g_t_end;
            *cursor_q = g_q_end;
        }
        if let Some(segment) = piece {
            self.piece(segment, non_syntenic, emit);
        }
        self.stack.push(Frame::Gap {
            level,
            t_start: b.t_start,
            t_end: g_t_end,
            fills_end: b.t_start,
        });
        Ok(())
    }
}

/// The chromosome of `sizes` named by the GenBank accession of the scaffold that UCSC calls
/// `name`: `KI270728.1` for `chrUn_KI270728v1` (also `chr1_KI270706v1_random`,
/// `chr1_KI270762v1_alt`), `JH584304.1` for mm10's `chrUn_JH584304` (no version: any).
fn genbank_twin<'s>(name: &str, sizes: &'s ChromSizes) -> Option<&'s str> {
    let part = name.split('_').skip(1).find(|part| {
        let digits = part.trim_start_matches(|c: char| c.is_ascii_uppercase());
        digits.len() < part.len() && digits.starts_with(|c: char| c.is_ascii_digit())
    })?;
    let (accession, version) = match part.split_once('v') {
        Some((accession, version)) => (accession, Some(version)),
        None => (part, None),
    };
    sizes.names().iter().map(String::as_str).find(|known| {
        known.split_once('.').is_some_and(|(stem, v)| {
            stem == accession && version.is_none_or(|version| v == version)
        })
    })
}

/// The smallest fill that kent's `netFilter -syn` keeps whatever its type: a score of
/// 200,000, 20,000 target bases and 10,000 aligned bases (`minSynScore`, `minSynSize`,
/// `minSynAli`).
const SYN_KEEP_SCORE: f64 = 200_000.0;
const SYN_KEEP_T_SIZE: u64 = 20_000;
const SYN_KEEP_ALI: f64 = 10_000.0;

/// Whether the fill of `t_size` target bases on `line` (from its keyword on) is one that
/// UCSC's syntenic net (`netFilter -syn`) leaves out: of `type nonSyn` and smaller than a
/// fill kept whatever its type. Such a fill marks a full net; a fill without a `type` (a
/// net not classified by `netSyntenic`) is not one.
///
/// Fills are a large share of a net's lines, so the type is found by a substring search
/// for the fields `type nonSyn` side by side, and the key/value fields are walked (for the
/// first `score` and `ali`) only for the few `nonSyn` fills of 20,000 target bases or more.
fn left_out_of_syntenic_net(t_size: u64, line: &str) -> bool {
    // built once: a searcher set up per line would cost about as much as the search
    static NON_SYN: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"nonSyn"));
    let bytes = line.as_bytes();
    let typed = NON_SYN.find_iter(bytes).any(|i| {
        let key = bytes[..i].trim_ascii_end();
        bytes.get(i + 6).is_none_or(u8::is_ascii_whitespace)
            && key.len() < i
            && key
                .strip_suffix(b"type")
                .and_then(<[u8]>::last)
                .is_some_and(u8::is_ascii_whitespace)
    });
    if !typed || t_size < SYN_KEEP_T_SIZE {
        return typed;
    }
    let (mut score, mut ali) = (None, None);
    let mut extras = line.split_ascii_whitespace().skip(7);
    while let (Some(key), Some(value)) = (extras.next(), extras.next()) {
        match key {
            "score" => _ = score.get_or_insert(value),
            "ali" => _ = ali.get_or_insert(value),
            _ => continue,
        }
        if score.is_some() && ali.is_some() {
            break;
        }
    }
    let number = |value: Option<&str>| value.and_then(|v| v.parse().ok()).unwrap_or(0.0f64);
    !(number(score) >= SYN_KEEP_SCORE && number(ali) >= SYN_KEEP_ALI)
}

/// Whether `[start, start + len)` ends within `size` (an end beyond `u64` does not).
fn end_within(start: u64, len: u64, size: u64) -> bool {
    start.checked_add(len).is_some_and(|end| end <= size)
}

/// `[start, start + len)` as `start-end`, or `start+len` where the end is beyond `u64`.
fn span(start: u64, len: u64) -> String {
    match start.checked_add(len) {
        Some(end) => format!("{start}-{end}"),
        None => format!("{start}+{len}"),
    }
}

/// Strand coordinate of the start of forward interval `[start, start + len)` on a
/// chromosome of `size` bp: itself on the plus strand, `size − (start + len)` on the minus.
fn to_strand(strand: Strand, size: u64, start: u64, len: u64) -> u64 {
    match strand {
        Strand::Plus => start,
        Strand::Minus => size - (start + len),
    }
}

fn strand_text(strand: Strand) -> &'static str {
    match strand {
        Strand::Plus => "+",
        Strand::Minus => "-",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inflate::tests::gzip;
    use std::io::Write;
    use std::path::PathBuf;

    fn sizes(genome: &str, chroms: &[(&str, u64)]) -> ChromSizes {
        ChromSizes::new(
            genome,
            chroms.iter().map(|(n, s)| (n.to_string(), *s)).collect(),
        )
        .unwrap()
    }

    fn segments(text: &str, skip: bool) -> Result<(Vec<Segment>, NetSummary)> {
        let t = sizes("a", &[("chr1", 100_000), ("chr2", 50_000)]);
        let q = sizes("b", &[("chrA", 80_000), ("chrB", 60_000)]);
        let mut out = Vec::new();
        let summary = parse_net(text.as_bytes(), Path::new("x.net"), &t, &q, skip, |s| {
            out.push(s)
        })?;
        Ok((out, summary))
    }

    fn seg(t: u64, tl: u64, qc: u32, q: u64, ql: u64, strand: Strand) -> Segment {
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
    fn fills_are_cut_at_their_gaps_at_every_depth() {
        // The nested minus-strand fill covers chrB forward 100-600, strand 59400-59900 of
        // 60000 bp; its gap at forward 450-500 is strand 59500-59550: target 3200-3300
        // pairs with forward 500-600 and target 3400-3700 with forward 100-450.
        let text = "net chr1 100000\n fill 1000 9000 chrA + 500 9100 id 1 score 5 ali 8000\n  \
                    gap 3000 1000 chrA + 2500 1100 tN 0\n   fill 3200 500 chrB - 100 500 id 2\n    \
                    gap 3300 100 chrB - 450 50\n  gap 8000 500 chrA + 7600 500\n";
        let (segs, summary) = segments(text, false).unwrap();
        assert_eq!(
            segs,
            vec![
                seg(1000, 2000, 0, 500, 2000, Strand::Plus),
                seg(3200, 100, 1, 59_400, 100, Strand::Minus),
                seg(3400, 300, 1, 59_550, 350, Strand::Minus),
                seg(4000, 4000, 0, 3600, 4000, Strand::Plus),
                seg(8500, 1500, 0, 8100, 1500, Strand::Plus),
            ]
        );
        assert_eq!(summary.fills, 2);
        assert_eq!(summary.gaps, 3);
        assert_eq!(summary.segments, 5);
        assert_eq!(summary.aligned_bases, 2000 + 100 + 300 + 4000 + 1500);
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

    #[test]
    fn errors_name_file_line_and_cause() {
        let cases = [
            (
                " fill 0 10 chrA + 0 10\n",
                ":1: a 'fill' line before any 'net'",
            ),
            (
                "net chr1 100000\n fill 0 x chrA + 0 10\n",
                ":2: tSize is 'x'",
            ),
            ("net chr1 100000\n fill 0 10 chrA + 0\n", "found 5"),
            (
                "net chr1 100000\n fill 0 10 chrA * 0 10\n",
                "must be '+' or '-'",
            ),
            ("net chr1 99\n", "different assemblies"),
            (
                "net chr1 100000\n fill 99990 20 chrA + 0 20\n",
                "runs past the end of chr1",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA - 79990 20\n",
                "runs past the end of chrA",
            ),
            (
                "net chr1 100000\n  gap 0 20 chrA + 0 20\n",
                "no enclosing 'fill'",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA + 0 20\n   fill 0 20 chrA + 0 20\n",
                "no enclosing 'gap'",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA + 0 20\n  gap 10 20 chrA + 5 5\n",
                "not inside what is left",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA - 0 20\n  gap 5 2 chrA - 2 2\n  gap 9 2 chrA - 4 2\n",
                ":4: the gap (target 9-11, query 4-6) is not inside what is left of its fill \
                 after the previous gap (target 7-20, query 0-2)",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA - 0 20\n  gap 5 2 chrA - 79999 2\n",
                "the gap's query chrA:79999-80001 runs past the end",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA + 0 20\n  gap 5 2 chrB + 5 2\n",
                "its fill is on chrA",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA + 0 20\nnet chr2 50000\nnet chr1 100000\n",
                ":4: a second 'net' block for chr1 (the first is at line 1)",
            ),
            (
                "net chr1 100000\n fill 100 20 chrA + 0 20\n fill 110 20 chrA + 40 20\n",
                ":3: the fill chr1:110-130 starts before the previous fill at depth 1 ends (120)",
            ),
            (
                "net chr1 100000\n fill 100 20 chrA + 0 20\n fill 50 20 chrA + 40 20\n",
                "starts before the previous fill at depth 1 ends (120)",
            ),
            (
                "net chr1 100000\n fill 0 100 chrA + 0 100\n  gap 10 50 chrA + 10 50\n   \
                 fill 20 10 chrB + 0 10\n   fill 25 10 chrB + 20 10\n",
                ":5: the fill chr1:25-35 starts before the previous fill at depth 3 ends (30)",
            ),
            (
                "net chr1 100000\n fill 0 100 chrA + 0 100\n  gap 10 50 chrA + 10 50\n   \
                 fill 55 10 chrB + 0 10\n",
                ":4: the fill chr1:55-65 is not inside its gap chr1:10-60",
            ),
            (
                "net chr1 100000\n fill 18446744073709551615 2 chrA + 0 2\n",
                ":2: the fill chr1:18446744073709551615+2 runs past the end of chr1",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA - 18446744073709551615 2\n",
                ":2: the fill's query chrA:18446744073709551615+2 runs past the end",
            ),
            (
                "net chr1 100000\n fill 0 20 chrA + 0 20\n  gap 5 18446744073709551615 chrA + 5 2\n",
                ":3: the gap chr1:5+18446744073709551615 runs past the end of chr1",
            ),
            ("", "x.net: the file holds no 'net <chrom> <size>' line"),
            ("# a comment\n", "x.net: the file holds no 'net"),
            ("net chr1 100000\n bogus 1 2\n", "unknown line type 'bogus'"),
            ("net chr1 100000\n  fill 0 20 chrA + 0 20\n", "odd depths"),
            ("net 1 100000\n", "did you mean 'chr1'"),
            (
                "net chr1 100000\n fill 0 20 A + 0 20\n",
                "did you mean 'chrA'",
            ),
        ];
        for (text, expected) in cases {
            let err = segments(text, false).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
            if expected.starts_with(':') {
                assert!(err.starts_with("x.net:"), "{err}");
            }
        }
        let err = segments("net chr1 100000\n fill 0 20 chrZ + 0 20\n", false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.net:2") && err.contains("--skip-unknown-chroms"),
            "{err}"
        );
    }

    #[test]
    fn unknown_chromosomes_can_be_skipped() {
        let text =
            "net chr9 5\n fill 0 5 chrA + 0 5\nnet chr1 100000\n fill 0 100 chrZ + 0 100\n  \
                    gap 10 50 chrZ + 10 50\n   fill 20 10 chrA + 0 10\n fill 200 10 chrA + 0 10\n";
        let (segs, summary) = segments(text, true).unwrap();
        assert_eq!(
            segs,
            vec![
                seg(20, 10, 0, 0, 10, Strand::Plus),
                seg(200, 10, 0, 0, 10, Strand::Plus)
            ]
        );
        assert_eq!(summary.skipped_fills, 2);
        assert_eq!(
            summary.skipped_chroms,
            vec!["chr9".to_string(), "chrZ".to_string()]
        );
    }

    #[test]
    fn ucsc_scaffold_names_point_to_their_genbank_accessions() {
        // before: the message listed the first names of the sizes, though the scaffold is
        // among them under its accession
        let g = sizes(
            "g",
            &[
                ("chr1", 10),
                ("KI270728.1", 10),
                ("KI270706.2", 10),
                ("JH584304.1", 10),
            ],
        );
        for (name, twin) in [
            ("chrUn_KI270728v1", Some("KI270728.1")),
            ("chr1_KI270706v2_random", Some("KI270706.2")),
            ("chr1_KI270706v1_random", None),
            ("chrUn_JH584304", Some("JH584304.1")),
            ("chr1_KI270762v1_alt", None),
            ("chr2", None),
            ("chrUn_x", None),
        ] {
            assert_eq!(genbank_twin(name, &g), twin, "{name}");
        }
        let t = sizes("a", &[("chr1", 100_000)]);
        let q = sizes("b", &[("chrA", 80_000), ("KI270728.1", 2_000)]);
        let text = "net chr1 100000\n fill 0 20 chrUn_KI270728v1 + 0 20\n";
        let err = parse_net(text.as_bytes(), Path::new("x.net"), &t, &q, false, |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "'chrUn_KI270728v1' is not in the sizes of genome 'b' (used at x.net:2); did you \
                 mean 'KI270728.1'? The net names the scaffold as UCSC does, the sizes by its \
                 GenBank accession"
            ) && err.contains("--skip-unknown-chroms"),
            "{err}"
        );
    }

    #[test]
    fn sibling_fills_may_touch_and_nested_fills_may_fill_their_gap() {
        let text = "net chr1 100000\n fill 0 100 chrA + 0 100\n  gap 10 50 chrA + 10 50\n   \
                    fill 10 25 chrB + 0 25\n   fill 35 25 chrB + 30 25\n fill 100 10 chrA + 200 10\n";
        let (segs, summary) = segments(text, false).unwrap();
        assert_eq!(summary.segments, 5);
        assert_eq!(summary.aligned_bases, 10 + 40 + 25 + 25 + 10);
        assert_eq!(segs[4], seg(100, 10, 0, 200, 10, Strand::Plus));
    }

    #[test]
    fn fills_the_syntenic_net_leaves_out_are_counted() {
        // In the gap of a top fill: a small nonSyn fill, which `netFilter -syn` removes,
        // and a nonSyn fill large enough that it keeps it whatever its type; then a fill
        // without a type (not classified by netSyntenic) and a small nonSyn fill on a
        // skipped chromosome
        let text = "net chr1 100000\n fill 0 60000 chrA + 0 60000 id 1 score 900000 ali 50000 \
                    type top\n  gap 100 50000 chrA + 100 10\n   fill 200 400 chrB + 0 300 id 2 \
                    score 5000 ali 280 qDup 0 type nonSyn\n    gap 300 50 chrB + 100 100\n   \
                    fill 1000 30000 chrB + 1000 30000 id 3 score 250000 ali 12000 type nonSyn\n \
                    fill 70000 500 chrA + 70000 500 id 4\n fill 80000 10 chrZ + 0 10 id 5 \
                    score 9 ali 9 type nonSyn\n";
        let (segs, summary) = segments(text, true).unwrap();
        assert_eq!(segs.len(), 6);
        assert_eq!(summary.non_syntenic_fills, 1);
        // target 200-300 against chrB 0-100, target 350-600 against chrB 200-300
        assert_eq!(summary.non_syntenic_bases, 100 + 100);
        assert_eq!(summary.fills, 5);
        for (extras, left_out) in [
            ("type nonSyn score 199999 ali 10000", true),
            ("type nonSyn score 200000 ali 9999", true),
            ("score 200000 ali 10000 type nonSyn", false),
            ("type nonSyn", true),
            ("type syn score 1 ali 1", false),
            ("type inv", false),
            ("score 1 ali 1", false),
            ("score 250000 type nonSyn score 1 ali 12000", false),
            ("id 7 type\tnonSyn\tscore 1", true),
            ("type nonSynX", false),
            ("subtype nonSyn", false),
            ("note nonSyn type inv", false),
        ] {
            let line = format!("fill 0 20000 chrA + 0 20000 {extras}");
            assert_eq!(
                left_out_of_syntenic_net(20_000, &line),
                left_out,
                "{extras}"
            );
        }
        // `nonSyn` elsewhere on the line than as a fill's type
        let text = "net chr1 100000\n fill 0 500 nonSynA + 0 500 id 1 type syn\n fill 600 500 \
                    chrA + 0 500 id 2 note nonSyn type inv\n";
        let t = sizes("a", &[("chr1", 100_000)]);
        let q = sizes("b", &[("chrA", 80_000), ("nonSynA", 1_000)]);
        let summary =
            parse_net(text.as_bytes(), Path::new("x.net"), &t, &q, false, |_| {}).unwrap();
        assert_eq!((summary.fills, summary.non_syntenic_fills), (2, 0));
        assert!(left_out_of_syntenic_net(
            19_999,
            "fill 0 19999 chrA + 0 19999 type nonSyn score 300000 ali 15000"
        ));
    }

    #[test]
    fn sizes_reject_duplicates_and_zero_lengths() {
        let dup = ChromSizes::new("g", vec![("c".into(), 5), ("c".into(), 6)]);
        assert!(dup.unwrap_err().to_string().contains("listed twice"));
        let zero = ChromSizes::new("g", vec![("c".into(), 0)]);
        assert!(zero.unwrap_err().to_string().contains("length 0"));
        let huge = ChromSizes::new("g", vec![("c".into(), MAX_CHROM_LENGTH + 1)]);
        assert!(huge.unwrap_err().to_string().contains("(1 to 2^40)"));
        assert!(ChromSizes::new("g", vec![("c".into(), MAX_CHROM_LENGTH)]).is_ok());
    }
}
