//! A BigWig reader at the level of its compressed data blocks.
//!
//! Reads the header, the chromosome B+ tree and the R-tree index of the data sections
//! (never the zoom levels) and hands out the blocks overlapping a range, each decoded
//! with libdeflate and walked record by record. Callers see every block once, in the
//! order of the bases they cover, so a sweep over a chromosome decompresses each block a
//! single time.
//!
//! Format: UCSC's bbi files (Kent et al. 2010); both byte orders are read.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use libdeflater::Decompressor;

use crate::{Error, Result};

const BIGWIG_MAGIC: u32 = 0x888F_FC26;
const CHROM_TREE_MAGIC: u32 = 0x78CA_8C91;
const INDEX_MAGIC: u32 = 0x2468_ACE0;
/// Bytes of a section header inside a data block.
const SECTION_HEADER: usize = 24;
/// The most bytes a data block may decompress to (real files use kilobytes; a corrupt
/// header must not make every reader allocate gigabytes).
const MAX_BLOCK_BYTES: usize = 64 << 20;

/// A chromosome of the file: name, id used by the index and length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chrom {
    pub name: String,
    pub id: u32,
    pub length: u64,
}

/// One data block of the index: the chromosome range it covers and where it lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// First base covered (on the query's chromosome).
    pub start: u64,
    /// End of the covered range (exclusive; `u64::MAX` when it runs into a later chromosome).
    pub end: u64,
    pub offset: u64,
    pub size: u64,
}

/// An open BigWig file: header fields, chromosomes and the file handle (read with
/// positioned reads, so one handle serves every thread).
#[derive(Debug)]
pub struct BigWigFile {
    path: PathBuf,
    file: File,
    swap: bool,
    /// The file's size in bytes: nothing is read (or allocated for reading) past it.
    len: u64,
    /// 0 when the data blocks are stored uncompressed.
    uncompress_buf_size: usize,
    /// Offset of the data index's root node; None in a file without data.
    index_root: Option<u64>,
    chroms: Vec<Chrom>,
    /// Index in `chroms` of each name (its first chromosome of that name): a lookup per
    /// chromosome of the windows, which on a scaffold assembly are thousands among
    /// hundreds of thousands of names.
    by_name: HashMap<String, usize>,
}

/// Little reader of fixed-width fields in the file's byte order.
struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
    swap: bool,
}

impl Fields<'_> {
    fn u16(&mut self) -> u16 {
        let v = u16::from_le_bytes([self.bytes[self.at], self.bytes[self.at + 1]]);
        self.at += 2;
        if self.swap {
            v.swap_bytes()
        } else {
            v
        }
    }

    fn u32(&mut self) -> u32 {
        let v = u32::from_le_bytes(self.bytes[self.at..self.at + 4].try_into().unwrap());
        self.at += 4;
        if self.swap {
            v.swap_bytes()
        } else {
            v
        }
    }

    fn u64(&mut self) -> u64 {
        let v = u64::from_le_bytes(self.bytes[self.at..self.at + 8].try_into().unwrap());
        self.at += 8;
        if self.swap {
            v.swap_bytes()
        } else {
            v
        }
    }

    fn skip(&mut self, n: usize) {
        self.at += n;
    }
}

impl BigWigFile {
    /// Open `path` and read its header and chromosome list.
    pub fn open(path: &Path) -> Result<BigWigFile> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len == 0 {
            return Err(Error::parse(
                path,
                0,
                "the BigWig file is empty (0 bytes), as an interrupted download or copy \
                 leaves it; copy it again",
            ));
        }
        let mut header = [0u8; 64];
        read_exact_at(&file, path, &mut header, 0).map_err(|err| match err {
            Error::Parse { .. } => {
                Error::parse(path, 0, "not a BigWig file (shorter than its header)")
            }
            other => other,
        })?;
        let magic = u32::from_le_bytes(header[..4].try_into().unwrap());
        let swap = match magic {
            BIGWIG_MAGIC => false,
            m if m.swap_bytes() == BIGWIG_MAGIC => true,
            _ => {
                return Err(Error::parse(
                    path,
                    0,
                    "not a BigWig file (wrong magic number)",
                ))
            }
        };
        let mut f = Fields {
            bytes: &header,
            at: 8,
            swap,
        };
        let chrom_tree_offset = f.u64();
        let _data_offset = f.u64();
        let index_offset = f.u64();
        f.skip(2 + 2 + 8 + 8);
        let uncompress_buf_size = f.u32() as usize;
        if uncompress_buf_size > MAX_BLOCK_BYTES {
            return Err(Error::parse(
                path,
                0,
                format!(
                    "corrupt BigWig: its blocks would decompress to {uncompress_buf_size} bytes \
                     (at most {MAX_BLOCK_BYTES} are expected)"
                ),
            ));
        }
        let mut bw = BigWigFile {
            path: path.to_path_buf(),
            file,
            len,
            swap,
            uncompress_buf_size,
            index_root: None,
            chroms: Vec::new(),
            by_name: HashMap::new(),
        };
        bw.chroms = bw.read_chrom_tree(chrom_tree_offset)?;
        bw.index_root = bw.read_index_root(index_offset)?;
        for (i, chrom) in bw.chroms.iter().enumerate() {
            bw.by_name.entry(chrom.name.clone()).or_insert(i);
        }
        Ok(bw)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Chromosomes in the order of the file's chromosome tree.
    pub fn chroms(&self) -> &[Chrom] {
        &self.chroms
    }

    /// The chromosome called `name`, if the file has it.
    pub fn chrom(&self, name: &str) -> Option<&Chrom> {
        self.by_name.get(name).map(|&i| &self.chroms[i])
    }

    fn corrupt(&self, what: impl std::fmt::Display) -> Error {
        Error::parse(&self.path, 0, format!("corrupt BigWig: {what}"))
    }

    /// The most bytes a stored data block can take: as many as blocks decompress to at
    /// most, and deflate's few bytes of overhead when they are compressed (zlib's bound is
    /// `n + n / 4096 + n / 16384 + 13`; stored deflate blocks add 5 bytes per 65,535).
    fn max_stored_block(&self) -> u64 {
        match self.uncompress_buf_size as u64 {
            0 => MAX_BLOCK_BYTES as u64,
            n => n + n / 1000 + 64,
        }
    }

    /// Stop, before anything is allocated, when `len` bytes at `offset` run past the file.
    fn check_within(&self, offset: u64, len: u64) -> Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(self.corrupt(format!(
                "{len} bytes at offset {offset} lie past the end of the file ({} bytes)",
                self.len
            ))),
        }
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        self.check_within(offset, len as u64)?;
        let mut buf = vec![0u8; len];
        read_exact_at(&self.file, &self.path, &mut buf, offset)?;
        Ok(buf)
    }

    fn fields<'a>(&self, bytes: &'a [u8]) -> Fields<'a> {
        Fields {
            bytes,
            at: 0,
            swap: self.swap,
        }
    }

    fn read_chrom_tree(&self, offset: u64) -> Result<Vec<Chrom>> {
        let head = self.read_at(offset, 32)?;
        let mut f = self.fields(&head);
        if f.u32() != CHROM_TREE_MAGIC {
            return Err(Error::parse(
                &self.path,
                0,
                "the BigWig's chromosome list is unreadable",
            ));
        }
        let _block_size = f.u32();
        let key_size = f.u32() as usize;
        let _val_size = f.u32();
        let mut chroms = Vec::new();
        self.read_chrom_node(offset + 32, key_size, &mut chroms, (0, &mut HashSet::new()))?;
        let mut ids: Vec<u32> = chroms.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        if ids.iter().enumerate().any(|(i, &id)| id as usize != i) {
            return Err(self.corrupt(format!(
                "its {} chromosomes do not have the ids 0 to {}",
                chroms.len(),
                chroms.len().saturating_sub(1)
            )));
        }
        Ok(chroms)
    }

    fn read_chrom_node(
        &self,
        offset: u64,
        key_size: usize,
        out: &mut Vec<Chrom>,
        (depth, seen): (usize, &mut HashSet<u64>),
    ) -> Result<()> {
        if depth > 64 {
            return Err(self.corrupt("the chromosome tree is too deep"));
        }
        // a node reached twice would be read again for every path to it: a few nodes
        // pointing each other's way multiply into billions of chromosomes
        if !seen.insert(offset) {
            return Err(self.corrupt(format!(
                "the chromosome tree reaches its node at offset {offset} twice"
            )));
        }
        let head = self.read_at(offset, 4)?;
        let is_leaf = head[0] != 0;
        let count = self.fields(&head[2..]).u16() as usize;
        let item = key_size + 8;
        let items = self.read_at(offset.saturating_add(4), count.saturating_mul(item))?;
        for raw in items.chunks_exact(item) {
            let key = &raw[..key_size];
            let mut f = self.fields(&raw[key_size..]);
            if is_leaf {
                let name_len = key.iter().position(|&b| b == 0).unwrap_or(key_size);
                let Ok(name) = std::str::from_utf8(&key[..name_len]) else {
                    return Err(self.corrupt(format!(
                        "chromosome name '{}' is not UTF-8 text (each byte that is not is \
                         shown as '\u{fffd}'), so no chromosome of the FASTA matches it: the \
                         file is damaged or was written from names in another encoding; copy \
                         it again, or write it anew with the FASTA's names",
                        String::from_utf8_lossy(&key[..name_len])
                    )));
                };
                let name = name.to_string();
                let id = f.u32();
                let length = u64::from(f.u32());
                out.push(Chrom { name, id, length });
            } else {
                self.read_chrom_node(f.u64(), key_size, out, (depth + 1, seen))?;
            }
        }
        Ok(())
    }

    /// The offset of the data index's root node, None when the file has no data (libBigWig
    /// writes its index offset as 0, UCSC's tools an index of no items and no node).
    ///
    /// Its header and root are read as the file opens, so that a file cut short (an
    /// interrupted download or copy), which loses the index that writers put after the
    /// data, is refused by the input checks rather than when its track is computed.
    fn read_index_root(&self, index_offset: u64) -> Result<Option<u64>> {
        if index_offset == 0 {
            return Ok(None);
        }
        let cut_short = |_| {
            self.corrupt(format!(
                "the file ends at byte {}, before the end of its data index (from offset \
                 {index_offset}): it was cut short, as by an interrupted download or copy; \
                 copy it again",
                self.len
            ))
        };
        self.check_within(index_offset, 48).map_err(cut_short)?;
        let head = self.read_at(index_offset, 48)?;
        let mut f = self.fields(&head);
        if f.u32() != INDEX_MAGIC {
            return Err(self.corrupt("the data index has a wrong magic number"));
        }
        let _block_size = f.u32();
        if f.u64() == 0 {
            return Ok(None);
        }
        let root = index_offset + 48;
        self.check_within(root, 4).map_err(cut_short)?;
        let node = self.read_at(root, 4)?;
        let items = u64::from(self.fields(&node[2..]).u16());
        let item = if node[0] != 0 { 32 } else { 24 };
        self.check_within(root + 4, items * item)
            .map_err(cut_short)?;
        Ok(Some(root))
    }

    /// Data blocks overlapping `[start, end)` of chromosome `chrom_id`, by the first base
    /// they cover, then in file order (none in a file without data). Writers store a
    /// chromosome's blocks in that order, except bigWigCat, which stores those of its input
    /// files in the order they are given, so that a file cut in pieces along a chromosome and
    /// concatenated in another order has them out of order in the file.
    pub fn blocks(&self, chrom_id: u32, start: u64, end: u64) -> Result<Vec<Block>> {
        let Some(root) = self.index_root else {
            return Ok(Vec::new());
        };
        let mut blocks = Vec::new();
        let query = (chrom_id, start, end);
        self.search_index(root, query, &mut blocks, (0, &mut HashSet::new()))?;
        blocks.sort_by_key(|b| (b.start, b.offset));
        Ok(blocks)
    }

    fn search_index(
        &self,
        offset: u64,
        (chrom, start, end): (u32, u64, u64),
        out: &mut Vec<Block>,
        (depth, seen): (usize, &mut HashSet<u64>),
    ) -> Result<()> {
        if depth > 64 {
            return Err(self.corrupt("the data index is too deep"));
        }
        // a node reached twice would have its blocks read (and their values added) twice
        if !seen.insert(offset) {
            return Err(self.corrupt(format!(
                "the data index reaches its node at offset {offset} twice"
            )));
        }
        let head = self.read_at(offset, 4)?;
        let is_leaf = head[0] != 0;
        let count = self.fields(&head[2..]).u16() as usize;
        let item = if is_leaf { 32 } else { 24 };
        let items = self.read_at(offset.saturating_add(4), count * item)?;
        for raw in items.chunks_exact(item) {
            let mut f = self.fields(raw);
            let (sc, sb, ec, eb) = (f.u32(), u64::from(f.u32()), f.u32(), u64::from(f.u32()));
            if (sc, sb) > (ec, eb) {
                return Err(self.corrupt(format!(
                    "an index entry ends ({ec}:{eb}) before it starts ({sc}:{sb})"
                )));
            }
            // the item covers (sc, sb) .. (ec, eb); keep it when it meets (chrom, start..end)
            let starts_before_end = sc < chrom || (sc == chrom && sb < end);
            let ends_after_start = ec > chrom || (ec == chrom && eb > start);
            if !(starts_before_end && ends_after_start) {
                continue;
            }
            let child = f.u64();
            if is_leaf {
                out.push(Block {
                    start: if sc < chrom { 0 } else { sb },
                    end: if ec > chrom { u64::MAX } else { eb },
                    offset: child,
                    size: f.u64(),
                });
            } else {
                self.search_index(child, (chrom, start, end), out, (depth + 1, seen))?;
            }
        }
        Ok(())
    }
}

fn read_exact_at(file: &File, path: &Path, buf: &mut [u8], offset: u64) -> Result<()> {
    file.read_exact_at(buf, offset).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::parse(
                path,
                0,
                format!(
                    "corrupt BigWig: {} bytes at offset {offset} lie past the end of the file",
                    buf.len()
                ),
            )
        } else {
            Error::io(path, e)
        }
    })
}

/// What receives the records of a block.
pub trait Records {
    /// One record: `value` on `[start, end)`.
    fn record(&mut self, start: u64, end: u64, value: f32);

    /// The records of one section, in its order (one loop per section for receivers
    /// that keep state across records).
    fn records(&mut self, records: impl Iterator<Item = (u64, u64, f32)>) {
        for (start, end, value) in records {
            self.record(start, end, value);
        }
    }

    /// A run of one-base records from `start` on, as little-endian float32 bytes (a
    /// fixed-step section of step and span 1).
    fn per_base(&mut self, start: u64, values: &[u8]) {
        for (i, v) in values.chunks_exact(4).enumerate() {
            let v = f32::from_le_bytes(v.try_into().unwrap());
            self.record(start + i as u64, start + i as u64 + 1, v);
        }
    }
}

/// Reads and decompresses blocks of one file, reusing its buffers.
pub struct BlockReader<'a> {
    file: &'a BigWigFile,
    inflater: Decompressor,
    raw: Vec<u8>,
    data: Vec<u8>,
}

impl<'a> BlockReader<'a> {
    /// A reader of `file`'s blocks.
    pub fn new(file: &'a BigWigFile) -> BlockReader<'a> {
        BlockReader {
            file,
            inflater: Decompressor::new(),
            raw: Vec::new(),
            data: Vec::new(),
        }
    }

    /// The decompressed bytes of `block`.
    pub fn decode(&mut self, block: &Block) -> Result<&[u8]> {
        let file = self.file;
        // a damaged size must not have gigabytes allocated and read before the block fails
        let most = file.max_stored_block();
        if block.size > most {
            return Err(file.corrupt(format!(
                "the block at offset {} is {} bytes long, more than a block of this file can \
                 be ({most} bytes)",
                block.offset, block.size
            )));
        }
        file.check_within(block.offset, block.size)?;
        self.raw.resize(block.size as usize, 0);
        read_exact_at(&file.file, &file.path, &mut self.raw, block.offset)?;
        if file.uncompress_buf_size == 0 {
            return Ok(&self.raw);
        }
        self.data.resize(file.uncompress_buf_size, 0);
        let n = self
            .inflater
            .zlib_decompress(&self.raw, &mut self.data)
            .map_err(|e| {
                file.corrupt(format!(
                    "the block at offset {} does not decompress ({e})",
                    block.offset
                ))
            })?;
        Ok(&self.data[..n])
    }

    /// Hand every record of chromosome `chrom_id` in the decompressed `block` to `sink`,
    /// in the block's order.
    pub fn for_each_record(
        &mut self,
        block: &Block,
        chrom_id: u32,
        sink: &mut impl Records,
    ) -> Result<()> {
        let swap = self.file.swap;
        let file = self.file;
        let data = self.decode(block)?;
        let mut at = 0;
        while at + SECTION_HEADER <= data.len() {
            let mut f = Fields {
                bytes: data,
                at,
                swap,
            };
            let (id, start, _end, step, span) = (f.u32(), f.u32(), f.u32(), f.u32(), f.u32());
            let kind = data[at + 20];
            f.skip(2);
            let count = f.u16() as usize;
            at += SECTION_HEADER;
            let item = match kind {
                1 => 12,
                2 => 8,
                3 => 4,
                other => return Err(file.corrupt(format!("unknown section type {other}"))),
            };
            let body = data.get(at..at + count * item).ok_or_else(|| {
                file.corrupt(format!("a section at offset {} is cut short", block.offset))
            })?;
            at += count * item;
            if id as usize >= file.chroms.len() {
                return Err(file.corrupt(format!(
                    "the block at offset {} holds chromosome id {id}, which the file does not \
                     have",
                    block.offset
                )));
            }
            if id != chrom_id {
                continue;
            }
            let (step, span) = (u64::from(step), u64::from(span));
            let word = |b: &[u8], i: usize| {
                let v = u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
                if swap {
                    v.swap_bytes()
                } else {
                    v
                }
            };
            match kind {
                1 if !swap => sink.records(body.chunks_exact(12).map(|r| {
                    let le = |i: usize| u32::from_le_bytes(r[i..i + 4].try_into().unwrap());
                    (u64::from(le(0)), u64::from(le(4)), f32::from_bits(le(8)))
                })),
                1 => sink.records(body.chunks_exact(12).map(|r| {
                    let (s, e) = (word(r, 0), word(r, 4));
                    (u64::from(s), u64::from(e), f32::from_bits(word(r, 8)))
                })),
                2 => sink.records(body.chunks_exact(8).map(|r| {
                    let s = u64::from(word(r, 0));
                    (s, s + span, f32::from_bits(word(r, 4)))
                })),
                _ if step == 1 && span == 1 && !swap => sink.per_base(u64::from(start), body),
                _ => {
                    let start = u64::from(start);
                    sink.records(body.chunks_exact(4).enumerate().map(|(i, r)| {
                        let s = start + i as u64 * step;
                        (s, s + span, f32::from_bits(word(r, 0)))
                    }))
                }
            }
        }
        Ok(())
    }
}

/// Decompress every data block of `path` overlapping its chromosomes once, keeping
/// nothing: the floor any exact reader of the file pays. Returns `(blocks, compressed
/// bytes, decompressed bytes)`.
pub fn decode_all(path: &Path) -> Result<(u64, u64, u64)> {
    let file = BigWigFile::open(path)?;
    let mut reader = BlockReader::new(&file);
    let (mut n, mut packed, mut unpacked) = (0u64, 0u64, 0u64);
    for chrom in file.chroms() {
        for block in file.blocks(chrom.id, 0, chrom.length)? {
            n += 1;
            packed += block.size;
            unpacked += reader.decode(&block)?.len() as u64;
        }
    }
    Ok((n, packed, unpacked))
}
