//! DNA sequence operations: one-hot encoding, reverse complement, shifts and reversals.
//!
//! One-hot channel order is A, C, G, T. Bases other than A, C, G and T (N and the other
//! IUPAC codes, any other byte) encode as all zeros, or as 0.25 in every channel on request.
//! Lowercase (soft-masked) bases encode like uppercase.

use rayon::prelude::*;

use crate::{Error, Result};

/// Work below this many elements runs on the calling thread: splitting it costs more
/// than it saves.
const PARALLEL_MIN: usize = 1 << 16;

/// Rows per parallel task for row-wise work.
const ROWS_PER_TASK: usize = 1 << 14;

/// Channel of each byte in the one-hot encoding, or 4 for "not A, C, G or T".
const fn base_channel(b: u8) -> usize {
    match b {
        b'A' | b'a' => 0,
        b'C' | b'c' => 1,
        b'G' | b'g' => 2,
        b'T' | b't' => 3,
        _ => 4,
    }
}

const fn u8_table() -> [[u8; 4]; 256] {
    let mut table = [[0u8; 4]; 256];
    let mut b = 0;
    while b < 256 {
        let c = base_channel(b as u8);
        if c < 4 {
            table[b][c] = 1;
        }
        b += 1;
    }
    table
}

const fn f32_table(n_value: f32) -> [[f32; 4]; 256] {
    let mut table = [[n_value; 4]; 256];
    let mut b = 0;
    while b < 256 {
        let c = base_channel(b as u8);
        if c < 4 {
            table[b] = [0.0; 4];
            table[b][c] = 1.0;
        }
        b += 1;
    }
    table
}

const fn complement_table() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b as u8;
        b += 1;
    }
    // IUPAC complements, both cases; S, W, N and every other byte map to themselves.
    let pairs: [(u8, u8); 6] = [
        (b'A', b'T'),
        (b'C', b'G'),
        (b'R', b'Y'),
        (b'K', b'M'),
        (b'B', b'V'),
        (b'D', b'H'),
    ];
    let mut i = 0;
    while i < pairs.len() {
        let (x, y) = pairs[i];
        table[x as usize] = y;
        table[y as usize] = x;
        table[(x + 32) as usize] = y + 32;
        table[(y + 32) as usize] = x + 32;
        i += 1;
    }
    table
}

static ONE_HOT_U8: [[u8; 4]; 256] = u8_table();
static ONE_HOT_F32_ZERO_N: [[f32; 4]; 256] = f32_table(0.0);
static ONE_HOT_F32_UNIFORM_N: [[f32; 4]; 256] = f32_table(0.25);
static COMPLEMENT: [u8; 256] = complement_table();

/// How bases other than A, C, G and T are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NEncoding {
    /// All four channels 0 (Basenji's training and prediction inputs).
    Zeros,
    /// All four channels 0.25 (Basenji's variant-scoring windows).
    Uniform,
}

fn check_one_hot_len(seq_len: usize, out_len: usize) -> Result<()> {
    if out_len != seq_len * 4 {
        return Err(Error::Invalid(format!(
            "one-hot output holds {out_len} values but {seq_len} bases need {}",
            seq_len * 4
        )));
    }
    Ok(())
}

fn encode_with_table<T: Copy + Send + Sync>(seq: &[u8], out: &mut [T], table: &[[T; 4]; 256]) {
    let encode = |(dst, src): (&mut [T], &[u8])| {
        for (row, &b) in dst.chunks_exact_mut(4).zip(src) {
            row.copy_from_slice(&table[b as usize]);
        }
    };
    if seq.len() < PARALLEL_MIN {
        encode((out, seq));
    } else {
        out.par_chunks_mut(4 * PARALLEL_MIN)
            .zip(seq.par_chunks(PARALLEL_MIN))
            .for_each(encode);
    }
}

/// Bases per step of the vectorisable uint8 encoder.
const LANES: usize = 32;

/// uint8 one-hot of one chunk by comparisons instead of table lookups, so that LLVM
/// turns each group of `LANES` bases into vector compares and byte interleaves.
fn encode_u8_chunk(seq: &[u8], out: &mut [u8]) {
    let mut dst = out.chunks_exact_mut(4 * LANES);
    let mut src = seq.chunks_exact(LANES);
    for (d, s) in (&mut dst).zip(&mut src) {
        for i in 0..LANES {
            // Setting bit 5 lowercases letters; only 'A'/'a' map to 'a', and so on.
            let b = s[i] | 0x20;
            d[4 * i] = u8::from(b == b'a');
            d[4 * i + 1] = u8::from(b == b'c');
            d[4 * i + 2] = u8::from(b == b'g');
            d[4 * i + 3] = u8::from(b == b't');
        }
    }
    for (row, &b) in dst
        .into_remainder()
        .chunks_exact_mut(4)
        .zip(src.remainder())
    {
        row.copy_from_slice(&ONE_HOT_U8[b as usize]);
    }
}

/// One-hot encode `seq` into `out` (`seq.len() × 4`, row-major) as 0/1 bytes.
/// Bases other than A, C, G, T become all zeros.
pub fn one_hot_u8(seq: &[u8], out: &mut [u8]) -> Result<()> {
    check_one_hot_len(seq.len(), out.len())?;
    if seq.len() < PARALLEL_MIN {
        encode_u8_chunk(seq, out);
    } else {
        out.par_chunks_mut(4 * PARALLEL_MIN)
            .zip(seq.par_chunks(PARALLEL_MIN))
            .for_each(|(dst, src)| encode_u8_chunk(src, dst));
    }
    Ok(())
}

/// One-hot encode `seq` into `out` (`seq.len() × 4`, row-major) as float32.
pub fn one_hot_f32(seq: &[u8], out: &mut [f32], n: NEncoding) -> Result<()> {
    check_one_hot_len(seq.len(), out.len())?;
    let table = match n {
        NEncoding::Zeros => &ONE_HOT_F32_ZERO_N,
        NEncoding::Uniform => &ONE_HOT_F32_UNIFORM_N,
    };
    encode_with_table(seq, out, table);
    Ok(())
}

/// Complement of one base (IUPAC-aware, case-preserving; unknown bytes map to themselves).
pub fn complement(base: u8) -> u8 {
    COMPLEMENT[base as usize]
}

/// Reverse complement of `seq` into `out` (same length).
pub fn reverse_complement_into(seq: &[u8], out: &mut [u8]) -> Result<()> {
    if seq.len() != out.len() {
        return Err(Error::Invalid(format!(
            "reverse complement output has length {} but the sequence has {}",
            out.len(),
            seq.len()
        )));
    }
    for (dst, &b) in out.iter_mut().zip(seq.iter().rev()) {
        *dst = COMPLEMENT[b as usize];
    }
    Ok(())
}

/// Reverse complement of `seq` as a new vector.
pub fn reverse_complement(seq: &[u8]) -> Vec<u8> {
    seq.iter().rev().map(|&b| COMPLEMENT[b as usize]).collect()
}

/// Reverse complement every block of `block_len` bases of `seqs` in place (a batch of
/// equal-length sequences stored back to back).
pub fn reverse_complement_blocks(seqs: &mut [u8], block_len: usize) -> Result<()> {
    check_blocks(seqs.len(), block_len, 1)?;
    if block_len == 0 {
        return Ok(());
    }
    seqs.par_chunks_mut(block_len).for_each(|block| {
        block.reverse();
        for b in block.iter_mut() {
            *b = COMPLEMENT[*b as usize];
        }
    });
    Ok(())
}

fn check_blocks(len: usize, block_rows: usize, row_len: usize) -> Result<()> {
    // a block of more values than a usize counts cuts no array (the product used to wrap
    // around to a small block that the callers then overran)
    let cuts = block_rows.checked_mul(row_len).is_some_and(|block| {
        row_len != 0
            && if block == 0 {
                len == 0
            } else {
                len % block == 0
            }
    });
    if !cuts {
        return Err(Error::Invalid(format!(
            "an array of {len} values cannot be cut into blocks of {block_rows} rows × \
             {row_len} values"
        )));
    }
    Ok(())
}

/// Reverse the order of the rows inside every block of `block_rows` rows of `row_len`
/// values, in place.
///
/// With `row_len = 1` this reverses sequences; on a one-hot array in A, C, G, T order,
/// reversing the whole `(L × 4)` block as `row_len = 1` is exactly the reverse
/// complement (positions reversed, channels A↔T and C↔G swapped). With
/// `row_len = tracks` it reverses binned targets along the bin axis.
pub fn reverse_rows<T: Copy + Send + Sync>(
    data: &mut [T],
    block_rows: usize,
    row_len: usize,
) -> Result<()> {
    check_blocks(data.len(), block_rows, row_len)?;
    if data.is_empty() {
        return Ok(());
    }
    let reverse_block = |block: &mut [T]| {
        if row_len == 1 {
            block.reverse();
            return;
        }
        let (mut lo, mut hi) = (0, block_rows);
        while lo + 1 < hi {
            hi -= 1;
            let (head, tail) = block.split_at_mut(hi * row_len);
            head[lo * row_len..(lo + 1) * row_len].swap_with_slice(&mut tail[..row_len]);
            lo += 1;
        }
    };
    data.par_chunks_mut(block_rows * row_len)
        .with_min_len((ROWS_PER_TASK / block_rows).max(1))
        .for_each(reverse_block);
    Ok(())
}

/// Shift every block of `block_rows` rows (`row_len` values each) of `src` by `shift`
/// rows into `dst`, filling vacated rows with `pad`.
///
/// Basenji's convention: a positive shift moves the sequence towards higher positions
/// (`GATTACA` shifted by +1 is `NGATTAC`), a negative one towards lower positions
/// (`ATTACAN`). A shift of at least the block length leaves only padding.
pub fn shift_rows<T: Copy + Send + Sync>(
    src: &[T],
    dst: &mut [T],
    block_rows: usize,
    row_len: usize,
    shift: i64,
    pad: &[T],
) -> Result<()> {
    check_blocks(src.len(), block_rows, row_len)?;
    if src.len() != dst.len() {
        return Err(Error::Invalid(format!(
            "shift output holds {} values but the input holds {}",
            dst.len(),
            src.len()
        )));
    }
    if pad.len() != row_len {
        return Err(Error::Invalid(format!(
            "shift padding has {} values but a row has {row_len}",
            pad.len()
        )));
    }
    if src.is_empty() {
        return Ok(());
    }
    let moved = (shift.unsigned_abs() as usize).min(block_rows);
    let kept = (block_rows - moved) * row_len;
    let moved_len = moved * row_len;
    let shift_block = |(out, inp): (&mut [T], &[T])| {
        let pad_part = if shift >= 0 {
            let (pad_part, data_part) = out.split_at_mut(moved_len);
            data_part.copy_from_slice(&inp[..kept]);
            pad_part
        } else {
            let (data_part, pad_part) = out.split_at_mut(kept);
            data_part.copy_from_slice(&inp[moved_len..]);
            pad_part
        };
        for row in pad_part.chunks_exact_mut(row_len) {
            row.copy_from_slice(pad);
        }
    };
    let block = block_rows * row_len;
    dst.par_chunks_mut(block)
        .zip(src.par_chunks(block))
        .with_min_len((ROWS_PER_TASK / block_rows).max(1))
        .for_each(shift_block);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shift_str(s: &str, k: i64) -> String {
        let mut out = vec![0u8; s.len()];
        shift_rows(s.as_bytes(), &mut out, s.len(), 1, k, b"N").unwrap();
        String::from_utf8(out).unwrap()
    }

    fn rc_str(s: &str) -> String {
        String::from_utf8(reverse_complement(s.as_bytes())).unwrap()
    }

    #[test]
    fn basenji_reverse_complement_examples() {
        assert_eq!(rc_str("GATTACA"), "TGTAATC");
        assert_eq!(rc_str("TAGATAC"), "GTATCTA");
        assert_eq!(rc_str(&rc_str("GATTACA")), "GATTACA");
        assert_eq!(rc_str("acgtNRYkmbvdhsw"), "wsdhbvkmRYNacgt");
    }

    #[test]
    fn basenji_shift_examples() {
        assert_eq!(shift_str("GATTACA", 1), "NGATTAC");
        assert_eq!(shift_str("GATTACA", -1), "ATTACAN");
        assert_eq!(rc_str(&shift_str("GATTACA", 1)), "GTAATCN");
        assert_eq!(rc_str(&shift_str("GATTACA", -1)), "NTGTAAT");
        assert_eq!(shift_str("GATTACA", 0), "GATTACA");
        assert_eq!(shift_str("GATTACA", 9), "NNNNNNN");
        assert_eq!(shift_str("GATTACA", -7), "NNNNNNN");
    }

    #[test]
    fn blocks_too_large_to_count_are_refused() {
        // (2^63 + 4) × 2 wraps around to 8, the length of the data
        let rows = (1 << 63) + 4;
        let mut data: Vec<u8> = (0..8).collect();
        assert!(reverse_rows(&mut data, rows, 2).is_err());
        let mut out = vec![0u8; 8];
        assert!(shift_rows(&data, &mut out, rows, 2, 1, b"NN").is_err());
        assert!(reverse_complement_blocks(&mut [], usize::MAX).is_ok());
        assert_eq!(data, (0..8).collect::<Vec<u8>>());
    }

    #[test]
    fn one_hot_encodes_acgt_lowercase_and_others() {
        let seq = b"ACGTacgtNx-";
        let mut out = vec![9u8; seq.len() * 4];
        one_hot_u8(seq, &mut out).unwrap();
        let rows: Vec<&[u8]> = out.chunks(4).collect();
        assert_eq!(rows[0], [1, 0, 0, 0]);
        assert_eq!(rows[3], [0, 0, 0, 1]);
        assert_eq!(rows[5], [0, 1, 0, 0]);
        assert!(rows[8..].iter().all(|r| *r == [0, 0, 0, 0]));

        let mut f = vec![0f32; seq.len() * 4];
        one_hot_f32(seq, &mut f, NEncoding::Uniform).unwrap();
        assert_eq!(&f[8 * 4..9 * 4], &[0.25; 4]);
        assert_eq!(&f[2 * 4..3 * 4], &[0.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn one_hot_parallel_path_matches_serial() {
        let seq: Vec<u8> = (0..PARALLEL_MIN * 3 + 17)
            .map(|i| b"ACGTN"[(i * 7 + i / 3) % 5])
            .collect();
        let mut fast = vec![0u8; seq.len() * 4];
        one_hot_u8(&seq, &mut fast).unwrap();
        let slow: Vec<u8> = seq.iter().flat_map(|&b| ONE_HOT_U8[b as usize]).collect();
        assert_eq!(fast, slow);
    }

    #[test]
    fn one_hot_rejects_wrong_output_size() {
        let mut out = vec![0u8; 7];
        assert!(one_hot_u8(b"AC", &mut out).is_err());
    }

    #[test]
    fn reversing_a_one_hot_block_is_its_reverse_complement() {
        let seq = b"GATTACAN";
        let mut x = vec![0u8; seq.len() * 4];
        one_hot_u8(seq, &mut x).unwrap();
        reverse_rows(&mut x, seq.len() * 4, 1).unwrap();
        let mut expect = vec![0u8; seq.len() * 4];
        one_hot_u8(&reverse_complement(seq), &mut expect).unwrap();
        assert_eq!(x, expect);
    }

    #[test]
    fn reverse_rows_reverses_bins_per_block() {
        // two blocks of 3 bins × 2 tracks
        let mut x: Vec<u16> = (0..12).collect();
        reverse_rows(&mut x, 3, 2).unwrap();
        assert_eq!(x, vec![4, 5, 2, 3, 0, 1, 10, 11, 8, 9, 6, 7]);
        assert!(reverse_rows(&mut x, 5, 2).is_err());
    }

    #[test]
    fn shift_rows_pads_whole_rows() {
        let src: Vec<f32> = (0..8).map(|v| v as f32).collect(); // 4 rows × 2
        let mut dst = vec![0f32; 8];
        shift_rows(&src, &mut dst, 4, 2, 1, &[-1.0, -2.0]).unwrap();
        assert_eq!(dst, vec![-1.0, -2.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        shift_rows(&src, &mut dst, 4, 2, -2, &[-1.0, -2.0]).unwrap();
        assert_eq!(dst, vec![4.0, 5.0, 6.0, 7.0, -1.0, -2.0, -1.0, -2.0]);
    }

    #[test]
    fn reverse_complement_blocks_handles_each_sequence() {
        let mut x = b"AACGTTGA".to_vec();
        reverse_complement_blocks(&mut x, 4).unwrap();
        assert_eq!(&x, b"CGTTTCAA");
        assert!(reverse_complement_blocks(&mut x, 3).is_err());
    }
}
