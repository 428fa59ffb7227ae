//! Bindings of [`crate::sldp`]: the `.info` sums of signed annotations.

use half::f16;
use numpy::{PyArray1, PyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

use super::{c_slice, readonly};
use crate::sldp::{self, InfoSums, Order, Value};

/// A stored annotation table, in its own float type.
#[derive(FromPyObject)]
enum Table<'py> {
    F16(Bound<'py, PyArray2<f16>>),
    F32(Bound<'py, PyArray2<f32>>),
    F64(Bound<'py, PyArray2<f64>>),
}

type Sums<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<u64>>,
);

/// Per column of `values` (float16, float32 or float64, rows × columns): Σv², Σv² over
/// the `kept` SNPs, #(v ≠ 0) and #(v ≠ 0) over the kept SNPs, where SNP i's v is
/// `values[rows[i]] * factors[i]` (`0 * factors[i]` where `rows[i]` is negative), each
/// column's squares added in SNP order (`pairwise`: as numpy sums a single column). Works
/// on all cores without the GIL.
#[pyfunction]
fn sldp_info_sums<'py>(
    py: Python<'py>,
    values: Table<'py>,
    rows: &Bound<'py, PyArray1<i64>>,
    factors: &Bound<'py, PyArray1<f64>>,
    kept: &Bound<'py, PyArray1<bool>>,
    pairwise: bool,
) -> PyResult<Sums<'py>> {
    let order = if pairwise {
        Order::Pairwise
    } else {
        Order::Rows
    };
    let (rows, factors, kept) = (
        readonly(rows, "rows")?,
        readonly(factors, "factors")?,
        readonly(kept, "kept")?,
    );
    let (rows, factors, kept) = (
        c_slice(&rows, "rows")?,
        c_slice(&factors, "factors")?,
        c_slice(&kept, "kept")?,
    );
    let sums = match values {
        Table::F16(v) => sums(py, &v, rows, factors, kept, order),
        Table::F32(v) => sums(py, &v, rows, factors, kept, order),
        Table::F64(v) => sums(py, &v, rows, factors, kept, order),
    }?;
    Ok((
        PyArray1::from_vec(py, sums.squares),
        PyArray1::from_vec(py, sums.squares_kept),
        PyArray1::from_vec(py, sums.nonzero),
        PyArray1::from_vec(py, sums.nonzero_kept),
    ))
}

fn sums<T: Value + numpy::Element>(
    py: Python<'_>,
    values: &Bound<'_, PyArray2<T>>,
    rows: &[i64],
    factors: &[f64],
    kept: &[bool],
    order: Order,
) -> PyResult<InfoSums> {
    let values = readonly(values, "values")?;
    let columns = values.shape()[1];
    let values = c_slice(&values, "values")?;
    Ok(py.detach(|| sldp::info_sums(values, columns, rows, factors, kept, order))?)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sldp_info_sums, m)?)?;
    Ok(())
}
