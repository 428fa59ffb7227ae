//! Bindings of [`crate::augment`].

use numpy::{PyArray1, PyArray2, PyArray3, PyUntypedArrayMethods};
use pyo3::prelude::*;

use super::{c_slice, c_slice_mut, readonly, readwrite};
use crate::augment;

/// Shift and reverse complement, in place, each example of a batch: `seqs` `(n, L)` ASCII
/// codes, `targets` `(n, bins, tracks)` 2-byte values (float16 viewed as uint16).
#[pyfunction]
fn augment_batch(
    py: Python<'_>,
    seqs: &Bound<'_, PyArray2<u8>>,
    targets: &Bound<'_, PyArray3<u16>>,
    rc: &Bound<'_, PyArray1<bool>>,
    shifts: &Bound<'_, PyArray1<i64>>,
) -> PyResult<()> {
    let mut seqs = readwrite(seqs, "seqs")?;
    let mut targets = readwrite(targets, "targets")?;
    let (rc, shifts) = (readonly(rc, "rc")?, readonly(shifts, "shifts")?);
    let seq_len = seqs.shape()[1];
    let (bins, tracks) = (targets.shape()[1], targets.shape()[2]);
    let seqs = c_slice_mut(&mut seqs, "seqs")?;
    let targets = c_slice_mut(&mut targets, "targets")?;
    let rc = c_slice(&rc, "rc")?;
    let shifts = c_slice(&shifts, "shifts")?;
    py.detach(|| augment::augment_batch(seqs, targets, seq_len, bins, tracks, rc, shifts))?;
    Ok(())
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(augment_batch, m)?)?;
    Ok(())
}
