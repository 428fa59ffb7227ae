//! Bindings of [`crate::codec`].

use numpy::{
    PyArray1, PyReadonlyArray1, PyReadonlyArray2, PyReadwriteArray2, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use super::{c_slice, c_slice_mut};
use crate::codec;

/// Compressed bytes and row offsets, as numpy arrays.
type Compressed<'py> = (Bound<'py, PyArray1<u8>>, Bound<'py, PyArray1<u64>>);

/// Compress each row of `values` (`(rows, row_len)` 2-byte values, e.g. float16 viewed as
/// uint16) on its own at deflate `level`, each followed by its CRC32; returns
/// `(blob, offsets)`.
#[pyfunction]
fn compress_rows<'py>(
    py: Python<'py>,
    values: PyReadonlyArray2<'py, u16>,
    level: i32,
) -> PyResult<Compressed<'py>> {
    let row_len = values.shape()[1];
    let data = c_slice(&values, "values")?;
    let (blob, offsets) = py.detach(|| codec::compress_rows(data, row_len, level))?;
    Ok((
        PyArray1::from_vec(py, blob),
        PyArray1::from_vec(py, offsets),
    ))
}

/// Decode rows `rows` of `(blob, offsets)` into `out` (`(len(rows), row_len)` uint16),
/// checking each row's CRC32 unless `checked` is false (rows of store format version 1).
#[pyfunction]
#[pyo3(signature = (blob, offsets, rows, out, *, checked = true))]
fn decompress_rows(
    py: Python<'_>,
    blob: PyReadonlyArray1<'_, u8>,
    offsets: PyReadonlyArray1<'_, u64>,
    rows: PyReadonlyArray1<'_, u64>,
    mut out: PyReadwriteArray2<'_, u16>,
    checked: bool,
) -> PyResult<()> {
    let row_len = out.shape()[1];
    let blob = c_slice(&blob, "blob")?;
    let offsets = c_slice(&offsets, "offsets")?;
    let rows = c_slice(&rows, "rows")?;
    let out = c_slice_mut(&mut out, "out")?;
    py.detach(|| codec::decompress_rows(blob, offsets, rows, row_len, out, checked))?;
    Ok(())
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(compress_rows, m)?)?;
    m.add_function(wrap_pyfunction!(decompress_rows, m)?)?;
    Ok(())
}
