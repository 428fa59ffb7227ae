//! Bindings of [`crate::codec`].

use numpy::{PyArray1, PyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

use super::{c_slice, c_slice_mut, readonly, readwrite};
use crate::codec;

/// Compressed bytes and row offsets, as numpy arrays.
type Compressed<'py> = (Bound<'py, PyArray1<u8>>, Bound<'py, PyArray1<u64>>);

/// Compress each row of `values` (`(rows, row_len)` 2-byte values, e.g. float16 viewed as
/// uint16) on its own at deflate `level`, each followed by its CRC32; returns
/// `(blob, offsets)`.
#[pyfunction]
fn compress_rows<'py>(
    py: Python<'py>,
    values: &Bound<'py, PyArray2<u16>>,
    level: i32,
) -> PyResult<Compressed<'py>> {
    let values = readonly(values, "values")?;
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
    blob: &Bound<'_, PyArray1<u8>>,
    offsets: &Bound<'_, PyArray1<u64>>,
    rows: &Bound<'_, PyArray1<u64>>,
    out: &Bound<'_, PyArray2<u16>>,
    checked: bool,
) -> PyResult<()> {
    let mut out = readwrite(out, "out")?;
    let (blob, offsets) = (readonly(blob, "blob")?, readonly(offsets, "offsets")?);
    let rows = readonly(rows, "rows")?;
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
