//! Bindings of [`crate::genome`]: the in-memory genome.

use std::path::PathBuf;

use numpy::{PyArray1, PyArray2, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::{c_slice, readonly};
use crate::genome;

/// A FASTA file (plain, gzip or bgzip) held in memory; windows may run off either
/// chromosome end (N-padded).
#[pyclass(frozen, module = "crossreg._native")]
pub(super) struct Genome {
    pub(super) inner: genome::Genome,
}

#[pymethods]
impl Genome {
    #[new]
    #[pyo3(signature = (path, *, hash_content = false))]
    fn new(py: Python<'_>, path: PathBuf, hash_content: bool) -> PyResult<Self> {
        let inner = py.detach(|| genome::Genome::load(&path, hash_content))?;
        Ok(Genome { inner })
    }

    /// The file's size and hex SHA-256 (of its bytes as stored), taken from the read that
    /// loaded it; `None` when loaded without `hash_content`.
    #[getter]
    fn content(&self) -> Option<(u64, String)> {
        self.inner
            .content()
            .map(|(size, hex)| (size, hex.to_string()))
    }

    /// Chromosome names in file order.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.inner.names().to_vec()
    }

    /// Chromosome lengths in file order.
    #[getter]
    fn lengths(&self) -> Vec<u64> {
        self.inner.lengths()
    }

    /// The bases of `[start, end)` on `chrom` as bytes (case kept, N outside).
    fn fetch<'py>(
        &self,
        py: Python<'py>,
        chrom: &str,
        start: i64,
        end: i64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let seq = py.detach(|| self.inner.fetch(chrom, start, end))?;
        Ok(PyBytes::new(py, &seq))
    }

    /// Windows of `length` bp at `starts` on `chroms`, as a `(n, length)` uint8 array.
    fn fetch_many<'py>(
        &self,
        py: Python<'py>,
        chroms: Vec<String>,
        starts: &Bound<'py, PyArray1<i64>>,
        length: usize,
    ) -> PyResult<Bound<'py, PyArray2<u8>>> {
        let starts = readonly(starts, "starts")?;
        let starts = c_slice(&starts, "starts")?;
        let ids = chroms
            .iter()
            .map(|c| self.inner.chrom_id(c))
            .collect::<crate::Result<Vec<usize>>>()?;
        let what = format!("{} windows of {length} bp", ids.len());
        let windows = py.detach(|| {
            let total = ids.len().checked_mul(length).ok_or_else(|| {
                crate::Error::OutOfMemory(format!("{what} are more bytes than can be addressed"))
            })?;
            let mut buf = genome::zeroed_bytes(total, &what)?;
            self.inner.fetch_many_into(&ids, starts, length, &mut buf)?;
            Ok::<_, crate::Error>(buf)
        })?;
        PyArray1::from_vec(py, windows).reshape([ids.len(), length])
    }
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Genome>()?;
    Ok(())
}
