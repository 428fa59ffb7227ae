//! Bindings of [`crate::augment`].

use numpy::{PyReadonlyArray1, PyReadwriteArray2, PyReadwriteArray3, PyUntypedArrayMethods};
use pyo3::prelude::*;

use super::{c_slice, c_slice_mut};
use crate::augment;

/// Shift and reverse complement, in place, each example of a batch: `seqs` `(n, L)` ASCII
/// codes, `targets` `(n, bins, tracks)` 2-byte values (float16 viewed as uint16).
#[pyfunction]
fn augment_batch(
    py: Python<'_>,
    mut seqs: PyReadwriteArray2<'_, u8>,
    mut targets: PyReadwriteArray3<'_, u16>,
    rc: PyReadonlyArray1<'_, bool>,
    shifts: PyReadonlyArray1<'_, i64>,
) -> PyResult<()> {
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
