//! Bindings of [`crate::vcf`]: a VCF's sites, read in batches without the GIL.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::vcf::{Site, VcfOptions, VcfReader};

/// The most sites a batch reserves room for before reading (a caller may ask for more).
const MAX_RESERVED_SITES: usize = 1 << 16;

/// The sites of a VCF (plain or gzipped): each batch a list of `(line, chrom, pos, id,
/// ref, alts, qual, filter, info, samples)` tuples, `pos` 1-based, `info` a dict of INFO's
/// keys and values (`True` for a flag; the last of a repeated key), `samples` the text
/// after INFO or None. With `sites_only` the sample columns are neither split nor kept; the
/// first `skip` records on `skip_chroms` are passed over unread.
#[pyclass(frozen, module = "crossreg._native")]
struct VcfSites {
    reader: Mutex<VcfReader>,
}

#[pymethods]
impl VcfSites {
    #[new]
    #[pyo3(signature = (path, *, sites_only = false, skip = 0, skip_chroms = HashSet::new()))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        sites_only: bool,
        skip: u64,
        skip_chroms: HashSet<String>,
    ) -> PyResult<Self> {
        let options = VcfOptions {
            sites_only,
            skip,
            skip_chroms,
        };
        let reader = py.detach(|| VcfReader::open(&path, options))?;
        Ok(VcfSites {
            reader: Mutex::new(reader),
        })
    }

    /// Up to `size` more sites; an empty list at the end of the file.
    fn read<'py>(&self, py: Python<'py>, size: usize) -> PyResult<Bound<'py, PyList>> {
        let sites = py.detach(|| {
            let mut sites = Vec::with_capacity(size.min(MAX_RESERVED_SITES));
            self.lock().read_batch(size, &mut sites).map(|()| sites)
        })?;
        let mut names = Names::new();
        let rows = sites
            .into_iter()
            .map(|site| row(py, site, &mut names))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, rows)
    }

    /// True once a column header line or a record has been read.
    #[getter]
    fn seen_header(&self) -> bool {
        self.lock().seen_header()
    }

    /// True when a record came before any column header line.
    #[getter]
    fn headerless(&self) -> bool {
        self.lock().headerless()
    }
}

impl VcfSites {
    fn lock(&self) -> std::sync::MutexGuard<'_, VcfReader> {
        self.reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The strings a batch repeats (CHROM, QUAL, FILTER, INFO's keys), made once a batch.
type Names<'py> = HashMap<String, Bound<'py, PyString>>;

fn name<'py>(py: Python<'py>, names: &mut Names<'py>, text: &str) -> Bound<'py, PyString> {
    if let Some(found) = names.get(text) {
        return found.clone();
    }
    let made = PyString::new(py, text);
    names.insert(text.to_string(), made.clone());
    made
}

fn row<'py>(py: Python<'py>, site: Site, names: &mut Names<'py>) -> PyResult<Bound<'py, PyTuple>> {
    let alts = PyTuple::new(py, site.alts)?;
    let info = PyDict::new(py);
    if site.info != "." {
        for item in site.info.split(';').filter(|item| !item.is_empty()) {
            match item.split_once('=') {
                Some((key, value)) => info.set_item(name(py, names, key), value)?,
                None => info.set_item(name(py, names, item), true)?,
            }
        }
    }
    (
        site.line,
        name(py, names, &site.chrom),
        site.pos,
        site.id,
        site.reference,
        alts,
        name(py, names, &site.qual),
        name(py, names, &site.filter),
        info,
        site.samples,
    )
        .into_pyobject(py)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<VcfSites>()?;
    Ok(())
}
