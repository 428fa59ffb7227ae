//! Bindings of [`crate::bigwig`]: BigWig tracks → finished float16 targets.

use std::path::PathBuf;

use half::slice::HalfBitsSliceExt;
use numpy::{PyArray1, PyArray2, PyArray3, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::{c_slice, c_slice_mut, readonly, readwrite};
use crate::bigwig::{self, SumStat, TrackSpec, Windows};

/// Chromosome `(name, length)` pairs of a BigWig file.
#[pyfunction]
fn bigwig_chrom_sizes(py: Python<'_>, path: PathBuf) -> PyResult<Vec<(String, u64)>> {
    Ok(py.detach(|| bigwig::chrom_sizes(&path))?)
}

/// One track's pooling and transforms, as Python passes them (a dict with these keys).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct TrackArgs {
    files: Vec<PathBuf>,
    sum_stat: String,
    clip: f32,
    clip_soft: f32,
    scale: f32,
}

/// The most threads `bigwig_targets` starts: more than a machine's cores only share them,
/// and a mistyped count must not try to start billions.
const MAX_THREADS: usize = 1024;

/// Finished targets of `tracks` over the windows into `out` (`(windows, bins, tracks)`
/// float16 viewed as uint16). Returns one dict of statistics per track (`fill_value`,
/// `pooled_mean`, `pooled_max`, `clipped_fraction`, `target_mean`, `overflow_fraction`,
/// `absent_fraction`).
#[pyfunction]
#[pyo3(signature = (tracks, chroms, chrom_ids, starts, pool, mask, fill_quantile, out, threads=None))]
#[allow(clippy::too_many_arguments)]
fn bigwig_targets<'py>(
    py: Python<'py>,
    tracks: Vec<TrackArgs>,
    chroms: Vec<String>,
    chrom_ids: &Bound<'_, PyArray1<u32>>,
    starts: &Bound<'_, PyArray1<u64>>,
    pool: usize,
    mask: Option<&Bound<'_, PyArray2<bool>>>,
    fill_quantile: f64,
    out: &Bound<'_, PyArray3<u16>>,
    threads: Option<usize>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    if let Some(n) = threads.filter(|&n| n == 0 || n > MAX_THREADS) {
        return Err(PyValueError::new_err(format!(
            "threads must be from 1 to {MAX_THREADS} (None: all cores); got {n}"
        )));
    }
    let specs = tracks
        .into_iter()
        .map(|t| {
            Ok(TrackSpec {
                files: t.files,
                sum_stat: SumStat::parse(&t.sum_stat)?,
                clip: t.clip,
                clip_soft: t.clip_soft,
                scale: t.scale,
            })
        })
        .collect::<crate::Result<Vec<_>>>()?;
    let [_, bins, n_tracks] = <[usize; 3]>::try_from(out.shape()).expect("3-D array");
    if n_tracks != specs.len() {
        return Err(PyValueError::new_err(format!(
            "out has room for {n_tracks} tracks but {} were given",
            specs.len()
        )));
    }
    let mut out = readwrite(out, "out")?;
    let chrom_ids = readonly(chrom_ids, "chrom_ids")?;
    let starts = readonly(starts, "starts")?;
    let mask = mask.map(|m| readonly(m, "mask")).transpose()?;
    let chrom_ids = c_slice(&chrom_ids, "chrom_ids")?;
    let starts = c_slice(&starts, "starts")?;
    let mask = match &mask {
        Some(m) => Some(c_slice(m, "mask")?),
        None => None,
    };
    let out = c_slice_mut(&mut out, "out")?.reinterpret_cast_mut();
    let windows = Windows {
        chroms: &chroms,
        chrom_ids,
        starts,
        bins,
        pool,
    };
    let mut work = || bigwig::targets(&specs, &windows, mask, fill_quantile, out);
    let stats = py.detach(|| match threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| crate::Error::Invalid(format!("cannot start {n} threads: {e}")))
            .and_then(|pool| pool.install(work)),
        None => work(),
    })?;
    stats
        .into_iter()
        .map(|s| {
            let d = PyDict::new(py);
            d.set_item("fill_value", s.fill_value)?;
            d.set_item("pooled_mean", s.pooled_mean)?;
            d.set_item("pooled_max", s.pooled_max)?;
            d.set_item("clipped_fraction", s.clipped_fraction)?;
            d.set_item("target_mean", s.target_mean)?;
            d.set_item("overflow_fraction", s.overflow_fraction)?;
            d.set_item("absent_fraction", s.absent_fraction)?;
            Ok(d)
        })
        .collect()
}

/// Decompress every data block of a BigWig once, keeping nothing (the floor of any
/// exact reader): `(blocks, compressed bytes, decompressed bytes)`.
#[pyfunction]
fn bigwig_decode_all(py: Python<'_>, path: PathBuf) -> PyResult<(u64, u64, u64)> {
    Ok(py.detach(|| crate::bigwig_file::decode_all(&path))?)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(bigwig_chrom_sizes, m)?)?;
    m.add_function(wrap_pyfunction!(bigwig_targets, m)?)?;
    m.add_function(wrap_pyfunction!(bigwig_decode_all, m)?)?;
    Ok(())
}
