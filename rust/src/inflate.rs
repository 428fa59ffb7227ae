//! A whole gzip file decompressed into memory: one member (`gzip`), many members (`cat
//! a.gz b.gz`) or BGZF (`bgzip`: members of at most 64 KiB that say their own size).
//!
//! The file is read once, front to back; its bytes can be hashed as they pass (the
//! content identity of the file as stored). BGZF is streamed: each block is inflated with
//! libdeflate as it is read, so what is held is the decompressed bytes, in a buffer grown
//! by at least a quarter at a time (its unused end at most a quarter of what it holds,
//! never written), plus one block. In parallel the blocks were no faster on two shared
//! cores (`benches/bench_genome_load.py --compressed`), so they are not. Other gzip files
//! (`gzip`'s one member, several) are read whole and each member inflated whole with
//! libdeflate, twice the speed of flate2's stream decoder (`benches/README.md`): what is held is then the
//! compressed file as well as the decompressed bytes, until the last member is inflated.
//! A member is inflated into room guessed first: the file's last ISIZE (the size modulo
//! 4 GiB, the whole size of one member under 4 GiB) and otherwise at most twice the room
//! tried before ([`next_room`]); a member larger than its room is inflated again into
//! more, and the buffer's unused end, never written, is given back past a quarter.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use libdeflater::{crc32, Decompressor};

use crate::digest::HashingReader;
use crate::file_kind::read_fully;
use crate::gzip_member::{Member, MemberInflater};
use crate::{Error, Result};

/// The fixed part of a gzip member's header, before its extra field.
const HEADER: usize = 12;

/// The header of a BGZF block up to its size: the fixed part and the `BC` subfield.
pub const BLOCK_HEAD: usize = HEADER + 6;

/// The most bytes a BGZF block inflates to (the SAM specification's limit).
const MAX_BLOCK: usize = 1 << 16;

/// A file's size and lowercase hex SHA-256.
pub type Content = (u64, String);

/// The decompressed bytes of the gzip file at `path`, opened as `file`, whose first bytes
/// `head` (at least [`BLOCK_HEAD`] when the file has them) were read from it already, and,
/// with `hash`, the size and SHA-256 of its bytes as stored. The file is read once, front
/// to back, so a pipe reads as a file does. A stream that ends early or does not inflate
/// is an error naming the file and how to check it; so is a BGZF file without its
/// end-of-file block (cut short at a block boundary, which inflates without error).
pub fn read_gzip(
    path: &Path,
    head: &[u8],
    mut file: File,
    hash: bool,
) -> Result<(Vec<u8>, Option<Content>)> {
    let bgzf = <&[u8; BLOCK_HEAD]>::try_from(head)
        .ok()
        .and_then(bgzf_block_size)
        .is_some();
    let stored = if bgzf {
        None
    } else {
        stored_trailer(&mut file, head.len(), path)?
    };
    let source = head.chain(file);
    if !hash {
        return Ok((inflate(path, source, bgzf, stored)?, None));
    }
    let (mut reader, digest) = HashingReader::new(source);
    let data = inflate(path, &mut reader, bgzf, stored)?;
    let content = digest
        .finished()
        .ok_or_else(|| Error::Invalid(format!("{}: not read to its end", path.display())))?;
    Ok((data, Some(content)))
}

/// A regular gzip file's size as stored and its last member's ISIZE (its decompressed
/// size modulo 4 GiB).
#[derive(Clone, Copy, Debug)]
struct Stored {
    size: usize,
    isize: u32,
}

/// The decompressed bytes of the gzip stream `source`: BGZF blocks, or members of the
/// file `stored` describes (`None`: a pipe, not looked at ahead).
fn inflate(path: &Path, source: impl Read, bgzf: bool, stored: Option<Stored>) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    if bgzf {
        read_bgzf(
            path,
            &mut BufReader::with_capacity(1 << 16, source),
            &mut data,
        )?;
    } else {
        read_members(path, source, stored, 0, &mut data)?;
    }
    Ok(data)
}

/// The size and last ISIZE of the file `file`, `None` when it is not a regular file or
/// too short to have a trailer; the file is left at `position`.
fn stored_trailer(file: &mut File, position: usize, path: &Path) -> Result<Option<Stored>> {
    let size = file.metadata().map_err(|e| Error::io(path, e))?;
    if !size.is_file() || size.len() < 18 {
        return Ok(None);
    }
    let mut trailer = [0u8; 4];
    file.seek(SeekFrom::End(-4))
        .and_then(|_| file.read_exact(&mut trailer))
        .and_then(|()| file.seek(SeekFrom::Start(position as u64)))
        .map_err(|e| Error::io(path, e))?;
    Ok(Some(Stored {
        size: usize::try_from(size.len()).unwrap_or(usize::MAX),
        isize: u32::from_le_bytes(trailer),
    }))
}

/// The room to try first for the first member of a gzip file of `compressed` bytes whose
/// last ISIZE is `isize`: that ISIZE when it is no smaller than the file (one member under
/// 4 GiB: its size), else [`next_room`] of the file's size.
fn first_room(compressed: usize, isize: Option<u32>) -> usize {
    match isize {
        Some(isize) if isize as usize >= compressed => isize as usize,
        _ => next_room(compressed, isize),
    }
}

/// The room to try next for a gzip member that did not fit in `tried` bytes: twice as
/// much (at least 1 MiB), or the first size above `tried` that the file's last ISIZE
/// (`isize`, the size modulo 4 GiB) allows where that is less: a member of more than
/// 4 GiB is inflated at most twice more than it would be with its size known.
fn next_room(tried: usize, isize: Option<u32>) -> usize {
    const WRAP: u64 = 1 << 32;
    let double = tried.saturating_mul(2).max(1 << 20);
    let Some(isize) = isize else {
        return double;
    };
    let tried64 = tried as u64;
    let mut allowed = tried64 - tried64 % WRAP + u64::from(isize);
    if allowed <= tried64 {
        allowed = allowed.saturating_add(WRAP);
    }
    usize::try_from(allowed).map_or(double, |allowed| allowed.min(double))
}

/// Room for `more` bytes at the end of `data`, grown by at least a quarter of what it
/// holds (amortised, and never more than a quarter unused); too much for memory is an error.
fn grow(data: &mut Vec<u8>, more: usize, path: &Path) -> Result<()> {
    if data.capacity() - data.len() >= more {
        return Ok(());
    }
    let want = more.max(data.len() / 4);
    data.try_reserve_exact(want).map_err(|_| {
        Error::OutOfMemory(format!(
            "{}: its {} decompressed bytes do not fit in this machine's memory",
            path.display(),
            data.len().saturating_add(more)
        ))
    })
}

/// The total size of the BGZF block whose header is `head`: `None` when it is not a BGZF
/// block (gzip magic, deflate, the extra field flag, and a `BC` subfield first, as bgzip
/// writes it).
fn bgzf_block_size(head: &[u8; BLOCK_HEAD]) -> Option<usize> {
    let extra = usize::from(u16::from_le_bytes([head[10], head[11]]));
    let is_bgzf = head.starts_with(&[0x1f, 0x8b, 8])
        && head[3] & 4 != 0
        && extra >= 6
        && head[12..16] == [b'B', b'C', 2, 0];
    if !is_bgzf {
        return None;
    }
    Some(usize::from(u16::from_le_bytes([head[16], head[17]])) + 1)
}

/// Inflate the gzip members of `source` (the file `stored` describes, or a pipe; from its
/// byte `start`) onto `data`: read whole, then each member inflated whole, into room
/// guessed first and more when it does not fit ([`first_room`], [`next_room`]).
fn read_members(
    path: &Path,
    mut source: impl Read,
    stored: Option<Stored>,
    start: u64,
    data: &mut Vec<u8>,
) -> Result<()> {
    let mut compressed = Vec::new();
    if let Some(stored) = stored {
        compressed.try_reserve_exact(stored.size).map_err(|_| {
            Error::OutOfMemory(format!(
                "{}: its {} compressed bytes do not fit in this machine's memory",
                path.display(),
                stored.size
            ))
        })?;
    }
    source
        .read_to_end(&mut compressed)
        .map_err(|e| Error::io(path, e))?;
    let isize = stored.map(|s| s.isize);
    let mut inflater = MemberInflater::new();
    let mut at = 0;
    let mut room = first_room(compressed.len(), isize);
    while at < compressed.len() {
        grow(data, room, path)?;
        match inflater.inflate(&compressed[at..], data) {
            Member::Inflated { consumed } => {
                at += consumed;
                room = 0; // the next member tries the room left first
            }
            Member::NoRoom => room = next_room(data.capacity() - data.len(), isize),
            Member::Bad => return Err(bad_member(path, &compressed[at..], start + at as u64)),
        }
    }
    drop(compressed);
    data.shrink_to(data.len() + data.len() / 4);
    Ok(())
}

/// The error of the gzip member at byte `at` of the file, `rest` onward, that did not
/// inflate.
fn bad_member(path: &Path, rest: &[u8], at: u64) -> Error {
    if rest.starts_with(&[0x1f, 0x8b, 8]) {
        corrupt(
            path,
            &format!("the member at byte {at} is cut short, or its data, size or CRC is wrong"),
        )
    } else {
        corrupt(path, &format!("invalid gzip header at byte {at}"))
    }
}

/// Inflate the BGZF stream `reader` onto `data`, block by block; members after the
/// blocks that are not BGZF (a gzip file appended) are read whole ([`read_members`]).
fn read_bgzf(path: &Path, reader: &mut impl Read, data: &mut Vec<u8>) -> Result<()> {
    let mut inflater = Decompressor::new();
    let mut block = vec![0u8; 1 << 16];
    let mut offset = 0u64;
    let mut last_empty = false;
    loop {
        let mut head = [0u8; BLOCK_HEAD];
        let n = read_fully(reader, &mut head).map_err(|e| corrupt(path, &e.to_string()))?;
        if n == 0 {
            break;
        }
        let Some(size) = (n == head.len()).then(|| bgzf_block_size(&head)).flatten() else {
            // not a BGZF block: another gzip member, or bytes named as not one
            return read_members(path, (&head[..n]).chain(reader), None, offset, data);
        };
        let at = |what: &str| corrupt(path, &format!("{what} the block at byte {offset}"));
        if size < BLOCK_HEAD + 8 {
            return Err(at("too short a size in"));
        }
        block[..BLOCK_HEAD].copy_from_slice(&head);
        reader
            .read_exact(&mut block[BLOCK_HEAD..size])
            .map_err(|_| at("the file ends inside"))?;
        let inflated = inflate_block(&mut inflater, &block[..size], data, path)?;
        if !inflated {
            return Err(at("a size or CRC that does not match in"));
        }
        last_empty = block_isize(&block[..size]) == 0;
        offset += size as u64;
    }
    if !last_empty {
        return Err(corrupt(
            path,
            "the BGZF file lacks its end-of-file block, so it was probably cut short",
        ));
    }
    Ok(())
}

/// The decompressed size a gzip member's trailer gives.
fn block_isize(block: &[u8]) -> usize {
    let n = block.len();
    u32::from_le_bytes([block[n - 4], block[n - 3], block[n - 2], block[n - 1]]) as usize
}

/// Inflate the BGZF `block` onto the end of `data`; whether it inflated to the size and
/// CRC32 of its trailer.
fn inflate_block(
    inflater: &mut Decompressor,
    block: &[u8],
    data: &mut Vec<u8>,
    path: &Path,
) -> Result<bool> {
    let size = block.len();
    let extra = usize::from(u16::from_le_bytes([block[10], block[11]]));
    let Some(body) = block.get(HEADER + extra..size - 8) else {
        return Ok(false);
    };
    let crc = u32::from_le_bytes([
        block[size - 8],
        block[size - 7],
        block[size - 6],
        block[size - 5],
    ]);
    let before = data.len();
    let length = block_isize(block);
    if length > MAX_BLOCK {
        return Ok(false); // not made room for: a damaged trailer can claim 4 GiB
    }
    grow(data, length, path)?;
    data.resize(before + length, 0);
    let out = &mut data[before..];
    let whole = inflater
        .deflate_decompress(body, out)
        .is_ok_and(|n| n == length);
    Ok(whole && crc32(out) == crc)
}

/// The error of a gzip file that ends early or does not inflate: what went wrong, and how
/// to check the file.
fn corrupt(path: &Path, why: &str) -> Error {
    Error::parse(
        path,
        0,
        format!(
            "the gzip stream is truncated or corrupt ({why}); re-download the file, or check it \
             with `gzip -t`"
        ),
    )
}

/// `data` as bgzip writes it: blocks of at most `block` bytes, then the end-of-file block.
#[cfg(test)]
pub(crate) fn bgzf(data: &[u8], block: usize) -> Vec<u8> {
    use libdeflater::{CompressionLvl, Compressor};
    let mut packer = Compressor::new(CompressionLvl::default());
    let mut out = Vec::new();
    let mut write_block = |chunk: &[u8], out: &mut Vec<u8>| {
        let mut body = vec![0u8; packer.deflate_compress_bound(chunk.len())];
        let n = packer.deflate_compress(chunk, &mut body).unwrap();
        let size = (BLOCK_HEAD + n + 8) as u16;
        out.extend_from_slice(&[
            0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0,
        ]);
        out.extend_from_slice(&(size - 1).to_le_bytes());
        out.extend_from_slice(&body[..n]);
        out.extend_from_slice(&crc32(chunk).to_le_bytes());
        out.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
    };
    for chunk in data.chunks(block) {
        write_block(chunk, &mut out);
    }
    // the end-of-file block, byte for byte as bgzip writes it
    out.extend_from_slice(&[
        0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0x1b, 0, 3, 0, 0, 0, 0, 0,
        0, 0, 0, 0,
    ]);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;
    use sha2::{Digest, Sha256};

    use super::*;

    /// `data` as one gzip member (the test modules' gzip files).
    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// [`read_gzip`] of the file at `path`, its head read as a caller reads it.
    fn read(path: &Path, hash: bool) -> Result<(Vec<u8>, Option<Content>)> {
        let mut file = File::open(path).unwrap();
        let mut head = [0u8; BLOCK_HEAD];
        let n = read_fully(&mut file, &mut head).unwrap();
        read_gzip(path, &head[..n], file, hash)
    }

    fn text() -> Vec<u8> {
        let mut text = Vec::new();
        for i in 0..30_000u32 {
            text.extend_from_slice(format!(">r{i}\nACGT{}acgtNN\n", i % 97).as_bytes());
        }
        text
    }

    #[test]
    fn gzip_members_and_bgzf_inflate_to_the_text_and_hash_the_stored_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let text = text();
        let (a, b) = text.split_at(text.len() / 3);
        let (c, d) = text.split_at(text.len() - text.len() / 3);
        let cases = [
            ("one member", gzip(&text)),
            ("members", [gzip(a), gzip(b)].concat()),
            ("bgzf", bgzf(&text, 65_280)),
            ("bgzf, many batches", bgzf(&text, 100)),
            ("bgzf, then gzip", [bgzf(a, 1_000), gzip(b)].concat()),
            // the last member's ISIZE, the first guess, smaller than the first member
            ("members, the first larger", [gzip(c), gzip(d)].concat()),
            (
                "many members",
                text.chunks(7_000).map(gzip).collect::<Vec<_>>().concat(),
            ),
            ("empty", gzip(b"")),
        ];
        for (what, stored) in cases {
            let path = dir.path().join("x.gz");
            std::fs::write(&path, &stored).unwrap();
            let (data, content) = read(&path, true).unwrap();
            let expected: &[u8] = if what == "empty" { b"" } else { &text };
            assert!(data == expected, "{what}");
            let sha: String = Sha256::digest(&stored)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(content, Some((stored.len() as u64, sha)), "{what}");
            assert!(read(&path, false).unwrap().1.is_none());
        }
    }

    #[test]
    fn members_alike_and_a_pipe_inflate_whole() {
        let text = text();
        let twice = [gzip(&text), gzip(&text)].concat();
        let from = |stored| inflate(Path::new("x.gz"), &twice[..], false, stored).unwrap();
        let isize = text.len() as u32;
        for stored in [
            None,
            Some(Stored {
                size: twice.len(),
                isize,
            }),
        ] {
            assert!(from(stored) == [&text[..], &text[..]].concat());
        }
        // a wrong guess, as a file grown since its trailer was read would give
        let data = from(Some(Stored { size: 1, isize: 3 }));
        assert_eq!(data.len(), 2 * text.len());
        assert!(data.capacity() <= data.len() + data.len() / 4);
    }

    #[test]
    fn the_room_tried_grows_to_a_members_size_past_4_gib() {
        const GIB: usize = 1 << 30;
        // one member: its ISIZE (the size modulo 4 GiB) is the room, once, under 4 GiB
        assert_eq!(first_room(GIB, Some(3 * GIB as u32)), 3 * GIB);
        assert_eq!(first_room(100, None), 1 << 20);
        for size in [5 * GIB, 10 * GIB + 7, 4 * GIB, 4 * GIB + 1, 13 * GIB - 3] {
            for compressed in [GIB, 3 * GIB] {
                let isize = Some(size as u32);
                let mut room = first_room(compressed, isize);
                let mut tries = vec![room];
                while room < size {
                    let next = next_room(room, isize);
                    assert!(
                        next > room && next <= 2 * room,
                        "{size}: {tries:?} then {next}"
                    );
                    room = next;
                    tries.push(room);
                }
                assert_eq!(room, size, "the last room is the size: {tries:?}");
                assert!(tries.len() <= 5, "{size} {compressed}: {tries:?}");
            }
        }
        // several members: the last's ISIZE says nothing of the others, twice at most
        assert_eq!(next_room(3 << 20, Some(5)), 6 << 20);
        assert_eq!(next_room(3 << 20, Some((3 << 20) + 5)), (3 << 20) + 5);
        assert_eq!(next_room(1 << 63, Some(0)), (1 << 63) + (1 << 32));
        assert_eq!(next_room(usize::MAX / 2 + 5, None), usize::MAX);
        assert_eq!(next_room(usize::MAX, None), usize::MAX);
    }

    #[test]
    fn a_cut_or_damaged_stream_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = text();
        let whole = bgzf(&text, 1_000);
        let mut flipped = whole.clone();
        flipped[30] ^= 0xff;
        let no_eof = whole[..whole.len() - 28].to_vec();
        let gz = gzip(&text);
        let junk_at = format!(
            "invalid gzip header at byte {}",
            bgzf(&text[..10], 100).len()
        );
        let cases = [
            (
                gz[..gz.len() - 9].to_vec(),
                "gzip stream is truncated or corrupt (",
            ),
            (
                [gz.clone(), b"junk".to_vec()].concat(),
                "truncated or corrupt",
            ),
            (
                whole[..whole.len() - 33].to_vec(),
                "ends inside the block at byte",
            ),
            (
                whole[..whole.len() - 28 + 5].to_vec(),
                "truncated or corrupt (",
            ),
            (no_eof, "lacks its end-of-file block"),
            (
                flipped,
                "a size or CRC that does not match in the block at byte 0",
            ),
            (
                [bgzf(&text[..10], 100), b"junk, not gzip".to_vec()].concat(),
                &junk_at,
            ),
        ];
        for (stored, expected) in cases {
            let path = dir.path().join("x.fa.gz");
            std::fs::write(&path, &stored).unwrap();
            let err = read(&path, true).unwrap_err().to_string();
            assert!(err.contains(expected), "{expected}: {err}");
            assert!(err.starts_with(&format!("{}: ", path.display())), "{err}");
            assert!(err.ends_with("re-download the file, or check it with `gzip -t`"));
        }
    }
}
