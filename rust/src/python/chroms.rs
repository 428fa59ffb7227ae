//! Bindings of the chromosome-name helpers of [`crate::error`]: the one wording of every
//! message about a chromosome naming mismatch, in Rust errors and Python's alike.

use pyo3::prelude::*;

use crate::error;

/// The hint that follows "chromosome 'name' is not in ...": the name in `known` that
/// differs only by the 'chr' prefix or by case, else the first names `known` holds.
#[pyfunction]
#[pyo3(signature = (name, known))]
fn chrom_hint(name: &str, known: Vec<String>) -> String {
    error::chrom_hint(name, known.iter().map(String::as_str))
}

/// The name in `known` (any container: membership is tested with `in`) that differs from
/// `name` only by the 'chr' prefix, or None.
#[pyfunction]
#[pyo3(signature = (name, known))]
fn chrom_prefix_twin(name: &str, known: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let mut failure = None;
    let twin = error::prefix_twin(name, |candidate| match known.contains(candidate) {
        Ok(found) => found,
        Err(err) => {
            failure.get_or_insert(err);
            false
        }
    });
    match failure {
        Some(err) => Err(err),
        None => Ok(twin),
    }
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(chrom_hint, m)?)?;
    m.add_function(wrap_pyfunction!(chrom_prefix_twin, m)?)?;
    Ok(())
}
