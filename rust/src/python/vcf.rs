//! Bindings of [`crate::vcf`] and [`crate::vcf_survey`]: a VCF's sites, and `sad`'s
//! survey of them, read in batches without the GIL.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use super::genome::Genome;
use crate::digest::ContentDigest;
use crate::vcf::{Site, VcfOptions, VcfReader};
use crate::vcf_survey::Survey;

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

/// `sad`'s survey of a VCF (plain or gzipped) against `genome` for a model of
/// `seq_length` bp (`crate::vcf_survey`), read in batches; the file's bytes are hashed as
/// they are read, so its content identity is known at the end without a second read.
#[pyclass(frozen, module = "crossreg._native")]
struct VcfSurvey {
    genome: Py<Genome>,
    state: Mutex<SurveyState>,
}

struct SurveyState {
    reader: VcfReader,
    digest: ContentDigest,
    survey: Survey,
}

/// A record as the survey's caller checks it: `(chrom, pos, id, ref, alts)`, `pos` 1-based.
type Record = (u64, String, u64, String, String, Vec<String>);

fn record(site: &Site) -> Record {
    (
        site.line,
        site.chrom.clone(),
        site.pos,
        site.id.clone(),
        site.reference.clone(),
        site.alts.clone(),
    )
}

/// The survey's counts: `(alleles, unscorable_records, unscorable_codes, reasons,
/// off_genome)`.
type Counts<'py> = (
    Bound<'py, PyArray1<u16>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<u8>>,
    Vec<&'static str>,
    HashMap<String, u64>,
);

#[pymethods]
impl VcfSurvey {
    #[new]
    #[pyo3(signature = (path, genome, seq_length, *, strict = false))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        genome: Py<Genome>,
        seq_length: usize,
        strict: bool,
    ) -> PyResult<Self> {
        let options = VcfOptions {
            sites_only: true,
            ..VcfOptions::default()
        };
        let (reader, digest) = py.detach(|| VcfReader::open_hashed(&path, options))?;
        let state = SurveyState {
            reader,
            digest,
            survey: Survey::new(seq_length, strict),
        };
        Ok(VcfSurvey {
            genome,
            state: Mutex::new(state),
        })
    }

    /// Survey up to `size` more records; returns how many were read: 0 at the end of the
    /// file, and once a record has stopped the survey (`stop`).
    fn read(&self, py: Python<'_>, size: usize) -> PyResult<usize> {
        let genome = &self.genome.get().inner;
        let read = py.detach(|| {
            let mut state = self.lock();
            let SurveyState { reader, survey, .. } = &mut *state;
            survey.step(reader, genome, size)
        })?;
        Ok(read)
    }

    /// The record `(line, chrom, pos, id, ref, alts)` that failed a check and stopped the
    /// survey, or None.
    #[getter]
    fn stop(&self) -> Option<Record> {
        self.lock().survey.stop.as_ref().map(record)
    }

    /// The first record on a chromosome the genome lacks, or None.
    #[getter]
    fn first_off(&self) -> Option<Record> {
        self.lock().survey.first_off.as_ref().map(record)
    }

    /// The counts so far, handed over (the survey keeps none of them): each kept record's
    /// scorable ALTs, each unscorable ALT's kept record and reason code, the reasons by
    /// code, and the records per chromosome the genome lacks.
    fn take_counts<'py>(&self, py: Python<'py>) -> Counts<'py> {
        let mut state = self.lock();
        let survey = &mut state.survey;
        (
            PyArray1::from_vec(py, std::mem::take(&mut survey.alleles)),
            PyArray1::from_vec(py, std::mem::take(&mut survey.unscorable_records)),
            PyArray1::from_vec(py, std::mem::take(&mut survey.unscorable_codes)),
            std::mem::take(&mut survey.reasons),
            std::mem::take(&mut survey.off_genome),
        )
    }

    /// `(size, sha256)` of the file's bytes once it has been read to its end; else None.
    #[getter]
    fn content_digest(&self) -> Option<(u64, String)> {
        self.lock().digest.finished()
    }

    /// True once a column header line or a record has been read.
    #[getter]
    fn seen_header(&self) -> bool {
        self.lock().reader.seen_header()
    }

    /// True when a record came before any column header line.
    #[getter]
    fn headerless(&self) -> bool {
        self.lock().reader.headerless()
    }
}

impl VcfSurvey {
    fn lock(&self) -> std::sync::MutexGuard<'_, SurveyState> {
        self.state
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
    m.add_class::<VcfSurvey>()?;
    Ok(())
}
