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

mod fields;
mod open;
mod record;

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

use crate::digest::{ContentDigest, HashingReader};
use crate::file_kind::{sniff, GZIP_MAGIC};
use crate::{Error, Result};
use open::{check_vcf_kind, gzip_error, GzipMembers};

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    pub(super) fn read(text: &str, options: VcfOptions) -> Result<(Vec<Site>, bool, bool)> {
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

    pub(super) fn message(text: &str) -> String {
        read(text, VcfOptions::default()).unwrap_err().to_string()
    }

    pub(super) const HEAD: &str =
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";

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
    fn the_sites_before_a_bad_line_come_first() {
        let text = format!("{HEAD}1\t1\t.\tA\tG\n1\tx\t.\tA\tG\n");
        let reader = Box::new(Cursor::new(text.into_bytes()));
        let mut vcf = VcfReader::new(reader, Path::new("x.vcf"), false, VcfOptions::default());
        let mut sites = Vec::new();
        vcf.read_batch(10, &mut sites).unwrap();
        assert_eq!(sites.len(), 1);
        assert!(vcf.read_batch(10, &mut sites).is_err());
    }
}
