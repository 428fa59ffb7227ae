//! FASTA files: the `.fai` index and an in-memory genome with padded window fetches.
//!
//! A [`Genome`] reads the whole FASTA once into memory (one byte per base, case kept) and
//! then serves `(chrom, start, end)` windows that may run off either end of a chromosome;
//! the part outside is filled with `N`. A gzip or BGZF (bgzip) FASTA is decompressed into
//! memory as it is read ([`crate::inflate`]). The `.fai` index is written beside a plain
//! FASTA when it is missing, and checked against the sequences when it is present; beside a
//! compressed one it is neither written nor read. The file's size and SHA-256 (its content
//! identity, of the bytes as stored) can be taken from the same read.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::digest::Following;
use crate::error::chrom_hint;
use crate::file_kind::{check_kind, read_fully, GZIP_MAGIC};
use crate::inflate::{self, Content};
use crate::{Error, Result};

/// One line of a samtools-style `.fai` index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaiRecord {
    pub name: String,
    /// Bases in the record.
    pub length: u64,
    /// Byte offset of the first base in the file.
    pub offset: u64,
    /// Bases per full line.
    pub line_bases: u64,
    /// Bytes per full line, line terminator included.
    pub line_bytes: u64,
}

impl FaiRecord {
    /// Whether `other` indexes the same bases at the same places: a record of one line
    /// never steps from line to line, so its `line_bytes` does not matter (older crossreg
    /// wrote it without the terminator a last unterminated line lacks; samtools with it).
    fn same_layout(&self, other: &FaiRecord) -> bool {
        let one_line = self.length <= self.line_bases;
        (self.name == other.name)
            & (self.length == other.length)
            & (self.offset == other.offset)
            & (self.line_bases == other.line_bases)
            & (one_line || self.line_bytes == other.line_bytes)
    }
}

/// Path of the index that belongs to `fasta`: the FASTA path with `.fai` appended.
pub fn fai_path(fasta: &Path) -> PathBuf {
    let mut p = fasta.as_os_str().to_owned();
    p.push(".fai");
    PathBuf::from(p)
}

/// Parse a `.fai` index file.
pub fn read_fai(path: &Path) -> Result<Vec<FaiRecord>> {
    let text = fs::read_to_string(path).map_err(|e| {
        Error::parse(
            path,
            0,
            format!("cannot be read ({e}); delete the index to have it rebuilt"),
        )
    })?;
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 5 {
            return Err(Error::parse(
                path,
                i + 1,
                format!(
                    "expected 5 tab-separated fields (name, length, offset, line bases, line \
                     bytes), found {}; delete the index to have it rebuilt",
                    fields.len()
                ),
            ));
        }
        let number = |k: usize| -> Result<u64> {
            fields[k].parse().map_err(|_| {
                Error::parse(
                    path,
                    i + 1,
                    format!(
                        "field {} is '{}', not a whole number; delete the index to have it \
                         rebuilt",
                        k + 1,
                        fields[k]
                    ),
                )
            })
        };
        records.push(FaiRecord {
            name: fields[0].to_string(),
            length: number(1)?,
            offset: number(2)?,
            line_bases: number(3)?,
            line_bytes: number(4)?,
        });
    }
    Ok(records)
}

/// Write `records` as a `.fai` index at `path`, atomically (temporary file, then rename).
pub fn write_fai(path: &Path, records: &[FaiRecord]) -> Result<()> {
    let mut text = String::new();
    for r in records {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            r.name, r.length, r.offset, r.line_bases, r.line_bytes
        ));
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// The first 4 bytes of a UCSC .2bit file, as written on either byte order.
const TWO_BIT_MAGIC: [[u8; 4]; 2] = [[0x43, 0x27, 0x41, 0x1a], [0x1a, 0x41, 0x27, 0x43]];

/// The index of FASTA bytes, checking the line layout an index needs (equal line lengths
/// inside each record, except its last line). Records without bases are left out.
///
/// `data` is only read, so that another thread may hash it meanwhile; [`compact`] then
/// moves the bases to its front.
///
/// `scanned` is told how far it has read every megabyte or so.
fn scan_fasta(path: &Path, data: &[u8], mut scanned: impl FnMut(usize)) -> Result<Vec<FaiRecord>> {
    let mut index: Vec<FaiRecord> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    // State of the record being read: line length seen so far and whether a short
    // (final) line has already appeared.
    let mut short_line_at: Option<usize> = None;
    // whether that line had as many bases as the lines before it, but another line ending
    let mut ending_differs = false;
    if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(Error::parse(
            path,
            1,
            "the file starts with a UTF-8 byte-order mark, which a FASTA cannot hold (samtools \
             refuses it too); remove it (e.g. `sed -i '1s/^\\xEF\\xBB\\xBF//' FILE`)",
        ));
    }
    if TWO_BIT_MAGIC.iter().any(|magic| data.starts_with(magic)) {
        return Err(Error::parse(
            path,
            0,
            "is a UCSC .2bit file, not a FASTA; convert it with twoBitToFa (twoBitToFa \
             FILE.2bit FILE.fa) and give the FASTA",
        ));
    }
    let mut pos = 0usize;
    let mut reported = 0usize;
    let mut line_no = 0usize;
    while pos < data.len() {
        line_no += 1;
        let end = memchr_newline(&data[pos..]).map_or(data.len(), |k| pos + k);
        let next = (end + 1).min(data.len());
        let mut line = &data[pos..end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        // a last line without its terminator counts one, as samtools counts it
        let line_bytes = (next - pos) as u64 + u64::from(end == data.len());
        if line.first() == Some(&b'>') {
            if line.contains(&b'\r') {
                return Err(Error::parse(
                    path,
                    line_no,
                    "a header line holds a carriage return: the file ends its lines with CR \
                     alone (old Mac); convert them to LF (e.g. `mac2unix`)",
                ));
            }
            let Ok(header) = std::str::from_utf8(&line[1..]) else {
                let shown = String::from_utf8_lossy(&line[1..]);
                return Err(Error::parse(
                    path,
                    line_no,
                    format!(
                        "the header '>{shown}' is not UTF-8 text (each byte that is not is \
                         shown as '\u{fffd}'), so no BED, VCF or BigWig could name its \
                         sequence; rename it, or convert the file to UTF-8 (iconv -f latin1 \
                         -t utf-8)"
                    ),
                ));
            };
            let name = header.split_whitespace().next().unwrap_or("").to_string();
            if name.is_empty() {
                return Err(Error::parse(path, line_no, "a '>' header line has no name"));
            }
            if let Some(&first) = seen.get(&name) {
                return Err(Error::parse(
                    path,
                    line_no,
                    format!(
                        "sequence name '{name}' appears twice (first as record {}); names must \
                         be unique",
                        first + 1
                    ),
                ));
            }
            seen.insert(name.clone(), index.len());
            index.push(FaiRecord {
                name,
                length: 0,
                offset: next as u64,
                line_bases: 0,
                line_bytes: 0,
            });
            short_line_at = None;
            ending_differs = false;
        } else if line.is_empty() {
            // Blank lines are allowed only where no more sequence follows in the record.
            if !index.is_empty() && short_line_at.is_none() {
                short_line_at = Some(line_no);
            }
        } else {
            let Some(rec) = index.last_mut() else {
                return Err(Error::parse(
                    path,
                    line_no,
                    "sequence data before the first '>' header; is this a FASTA file?",
                ));
            };
            if let Some(at) = short_line_at {
                let message = if ending_differs {
                    format!(
                        "record '{}' mixes line endings (line {at} ends differently from the \
                         lines before it, CRLF against LF, but more sequence follows); convert \
                         the file's line endings to one kind (e.g. `dos2unix`)",
                        rec.name
                    )
                } else {
                    format!(
                        "record '{}' has lines of different lengths (line {at} is shorter than \
                         the lines before it, but more sequence follows); rewrap the FASTA \
                         with equal line lengths (e.g. `seqkit seq -w 60`)",
                        rec.name
                    )
                };
                return Err(Error::parse(path, line_no, message));
            }
            // checked whole (no early exit, which vectorises); searched only when wrong
            let all_bases = line.iter().fold(true, |ok, &b| ok & is_sequence_byte(b));
            if let Some(col) = (!all_bases)
                .then(|| line.iter().position(|&b| !is_sequence_byte(b)))
                .flatten()
            {
                return Err(Error::parse(
                    path,
                    line_no,
                    format!(
                        "record '{}' has {} at column {}, which is not a base; sequence lines \
                         hold letters only (IUPAC codes, N for unknown bases)",
                        rec.name,
                        describe_byte(line[col]),
                        col + 1
                    ),
                ));
            }
            let n = line.len() as u64;
            if rec.line_bases == 0 {
                rec.line_bases = n;
                rec.line_bytes = line_bytes;
            } else if n > rec.line_bases {
                return Err(Error::parse(
                    path,
                    line_no,
                    format!(
                        "record '{}' has a line of {n} bases after lines of {}; rewrap the \
                         FASTA with equal line lengths (e.g. `seqkit seq -w 60`)",
                        rec.name, rec.line_bases
                    ),
                ));
            } else if n < rec.line_bases || line_bytes != rec.line_bytes {
                short_line_at = Some(line_no);
                ending_differs = n == rec.line_bases;
            }
            rec.length += n;
        }
        pos = next;
        if pos - reported >= 1 << 20 {
            scanned(pos);
            reported = pos;
        }
    }
    // a record without bases is left out, as samtools leaves it out of its index
    index.retain(|record| record.length > 0);
    Ok(index)
}

/// The bases of the FASTA bytes `data`, which [`scan_fasta`] indexed as `index`, moved to
/// its front record by record (each line lands at or before where it was, so a genome
/// costs its file's size in memory once, not twice), and each record's range in them.
fn compact(mut data: Vec<u8>, index: &[FaiRecord]) -> (Vec<u8>, Vec<Range<usize>>) {
    let mut write = 0usize;
    let mut ranges = Vec::with_capacity(index.len());
    for record in index {
        let start = write;
        let (width, stride) = (record.line_bases as usize, record.line_bytes as usize);
        let mut line = record.offset as usize;
        let mut left = record.length as usize;
        while left > 0 {
            let n = left.min(width);
            data.copy_within(line..line + n, write);
            write += n;
            left -= n;
            line += stride;
        }
        ranges.push(start..write);
    }
    data.truncate(write);
    data.shrink_to_fit();
    (data, ranges)
}

/// A byte a sequence line may hold: a letter (any IUPAC code, either case; what is not
/// A, C, G or T counts as N), or the gap and stop symbols `-` and `*`.
fn is_sequence_byte(b: u8) -> bool {
    ((b | 0x20).wrapping_sub(b'a') < 26) | (b == b'-') | (b == b'*')
}

/// A byte as a message shows it: `'x'` when printable, else its name or hex code.
fn describe_byte(b: u8) -> String {
    match b {
        b'\t' => "a tab".to_string(),
        b' ' => "a space".to_string(),
        0x21..=0x7e => format!("'{}'", b as char),
        _ => format!("the byte 0x{b:02X}"),
    }
}

fn memchr_newline(haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == b'\n')
}

/// Compute the `.fai` index of a FASTA file (plain, gzip or BGZF, read as
/// [`Genome::load`] reads it; the offsets are those of the decompressed text).
pub fn build_index(path: &Path) -> Result<Vec<FaiRecord>> {
    let (data, _, _) = read_fasta(path, false)?;
    scan_fasta(path, &data, |_| {})
}

/// The index of the FASTA bytes `data` ([`scan_fasta`]) and, with `hash`, their size and
/// SHA-256, each megabyte hashed as soon as it is scanned, while it is in the cache.
fn scan_and_hash(
    path: &Path,
    data: &[u8],
    hash: bool,
) -> Result<(Vec<FaiRecord>, Option<Content>)> {
    if !hash {
        return Ok((scan_fasta(path, data, |_| {})?, None));
    }
    let mut following = Following::default();
    let index = scan_fasta(path, data, |upto| following.advance(data, upto))?;
    Ok((index, Some(following.finish(data))))
}

/// The bytes of the FASTA at `path`, decompressed when it is gzipped (one or many members,
/// or BGZF: told by its first bytes, not its name), with the size and SHA-256 of the file
/// as stored when `hash` asks and it is compressed (a plain file is hashed as it is
/// scanned), and whether it was compressed. Other compressions (bzip2, xz, zstd) and
/// UTF-16 text are refused saying how to convert them.
fn read_fasta(path: &Path, hash: bool) -> Result<(Vec<u8>, Option<Content>, bool)> {
    // opened and read once, front to back, so that a pipe reads as a file does
    let mut file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; inflate::BLOCK_HEAD];
    let n = read_fully(&mut file, &mut head).map_err(|e| Error::io(path, e))?;
    let head = &head[..n];
    check_kind(path, head)?;
    if !head.starts_with(GZIP_MAGIC) {
        let mut data = Vec::new();
        let size = file.metadata().map_or(0, |m| m.len() as usize);
        data.try_reserve_exact(size).map_err(|_| {
            Error::OutOfMemory(format!(
                "{}: its {size} bytes do not fit in this machine's memory",
                path.display()
            ))
        })?;
        data.extend_from_slice(head);
        file.read_to_end(&mut data)
            .map_err(|e| Error::io(path, e))?;
        return Ok((data, None, false));
    }
    let (data, content) = inflate::read_gzip(path, head, file, hash)?;
    check_kind(path, &data[..data.len().min(inflate::BLOCK_HEAD)])?;
    Ok((data, content, true))
}

/// A whole genome held in memory, one byte per base.
pub struct Genome {
    source: String,
    names: Vec<String>,
    ids: HashMap<String, usize>,
    /// Every chromosome's bases, one after the other (chromosome `i` at `ranges[i]`).
    bases: Vec<u8>,
    ranges: Vec<Range<usize>>,
    /// The file's size and SHA-256, when they were taken as it was read.
    content: Option<Content>,
}

impl Genome {
    /// Read a FASTA file (plain, gzip or BGZF) into memory; with `hash`, the file's size
    /// and SHA-256 (of its bytes as stored) are taken from the same read
    /// ([`Genome::content`]). Beside a plain FASTA a missing `.fai` index is written (when
    /// the folder is writable) and an existing one must agree with the sequences.
    ///
    /// The file is read once; it is hashed as it is indexed (plain) or decompressed.
    pub fn load(path: &Path, hash: bool) -> Result<Genome> {
        let (data, stored, compressed) = read_fasta(path, hash)?;
        let (index, content) = scan_and_hash(path, &data, hash && !compressed)?;
        let content = stored.or(content);
        if index.is_empty() {
            return Err(Error::parse(
                path,
                0,
                "no '>' record with bases: is this a FASTA file?",
            ));
        }
        let fai = fai_path(path);
        if compressed {
            // a .fai's offsets are those of a plain file: none is written beside a
            // compressed one, and one found there (samtools', of the bgzip file) is not read
        } else if fai.exists() {
            let on_disk = read_fai(&fai)?;
            let agrees = on_disk.len() == index.len()
                && on_disk
                    .iter()
                    .zip(&index)
                    .all(|(disk, found)| found.same_layout(disk));
            if !agrees {
                return Err(Error::parse(
                    &fai,
                    0,
                    format!(
                        "the index does not match {} (it was made for another version of the \
                         file); delete it and it will be rebuilt",
                        path.display()
                    ),
                ));
            }
        } else {
            // Best effort: a read-only folder only costs the next load a rescan.
            let _ = write_fai(&fai, &index);
        }
        let (bases, ranges) = compact(data, &index);
        let names: Vec<String> = index.into_iter().map(|r| r.name).collect();
        let mut genome = Genome::from_parts(path.display().to_string(), names, bases, ranges);
        genome.content = content;
        Ok(genome)
    }

    /// The FASTA file's size and lowercase hex SHA-256, when [`Genome::load`] was asked to
    /// take them (the same as a separate read of the file would give).
    pub fn content(&self) -> Option<(u64, &str)> {
        self.content
            .as_ref()
            .map(|(size, hex)| (*size, hex.as_str()))
    }

    /// A genome from named sequences (`source` names it in error messages).
    pub fn from_sequences(source: &str, records: Vec<(String, Vec<u8>)>) -> Result<Genome> {
        let (names, seqs): (Vec<String>, Vec<Vec<u8>>) = records.into_iter().unzip();
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
            return Err(Error::Invalid(format!(
                "sequence name '{dup}' appears twice in {source}"
            )));
        }
        let mut ranges = Vec::with_capacity(seqs.len());
        let mut bases = Vec::with_capacity(seqs.iter().map(Vec::len).sum());
        for seq in seqs {
            ranges.push(bases.len()..bases.len() + seq.len());
            bases.extend_from_slice(&seq);
        }
        Ok(Genome::from_parts(source.to_string(), names, bases, ranges))
    }

    fn from_parts(
        source: String,
        names: Vec<String>,
        bases: Vec<u8>,
        ranges: Vec<Range<usize>>,
    ) -> Genome {
        let ids = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Genome {
            source,
            names,
            ids,
            bases,
            ranges,
            content: None,
        }
    }

    /// Chromosome names in file order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Chromosome lengths in file order.
    pub fn lengths(&self) -> Vec<u64> {
        self.ranges.iter().map(|r| r.len() as u64).collect()
    }

    /// The whole sequence of chromosome `id`.
    pub fn sequence(&self, id: usize) -> &[u8] {
        &self.bases[self.ranges[id].clone()]
    }

    /// Index of chromosome `name`, `None` when the genome lacks it.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.ids.get(name).copied()
    }

    /// Index of chromosome `name`, with a hint when the name is close to a known one.
    pub fn chrom_id(&self, name: &str) -> Result<usize> {
        self.ids
            .get(name)
            .copied()
            .ok_or_else(|| Error::UnknownChrom {
                name: name.to_string(),
                source_name: self.source.clone(),
                hint: chrom_hint(name, self.names.iter().map(String::as_str)),
            })
    }

    /// Copy the window `[start, start + out.len())` of chromosome `id` into `out`;
    /// positions before 0 or past the chromosome end become `N`.
    pub fn fetch_into(&self, id: usize, start: i64, out: &mut [u8]) {
        let seq = self.sequence(id);
        let len = seq.len() as i64;
        // saturating: a start near i64::MAX has only padding after it
        let end = start.saturating_add(i64::try_from(out.len()).unwrap_or(i64::MAX));
        let (lo, hi) = (start.clamp(0, len), end.clamp(0, len));
        if lo >= hi {
            out.fill(b'N');
            return;
        }
        let lead = (lo - start) as usize;
        let body = (hi - lo) as usize;
        out[..lead].fill(b'N');
        out[lead..lead + body].copy_from_slice(&seq[lo as usize..hi as usize]);
        out[lead + body..].fill(b'N');
    }

    /// The window `[start, end)` of chromosome `name`, padded with `N` off the ends.
    pub fn fetch(&self, name: &str, start: i64, end: i64) -> Result<Vec<u8>> {
        if end < start {
            return Err(Error::Invalid(format!(
                "window {name}:{start}-{end} ends before it starts"
            )));
        }
        let id = self.chrom_id(name)?;
        let length = end.checked_sub(start).and_then(|n| usize::try_from(n).ok());
        let length = length.ok_or_else(|| {
            Error::OutOfMemory(format!(
                "window {name}:{start}-{end} is longer than can be addressed; ask for shorter windows"
            ))
        })?;
        let mut out = zeroed_bytes(length, &format!("window {name}:{start}-{end}"))?;
        self.fetch_into(id, start, &mut out);
        Ok(out)
    }

    /// Fetch many windows of one `length` into `out` (`ids.len() × length`), in parallel.
    pub fn fetch_many_into(
        &self,
        ids: &[usize],
        starts: &[i64],
        length: usize,
        out: &mut [u8],
    ) -> Result<()> {
        if ids.len() != starts.len() || out.len() != ids.len() * length {
            return Err(Error::Invalid(format!(
                "{} chromosomes, {} starts and an output of {} bytes do not describe windows \
                 of {length} bp",
                ids.len(),
                starts.len(),
                out.len()
            )));
        }
        if let Some(&bad) = ids.iter().find(|&&id| id >= self.ranges.len()) {
            return Err(Error::Invalid(format!(
                "chromosome index {bad} is out of range ({} chromosomes)",
                self.ranges.len()
            )));
        }
        if length == 0 {
            return Ok(());
        }
        out.par_chunks_mut(length)
            .zip(ids.par_iter().zip(starts.par_iter()))
            .for_each(|(dst, (&id, &start))| self.fetch_into(id, start, dst));
        Ok(())
    }
}

/// `length` zero bytes for `what`, or an error saying it does not fit in memory (a window
/// of a terabyte asked for by mistake must not abort the process).
pub fn zeroed_bytes(length: usize, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(length).map_err(|_| {
        Error::OutOfMemory(format!(
            "{what}: {length} bytes do not fit in this machine's memory; ask for shorter windows"
        ))
    })?;
    out.resize(length, 0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn loads_and_writes_a_samtools_compatible_index() {
        let dir = tempfile::tempdir().unwrap();
        let fa = write(
            dir.path(),
            "g.fa",
            ">chr1 first\nACGT\nACgt\nAC\n>chr2\nNNNN\n>empty\n",
        );
        let g = Genome::load(&fa, false).unwrap();
        assert_eq!(g.names(), ["chr1", "chr2"]); // a record without bases is left out
        assert_eq!(g.lengths(), vec![10, 4]);
        let fai = fs::read_to_string(fai_path(&fa)).unwrap();
        assert_eq!(fai, "chr1\t10\t12\t4\t5\nchr2\t4\t31\t4\t5\n");
        // A second load reads and checks that index.
        assert!(Genome::load(&fa, false).is_ok());
    }

    #[test]
    fn the_content_is_hashed_from_the_read_that_loads_it() {
        use sha2::{Digest, Sha256};
        let dir = tempfile::tempdir().unwrap();
        let text = ">chr1 first\nACGT\nAC\n>chr2\nNNNN\n";
        let fa = write(dir.path(), "g.fa", text);
        let g = Genome::load(&fa, true).unwrap();
        let expected: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(g.content(), Some((text.len() as u64, expected.as_str())));
        assert_eq!(g.fetch("chr1", 0, 6).unwrap(), b"ACGTAC");
        assert_eq!(Genome::load(&fa, false).unwrap().content(), None);
    }

    #[test]
    fn the_bases_are_those_of_every_sequence_line() {
        // each layout the index allows: a short last line, CRLF, blank lines at a record's
        // end, a record without bases between others, an unterminated last line
        let dir = tempfile::tempdir().unwrap();
        let texts = [
            ">a\nACGTA\nCGTAC\nGT\n>b x\nTTTTT\nGG\n",
            ">a\r\nACG\r\nTAC\r\nG\r\n>b\r\nNNN\r\n",
            ">a\nACGT\nAC\n\n\n>e\n>b\nacgt\nacgt\nacg",
            ">a\nA\n>b\nCCCCCCCCCC\nCCCCCCCCCC\n>c\nGT",
        ];
        for text in texts {
            let fa = write(dir.path(), "g.fa", text);
            let _ = fs::remove_file(fai_path(&fa));
            let mut expected: Vec<(String, Vec<u8>)> = Vec::new();
            for line in text.split('\n').map(|l| l.trim_end_matches('\r')) {
                if let Some(header) = line.strip_prefix('>') {
                    let name = header.split_whitespace().next().unwrap().to_string();
                    expected.push((name, Vec::new()));
                } else if let Some(last) = expected.last_mut() {
                    last.1.extend_from_slice(line.as_bytes());
                }
            }
            expected.retain(|(_, seq)| !seq.is_empty());
            let g = Genome::load(&fa, true).unwrap();
            let names: Vec<&String> = expected.iter().map(|(name, _)| name).collect();
            assert_eq!(g.names().iter().collect::<Vec<_>>(), names, "{text:?}");
            for (id, (_, seq)) in expected.iter().enumerate() {
                assert_eq!(g.sequence(id), seq.as_slice(), "{text:?}");
            }
        }
    }

    #[test]
    fn a_record_without_bases_is_left_out_as_samtools_leaves_it() {
        let dir = tempfile::tempdir().unwrap();
        let fa = write(dir.path(), "g.fa", ">a\nACGT\n>e\n>c\nGGCC\n");
        // the index `samtools faidx` writes for it, read back as crossreg's own
        fs::write(fai_path(&fa), "a\t4\t3\t4\t5\nc\t4\t14\t4\t5\n").unwrap();
        let g = Genome::load(&fa, false).unwrap();
        assert_eq!(g.names(), ["a", "c"]);
        let none = write(dir.path(), "none.fa", ">e\n>f\n");
        let err = Genome::load(&none, false).err().unwrap().to_string();
        assert!(err.contains("no '>' record with bases"), "{err}");
    }

    #[test]
    fn a_two_bit_file_is_named_as_such_on_either_byte_order() {
        let dir = tempfile::tempdir().unwrap();
        for magic in TWO_BIT_MAGIC {
            let path = dir.path().join("g.fa");
            std::fs::write(&path, [&magic[..], &[0u8; 12]].concat()).unwrap();
            let err = Genome::load(&path, false).err().unwrap().to_string();
            let expected = format!("{}: is a UCSC .2bit file, not a FASTA", path.display());
            assert!(err.starts_with(&expected), "{err}");
        }
    }

    #[test]
    fn line_endings_a_fasta_cannot_have_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                ">chr1\rACGT\r>chr2\rGG\r",
                ":1: a header line holds a carriage return",
            ),
            (
                "\u{feff}>chr1\nACGT\n",
                ":1: the file starts with a UTF-8 byte-order mark",
            ),
            (
                ">c\nACGT\r\nACGT\nAC\n",
                "mixes line endings (line 3 ends differently",
            ),
            (
                ">c\nACGT\nAC\nACGT\n",
                "line 3 is shorter than the lines before it",
            ),
        ];
        for (text, expected) in cases {
            let fa = write(dir.path(), "g.fa", text);
            let err = build_index(&fa).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn an_unterminated_last_line_is_indexed_as_samtools_does() {
        // samtools faidx writes `c2 2 13 2 3` and `a 4 4 4 5`: the missing newline counted
        let dir = tempfile::tempdir().unwrap();
        let fa = write(dir.path(), "g.fa", ">c1\nACGT\n>c2\nAC");
        let idx = build_index(&fa).unwrap();
        assert_eq!(
            (idx[1].offset, idx[1].line_bases, idx[1].line_bytes),
            (13, 2, 3)
        );
        let crlf = write(dir.path(), "crlf.fa", ">a\r\nACGT");
        assert_eq!(build_index(&crlf).unwrap()[0].line_bytes, 5);
        // samtools' index beside it is accepted, and so is one older crossreg wrote
        for old in [
            "c1\t4\t4\t4\t5\nc2\t2\t13\t2\t3\n",
            "c1\t4\t4\t4\t5\nc2\t2\t13\t2\t2\n",
        ] {
            fs::write(fai_path(&fa), old).unwrap();
            assert_eq!(
                Genome::load(&fa, false).unwrap().fetch("c2", 0, 2).unwrap(),
                b"AC"
            );
        }
        // a multi-line record whose line width differs is still refused
        let multi = write(dir.path(), "m.fa", ">m\nACG\nT");
        fs::write(fai_path(&multi), "m\t4\t3\t3\t5\n").unwrap();
        assert!(Genome::load(&multi, false).is_err());
    }

    #[test]
    fn crlf_lines_are_indexed_with_their_width() {
        let dir = tempfile::tempdir().unwrap();
        let fa = write(dir.path(), "g.fa", ">a\r\nACG\r\nT\r\n");
        let idx = build_index(&fa).unwrap();
        assert_eq!(idx[0].line_bytes, 5);
        assert_eq!(
            Genome::load(&fa, false).unwrap().fetch("a", 0, 4).unwrap(),
            b"ACGT"
        );
    }

    #[test]
    fn fetch_pads_both_ends_with_n() {
        let g = Genome::from_sequences("t", vec![("c".into(), b"ACGTA".to_vec())]).unwrap();
        assert_eq!(g.fetch("c", -2, 3).unwrap(), b"NNACG");
        assert_eq!(g.fetch("c", 3, 8).unwrap(), b"TANNN");
        assert_eq!(g.fetch("c", -3, 8).unwrap(), b"NNNACGTANNN");
        assert_eq!(g.fetch("c", 9, 11).unwrap(), b"NN");
        assert_eq!(g.fetch("c", 2, 2).unwrap(), b"");
        assert!(g.fetch("c", 3, 2).is_err());
    }

    #[test]
    fn a_window_too_large_for_memory_is_an_error_not_an_abort() {
        let g = Genome::from_sequences("t", vec![("c".into(), b"ACGTA".to_vec())]).unwrap();
        for (start, end) in [(0, 1 << 62), (i64::MIN, i64::MAX)] {
            let err = g.fetch("c", start, end).unwrap_err();
            assert!(matches!(err, Error::OutOfMemory(_)), "{err}");
            assert!(
                err.to_string().contains(&format!("c:{start}-{end}")),
                "{err}"
            );
        }
        assert!(matches!(
            zeroed_bytes(usize::MAX, "x"),
            Err(Error::OutOfMemory(_))
        ));
        assert_eq!(zeroed_bytes(3, "x").unwrap(), vec![0, 0, 0]);
    }

    #[test]
    fn fetch_many_matches_single_fetches() {
        let g = Genome::from_sequences(
            "t",
            vec![
                ("a".into(), b"ACGTACGT".to_vec()),
                ("b".into(), b"TTGG".to_vec()),
            ],
        )
        .unwrap();
        let mut out = vec![0u8; 3 * 4];
        g.fetch_many_into(&[0, 1, 1], &[-1, 2, 0], 4, &mut out)
            .unwrap();
        assert_eq!(&out, b"NACGGGNNTTGG");
        // windows whose end lies beyond i64: all padding (the end used to overflow)
        let mut far = vec![0u8; 2 * 4];
        g.fetch_many_into(&[0, 1], &[i64::MAX - 1, i64::MIN], 4, &mut far)
            .unwrap();
        assert_eq!(&far, b"NNNNNNNN");
    }

    #[test]
    fn loading_holds_the_bases_once() {
        let dir = tempfile::tempdir().unwrap();
        let line = "ACGTTGCA".repeat(10);
        let mut text = String::new();
        for c in 0..4 {
            text.push_str(&format!(">c{c}\n"));
            for _ in 0..4_000 {
                text.push_str(&line);
                text.push('\n');
            }
        }
        let fa = write(dir.path(), "g.fa", &text);
        peak::reset();
        let g = Genome::load(&fa, true).unwrap();
        let peak = peak::bytes();
        assert_eq!(g.lengths(), vec![320_000; 4]);
        assert_eq!(&g.sequence(3)[..8], b"ACGTTGCA");
        assert_eq!(g.fetch("c1", 319_998, 320_002).unwrap(), b"CANN");
        // the file is read whole once and its bases are moved to its front, not copied out
        assert!(
            peak < text.len() * 5 / 4,
            "loading a {} byte FASTA peaked at {peak} bytes",
            text.len()
        );
    }

    #[test]
    fn a_compressed_fasta_loads_as_the_plain_one_holding_its_bases_once() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for (c, lines) in [(0, 100_000), (1, 70_001), (2, 1)] {
            text.push_str(&format!(">c{c} x\r\n"));
            for i in 0..lines {
                text.push_str(["ACGTTGCAac", "NNNNNNNNNN", "ggccttaaTT"][i % 3]);
                text.push_str("ACGTTGCAACGTTGCAACGTTGCA\r\n");
            }
        }
        let plain = write(dir.path(), "g.fa", &text);
        let expected = Genome::load(&plain, false).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        for (name, stored) in [
            ("g.fa.gz", gz.finish().unwrap()),
            ("g.bgz", inflate::bgzf(text.as_bytes(), 65_280)),
        ] {
            let path = dir.path().join(name);
            fs::write(&path, &stored).unwrap();
            peak::reset();
            let g = Genome::load(&path, false).unwrap();
            let peak = peak::bytes();
            assert_eq!(g.names(), expected.names());
            assert_eq!(g.lengths(), vec![3_400_000, 2_380_034, 34]);
            for id in 0..3 {
                assert!(g.sequence(id) == expected.sequence(id), "{name}");
            }
            // the decompressed text, a quarter of it at most unused, and a block's buffer
            // or, for gzip, the compressed file
            let compressed = if name.ends_with(".gz") {
                stored.len()
            } else {
                0
            };
            assert!(
                peak < text.len() * 5 / 4 + compressed + (1 << 20),
                "loading {name} ({} bytes decompressed) peaked at {peak} bytes",
                text.len()
            );
            assert!(!fai_path(&path).exists());
            assert_eq!(build_index(&path).unwrap(), build_index(&plain).unwrap());
        }
    }

    #[test]
    fn a_bgzf_block_claiming_more_than_64_kib_is_refused_before_room_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let mut stored = inflate::bgzf(b">c\nACGT\n", 65_280);
        let first = usize::from(u16::from_le_bytes([stored[16], stored[17]])) + 1;
        stored[first - 4..first].copy_from_slice(&u32::MAX.to_le_bytes()); // its ISIZE
        let path = dir.path().join("g.fa.gz");
        fs::write(&path, &stored).unwrap();
        peak::reset();
        let message = Genome::load(&path, false).err().unwrap().to_string();
        assert!(peak::bytes() < 1 << 20, "{} bytes held", peak::bytes());
        assert!(
            message.contains("a size or CRC that does not match in the block at byte 0"),
            "{message}"
        );
    }

    /// The most bytes this thread's allocations held at once since [`peak::reset`].
    mod peak {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        struct Counting;

        thread_local! {
            static LIVE: Cell<isize> = const { Cell::new(0) };
            static PEAK: Cell<isize> = const { Cell::new(0) };
            static BASE: Cell<isize> = const { Cell::new(0) };
        }

        fn add(delta: isize) {
            // `try_with`: allocations while the thread's locals are torn down go uncounted
            let _ = LIVE.try_with(|live| {
                live.set(live.get() + delta);
                let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
            });
        }

        // SAFETY: every call is forwarded to the system allocator unchanged.
        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                add(layout.size() as isize);
                System.alloc(layout)
            }

            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                add(-(layout.size() as isize));
                System.dealloc(ptr, layout)
            }

            unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
                add(new_size as isize - layout.size() as isize);
                System.realloc(ptr, layout, new_size)
            }
        }

        #[global_allocator]
        static COUNTING: Counting = Counting;

        pub fn reset() {
            let live = LIVE.with(Cell::get);
            BASE.with(|base| base.set(live));
            PEAK.with(|peak| peak.set(live));
        }

        pub fn bytes() -> usize {
            (PEAK.with(Cell::get) - BASE.with(Cell::get)).max(0) as usize
        }
    }

    #[test]
    fn unknown_chromosome_suggests_the_prefix() {
        let g = Genome::from_sequences("x.fa", vec![("chr1".into(), b"A".to_vec())]).unwrap();
        let msg = g.fetch("1", 0, 1).unwrap_err().to_string();
        assert!(msg.contains("'1' is not in x.fa"), "{msg}");
        assert!(msg.contains("'chr1'"), "{msg}");
    }

    #[test]
    fn malformed_files_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (">a\nACG\nA\nACG\n", "a.fa:4:"),
            (">a\nAC\nACGT\n", "a.fa:3:"),
            ("ACGT\n", "a.fa:1:"),
            (">a\nA\n>a\nC\n", "a.fa:3:"),
            (">\nA\n", "a.fa:1:"),
            (
                ">a\nACGTA\tGTAC\n",
                "a.fa:2: record 'a' has a tab at column 6, which is not a base",
            ),
            (">a\nACGT\nAC12\n", "a.fa:3: record 'a' has '1' at column 3"),
            (">a\nACGT \n", "a.fa:2: record 'a' has a space at column 5"),
        ];
        for (text, expect) in cases {
            let fa = write(dir.path(), "a.fa", text);
            let msg = build_index(&fa).unwrap_err().to_string();
            assert!(msg.contains(expect), "{text:?} gave {msg}");
        }
        let latin = dir.path().join("l.fa");
        fs::write(&latin, b">a\nAC\xe9T\n").unwrap();
        let msg = build_index(&latin).unwrap_err().to_string();
        assert!(
            msg.contains("l.fa:2: record 'a' has the byte 0xE9 at column 3"),
            "{msg}"
        );
        let iupac = write(dir.path(), "i.fa", ">a\nACGTNRYKMSWBDHV\nacgtnrykm-*\n");
        assert_eq!(build_index(&iupac).unwrap()[0].length, 26);
        let gz = dir.path().join("z.fa");
        fs::write(&gz, [0x1f, 0x8b, 0, 0]).unwrap();
        let msg = Genome::load(&gz, false).err().unwrap().to_string();
        assert!(
            msg.contains("z.fa: the gzip stream is truncated or corrupt"),
            "{msg}"
        );
        let xz = dir.path().join("x.fa");
        fs::write(&xz, b"\xfd7zXZ\x00rest").unwrap();
        let msg = Genome::load(&xz, false).err().unwrap().to_string();
        assert!(msg.contains("x.fa: the file is xz-compressed"), "{msg}");
    }

    #[test]
    fn a_stale_index_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fa = write(dir.path(), "g.fa", ">a\nACGT\n");
        Genome::load(&fa, false).unwrap();
        write(dir.path(), "g.fa", ">a\nACGTAC\n");
        let msg = Genome::load(&fa, false).err().unwrap().to_string();
        assert!(msg.contains("does not match"), "{msg}");
    }
}
