//! Python bindings: the only module that knows PyO3. Thin wrappers that borrow numpy
//! arrays without copying, release the GIL around the work and turn [`crate::Error`]
//! into Python exceptions. One submodule per core module.

use numpy::ndarray::Dimension;
use numpy::{
    BorrowError, Element, PyArray, PyArrayDescr, PyArrayMethods, PyReadonlyArray, PyReadwriteArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyFileNotFoundError, PyMemoryError, PyOSError, PyValueError};
use pyo3::prelude::*;

use crate::Error;

mod augment;
mod bigwig;
mod chroms;
mod codec;
mod dna;
mod genome;
mod signal;
mod sldp;
mod synteny;
mod text;
mod vcf;

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
            Error::OutOfMemory(_) => PyMemoryError::new_err(message),
        }
    }
}

/// `array` borrowed for reading. Arguments are taken as plain arrays and borrowed here, not
/// as `PyReadonlyArray` arguments, whose extraction panics (a `PanicException`, which
/// `except Exception` misses) when the array is being written: by another argument of the
/// same call or by a call in progress on another thread.
fn readonly<'py, T: Element, D: Dimension>(
    array: &Bound<'py, PyArray<T, D>>,
    what: &str,
) -> PyResult<PyReadonlyArray<'py, T, D>> {
    array.try_readonly().map_err(|err| borrow_error(what, err))
}

/// `array` borrowed for writing, under the same rule as [`readonly`]; a read-only array
/// (`flags.writeable` false) is refused too.
fn readwrite<'py, T: Element, D: Dimension>(
    array: &Bound<'py, PyArray<T, D>>,
    what: &str,
) -> PyResult<PyReadwriteArray<'py, T, D>> {
    array.try_readwrite().map_err(|err| borrow_error(what, err))
}

fn borrow_error(what: &str, err: BorrowError) -> PyErr {
    PyValueError::new_err(match err {
        BorrowError::NotWriteable => {
            format!("{what} is a read-only array; pass a writable one (numpy.array copies it)")
        }
        _ => format!(
            "{what} shares its memory with an array that this call, or a call running on \
             another thread, writes; pass arrays that do not overlap"
        ),
    })
}

/// The elements of `array`, which must be C-contiguous (row-major): a Fortran-order array
/// is contiguous too but its buffer is not in the index order the core expects.
fn c_slice<'a, T: Element, D: Dimension>(
    array: &'a PyReadonlyArray<'_, T, D>,
    what: &str,
) -> PyResult<&'a [T]> {
    if !array.is_c_contiguous() {
        return Err(not_c_order(what));
    }
    array.as_slice().map_err(|_| not_c_order(what))
}

/// The elements of `array`, writable, under the same rule as [`c_slice`].
fn c_slice_mut<'a, T: Element, D: Dimension>(
    array: &'a mut PyReadwriteArray<'_, T, D>,
    what: &str,
) -> PyResult<&'a mut [T]> {
    if !array.is_c_contiguous() {
        return Err(not_c_order(what));
    }
    array.as_slice_mut().map_err(|_| not_c_order(what))
}

fn not_c_order(what: &str) -> PyErr {
    PyValueError::new_err(format!(
        "{what} must be a C-contiguous array (numpy.ascontiguousarray)"
    ))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // Load numpy's C API now. Loaded lazily, by the first array a function makes once its
    // work (run with the GIL released) is done, it runs Python code, which raises a signal
    // received during the work (Ctrl-C, SIGTERM) inside rust-numpy: a panic, not an interrupt.
    PyArrayDescr::of::<u8>(m.py());
    augment::register(m)?;
    bigwig::register(m)?;
    chroms::register(m)?;
    codec::register(m)?;
    dna::register(m)?;
    genome::register(m)?;
    signal::register(m)?;
    sldp::register(m)?;
    synteny::register(m)?;
    text::register(m)?;
    vcf::register(m)?;
    Ok(())
}
