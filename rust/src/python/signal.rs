//! Bindings of [`crate::signal`]: in-place transforms of float32 arrays.

use numpy::PyArrayDyn;
use pyo3::prelude::*;

use super::{c_slice_mut, readwrite};
use crate::signal;

/// Soft clip in place: `min(x, t + sqrt(max(0, x − t)))`.
#[pyfunction]
fn soft_clip(py: Python<'_>, values: &Bound<'_, PyArrayDyn<f32>>, threshold: f32) -> PyResult<()> {
    let mut values = readwrite(values, "values")?;
    let values = c_slice_mut(&mut values, "values")?;
    py.detach(|| signal::soft_clip(values, threshold));
    Ok(())
}

/// Clamp in place into `[0, max_value]`.
#[pyfunction]
fn hard_clip(py: Python<'_>, values: &Bound<'_, PyArrayDyn<f32>>, max_value: f32) -> PyResult<()> {
    let mut values = readwrite(values, "values")?;
    let values = c_slice_mut(&mut values, "values")?;
    py.detach(|| signal::hard_clip(values, max_value));
    Ok(())
}

/// Multiply in place by `factor`.
#[pyfunction]
fn scale(py: Python<'_>, values: &Bound<'_, PyArrayDyn<f32>>, factor: f32) -> PyResult<()> {
    let mut values = readwrite(values, "values")?;
    let values = c_slice_mut(&mut values, "values")?;
    py.detach(|| signal::scale(values, factor));
    Ok(())
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(soft_clip, m)?)?;
    m.add_function(wrap_pyfunction!(hard_clip, m)?)?;
    m.add_function(wrap_pyfunction!(scale, m)?)?;
    Ok(())
}
