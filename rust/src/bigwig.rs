//! BigWig coverage → binned training targets.
//!
//! Reads exact base-level values from the data sections of BigWig files (never the zoom
//! levels) with the `bigtools` crate and turns them into the paper's targets, per track:
//!
//! 1. missing data → 0, negative values → 0, replicates averaged per base;
//! 2. pooling into bins of `pool` bp with the track's [`SumStat`];
//! 3. masked bins (blacklist / unmappable) set to the track's fill value: the `q`-quantile
//!    (default 0.25) of its unmasked bins over every window given;
//! 4. soft clip at `clip_soft` (or `clip`), hard clip into `[0, clip]`, multiply by `scale`;
//! 5. float16.
//!
//! Each track's files are opened once; windows are visited in chromosome order and
//! neighbouring windows are read together, so overlapping windows decode each block once.

use std::path::{Path, PathBuf};

use bigtools::{BigWigRead, BigWigReadOpenError};
use half::f16;
use rayon::prelude::*;

use crate::signal;
use crate::{Error, Result};

/// An open BigWig file and its path (for error messages).
type Reader = (PathBuf, BigWigRead<bigtools::utils::reopen::ReopenableFile>);

/// Windows closer than this share one read of the file (bp of the span read at once).
const GROUP_SPAN: u64 = 1 << 22;

/// How the base-level values of a bin become one number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SumStat {
    /// Sum of the bin's values.
    Sum,
    /// Mean of the bin's values.
    Mean,
    /// Maximum of the bin's values.
    Max,
    /// `−1 + sqrt(1 + sum)`.
    SumSqrt,
    /// `−1 + sqrt(1 + mean)`.
    MeanSqrt,
}

impl SumStat {
    /// Parse a targets-table `sum_stat` (`avg` is accepted for `mean`).
    pub fn parse(name: &str) -> Result<SumStat> {
        Ok(match name {
            "sum" => SumStat::Sum,
            "mean" | "avg" => SumStat::Mean,
            "max" => SumStat::Max,
            "sum_sqrt" => SumStat::SumSqrt,
            "mean_sqrt" => SumStat::MeanSqrt,
            other => {
                return Err(Error::Invalid(format!(
                    "sum_stat '{other}' is unknown; use one of sum, mean, max, sum_sqrt, \
                     mean_sqrt"
                )))
            }
        })
    }

    /// Pool one bin of base-level values (all ≥ 0).
    #[inline]
    pub fn pool(self, values: &[f32]) -> f32 {
        let mean = || lane_sum(values) / values.len() as f32;
        match self {
            SumStat::Sum => lane_sum(values),
            SumStat::Mean => mean(),
            SumStat::Max => lane_max(values),
            SumStat::SumSqrt => (1.0 + lane_sum(values)).sqrt() - 1.0,
            SumStat::MeanSqrt => (1.0 + mean()).sqrt() - 1.0,
        }
    }
}

/// Accumulator lanes of the pooling loops: independent lanes let the compiler use SIMD
/// (a single running sum cannot be reordered).
const LANES: usize = 8;

/// Sum of `values` in `LANES` interleaved partial sums.
#[inline]
fn lane_sum(values: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// Maximum of non-negative `values` (0 for an empty slice).
#[inline]
fn lane_max(values: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder().iter().fold(0f32, |m, &v| m.max(v));
    for chunk in chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a = if v > *a { v } else { *a };
        }
    }
    acc.iter().fold(rest, |m, &v| m.max(v))
}

/// One output track: its replicate files and the transforms of its values.
#[derive(Clone, Debug)]
pub struct TrackSpec {
    /// Replicate BigWig files, averaged per base.
    pub files: Vec<PathBuf>,
    pub sum_stat: SumStat,
    /// Hard clip: values above become `clip`.
    pub clip: f32,
    /// Soft-clip threshold `t` of `min(x, t + sqrt(max(0, x − t)))`.
    pub clip_soft: f32,
    /// Multiplier applied after clipping.
    pub scale: f32,
}

/// The genomic regions whose targets are computed: `bins × pool` bp starting at `starts`.
#[derive(Clone, Debug)]
pub struct Windows<'a> {
    /// Chromosome names that `chrom_ids` index.
    pub chroms: &'a [String],
    /// Chromosome of each window (index into `chroms`).
    pub chrom_ids: &'a [u32],
    /// 0-based start of each window's first bin.
    pub starts: &'a [u64],
    pub bins: usize,
    pub pool: usize,
}

impl Windows<'_> {
    /// Number of windows.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether there are no windows.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    fn span(&self) -> u64 {
        (self.bins * self.pool) as u64
    }

    fn check(&self) -> Result<()> {
        if self.chrom_ids.len() != self.starts.len() {
            return Err(Error::Invalid(format!(
                "{} chromosome ids but {} window starts",
                self.chrom_ids.len(),
                self.starts.len()
            )));
        }
        if self.pool == 0 || self.bins == 0 {
            return Err(Error::Invalid(
                "windows need at least one bin of ≥ 1 bp".into(),
            ));
        }
        if let Some(&bad) = self
            .chrom_ids
            .iter()
            .find(|&&c| c as usize >= self.chroms.len())
        {
            return Err(Error::Invalid(format!(
                "chromosome id {bad} is out of range ({} names)",
                self.chroms.len()
            )));
        }
        Ok(())
    }

    /// Runs of windows (in chromosome, start order) read together: each is
    /// `(chrom id, span start, span end, window indices)`.
    fn groups(&self) -> Vec<(u32, u64, u64, Vec<usize>)> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&i| (self.chrom_ids[i], self.starts[i]));
        let span = self.span();
        let mut groups: Vec<(u32, u64, u64, Vec<usize>)> = Vec::new();
        for i in order {
            let (chrom, start) = (self.chrom_ids[i], self.starts[i]);
            match groups.last_mut() {
                Some((c, gs, ge, members))
                    if *c == chrom && start + span - *gs <= GROUP_SPAN.max(span) =>
                {
                    *ge = (*ge).max(start + span);
                    members.push(i);
                }
                _ => groups.push((chrom, start, start + span, vec![i])),
            }
        }
        groups
    }
}

/// Summary of one track over all windows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TrackStats {
    /// Value given to masked bins (the fill quantile of unmasked pooled bins).
    pub fill_value: f32,
    /// Mean of the pooled bins before masking and clipping.
    pub pooled_mean: f64,
    /// Maximum of the pooled bins before masking and clipping.
    pub pooled_max: f32,
    /// Fraction of bins above the lower of the soft- and hard-clip thresholds.
    pub clipped_fraction: f64,
    /// Mean of the final (clipped, scaled) targets.
    pub target_mean: f64,
}

fn open_error(path: &Path, err: BigWigReadOpenError) -> Error {
    match err {
        BigWigReadOpenError::IoError(e) => Error::io(path, e),
        BigWigReadOpenError::NotABigWig => {
            Error::parse(path, 0, "not a BigWig file (wrong magic number)")
        }
        BigWigReadOpenError::InvalidChroms => {
            Error::parse(path, 0, "the BigWig's chromosome list is unreadable")
        }
    }
}

fn read_error(path: &Path, chrom: &str, err: impl std::fmt::Display) -> Error {
    Error::parse(path, 0, format!("reading {chrom}: {err}"))
}

/// Chromosome names and lengths of a BigWig file, in the file's order.
pub fn chrom_sizes(path: &Path) -> Result<Vec<(String, u64)>> {
    let reader = BigWigRead::open_file(path).map_err(|e| open_error(path, e))?;
    Ok(reader
        .chroms()
        .iter()
        .map(|c| (c.name.clone(), u64::from(c.length)))
        .collect())
}

/// Base-level values of the replicates of one track over `[start, end)` of `chrom`,
/// averaged per base, with missing data and negatives as 0, written into `buf`.
fn read_span(
    readers: &mut [Reader],
    chrom: &str,
    start: u64,
    end: u64,
    buf: &mut Vec<f32>,
) -> Result<()> {
    buf.clear();
    buf.resize((end - start) as usize, 0.0);
    let replicates = readers.len();
    for (k, (path, reader)) in readers.iter_mut().enumerate() {
        let Some(info) = reader.chroms().iter().find(|c| c.name == chrom) else {
            continue; // no data on this chromosome: zeros
        };
        let chrom_len = u64::from(info.length);
        if start >= chrom_len {
            continue;
        }
        let (s, e) = (start as u32, end.min(chrom_len) as u32);
        let intervals = reader
            .get_interval(chrom, s, e)
            .map_err(|err| read_error(path, chrom, err))?;
        for interval in intervals {
            let v = interval.map_err(|err| read_error(path, chrom, err))?;
            if v.value.is_nan() || v.value <= 0.0 {
                continue;
            }
            let a = (v.start.max(s) - s) as usize;
            let b = (v.end.min(e).max(s) - s) as usize;
            if k == 0 {
                // A file's intervals do not overlap: the first replicate can assign.
                buf[a..b].fill(v.value);
            } else {
                buf[a..b].iter_mut().for_each(|x| *x += v.value);
            }
        }
    }
    if replicates > 1 {
        let inv = 1.0 / replicates as f32;
        buf.iter_mut().for_each(|x| *x *= inv);
    }
    Ok(())
}

/// Pooled (not yet masked or clipped) bins of one track for every window: `windows.len()
/// × windows.bins` float32, row-major in the windows' order.
pub fn pooled_track(track: &TrackSpec, windows: &Windows<'_>) -> Result<Vec<f32>> {
    windows.check()?;
    if track.files.is_empty() {
        return Err(Error::Invalid(
            "a track needs at least one BigWig file".into(),
        ));
    }
    let mut readers = track
        .files
        .iter()
        .map(|p| {
            BigWigRead::open_file(p)
                .map(|r| (p.clone(), r))
                .map_err(|e| open_error(p, e))
        })
        .collect::<Result<Vec<_>>>()?;
    let (bins, pool) = (windows.bins, windows.pool);
    let mut out = vec![0f32; windows.len() * bins];
    let mut buf = Vec::new();
    for (chrom_id, gs, ge, members) in windows.groups() {
        let chrom = &windows.chroms[chrom_id as usize];
        read_span(&mut readers, chrom, gs, ge, &mut buf)?;
        for i in members {
            let offset = (windows.starts[i] - gs) as usize;
            let bases = &buf[offset..offset + bins * pool];
            for (dst, bin) in out[i * bins..(i + 1) * bins]
                .iter_mut()
                .zip(bases.chunks_exact(pool))
            {
                *dst = track.sum_stat.pool(bin);
            }
        }
    }
    Ok(out)
}

/// The `q`-quantile (0 ≤ q ≤ 1, linear interpolation as numpy's default) of the values
/// whose mask entry is false; 0 when every value is masked.
pub fn masked_quantile(values: &[f32], mask: Option<&[bool]>, q: f64) -> f32 {
    let mut kept: Vec<f32> = match mask {
        Some(m) => values
            .iter()
            .zip(m)
            .filter(|(_, &masked)| !masked)
            .map(|(&v, _)| v)
            .collect(),
        None => values.to_vec(),
    };
    if kept.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (kept.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let frac = pos - lo as f64;
    let (_, &mut lo_value, upper) = kept.select_nth_unstable_by(lo, f32::total_cmp);
    if frac == 0.0 || upper.is_empty() {
        return lo_value;
    }
    let hi_value = upper.iter().copied().fold(f32::INFINITY, f32::min);
    (f64::from(lo_value) + (f64::from(hi_value) - f64::from(lo_value)) * frac) as f32
}

/// Mask fill, soft clip, hard clip and scale of one track's pooled bins, in place.
pub fn finish_track(
    values: &mut [f32],
    mask: Option<&[bool]>,
    track: &TrackSpec,
    fill_quantile: f64,
) -> TrackStats {
    let n = values.len().max(1) as f64;
    let pooled_mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let pooled_max = values.iter().copied().fold(0.0, f32::max);
    let fill_value = masked_quantile(values, mask, fill_quantile);
    if let Some(mask) = mask {
        for (v, &masked) in values.iter_mut().zip(mask) {
            if masked {
                *v = fill_value;
            }
        }
    }
    let clip_from = track.clip_soft.min(track.clip);
    let clipped = values.iter().filter(|&&v| v > clip_from).count();
    signal::soft_clip(values, track.clip_soft);
    signal::hard_clip(values, track.clip);
    signal::scale(values, track.scale);
    let target_mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    TrackStats {
        fill_value,
        pooled_mean,
        pooled_max,
        clipped_fraction: clipped as f64 / n,
        target_mean,
    }
}

/// Finished float16 targets of several tracks over the same windows.
///
/// `mask` (`windows.len() × bins`, true = blacklisted/unmappable) marks bins to fill.
/// `out` receives `windows.len() × bins × tracks.len()` float16 values (row-major: one
/// window's bins × tracks block is contiguous). Tracks are processed in parallel.
pub fn targets(
    tracks: &[TrackSpec],
    windows: &Windows<'_>,
    mask: Option<&[bool]>,
    fill_quantile: f64,
    out: &mut [f16],
) -> Result<Vec<TrackStats>> {
    windows.check()?;
    let (n_windows, bins, n_tracks) = (windows.len(), windows.bins, tracks.len());
    if out.len() != n_windows * bins * n_tracks {
        return Err(Error::Invalid(format!(
            "targets output holds {} values but {n_windows} windows × {bins} bins × \
             {n_tracks} tracks need {}",
            out.len(),
            n_windows * bins * n_tracks
        )));
    }
    if let Some(m) = mask {
        if m.len() != n_windows * bins {
            return Err(Error::Invalid(format!(
                "the mask holds {} bins but {n_windows} windows × {bins} bins are needed",
                m.len()
            )));
        }
    }
    if !(0.0..=1.0).contains(&fill_quantile) {
        return Err(Error::Invalid(format!(
            "the fill quantile must be within [0, 1], got {fill_quantile}"
        )));
    }
    if n_tracks == 0 || n_windows == 0 {
        return Ok(vec![TrackStats::default(); n_tracks]);
    }
    let per_track: Vec<(Vec<f16>, TrackStats)> = tracks
        .par_iter()
        .map(|track| {
            let mut values = pooled_track(track, windows)?;
            let stats = finish_track(&mut values, mask, track, fill_quantile);
            let mut half = vec![f16::ZERO; values.len()];
            half::slice::HalfFloatSliceExt::convert_from_f32_slice(&mut half[..], &values);
            Ok((half, stats))
        })
        .collect::<Result<_>>()?;
    out.par_chunks_mut(bins * n_tracks)
        .enumerate()
        .for_each(|(w, block)| {
            for (b, row) in block.chunks_exact_mut(n_tracks).enumerate() {
                let at = w * bins + b;
                for (dst, (values, _)) in row.iter_mut().zip(&per_track) {
                    *dst = values[at];
                }
            }
        });
    Ok(per_track.into_iter().map(|(_, s)| s).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(stat: SumStat, clip: f32, clip_soft: f32, scale: f32) -> TrackSpec {
        TrackSpec {
            files: vec![],
            sum_stat: stat,
            clip,
            clip_soft,
            scale,
        }
    }

    #[test]
    fn pooling_statistics() {
        let v = [0.0, 1.0, 2.0, 5.0];
        assert_eq!(SumStat::Sum.pool(&v), 8.0);
        assert_eq!(SumStat::Mean.pool(&v), 2.0);
        assert_eq!(SumStat::Max.pool(&v), 5.0);
        assert_eq!(SumStat::SumSqrt.pool(&v), 2.0);
        assert_eq!(SumStat::MeanSqrt.pool(&[3.0, 3.0]), 1.0);
        assert!(SumStat::parse("median").is_err());
        assert_eq!(SumStat::parse("avg").unwrap(), SumStat::Mean);
    }

    #[test]
    fn lane_loops_cover_every_value() {
        let values: Vec<f32> = (0..21).map(|i| i as f32).collect();
        for n in [0, 1, 7, 8, 9, 21] {
            let v = &values[..n];
            assert_eq!(lane_sum(v), v.iter().sum::<f32>());
            assert_eq!(lane_max(v), v.iter().copied().fold(0.0, f32::max));
        }
    }

    #[test]
    fn quantile_matches_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4, 10], 25) == 2.0; ([1, 2, 3, 4], 25) == 1.75
        assert_eq!(
            masked_quantile(&[10.0, 3.0, 1.0, 4.0, 2.0], None, 0.25),
            2.0
        );
        assert_eq!(masked_quantile(&[4.0, 3.0, 2.0, 1.0], None, 0.25), 1.75);
        let mask = [false, true, false, false, false];
        assert_eq!(
            masked_quantile(&[1.0, 100.0, 2.0, 3.0, 4.0], Some(&mask), 0.25),
            1.75
        );
        assert_eq!(masked_quantile(&[5.0], Some(&[true]), 0.25), 0.0);
    }

    #[test]
    fn finish_fills_then_clips_then_scales() {
        // fill value = 25th pct of unmasked [0, 1, 2, 3, 100] = 1
        let mut v = vec![0.0, 1.0, 2.0, 3.0, 100.0, 50.0];
        let mask = [false, false, false, false, false, true];
        let stats = finish_track(
            &mut v,
            Some(&mask),
            &spec(SumStat::Sum, 10.0, 4.0, 2.0),
            0.25,
        );
        assert_eq!(stats.fill_value, 1.0);
        // 100 → soft 4 + sqrt(96) = 13.8 → hard 10 → ×2
        assert_eq!(v, vec![0.0, 2.0, 4.0, 6.0, 20.0, 2.0]);
        assert!((stats.clipped_fraction - 1.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn groups_cover_each_window_once_in_order() {
        let chroms = vec!["a".to_string(), "b".to_string()];
        let ids = [1, 0, 0, 0];
        let starts = [0, 5_000_000, 0, 100];
        let w = Windows {
            chroms: &chroms,
            chrom_ids: &ids,
            starts: &starts,
            bins: 4,
            pool: 128,
        };
        let groups = w.groups();
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0], (0, 0, 100 + 512, vec![2, 3]));
        assert_eq!(groups[1].3, vec![1]);
        assert_eq!(groups[2].3, vec![0]);
    }
}
