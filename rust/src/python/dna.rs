//! Bindings of [`crate::dna`].

use numpy::{Element, PyArrayDyn};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use super::{c_slice, c_slice_mut, readonly, readwrite};
use crate::dna;

/// One-hot encode `seq` (uint8 codes, any shape) into `out` (uint8, `seq.shape + (4,)`).
#[pyfunction]
fn one_hot_u8(
    py: Python<'_>,
    seq: &Bound<'_, PyArrayDyn<u8>>,
    out: &Bound<'_, PyArrayDyn<u8>>,
) -> PyResult<()> {
    let mut out = readwrite(out, "out")?;
    let seq = readonly(seq, "seq")?;
    let seq = c_slice(&seq, "seq")?;
    let out = c_slice_mut(&mut out, "out")?;
    py.detach(|| dna::one_hot_u8(seq, out))?;
    Ok(())
}

/// One-hot encode `seq` into float32 `out`; non-ACGT bases get 0.25s when `n_uniform`.
#[pyfunction]
fn one_hot_f32(
    py: Python<'_>,
    seq: &Bound<'_, PyArrayDyn<u8>>,
    out: &Bound<'_, PyArrayDyn<f32>>,
    n_uniform: bool,
) -> PyResult<()> {
    let mut out = readwrite(out, "out")?;
    let seq = readonly(seq, "seq")?;
    let seq = c_slice(&seq, "seq")?;
    let out = c_slice_mut(&mut out, "out")?;
    let n = if n_uniform {
        dna::NEncoding::Uniform
    } else {
        dna::NEncoding::Zeros
    };
    py.detach(|| dna::one_hot_f32(seq, out, n))?;
    Ok(())
}

/// Reverse complement, in place, every block of `block_len` bases of `seqs`.
#[pyfunction]
fn reverse_complement_blocks(
    py: Python<'_>,
    seqs: &Bound<'_, PyArrayDyn<u8>>,
    block_len: usize,
) -> PyResult<()> {
    let mut seqs = readwrite(seqs, "seqs")?;
    let seqs = c_slice_mut(&mut seqs, "seqs")?;
    py.detach(|| dna::reverse_complement_blocks(seqs, block_len))?;
    Ok(())
}

/// Run `$body` with `$data` bound to the mutable slice of an unsigned-integer array of
/// 1, 2, 4 or 8 bytes per element (callers view other dtypes as these).
macro_rules! with_uint_slice {
    ($array:expr, $what:expr, |$data:ident| $body:expr) => {{
        let array = $array;
        if let Ok(a) = array.cast::<PyArrayDyn<u8>>() {
            let mut a = readwrite(a, $what)?;
            let $data = c_slice_mut(&mut a, $what)?;
            $body
        } else if let Ok(a) = array.cast::<PyArrayDyn<u16>>() {
            let mut a = readwrite(a, $what)?;
            let $data = c_slice_mut(&mut a, $what)?;
            $body
        } else if let Ok(a) = array.cast::<PyArrayDyn<u32>>() {
            let mut a = readwrite(a, $what)?;
            let $data = c_slice_mut(&mut a, $what)?;
            $body
        } else if let Ok(a) = array.cast::<PyArrayDyn<u64>>() {
            let mut a = readwrite(a, $what)?;
            let $data = c_slice_mut(&mut a, $what)?;
            $body
        } else {
            Err(PyTypeError::new_err(format!(
                "{} must be a writable uint8/16/32/64 array",
                $what
            )))
        }
    }};
}

/// Reverse the rows inside each block of `block_rows` rows × `row_len` values, in place.
#[pyfunction]
fn reverse_rows(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    block_rows: usize,
    row_len: usize,
) -> PyResult<()> {
    with_uint_slice!(data, "data", |slice| {
        py.detach(|| dna::reverse_rows(slice, block_rows, row_len))?;
        Ok(())
    })
}

/// `array` as an array of `src`'s element type `T` (`dtype`), or a TypeError naming the
/// argument (a bare cast error names neither it nor the dtype).
fn like_src<'a, 'py, T: Element>(
    array: &'a Bound<'py, PyAny>,
    what: &str,
    dtype: &str,
) -> PyResult<&'a Bound<'py, PyArrayDyn<T>>> {
    array.cast::<PyArrayDyn<T>>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a {dtype} array like src; view it as one (numpy .view/.astype)"
        ))
    })
}

/// Shift each block of `src` by `shift` rows into `dst`, padding with the row `pad`.
/// `src`, `dst` and `pad` share one unsigned dtype.
#[pyfunction]
fn shift_rows(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    dst: &Bound<'_, PyAny>,
    pad: &Bound<'_, PyAny>,
    block_rows: usize,
    row_len: usize,
    shift: i64,
) -> PyResult<()> {
    macro_rules! run {
        ($t:ty, $name:literal) => {{
            let mut dst = readwrite(like_src::<$t>(dst, "dst", $name)?, "dst")?;
            let src = readonly(src.cast::<PyArrayDyn<$t>>()?, "src")?;
            let pad = readonly(like_src::<$t>(pad, "pad", $name)?, "pad")?;
            let (src, pad) = (c_slice(&src, "src")?, c_slice(&pad, "pad")?);
            let dst = c_slice_mut(&mut dst, "dst")?;
            py.detach(|| dna::shift_rows(src, dst, block_rows, row_len, shift, pad))?;
            Ok(())
        }};
    }
    if src.cast::<PyArrayDyn<u8>>().is_ok() {
        run!(u8, "uint8")
    } else if src.cast::<PyArrayDyn<u16>>().is_ok() {
        run!(u16, "uint16")
    } else if src.cast::<PyArrayDyn<u32>>().is_ok() {
        run!(u32, "uint32")
    } else if src.cast::<PyArrayDyn<u64>>().is_ok() {
        run!(u64, "uint64")
    } else {
        Err(PyTypeError::new_err("src must be a uint8/16/32/64 array"))
    }
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(one_hot_u8, m)?)?;
    m.add_function(wrap_pyfunction!(one_hot_f32, m)?)?;
    m.add_function(wrap_pyfunction!(reverse_complement_blocks, m)?)?;
    m.add_function(wrap_pyfunction!(reverse_rows, m)?)?;
    m.add_function(wrap_pyfunction!(shift_rows, m)?)?;
    Ok(())
}
