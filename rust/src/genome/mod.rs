//! FASTA files: the `.fai` index and an in-memory genome with padded window fetches.
//!
//! A [`Genome`] reads the whole FASTA once into memory (one byte per base, case kept) and
//! then serves `(chrom, start, end)` windows that may run off either end of a chromosome;
//! the part outside is filled with `N`. A gzip or BGZF (bgzip) FASTA is decompressed into
//! memory as it is read ([`crate::inflate`]). The `.fai` index is written beside a plain
//! FASTA when it is missing, and checked against the sequences when it is present; beside a
//! compressed one it is neither written nor read. The file's size and SHA-256 (its content
//! identity, of the bytes as stored) can be taken from the same read.

mod fai;
mod read;
mod scan;

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;

use crate::error::chrom_hint;
use crate::inflate::Content;
use crate::{Error, Result};
pub use fai::{fai_path, read_fai, write_fai, FaiRecord};
use read::read_fasta;
pub use scan::build_index;
use scan::scan_and_hash;

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

/// The bases of the FASTA bytes `data`, which [`scan::scan_fasta`] indexed as `index`,
/// moved to its front record by record (each line lands at or before where it was, so a
/// genome costs its file's size in memory once, not twice), and each record's range in
/// them.
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
    use std::fs;
    use std::path::PathBuf;

    pub(super) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        p
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

    /// The most bytes this thread's allocations held at once since [`peak::reset`].
    pub(super) mod peak {
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
    fn a_stale_index_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fa = write(dir.path(), "g.fa", ">a\nACGT\n");
        Genome::load(&fa, false).unwrap();
        write(dir.path(), "g.fa", ">a\nACGTAC\n");
        let msg = Genome::load(&fa, false).err().unwrap().to_string();
        assert!(msg.contains("does not match"), "{msg}");
    }
}
