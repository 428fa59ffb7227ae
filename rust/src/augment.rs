//! Training-time augmentation of a batch: reverse complement and shift, per example.
//!
//! A batch is `n` sequences of `seq_len` ASCII bases stored back to back and `n` target
//! blocks of `bins × tracks` values. Example `i` is shifted by `shifts[i]` bases (Basenji's
//! sign: positive moves the sequence towards higher positions, vacated bases become `N`;
//! targets stay, a shift being far below one bin) and then, when `rc[i]`, reverse
//! complemented with its targets reversed along the bins.

use rayon::prelude::*;

use crate::dna;
use crate::{Error, Result};

/// Shift and reverse complement each example of a batch in place.
pub fn augment_batch<T: Copy + Send + Sync>(
    seqs: &mut [u8],
    targets: &mut [T],
    seq_len: usize,
    bins: usize,
    tracks: usize,
    rc: &[bool],
    shifts: &[i64],
) -> Result<()> {
    let n = rc.len();
    if shifts.len() != n || seqs.len() != n * seq_len || targets.len() != n * bins * tracks {
        return Err(Error::Invalid(format!(
            "augmentation of {n} examples needs {n} shifts (got {}), {n} × {seq_len} bases \
             (got {}) and {n} × {bins} × {tracks} targets (got {})",
            shifts.len(),
            seqs.len(),
            targets.len()
        )));
    }
    if n == 0 {
        return Ok(());
    }
    seqs.par_chunks_mut(seq_len.max(1))
        .zip(targets.par_chunks_mut((bins * tracks).max(1)))
        .zip(rc.par_iter().zip(shifts.par_iter()))
        .try_for_each(|((seq, target), (&flip, &shift))| -> Result<()> {
            if shift != 0 {
                let src = seq.to_vec();
                dna::shift_rows(&src, seq, seq_len, 1, shift, b"N")?;
            }
            if flip {
                dna::reverse_complement_blocks(seq, seq_len)?;
                dna::reverse_rows(target, bins, tracks)?;
            }
            Ok(())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_example_gets_its_own_transform() {
        let mut seqs = b"GATTACAGATTACA".to_vec(); // two examples of 7
        let mut targets: Vec<u16> = (0..12).collect(); // two examples of 3 bins × 2 tracks
        augment_batch(&mut seqs, &mut targets, 7, 3, 2, &[true, false], &[1, -1]).unwrap();
        // first: shift +1 → NGATTAC, then rc → GTAATCN; bins reversed
        assert_eq!(&seqs[..7], b"GTAATCN");
        assert_eq!(&targets[..6], &[4, 5, 2, 3, 0, 1]);
        // second: shift −1 only
        assert_eq!(&seqs[7..], b"ATTACAN");
        assert_eq!(&targets[6..], &[6, 7, 8, 9, 10, 11]);
        assert!(augment_batch(&mut seqs, &mut targets, 7, 3, 2, &[true], &[0]).is_err());
    }
}
