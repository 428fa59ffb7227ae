//! VCF sites read natively: CHROM, POS, ID, REF, ALT, QUAL, FILTER and INFO of each record,
//! with the FORMAT and sample columns kept as one unsplit string or not at all.
//!
//! The checks, the lines skipped and the messages are those of `crossreg.io.vcf.iter_vcf`,
//! which turns these sites into its records: lines end at `\n`, `\r\n` or a lone `\r` (as
//! Python's text mode reads them); `##` meta lines and blank lines are skipped; a `#CHROM`
//! column header must start with `#CHROM POS ID REF ALT`; a record needs five fields, no
//! fewer than the first record's (up to eight), a newline, a CHROM, a whole POS from 1 (or
//! 0, VCF's virtual telomere, when no ALT is bases), a REF of bases and ALTs of bases, `*`,
//! `.`, `<ID>` or a breakend. Plain, gzip and bgzip
//! (many members, NUL padding between them skipped as Python's `gzip` skips it) files are
//! read alike, told by their first bytes.
//!
//! Where it differs from the line-by-line Python reader it replaced: POS is read in ASCII
//! digits (Python's `int` also took other scripts' digits) and a POS of 2⁶⁴ or more is too
//! large; a broken gzip stream is reported after the last whole line read (Python's text
//! layer decoded ahead, naming an earlier line), in the decompressor's words but for a
//! stream that ends early; a file whose first bytes are another compressor's magic is
//! refused as that (Python looked only when the text was not UTF-8), and so are BCF, binary
//! VCF, and a VCF's tabix or CSI index (which Python read as a first record of one field,
//! or as text not UTF-8).

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::GzDecoder;

use crate::digest::{ContentDigest, HashingReader};
use crate::file_kind::{check_kind, sniff, GZIP_MAGIC};
use crate::{Error, Result};

/// The column header's first eight names.
const HEADER_COLUMNS: [&str; 8] = [
    "#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO",
];

/// Bytes read from the file, and from the decompressor, at a time.
const READ_BUFFER: usize = 1 << 16;

/// How a VCF is read: with `sites_only` the FORMAT and sample columns are neither split
/// nor kept; the first `skip` records on `skip_chroms` (and every record line before the
/// last of them) are passed over unread, neither checked nor returned.
#[derive(Clone, Debug, Default)]
pub struct VcfOptions {
    pub sites_only: bool,
    pub skip: u64,
    pub skip_chroms: HashSet<String>,
}

/// One record's site: `pos` is VCF's 1-based POS (0 only for a record without an ALT of
/// bases: a breakend or symbolic allele at a telomere); `reference` is upper case and so is
/// every ALT of bases; `samples` is the text after INFO (FORMAT and the sample columns),
/// `None` when there is none or when reading sites only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    pub line: u64,
    pub chrom: String,
    pub pos: u64,
    pub id: String,
    pub reference: String,
    pub alts: Vec<String>,
    pub qual: String,
    pub filter: String,
    pub info: String,
    pub samples: Option<String>,
}

/// A VCF read record by record (see the module's description).
pub struct VcfReader {
    path: PathBuf,
    reader: Box<dyn BufRead + Send>,
    compressed: bool,
    options: VcfOptions,
    line_no: u64,
    seen_header: bool,
    headerless: bool,
    /// The first record's line and number of fields.
    first: Option<(u64, usize)>,
    buf: Vec<u8>,
    /// A `\r` ended the last read, so a `\n` that follows belongs to that line's end.
    pending_cr: bool,
    /// An error met after some sites of a batch, for the next call.
    deferred: Option<Error>,
}

impl VcfReader {
    /// Open the VCF at `path` (plain or gzipped, told by its first bytes as
    /// [`crate::net::open_maybe_gzip`] tells them; a gzip stream that breaks in its first
    /// bytes is reported as later breaks are).
    pub fn open(path: &Path, options: VcfOptions) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Self::open_file(path, file, options)
    }

    /// Open the VCF at `path` as [`VcfReader::open`] does, hashing the file's bytes (as
    /// stored, compressed or not) as they are read: the digest is finished once the
    /// reader has reached the end of the file.
    pub fn open_hashed(path: &Path, options: VcfOptions) -> Result<(Self, ContentDigest)> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let (file, digest) = HashingReader::new(file);
        Ok((Self::open_file(path, file, options)?, digest))
    }

    fn open_file<F: Read + Send + 'static>(
        path: &Path,
        file: F,
        options: VcfOptions,
    ) -> Result<Self> {
        let (head, raw) = sniff(file).map_err(|e| Error::io(path, e))?;
        let compressed = head.starts_with(GZIP_MAGIC);
        let reader: Box<dyn BufRead + Send> = if compressed {
            let decoder = GzipMembers::new(BufReader::with_capacity(READ_BUFFER, raw));
            let (text_head, text) = sniff(decoder).map_err(|e| gzip_error(path, 0, &e))?;
            check_vcf_kind(path, &text_head)?;
            Box::new(BufReader::with_capacity(READ_BUFFER, text))
        } else {
            check_vcf_kind(path, &head)?;
            Box::new(BufReader::with_capacity(READ_BUFFER, raw))
        };
        Ok(Self::new(reader, path, compressed, options))
    }

    /// Read plain text from `reader`; `path` names it in messages.
    pub fn new(
        reader: Box<dyn BufRead + Send>,
        path: &Path,
        compressed: bool,
        options: VcfOptions,
    ) -> Self {
        VcfReader {
            path: path.to_path_buf(),
            reader,
            compressed,
            options,
            line_no: 0,
            seen_header: false,
            headerless: false,
            first: None,
            buf: Vec::with_capacity(1024),
            pending_cr: false,
            deferred: None,
        }
    }

    /// The file read, as messages name it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True once a column header line or a record has been read.
    pub fn seen_header(&self) -> bool {
        self.seen_header
    }

    /// True when a record came before any column header line (older files have none).
    pub fn headerless(&self) -> bool {
        self.headerless
    }

    /// Append up to `max` sites to `out`; none appended means the file has ended. An
    /// error after some sites of the batch is returned by the next call, so the sites
    /// before a bad line reach the caller first, as from a reader of one line at a time.
    pub fn read_batch(&mut self, max: usize, out: &mut Vec<Site>) -> Result<()> {
        if let Some(error) = self.deferred.take() {
            return Err(error);
        }
        let (start, target) = (out.len(), out.len() + max);
        while out.len() < target {
            match self.next_site() {
                Ok(Some(Some(site))) => out.push(site),
                Ok(Some(None)) => {}
                Ok(None) => break,
                Err(error) if out.len() > start => {
                    self.deferred = Some(error);
                    break;
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// The next line's site: `None` at the end of the file, `Some(None)` for a line that
    /// is not a record or is passed over.
    fn next_site(&mut self) -> Result<Option<Option<Site>>> {
        match self.next_line()? {
            Some(ended) => self.parse_line(ended).map(Some),
            None => Ok(None),
        }
    }

    /// Read the next line into `buf` without its end; `None` at the end of the file,
    /// else whether the line had an end.
    fn next_line(&mut self) -> Result<Option<bool>> {
        self.buf.clear();
        loop {
            let available = match self.reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_error(e)),
            };
            if available.is_empty() {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                self.line_no += 1;
                return Ok(Some(false));
            }
            if self.pending_cr {
                self.pending_cr = false;
                if available[0] == b'\n' {
                    self.reader.consume(1);
                    continue;
                }
            }
            match memchr::memchr2(b'\n', b'\r', available) {
                Some(i) => {
                    let cr = available[i] == b'\r';
                    self.buf.extend_from_slice(&available[..i]);
                    if cr && available.get(i + 1) == Some(&b'\n') {
                        self.reader.consume(i + 2);
                    } else {
                        self.pending_cr = cr && i + 1 == available.len();
                        self.reader.consume(i + 1);
                    }
                    self.line_no += 1;
                    return Ok(Some(true));
                }
                None => {
                    let n = available.len();
                    self.buf.extend_from_slice(available);
                    self.reader.consume(n);
                }
            }
        }
    }

    fn read_error(&self, e: std::io::Error) -> Error {
        if self.compressed {
            gzip_error(&self.path, self.line_no, &e)
        } else {
            Error::io(&self.path, e)
        }
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::parse(&self.path, self.line_no as usize, message)
    }

    /// The site of the line in `buf` (which had an end when `ended`), or `None` for a line
    /// that is not a record or is passed over.
    fn parse_line(&mut self, ended: bool) -> Result<Option<Site>> {
        let text = std::str::from_utf8(&self.buf).map_err(|_| {
            self.error(
                "the line is not UTF-8 text; is it the right file? If so, convert it to \
                 UTF-8 (iconv -f latin1 -t utf-8)",
            )
        })?;
        if text.starts_with("##") || py_strip(text).is_empty() {
            return Ok(None);
        }
        if text.starts_with('#') {
            let shown: Vec<&str> = text.splitn(9, '\t').take(8).collect();
            if shown.len() < 5 || shown[..] != HEADER_COLUMNS[..shown.len()] {
                let head: String = text.chars().take(80).collect();
                return Err(self.error(format!(
                    "the column header must start with #CHROM POS ID REF ALT (tab-separated; \
                     then QUAL FILTER INFO), got '{head}'"
                )));
            }
            self.seen_header = true;
            return Ok(None);
        }
        if self.options.skip > 0 {
            if let Some((chrom, _)) = text.split_once('\t') {
                if self.options.skip_chroms.contains(chrom) {
                    self.options.skip -= 1;
                }
            }
            self.seen_header = true;
            return Ok(None);
        }
        if !ended {
            return Err(self.error(
                "the last record has no newline, so the file may be truncated; re-download or \
                 re-compress it (if it is complete, end it with a newline)",
            ));
        }
        let mut fields: Vec<&str> = text.splitn(9, '\t').collect();
        let count = if self.options.sites_only || fields.len() < 9 {
            fields.len()
        } else {
            8 + memchr::memchr_iter(b'\t', fields[8].as_bytes()).count() + 1
        };
        if count < 5 {
            return Err(self.error(format!(
                "{count} tab-separated fields; a VCF record needs CHROM POS ID REF ALT (then \
                 QUAL FILTER INFO){}",
                space_hint(text)
            )));
        }
        match self.first {
            None => self.first = Some((self.line_no, count)),
            Some((line, first)) if count < first.min(HEADER_COLUMNS.len()) => {
                return Err(self.error(format!(
                    "{count} tab-separated fields where the first record (line {line}) has \
                     {first}; is the record cut short?"
                )));
            }
            Some(_) => {}
        }
        if !self.seen_header {
            self.headerless = true;
        }
        self.seen_header = true;
        let samples = match fields.get(8) {
            Some(rest) if !self.options.sites_only => Some(rest.to_string()),
            _ => None,
        };
        fields.resize(8, ".");
        let [chrom, pos_text, id, reference, alt, qual, filter, info] = fields[..8] else {
            unreachable!("eight fields after resizing")
        };
        if py_strip(chrom).is_empty() {
            return Err(self.error("CHROM is empty"));
        }
        let pos = parse_pos(pos_text).map_err(|message| self.error(message))?;
        if !is_bases(reference) {
            return Err(self.error(format!(
                "REF '{reference}' must be bases A, C, G, T or N{}",
                iupac_hint(reference)
            )));
        }
        let alts: Vec<&str> = alt.split(',').collect();
        if let Some(bad) = alts.iter().find(|a| !is_alt(a)) {
            return Err(self.error(format!(
                "ALT allele '{bad}' is not bases, '*', '.', <ID> or a breakend"
            )));
        }
        if let Some(bases) = alts.iter().find(|a| pos == 0 && is_bases(a)) {
            return Err(self.error(format!(
                "POS 0 is invalid for a record with an ALT of bases ('{bases}'): VCF POS is \
                 1-based, and 0 marks a telomere, for breakend and symbolic ALTs only"
            )));
        }
        Ok(Some(Site {
            line: self.line_no,
            chrom: chrom.to_string(),
            pos,
            id: id.to_string(),
            reference: reference.to_ascii_uppercase(),
            alts: alts
                .iter()
                .map(|a| {
                    if is_bases(a) {
                        a.to_ascii_uppercase()
                    } else {
                        a.to_string()
                    }
                })
                .collect(),
            qual: qual.to_string(),
            filter: filter.to_string(),
            info: info.to_string(),
            samples,
        }))
    }
}

/// What a file whose text starts with these bytes is instead of VCF text (BCF, binary
/// VCF, of versions 2 and 1; an index of a VCF), and what to do.
const NOT_VCF: [(&[u8], &str); 4] = [
    (b"BCF\x02", BCF),
    (b"BCF\x04", BCF),
    (
        b"TBI\x01",
        "the file is a tabix index (.tbi), not a VCF; give the VCF it indexes (the .vcf.gz \
         beside it)",
    ),
    (
        b"CSI\x01",
        "the file is a CSI index (.csi), not a VCF; give the VCF it indexes (the .vcf.gz \
         beside it)",
    ),
];

const BCF: &str = "the file is BCF (binary VCF), which crossreg does not read; convert it to \
                   VCF (bcftools view -Oz -o file.vcf.gz file.bcf)";

/// Refuse text starting with `head` that is not VCF text: another compressor's output,
/// UTF-16 ([`check_kind`]), BCF or an index, each saying what to do.
fn check_vcf_kind(path: &Path, head: &[u8]) -> Result<()> {
    check_kind(path, head)?;
    match NOT_VCF.iter().find(|(magic, _)| head.starts_with(magic)) {
        Some((_, message)) => Err(Error::parse(path, 0, *message)),
        None => Ok(()),
    }
}

/// The decompressed bytes of every gzip member of a stream in turn; NUL bytes between
/// members (padding some writers add) are skipped, as Python's `gzip` skips them.
struct GzipMembers<R: BufRead> {
    decoder: Option<GzDecoder<R>>,
}

impl<R: BufRead> GzipMembers<R> {
    fn new(inner: R) -> Self {
        GzipMembers {
            decoder: Some(GzDecoder::new(inner)),
        }
    }
}

impl<R: BufRead> Read for GzipMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(0);
            };
            let n = decoder.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            let Some(mut inner) = self.decoder.take().map(GzDecoder::into_inner) else {
                return Ok(0);
            };
            loop {
                let available = inner.fill_buf()?;
                if available.is_empty() {
                    return Ok(0);
                }
                let zeros = available.iter().take_while(|&&b| b == 0).count();
                let more = zeros < available.len();
                inner.consume(zeros);
                if more {
                    break;
                }
            }
            if inner.fill_buf()?[0] != GZIP_MAGIC[0] {
                return Err(not_gzip(&mut inner));
            }
            self.decoder = Some(GzDecoder::new(inner));
        }
    }
}

/// The error for bytes after a gzip member that start no other member, in the words of
/// Python's `gzip` (`Not a gzipped file (b'ga')`, its first two bytes shown), where the
/// decompressor would call them a stream that ended early.
fn not_gzip(inner: &mut impl Read) -> std::io::Error {
    let mut magic = Vec::with_capacity(2);
    let shown = match inner.take(2).read_to_end(&mut magic) {
        Ok(_) => py_bytes_repr(&magic),
        Err(e) => return e,
    };
    std::io::Error::new(
        ErrorKind::InvalidData,
        format!("Not a gzipped file ({shown})"),
    )
}

/// `bytes` as Python's `repr` writes a bytes object (`b'ga'`, `b'\x00\t'`).
fn py_bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut shown = format!("b{quote}");
    for &b in bytes {
        match b {
            b'\\' => shown.push_str("\\\\"),
            b'\t' => shown.push_str("\\t"),
            b'\n' => shown.push_str("\\n"),
            b'\r' => shown.push_str("\\r"),
            _ if char::from(b) == quote => shown.extend(['\\', quote]),
            0x20..=0x7e => shown.push(char::from(b)),
            _ => shown.push_str(&format!("\\x{b:02x}")),
        }
    }
    shown.push(quote);
    shown
}

/// A gzip stream that ended early or does not decompress, after line `line_no`: the
/// message of `crossreg.io.text.numbered_lines`.
fn gzip_error(path: &Path, line_no: u64, e: &std::io::Error) -> Error {
    let after = match line_no {
        0 => "before its first line".to_string(),
        n => format!("after line {n}"),
    };
    let detail = if e.kind() == ErrorKind::UnexpectedEof {
        "Compressed file ended before the end-of-stream marker was reached".to_string()
    } else {
        e.to_string()
    };
    Error::parse(
        path,
        0,
        format!(
            "the gzip stream is truncated or corrupt {after} ({detail}); re-download or \
             re-compress it"
        ),
    )
}

/// Whitespace as Python's `str.strip()` takes it: Unicode's, and the separators 0x1c–0x1f.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(text: &str) -> &str {
    text.trim_matches(is_py_space)
}

/// POS as Python's `int()` reads it (surrounding whitespace, a sign, `_` between digits;
/// ASCII digits only), then checked not to be negative (0 is a telomere's, which the
/// caller allows for breakend and symbolic ALTs alone).
fn parse_pos(text: &str) -> std::result::Result<u64, String> {
    let not_whole = || format!("POS '{text}' is not a whole number");
    // int() strips Unicode's whitespace alone, not the separators 0x1c-0x1f as strip() does
    let body = text.trim_matches(char::is_whitespace);
    let (negative, digits) = match body.as_bytes().first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    let bytes = digits.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_digit() || !bytes[bytes.len() - 1].is_ascii_digit() {
        return Err(not_whole());
    }
    let mut value: u64 = 0;
    let mut last_underscore = false;
    for &b in bytes {
        if b == b'_' {
            if last_underscore {
                return Err(not_whole());
            }
            last_underscore = true;
            continue;
        }
        if !b.is_ascii_digit() {
            return Err(not_whole());
        }
        last_underscore = false;
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or_else(|| format!("POS '{text}' is too large"))?;
    }
    if negative && value > 0 {
        return Err(format!("POS -{value} is invalid (VCF POS is 1-based)"));
    }
    Ok(value)
}

/// What to do with a record line of too few tab-separated fields that has five or more
/// separated by spaces (and tabs): its columns are separated by spaces; else nothing.
fn space_hint(text: &str) -> &'static str {
    let words = text.split([' ', '\t']).filter(|w| !w.is_empty()).count();
    if text.contains(' ') && words >= 5 {
        "; its columns are separated by spaces, which VCF separates by tabs: convert them \
         (tr ' ' '\\t')"
    } else {
        ""
    }
}

/// What to do with a REF of bases and IUPAC ambiguity codes (R, Y, ...), which VCF does
/// not allow; else nothing.
fn iupac_hint(reference: &str) -> &'static str {
    let iupac = |b: u8| b"RYSWKMBDHVryswkmbdhv".contains(&b);
    if !reference.is_empty() && reference.bytes().all(|b| is_base(b) || iupac(b)) {
        "; IUPAC ambiguity codes such as R or Y are not VCF bases (VCF 4.3 writes the first \
         base a code stands for: A for R): correct the record or remove it"
    } else {
        ""
    }
}

/// One or more of `ACGTNacgtn`.
fn is_bases(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(is_base)
}

fn is_base(b: u8) -> bool {
    matches!(
        b,
        b'A' | b'C' | b'G' | b'T' | b'N' | b'a' | b'c' | b'g' | b't' | b'n'
    )
}

/// An ALT allele: bases, a deleted allele (`*`), none (`.`), a symbolic allele (`<DEL>`)
/// or a breakend, joined (`t[p[`, `t]p]`, `]p]t`, `[p[t`; `.[p[` and `]p].` at a
/// telomere) or single (`.t`, `t.`).
fn is_alt(text: &str) -> bool {
    let b = text.as_bytes();
    if is_bases(text) || text == "*" || text == "." {
        return true;
    }
    if b.len() >= 3 && b[0] == b'<' && b[b.len() - 1] == b'>' {
        return !b[1..b.len() - 1].contains(&b'>');
    }
    if b.len() >= 2 && b[0] == b'.' && is_bases(&text[1..]) {
        return true;
    }
    if b.len() >= 2 && b[b.len() - 1] == b'.' && is_bases(&text[..text.len() - 1]) {
        return true;
    }
    is_breakend(b) || is_telomere_breakend(b)
}

/// A joined breakend from a virtual telomere (VCF 4.3's POS 0 or N+1), `.` for its bases:
/// `.[p[`, `]p].` (and `.]p]`, `[p[.`).
fn is_telomere_breakend(b: &[u8]) -> bool {
    match b {
        [b'.', mate @ ..] | [mate @ .., b'.'] => is_mate(mate),
        _ => false,
    }
}

/// `bases* [ or ] (not [ or ])+ [ or ] bases*`.
fn is_breakend(b: &[u8]) -> bool {
    let lead = b.iter().take_while(|&&c| is_base(c)).count();
    let trail = b[lead..].iter().rev().take_while(|&&c| is_base(c)).count();
    // The bases either side may be taken by the regex's [^\[\]]+ instead, but only
    // between the brackets, so the brackets must be the middle's ends.
    is_mate(&b[lead..b.len() - trail])
}

/// A breakend's mate in its brackets: `[ or ] (not [ or ])+ [ or ]`.
fn is_mate(b: &[u8]) -> bool {
    let bracket = |c: &u8| *c == b'[' || *c == b']';
    b.len() >= 3
        && bracket(&b[0])
        && bracket(&b[b.len() - 1])
        && !b[1..b.len() - 1].iter().any(bracket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn read(text: &str, options: VcfOptions) -> Result<(Vec<Site>, bool, bool)> {
        let reader = Box::new(Cursor::new(text.as_bytes().to_vec()));
        let mut vcf = VcfReader::new(reader, Path::new("x.vcf"), false, options);
        let mut sites = Vec::new();
        loop {
            let before = sites.len();
            vcf.read_batch(2, &mut sites)?;
            if sites.len() == before {
                return Ok((sites, vcf.seen_header(), vcf.headerless()));
            }
        }
    }

    fn message(text: &str) -> String {
        read(text, VcfOptions::default()).unwrap_err().to_string()
    }

    const HEAD: &str = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

    #[test]
    fn reads_sites_with_every_line_end() {
        let text = format!("{HEAD}1\t5\trs1\tac\tg,<DEL>\r\n2\t7\t.\tA\tT\r3\t9\t.\tC\tG\n");
        let (sites, seen, headerless) = read(&text, VcfOptions::default()).unwrap();
        assert!(seen && !headerless);
        assert_eq!(sites.len(), 3);
        assert_eq!((sites[0].line, sites[1].line, sites[2].line), (3, 4, 5));
        assert_eq!(sites[0].reference, "AC");
        assert_eq!(sites[0].alts, ["G", "<DEL>"]);
        assert_eq!((sites[0].qual.as_str(), sites[1].info.as_str()), (".", "."));
        assert_eq!(sites[2].pos, 9);
    }

    #[test]
    fn pos_0_is_a_telomere_for_breakend_and_symbolic_alts() {
        // VCF 4.3's telomere example, with a symbolic and a single breakend at POS 0 too
        let text = format!(
            "{HEAD}1\t0\tbnd_X\tN\t.[13:123457[\n1\t1\tbnd_Y\tT\t]13:123456]T\n\
             13\t123457\tbnd_V\tA\t]1:0]A\n1\t0\t.\tN\t<DEL>,*,.\n1\t0\t.\tN\t.A\n"
        );
        let (sites, _, _) = read(&text, VcfOptions::default()).unwrap();
        let read: Vec<(u64, &str)> = sites.iter().map(|s| (s.pos, s.alts[0].as_str())).collect();
        assert_eq!(
            read,
            [
                (0, ".[13:123457["),
                (1, "]13:123456]T"),
                (123457, "]1:0]A"),
                (0, "<DEL>"),
                (0, ".A")
            ]
        );
        assert!(message(&format!("{HEAD}1\t-1\t.\tN\t<DEL>\n"))
            .ends_with("POS -1 is invalid (VCF POS is 1-based)"));
    }

    #[test]
    fn line_ends_split_across_reads_count_once() {
        let text = format!("{HEAD}1\t5\t.\tA\tG\r\n\r\n2\t7\t.\tA\tT\r\r3\t9\t.\tC\tG\r\n");
        let whole = read(&text, VcfOptions::default()).unwrap().0;
        let bytewise = Box::new(std::io::BufReader::with_capacity(1, Cursor::new(text)));
        let mut vcf = VcfReader::new(bytewise, Path::new("x.vcf"), false, VcfOptions::default());
        let mut sites = Vec::new();
        vcf.read_batch(10, &mut sites).unwrap();
        assert_eq!(sites, whole);
        let lines: Vec<u64> = sites.iter().map(|s| s.line).collect();
        assert_eq!(lines, [3, 5, 7]);
    }

    #[test]
    fn samples_are_kept_unsplit_unless_sites_only() {
        let text = format!("{HEAD}1\t5\t.\tA\tG\t.\t.\t.\tGT\t0|1\t1|1\n");
        let (all, _, _) = read(&text, VcfOptions::default()).unwrap();
        assert_eq!(all[0].samples.as_deref(), Some("GT\t0|1\t1|1"));
        let sites_only = VcfOptions {
            sites_only: true,
            ..VcfOptions::default()
        };
        assert_eq!(read(&text, sites_only).unwrap().0[0].samples, None);
    }

    #[test]
    fn passes_over_the_first_records_on_the_given_chromosomes() {
        let text = format!("{HEAD}1\t1\t.\tA\tG\nU\tx\n1\t2\t.\tA\tG\n1\t3\t.\tA\tG\n");
        let options = VcfOptions {
            skip: 2,
            skip_chroms: HashSet::from(["1".to_string()]),
            ..VcfOptions::default()
        };
        let (sites, _, _) = read(&text, options).unwrap();
        assert_eq!(sites.iter().map(|s| s.pos).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn messages_name_the_line() {
        assert_eq!(
            message(&format!("{HEAD}1\tx\t.\tA\tG\n")),
            "x.vcf:3: POS 'x' is not a whole number"
        );
        assert_eq!(
            message(&format!("{HEAD}1\t0\t.\tN\t<DEL>,g\n")),
            "x.vcf:3: POS 0 is invalid for a record with an ALT of bases ('g'): VCF POS is \
             1-based, and 0 marks a telomere, for breakend and symbolic ALTs only"
        );
        assert_eq!(
            message(&format!("{HEAD}1\t1\t.\tA\tG\t.\n1\t2\t.\tA\n")),
            "x.vcf:4: 4 tab-separated fields; a VCF record needs CHROM POS ID REF ALT (then \
             QUAL FILTER INFO)"
        );
        assert!(message(&format!("{HEAD}1\t1\t.\tA\tG")).contains("x.vcf:3: the last record"));
        assert!(message(&format!("{HEAD}1\t1\t.\tA\tG[\n")).contains("ALT allele 'G['"));
        assert!(message("#CHROM\tPOS\tID\tREF\n").starts_with("x.vcf:1: the column header"));
        assert!(message(&format!("{HEAD}1 1 . A G\n")).ends_with(
            "(then QUAL FILTER INFO); its columns are separated by spaces, which VCF separates \
             by tabs: convert them (tr ' ' '\\t')"
        ));
        assert!(message(&format!("{HEAD}1\t1\t.\n")).ends_with("(then QUAL FILTER INFO)"));
        assert!(message(&format!("{HEAD}1\t1\t.\tAr\tG\n")).ends_with(
            "REF 'Ar' must be bases A, C, G, T or N; IUPAC ambiguity codes such as \
                        R or Y are not VCF bases (VCF 4.3 writes the first base a code stands \
                        for: A for R): correct the record or remove it"
        ));
        assert!(message(&format!("{HEAD}1\t1\t.\tX\tG\n")).ends_with("A, C, G, T or N"));
    }

    #[test]
    fn the_sites_before_a_bad_line_come_first() {
        let text = format!("{HEAD}1\t1\t.\tA\tG\n1\tx\t.\tA\tG\n");
        let reader = Box::new(Cursor::new(text.into_bytes()));
        let mut vcf = VcfReader::new(reader, Path::new("x.vcf"), false, VcfOptions::default());
        let mut sites = Vec::new();
        vcf.read_batch(10, &mut sites).unwrap();
        assert_eq!(sites.len(), 1);
        assert!(vcf.read_batch(10, &mut sites).is_err());
    }

    #[test]
    fn gzip_members_and_the_nul_bytes_between_them_read_whole() {
        use std::io::Write;
        let member = |text: &[u8]| {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(text).unwrap();
            encoder.finish().unwrap()
        };
        let mut data = member(b"ab");
        data.extend([0, 0, 0]);
        data.extend(member(b""));
        data.extend(member(b"cd"));
        data.extend([0; 5]);
        let mut text = String::new();
        GzipMembers::new(Cursor::new(data.clone()))
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "abcd");
        let mut padded = data.clone();
        data.extend(b"garbage");
        let mut reader = GzipMembers::new(Cursor::new(data));
        let error = reader.read_to_string(&mut String::new()).unwrap_err();
        assert_eq!(error.to_string(), "Not a gzipped file (b'ga')");
        padded.extend(b"\x1f");
        let mut reader = GzipMembers::new(Cursor::new(padded));
        let error = reader.read_to_string(&mut String::new()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnexpectedEof, "a member cut short");
        assert_eq!(py_bytes_repr(b"\x01'\\"), "b\"\\x01'\\\\\"");
        assert_eq!(py_bytes_repr(b"\t'\""), "b'\\t\\'\"'");
    }

    #[test]
    fn bcf_and_indexes_are_refused_saying_what_to_do() {
        use std::io::Write;
        let bcf = b"BCF\x02\x02\x88\x13\x00\x00##fileformat=VCFv4.2\n".to_vec();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&bcf).unwrap();
        for data in [bcf.clone(), encoder.finish().unwrap()] {
            let opened =
                VcfReader::open_file(Path::new("x.bcf"), Cursor::new(data), VcfOptions::default());
            let message = opened.err().expect("BCF is refused").to_string();
            assert!(
                message.starts_with("x.bcf: the file is BCF (binary VCF)"),
                "{message}"
            );
            assert!(message.contains("bcftools view -Oz"), "{message}");
        }
        let index = Cursor::new(b"TBI\x01\x18\x00\x00\x00".to_vec());
        let opened = VcfReader::open_file(Path::new("x.tbi"), index, VcfOptions::default());
        let message = opened.err().expect("an index is refused").to_string();
        assert!(
            message.starts_with("x.tbi: the file is a tabix index (.tbi), not a VCF"),
            "{message}"
        );
        let text = Cursor::new(b"BCF\tis a chromosome name\n".to_vec());
        assert!(VcfReader::open_file(Path::new("x.vcf"), text, VcfOptions::default()).is_ok());
    }

    #[test]
    fn pos_reads_as_python_int() {
        assert_eq!(parse_pos(" +1_000 "), Ok(1000));
        assert!(parse_pos("1__0").is_err());
        assert!(parse_pos("_1").is_err());
        assert_eq!(parse_pos("\u{3000}7\u{85}"), Ok(7));
        assert!(
            parse_pos("\u{1c}7").is_err(),
            "int() refuses the separators"
        );
        assert_eq!(parse_pos("-0"), Ok(0));
        assert_eq!(
            parse_pos("-5"),
            Err("POS -5 is invalid (VCF POS is 1-based)".into())
        );
    }

    #[test]
    fn alts_match_the_pattern() {
        for ok in [
            "A",
            "acg",
            "*",
            ".",
            "<DEL>",
            "<<x>",
            "G[1:5[",
            "]1:5]T",
            "[p[",
            ".A",
            "A.",
            ".[13:123457[",
            "]13:123456].",
            ".]p]",
            "[p[.",
        ] {
            assert!(is_alt(ok), "{ok}");
        }
        for bad in [
            "", "<>", "<a>b>", "X", "A[1", "[1[2[", "..A", "A[1[x", ".A[1[", "]1]A.", "..[1[",
            ".[1[.",
        ] {
            assert!(!is_alt(bad), "{bad}");
        }
    }
}
