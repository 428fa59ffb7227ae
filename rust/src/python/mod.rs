//! Python bindings: the only module that knows PyO3. Thin wrappers that borrow numpy
//! arrays without copying, release the GIL around the work and turn [`crate::Error`]
//! into Python exceptions. One submodule per core module.

use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;

use crate::Error;

mod augment;
mod bigwig;
mod chroms;
mod codec;
mod dna;
mod genome;
mod signal;
mod synteny;

impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        let message = err.to_string();
        match err {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                PyFileNotFoundError::new_err(message)
            }
            Error::Io { .. } => PyOSError::new_err(message),
            Error::Parse { .. } | Error::UnknownChrom { .. } | Error::Invalid(_) => {
                PyValueError::new_err(message)
            }
        }
    }
}

/// A numpy array that must be C-contiguous, with a clear message when it is not.
fn contiguous<T>(slice: Result<T, numpy::AsSliceError>, what: &str) -> PyResult<T> {
    slice.map_err(|_| PyValueError::new_err(format!("{what} must be a C-contiguous array")))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    augment::register(m)?;
    bigwig::register(m)?;
    chroms::register(m)?;
    codec::register(m)?;
    dna::register(m)?;
    genome::register(m)?;
    signal::register(m)?;
    synteny::register(m)?;
    Ok(())
}
