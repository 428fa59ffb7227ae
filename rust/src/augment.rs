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
    rows(seqs, n, seq_len)
        .into_par_iter()
        .zip(rows(targets, n, bins * tracks))
        .zip(rc.par_iter().zip(shifts.par_iter()))
        .try_for_each(|((seq, target), (&flip, &shift))| -> Result<()> {
            if shift != 0 {
                let src = seq.to_vec();
                dna::shift_rows(&src, seq, seq_len, 1, shift, b"N")?;
            }
            if flip {
                dna::reverse_complement_blocks(seq, seq_len)?;
                if !target.is_empty() {
                    dna::reverse_rows(target, bins, tracks)?;
                }
            }
            Ok(())
        })
}

/// The `n` consecutive rows of `len` items that make up `data`, every one empty when `len`
/// is 0 (an example without bases or targets still has its other part transformed).
fn rows<T>(data: &mut [T], n: usize, len: usize) -> Vec<&mut [T]> {
    if len == 0 {
        return (0..n).map(|_| <&mut [T]>::default()).collect();
    }
    data.chunks_mut(len).collect()
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

    #[test]
    fn examples_without_targets_are_still_transformed() {
        let mut targets: [u16; 0] = [];
        for (bins, tracks) in [(3, 0), (0, 2)] {
            let mut seqs = b"GATTACAGATTACA".to_vec();
            augment_batch(
                &mut seqs,
                &mut targets,
                7,
                bins,
                tracks,
                &[true, false],
                &[1, -1],
            )
            .unwrap();
            assert_eq!(&seqs, b"GTAATCNATTACAN");
        }
        // and targets without bases are still reversed
        let mut bins: Vec<u16> = (0..6).collect();
        augment_batch(&mut [], &mut bins, 0, 3, 1, &[true, false], &[0, 0]).unwrap();
        assert_eq!(bins, [2, 1, 0, 3, 4, 5]);
    }
}
