//! Compressed rows of 2-byte values (float16 targets: one row is one window's bins ×
//! tracks), each row on its own so that any row can be read and decoded alone.
//!
//! A row is byte-shuffled (the low byte of every value, then the high bytes: a float16's
//! sign and exponent sit in its high byte, so the high bytes of a track repeat a lot) and
//! deflated with libdeflate. Rows are compressed and decoded in parallel on the thread
//! pool; decoding writes straight into the caller's buffer.

use libdeflater::{CompressionLvl, Compressor, Decompressor};
use rayon::prelude::*;

use crate::{Error, Result};

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

/// Compress each row of `row_len` values of `data` on its own at deflate `level` (0–12).
/// Returns the rows' compressed bytes one after the other and the `rows + 1` offsets
/// where each row starts and the last ends.
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
            |(compressor, shuffled), row| {
                shuffle(row, shuffled);
                let mut out = vec![0u8; compressor.deflate_compress_bound(shuffled.len())];
                let n = compressor
                    .deflate_compress(shuffled, &mut out)
                    .expect("the output is sized by deflate_compress_bound");
                out.truncate(n);
                out
            },
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

/// Decode rows `rows` (indices into `offsets`) of `blob` into `out`, one row of `row_len`
/// values after the other, in parallel.
pub fn decompress_rows(
    blob: &[u8],
    offsets: &[u64],
    rows: &[u64],
    row_len: usize,
    out: &mut [u16],
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
                    Error::Invalid(format!("row {r} lies past the end of the compressed data"))
                })?;
                let n = decompressor
                    .deflate_decompress(bytes, shuffled)
                    .map_err(|e| Error::Invalid(format!("row {r} does not decode: {e}")))?;
                if n != shuffled.len() {
                    return Err(Error::Invalid(format!(
                        "row {r} decodes to {n} bytes, not {}",
                        shuffled.len()
                    )));
                }
                unshuffle(shuffled, row);
                Ok(())
            },
        )
        .collect()
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
        assert!(blob.len() < data.len() * 2 / 4);
        let mut out = vec![0u16; 3 * row_len];
        decompress_rows(&blob, &offsets, &[4, 0, 4], row_len, &mut out).unwrap();
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
        assert!(decompress_rows(&blob, &offsets, &[2], 10, &mut out).is_err());
        assert!(decompress_rows(&blob[..blob.len() / 2], &offsets, &[1], 10, &mut out).is_err());
        let mut short = vec![0u16; 9];
        assert!(decompress_rows(&blob, &offsets, &[0], 10, &mut short).is_err());
    }
}
