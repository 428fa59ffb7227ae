//! Bindings of [`crate::synteny`]: the multi-genome split by synteny.

use std::path::PathBuf;

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::net::ChromSizes;
use crate::synteny::{self, NetInput, SplitOptions};

/// Split genomes by synteny; returns a dict of per-region, per-component and per-link
/// arrays plus the net summaries and warnings (see `_native.pyi`).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (genomes, nets, region_size, min_aligned, fractions, labels, seed, skip_unknown))]
fn split_genomes<'py>(
    py: Python<'py>,
    genomes: Vec<(String, Vec<(String, u64)>)>,
    nets: Vec<(usize, usize, PathBuf)>,
    region_size: u64,
    min_aligned: u64,
    fractions: Vec<f64>,
    labels: Vec<String>,
    seed: u64,
    skip_unknown: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let options = SplitOptions {
        region_size,
        min_aligned,
        fractions,
        labels,
        seed,
        skip_unknown,
    };
    let nets: Vec<NetInput> = nets
        .into_iter()
        .map(|(target, query, path)| NetInput {
            target,
            query,
            path,
        })
        .collect();
    let outcome = py.detach(|| {
        let sizes = genomes
            .into_iter()
            .map(|(name, chroms)| ChromSizes::new(&name, chroms))
            .collect::<crate::Result<Vec<_>>>()?;
        synteny::split_genomes(&sizes, &nets, &options)
    })?;
    let out = PyDict::new(py);
    let regions = outcome.regions;
    out.set_item("region_genome", PyArray1::from_vec(py, regions.genome))?;
    out.set_item("region_chrom", PyArray1::from_vec(py, regions.chrom))?;
    out.set_item("region_start", PyArray1::from_vec(py, regions.start))?;
    out.set_item("region_end", PyArray1::from_vec(py, regions.end))?;
    out.set_item(
        "region_component",
        PyArray1::from_vec(py, outcome.component),
    )?;
    out.set_item(
        "component_split",
        PyArray1::from_vec(py, outcome.component_split),
    )?;
    let (mut a, mut b, mut bases) = (Vec::new(), Vec::new(), Vec::new());
    for link in &outcome.links {
        a.push(link.a);
        b.push(link.b);
        bases.push(link.bases);
    }
    out.set_item("link_a", PyArray1::from_vec(py, a))?;
    out.set_item("link_b", PyArray1::from_vec(py, b))?;
    out.set_item("link_bases", PyArray1::from_vec(py, bases))?;
    let summaries = outcome
        .nets
        .iter()
        .map(|s| {
            let d = PyDict::new(py);
            d.set_item("chroms", s.chroms)?;
            d.set_item("fills", s.fills)?;
            d.set_item("gaps", s.gaps)?;
            d.set_item("segments", s.segments)?;
            d.set_item("aligned_bases", s.aligned_bases)?;
            d.set_item("skipped_fills", s.skipped_fills)?;
            d.set_item("skipped_chroms", s.skipped_chroms.clone())?;
            d.set_item("non_syntenic_fills", s.non_syntenic_fills)?;
            d.set_item("non_syntenic_bases", s.non_syntenic_bases)?;
            Ok(d)
        })
        .collect::<PyResult<Vec<_>>>()?;
    out.set_item("nets", summaries)?;
    out.set_item("warnings", outcome.warnings)?;
    Ok(out)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(split_genomes, m)?)?;
    Ok(())
}
