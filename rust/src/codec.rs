//! Compressed rows of 2-byte values (float16 targets: one row is one window's bins ×
//! tracks), each row on its own so that any row can be read and decoded alone.
//!
//! A row is byte-shuffled (the low byte of every value, then the high bytes: a float16's
//! sign and exponent sit in its high byte, so the high bytes of a track repeat a lot),
//! deflated with libdeflate and followed by the CRC32 of its shuffled bytes (4 bytes,
//! little-endian), checked on decode: raw deflate has no check of its own, so a flipped
//! bit could decode to other values without an error. Rows written before the check
//! (store format version 1) are the deflate stream alone and decode unchecked. Rows are
//! compressed and decoded in parallel on the thread pool; decoding writes straight into
//! the caller's buffer.

use libdeflater::{crc32, CompressionLvl, Compressor, Decompressor};
use rayon::prelude::*;

use crate::{Error, Result};

/// Bytes of the CRC32 after each checked row's deflate stream.
const CHECK_BYTES: usize = 4;

/// The low bytes of `row`'s values, then their high bytes.
fn shuffle(row: &[u16], out: &mut [u8]) {
    let (low, high) = out.split_at_mut(row.len());
    for ((v, lo), hi) in row.iter().zip(low).zip(high) {
        let [l, h] = v.to_le_bytes();
        *lo = l;
        *hi = h;
    }
}

/// The inverse of [`shuffle`].
fn unshuffle(bytes: &[u8], row: &mut [u16]) {
    let (low, high) = bytes.split_at(row.len());
    for ((v, lo), hi) in row.iter_mut().zip(low).zip(high) {
        *v = u16::from_le_bytes([*lo, *hi]);
    }
}

/// Compress each row of `row_len` values of `data` on its own at deflate `level` (0–12),
/// each followed by its CRC32. Returns the rows' bytes one after the other and the
/// `rows + 1` offsets where each row starts and the last ends.
pub fn compress_rows(data: &[u16], row_len: usize, level: i32) -> Result<(Vec<u8>, Vec<u64>)> {
    if row_len == 0 || data.len() % row_len != 0 {
        return Err(Error::Invalid(format!(
            "{} values do not make rows of {row_len}",
            data.len()
        )));
    }
    let lvl = CompressionLvl::new(level)
        .map_err(|_| Error::Invalid(format!("compression level {level} is not in 0-12")))?;
    let rows: Vec<Vec<u8>> = data
        .par_chunks(row_len)
        .map_init(
            || (Compressor::new(lvl), vec![0u8; 2 * row_len]),
            |(compressor, shuffled), row| encode_row(compressor, row, shuffled),
        )
        .collect();
    let mut offsets = Vec::with_capacity(rows.len() + 1);
    let mut blob = Vec::with_capacity(rows.iter().map(Vec::len).sum());
    offsets.push(0u64);
    for row in &rows {
        blob.extend_from_slice(row);
        offsets.push(blob.len() as u64);
    }
    Ok((blob, offsets))
}

/// `row` shuffled (in `shuffled`), deflated and followed by its CRC32.
fn encode_row(compressor: &mut Compressor, row: &[u16], shuffled: &mut [u8]) -> Vec<u8> {
    shuffle(row, shuffled);
    let mut out = vec![0u8; compressor.deflate_compress_bound(shuffled.len())];
    let n = compressor
        .deflate_compress(shuffled, &mut out)
        .expect("the output is sized by deflate_compress_bound");
    out.truncate(n);
    out.extend_from_slice(&crc32(shuffled).to_le_bytes());
    out
}

/// Decode rows `rows` (indices into `offsets`) of `blob` into `out`, one row of `row_len`
/// values after the other, in parallel; `checked` rows end with their CRC32 (rows written
/// since store format version 2), which must match.
pub fn decompress_rows(
    blob: &[u8],
    offsets: &[u64],
    rows: &[u64],
    row_len: usize,
    out: &mut [u16],
    checked: bool,
) -> Result<()> {
    if row_len == 0 || out.len() != rows.len() * row_len {
        return Err(Error::Invalid(format!(
            "out holds {} values, not {} rows of {row_len}",
            out.len(),
            rows.len()
        )));
    }
    let count = offsets.len().saturating_sub(1) as u64;
    if let Some(bad) = rows.iter().find(|&&r| r >= count) {
        return Err(Error::Invalid(format!(
            "row {bad} is not among the {count} rows"
        )));
    }
    out.par_chunks_mut(row_len)
        .zip(rows.par_iter())
        .map_init(
            || (Decompressor::new(), vec![0u8; 2 * row_len]),
            |(decompressor, shuffled), (row, &r)| {
                let (start, end) = (
                    offsets[r as usize] as usize,
                    offsets[r as usize + 1] as usize,
                );
                let bytes = blob.get(start..end).ok_or_else(|| {
                    Error::Invalid(format!(
                        "window {r} lies past the end of the compressed data"
                    ))
                })?;
                decode_row(decompressor, bytes, shuffled, r, checked)?;
                unshuffle(shuffled, row);
                Ok(())
            },
        )
        .collect()
}

/// Inflate the `bytes` of row `r` (window `r` of a store) into `shuffled`, which they
/// must fill exactly, checking their CRC32 where `checked`.
fn decode_row(
    decompressor: &mut Decompressor,
    bytes: &[u8],
    shuffled: &mut [u8],
    r: u64,
    checked: bool,
) -> Result<()> {
    let (stream, stored) = if checked {
        let (stream, check) = bytes.split_last_chunk::<CHECK_BYTES>().ok_or_else(|| {
            Error::Invalid(format!(
                "window {r} has {} bytes, too few to end with its checksum",
                bytes.len()
            ))
        })?;
        (stream, Some(u32::from_le_bytes(*check)))
    } else {
        (bytes, None)
    };
    let n = decompressor
        .deflate_decompress(stream, shuffled)
        .map_err(|e| Error::Invalid(format!("window {r} does not decode: {e}")))?;
    if n != shuffled.len() {
        return Err(Error::Invalid(format!(
            "window {r} decodes to {n} bytes, not {}",
            shuffled.len()
        )));
    }
    if let Some(want) = stored {
        let got = crc32(shuffled);
        if got != want {
            return Err(Error::Invalid(format!(
                "window {r} fails its checksum (what it decodes to has CRC32 {got:08x}, the \
                 stored one is {want:08x}): its bytes are damaged"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_exactly_in_any_order() {
        let row_len = 1000;
        let data: Vec<u16> = (0..5 * row_len)
            .map(|i| {
                if i % 7 == 0 {
                    ((i * 2654435761usize) >> 7) as u16
                } else {
                    0x3c00
                }
            })
            .collect();
        let (blob, offsets) = compress_rows(&data, row_len, 6).unwrap();
        assert_eq!(offsets.len(), 6);
        assert!(blob.len() - 5 * CHECK_BYTES < data.len() * 2 / 4);
        let mut out = vec![0u16; 3 * row_len];
        decompress_rows(&blob, &offsets, &[4, 0, 4], row_len, &mut out, true).unwrap();
        assert_eq!(&out[..row_len], &data[4 * row_len..]);
        assert_eq!(&out[row_len..2 * row_len], &data[..row_len]);
        assert_eq!(&out[2 * row_len..], &data[4 * row_len..]);
    }

    #[test]
    fn bad_requests_are_errors() {
        let data = vec![1u16; 20];
        assert!(compress_rows(&data, 3, 6).is_err());
        assert!(compress_rows(&data, 10, 13).is_err());
        let (blob, offsets) = compress_rows(&data, 10, 1).unwrap();
        let mut out = vec![0u16; 10];
        assert!(decompress_rows(&blob, &offsets, &[2], 10, &mut out, true).is_err());
        let half = &blob[..blob.len() / 2];
        assert!(decompress_rows(half, &offsets, &[1], 10, &mut out, true).is_err());
        let mut short = vec![0u16; 9];
        assert!(decompress_rows(&blob, &offsets, &[0], 10, &mut short, true).is_err());
        let tiny = [0u8, 1, 2];
        let err = decompress_rows(&tiny, &[0, 3], &[0], 10, &mut out, true).unwrap_err();
        assert!(err.to_string().contains("too few to end with its checksum"));
    }

    /// Two rows of 300 values, mostly repeats, with some varied ones.
    fn two_rows() -> Vec<u16> {
        (0..600u32)
            .map(|i| {
                if i % 5 == 0 {
                    (i * 40503 % 65521) as u16
                } else {
                    0x3c00
                }
            })
            .collect()
    }

    #[test]
    fn every_flipped_bit_is_refused_or_decodes_the_same() {
        let data = two_rows();
        let (blob, offsets) = compress_rows(&data, 300, 6).unwrap();
        let mut out = vec![0u16; data.len()];
        let mut refused = 0;
        for bit in 0..8 * blob.len() {
            let mut damaged = blob.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            match decompress_rows(&damaged, &offsets, &[0, 1], 300, &mut out, true) {
                Err(err) => {
                    refused += 1;
                    assert!(err.to_string().starts_with("window "), "{err}");
                }
                Ok(()) => assert_eq!(out, data, "bit {bit} changed the values unnoticed"),
            }
        }
        assert!(
            refused > 8 * blob.len() * 9 / 10,
            "{refused} of {} refused",
            8 * blob.len()
        );
        let mut damaged = blob.clone();
        damaged[offsets[1] as usize - 1] ^= 0x10; // in row 0's checksum
        let err = decompress_rows(&damaged, &offsets, &[0], 300, &mut out[..300], true);
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("window 0 fails its checksum"));
    }

    #[test]
    fn rows_without_a_checksum_decode_unchecked() {
        let data = two_rows();
        let (blob, offsets) = compress_rows(&data, 300, 1).unwrap();
        let mut old = Vec::new();
        let mut old_offsets = vec![0u64];
        for pair in offsets.windows(2) {
            old.extend_from_slice(&blob[pair[0] as usize..pair[1] as usize - CHECK_BYTES]);
            old_offsets.push(old.len() as u64);
        }
        let mut out = vec![0u16; data.len()];
        decompress_rows(&old, &old_offsets, &[0, 1], 300, &mut out, false).unwrap();
        assert_eq!(out, data);
    }
}
