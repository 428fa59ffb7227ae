//! Bindings of [`crate::text`]: score tables as text.

use numpy::{PyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::{c_slice, readonly};
use crate::text;

/// Tab-separated UTF-8 lines: each prefix, then its row of `values` as Python's
/// `format(x, ".6g")` writes each value; formatted on all cores without the GIL.
#[pyfunction]
fn format_rows<'py>(
    py: Python<'py>,
    prefixes: Vec<String>,
    values: &Bound<'py, PyArray2<f32>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let values = readonly(values, "values")?;
    let (rows, columns) = (values.shape()[0], values.shape()[1]);
    if rows != prefixes.len() {
        return Err(PyValueError::new_err(format!(
            "values has {rows} rows for {} prefixes; give one row per prefix",
            prefixes.len()
        )));
    }
    let values = c_slice(&values, "values")?;
    let text = py.detach(|| text::format_rows(&prefixes, values, columns));
    Ok(PyBytes::new(py, &text))
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(format_rows, m)?)?;
    Ok(())
}
