//! BigWig coverage → binned training targets.
//!
//! Reads exact base-level values from the data sections of BigWig files (never the zoom
//! levels, [`crate::bigwig_file`]) and turns them into the paper's targets, per track:
//!
//! 1. missing data (NaN) → 0, negative values (−inf) → 0, +inf kept (its bin pools to +inf
//!    whatever the section kind), replicates averaged per base;
//! 2. pooling into bins of `pool` bp with the track's [`SumStat`];
//! 3. masked bins (blacklist / unmappable, and windows on chromosomes none of the track's
//!    files has) set to the track's fill value: the `q`-quantile (default 0.25) of its
//!    unmasked bins over every window given;
//! 4. soft clip at `clip_soft` (the caller passes `clip` when the table has none), hard
//!    clip into `[0, clip]` (the caller passes infinity for none), multiply by `scale`;
//! 5. float16, values beyond its range stored as its largest finite value and counted.
//!
//! Pooling works on intervals, not bases ([`crate::bigwig_sweep`]): one sweep per track
//! and chromosome reads each compressed block once for all the windows on it. Tracks and
//! chromosomes run in parallel.

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};

use half::f16;
use rayon::prelude::*;

use crate::bigwig_file::BigWigFile;
use crate::bigwig_sweep::{pool_chrom, Grid};
use crate::signal;
use crate::{Error, Result};

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
}

/// One output track: its replicate files and the transforms of its values.
#[derive(Clone, Debug)]
pub struct TrackSpec {
    /// Replicate BigWig files, averaged per base.
    pub files: Vec<PathBuf>,
    pub sum_stat: SumStat,
    /// Hard clip after the soft clip: values above become `clip` (infinity: none).
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

    /// Window indices sorted by (chromosome, start), and the runs of that order that
    /// share a chromosome: `(chrom id, range of sorted positions)`.
    fn order(&self) -> (Vec<usize>, Vec<(u32, Range<usize>)>) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&i| (self.chrom_ids[i], self.starts[i]));
        let mut runs: Vec<(u32, Range<usize>)> = Vec::new();
        for (at, &i) in order.iter().enumerate() {
            let chrom = self.chrom_ids[i];
            match runs.last_mut() {
                Some((c, range)) if *c == chrom => range.end = at + 1,
                _ => runs.push((chrom, at..at + 1)),
            }
        }
        (order, runs)
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
    /// Fraction of bins whose scaled value exceeded the float16 range (stored as its
    /// largest finite value, 65,504).
    pub overflow_fraction: f64,
    /// Fraction of the bins on chromosomes none of the track's files has (masked).
    pub absent_fraction: f64,
}

/// Chromosome names and lengths of a BigWig file, in the file's order.
pub fn chrom_sizes(path: &Path) -> Result<Vec<(String, u64)>> {
    let file = BigWigFile::open(path)?;
    Ok(file
        .chroms()
        .iter()
        .map(|c| (c.name.clone(), c.length))
        .collect())
}

/// Pooled (not yet masked or clipped) bins of one track for the windows sorted by
/// chromosome and start (`windows × bins` float32, row-major in that order), and per run
/// of `runs` (with its `grids`) whether some file of the track has its chromosome. Runs
/// are pooled in parallel.
fn pooled_sorted(
    track: &TrackSpec,
    windows: &Windows<'_>,
    runs: &[(u32, Range<usize>)],
    grids: &[Grid<'_>],
) -> Result<(Vec<f32>, Vec<bool>)> {
    if track.files.is_empty() {
        return Err(Error::Invalid(
            "a track needs at least one BigWig file".into(),
        ));
    }
    let files = track
        .files
        .iter()
        .map(|p| BigWigFile::open(p))
        .collect::<Result<Vec<_>>>()?;
    let bins = windows.bins;
    let mut values = vec![0f32; windows.len() * bins];
    let mut parts = Vec::with_capacity(runs.len());
    let mut rest = &mut values[..];
    for ((chrom, range), grid) in runs.iter().zip(grids) {
        let (part, tail) = rest.split_at_mut(range.len() * bins);
        parts.push((*chrom, grid, part));
        rest = tail;
    }
    let present = parts
        .into_par_iter()
        .map(|(chrom, grid, part)| {
            let chrom = &windows.chroms[chrom as usize];
            pool_chrom(&files, track.sum_stat, chrom, grid, part)
        })
        .collect::<Result<Vec<bool>>>()?;
    Ok((values, present))
}

/// The `q`-quantile (0 ≤ q ≤ 1, linear interpolation as numpy's default) of the values
/// whose mask entry is false; 0 when every value is masked.
///
/// A radix select: a histogram of the top 16 bits of each value's order-preserving key
/// finds the buckets holding the ranks needed, and only their values are selected from.
pub fn masked_quantile(values: &[f32], mask: Option<&[bool]>, q: f64) -> f32 {
    const SHIFT: u32 = 16;
    let mut counts = vec![0u32; 1 << (32 - SHIFT)];
    match mask {
        Some(m) => {
            for (&v, &masked) in values.iter().zip(m) {
                counts[(order_key(v) >> SHIFT) as usize] += u32::from(!masked);
            }
        }
        None => values
            .iter()
            .for_each(|&v| counts[(order_key(v) >> SHIFT) as usize] += 1),
    }
    let n: usize = counts.iter().map(|&c| c as usize).sum();
    if n == 0 {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let frac = pos - lo as f64;
    let last = if frac == 0.0 { lo } else { (lo + 1).min(n - 1) };
    // the buckets holding ranks `lo` and `last`, and how many values lie below them
    let (mut first_bucket, mut last_bucket, mut below, mut seen) = (None, 0, 0, 0);
    for (bucket, &c) in counts.iter().enumerate() {
        let c = c as usize;
        if first_bucket.is_none() && seen + c > lo {
            first_bucket = Some(bucket);
            below = seen;
        }
        if seen + c > last {
            last_bucket = bucket;
            break;
        }
        seen += c;
    }
    let first_bucket = first_bucket.unwrap_or(last_bucket);
    // their values, gathered without a branch: each value is written to the next free
    // place, which moves on only for a wanted one
    let wanted: usize = counts[first_bucket..=last_bucket]
        .iter()
        .map(|&c| c as usize)
        .sum();
    let mut kept = vec![0f32; wanted + 1];
    let (mut len, width) = (0, (last_bucket - first_bucket) as u32);
    let mut keep = |v: f32, masked: bool| {
        let bucket = (order_key(v) >> SHIFT).wrapping_sub(first_bucket as u32);
        kept[len] = v;
        len += usize::from((bucket <= width) & !masked);
    };
    match mask {
        Some(m) => values
            .iter()
            .zip(m)
            .for_each(|(&v, &masked)| keep(v, masked)),
        None => values.iter().for_each(|&v| keep(v, false)),
    }
    kept.truncate(len);
    let (_, &mut lo_value, upper) = kept.select_nth_unstable_by(lo - below, f32::total_cmp);
    if frac == 0.0 || upper.is_empty() {
        return lo_value;
    }
    let hi_value = upper.iter().copied().fold(f32::INFINITY, f32::min);
    if lo_value == f32::INFINITY {
        // between +inf and +inf: +inf, where their difference (NaN) would give NaN
        return lo_value;
    }
    (f64::from(lo_value) + (f64::from(hi_value) - f64::from(lo_value)) * frac) as f32
}

/// A key of `v` whose unsigned order is `f32::total_cmp`'s.
#[inline]
fn order_key(v: f32) -> u32 {
    let bits = v.to_bits();
    bits ^ (((bits as i32) >> 31) as u32 | 0x8000_0000)
}

/// Values finished per stack buffer in [`finish_track`] (transformed, summed, converted).
const FINISH_CHUNK: usize = 256;

/// The largest finite float16 value.
const F16_MAX: f32 = 65_504.0;

/// Sum of `values` in eight lanes: independent chains, which vectorise.
fn lane_sum(values: &[f32]) -> f64 {
    let mut sums = [0f64; 8];
    let chunks = values.chunks_exact(8);
    for (s, &v) in sums.iter_mut().zip(chunks.remainder()) {
        *s += f64::from(v);
    }
    for chunk in chunks {
        for (s, &v) in sums.iter_mut().zip(chunk) {
            *s += f64::from(v);
        }
    }
    sums.iter().sum()
}

/// Largest of `values` and 0, in eight lanes (pooled values are never NaN).
fn lane_max(values: &[f32]) -> f32 {
    let mut maxima = [0f32; 8];
    for chunk in values.chunks(8) {
        for (m, &v) in maxima.iter_mut().zip(chunk) {
            *m = if v > *m { v } else { *m };
        }
    }
    maxima.iter().fold(0f32, |m, &v| m.max(v))
}

/// Mask fill, soft clip, hard clip, scale and float16 of one track's pooled bins: the fill
/// in place in `values`, the finished targets into `out` (as long as `values`). Scaled
/// values beyond the float16 range are stored as its largest finite value and counted.
pub fn finish_track(
    values: &mut [f32],
    mask: Option<&[bool]>,
    track: &TrackSpec,
    fill_quantile: f64,
    out: &mut [f16],
) -> TrackStats {
    let n = values.len().max(1) as f64;
    let (pooled_sum, pooled_max, pooled_bins) = match mask {
        None => (lane_sum(values), lane_max(values), values.len()),
        Some(mask) => values
            .iter()
            .zip(mask)
            .filter(|(_, &masked)| !masked)
            .fold((0f64, 0f32, 0usize), |(sum, max, bins), (&v, _)| {
                (sum + f64::from(v), max.max(v), bins + 1)
            }),
    };
    let fill_value = masked_quantile(values, mask, fill_quantile);
    if let Some(mask) = mask {
        for (v, &masked) in values.iter_mut().zip(mask) {
            if masked {
                *v = fill_value;
            }
        }
    }
    let clip_from = track.clip_soft.min(track.clip);
    let transform = |v: f32| {
        signal::hard_clip_value(signal::soft_clip_value(v, track.clip_soft), track.clip)
            * track.scale
    };
    // the clip count, transforms, sum and float16 conversion a stack buffer at a time
    let (mut clipped, mut overflow, mut sums) = (0usize, 0usize, [0f64; 8]);
    let mut buf = [0f32; FINISH_CHUNK];
    for (src, dst) in values
        .chunks(FINISH_CHUNK)
        .zip(out.chunks_mut(FINISH_CHUNK))
    {
        let buf = &mut buf[..src.len()];
        let over = src.iter().filter(|&&v| v > clip_from).count();
        clipped += over;
        if over == 0 {
            // nothing to clip: the transform is the scale (negatives as 0, NaN kept)
            for (b, &v) in buf.iter_mut().zip(src) {
                *b = if v < 0.0 { 0.0 } else { v } * track.scale;
            }
        } else {
            for (b, &v) in buf.iter_mut().zip(src) {
                *b = transform(v);
            }
        }
        let over_range = buf.iter().filter(|&&x| x > F16_MAX).count();
        if over_range > 0 {
            overflow += over_range;
            for x in buf.iter_mut().filter(|x| **x > F16_MAX) {
                *x = F16_MAX;
            }
        }
        for chunk in buf.chunks(8) {
            for (s, &x) in sums.iter_mut().zip(chunk) {
                *s += f64::from(x);
            }
        }
        half::slice::HalfFloatSliceExt::convert_from_f32_slice(dst, buf);
    }
    let target_sum: f64 = sums.iter().sum();
    TrackStats {
        fill_value,
        pooled_mean: pooled_sum / pooled_bins.max(1) as f64,
        pooled_max,
        clipped_fraction: clipped as f64 / n,
        target_mean: target_sum / n,
        overflow_fraction: overflow as f64 / n,
        absent_fraction: 0.0,
    }
}

/// Finished float16 targets of several tracks over the same windows.
///
/// `mask` (`windows.len() × bins`, true = blacklisted/unmappable) marks bins to fill;
/// windows on a chromosome none of a track's files has are filled too, for that track.
/// `out` receives `windows.len() × bins × tracks.len()` float16 values (row-major: one
/// window's bins × tracks block is contiguous). Tracks, and the chromosomes within a
/// track, are processed in parallel.
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
    let (order, runs) = windows.order();
    let sorted_starts: Vec<u64> = order.iter().map(|&i| windows.starts[i]).collect();
    let grids = runs
        .par_iter()
        .map(|(_, range)| Grid::new(&sorted_starts[range.clone()], bins, windows.pool))
        .collect::<Result<Vec<_>>>()?;
    let sorted_mask: Option<Vec<bool>> = mask.map(|m| {
        order
            .iter()
            .flat_map(|&i| m[i * bins..(i + 1) * bins].iter().copied())
            .collect()
    });
    let per_track: Vec<(Vec<f16>, TrackStats)> = tracks
        .par_iter()
        .map(|track| {
            let (mut values, present) = pooled_sorted(track, windows, &runs, &grids)?;
            let absent: Vec<&Range<usize>> = runs
                .iter()
                .zip(&present)
                .filter(|(_, &p)| !p)
                .map(|((_, r), _)| r)
                .collect();
            let track_mask: Option<Cow<'_, [bool]>> = if absent.is_empty() {
                sorted_mask.as_deref().map(Cow::Borrowed)
            } else {
                let mut m = sorted_mask
                    .clone()
                    .unwrap_or_else(|| vec![false; n_windows * bins]);
                for r in &absent {
                    m[r.start * bins..r.end * bins].fill(true);
                }
                Some(Cow::Owned(m))
            };
            let mut half = vec![f16::ZERO; values.len()];
            let mask = track_mask.as_deref();
            let mut stats = finish_track(&mut values, mask, track, fill_quantile, &mut half);
            let absent_windows: usize = absent.iter().map(|r| r.len()).sum();
            stats.absent_fraction = absent_windows as f64 / n_windows as f64;
            Ok((half, stats))
        })
        .collect::<Result<_>>()?;
    let mut rank = vec![0usize; n_windows];
    for (at, &i) in order.iter().enumerate() {
        rank[i] = at;
    }
    out.par_chunks_mut(bins * n_tracks)
        .enumerate()
        .for_each(|(w, block)| {
            // a track at a time: one slice of its values, stored with a stride
            let at = rank[w] * bins;
            for (k, (values, _)) in per_track.iter().enumerate() {
                for (row, &x) in block.chunks_exact_mut(n_tracks).zip(&values[at..at + bins]) {
                    row[k] = x;
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
    fn sum_stat_names() {
        assert!(SumStat::parse("median").is_err());
        assert_eq!(SumStat::parse("avg").unwrap(), SumStat::Mean);
        assert_eq!(SumStat::parse("sum_sqrt").unwrap(), SumStat::SumSqrt);
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
    fn quantile_between_infinities_is_infinite() {
        let inf = f32::INFINITY;
        assert_eq!(masked_quantile(&[inf, inf, inf, 1.0], None, 0.5), inf);
        assert_eq!(masked_quantile(&[inf, inf, 1.0, 0.0], None, 0.5), inf);
        assert_eq!(masked_quantile(&[inf, 2.0, 1.0, 0.0], None, 0.5), 1.5);
    }

    #[test]
    fn radix_quantile_matches_a_sort() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for n in [1, 2, 3, 10, 1000, 20_000] {
            // zeros, repeats, negatives, -0.0, tiny and huge values
            let values: Vec<f32> = (0..n)
                .map(|_| match next() % 6 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => (next() % 7) as f32,
                    3 => -((next() % 1000) as f32) / 7.0,
                    4 => f32::from_bits((next() % 0x7F00_0000) as u32),
                    _ => (next() % 100_000) as f32 / 3.0,
                })
                .collect();
            let mask: Vec<bool> = (0..n).map(|_| next() % 5 == 0).collect();
            for q in [0.0, 0.1, 0.25, 0.5, 0.77, 1.0] {
                for m in [None, Some(&mask[..])] {
                    let mut kept: Vec<f32> = values
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !m.is_some_and(|m| m[*i]))
                        .map(|(_, &v)| v)
                        .collect();
                    kept.sort_by(f32::total_cmp);
                    let expect = if kept.is_empty() {
                        0.0
                    } else {
                        let pos = q * (kept.len() - 1) as f64;
                        let (lo, frac) = (pos.floor() as usize, pos - pos.floor());
                        let (a, b) = (kept[lo], kept[(lo + 1).min(kept.len() - 1)]);
                        if frac == 0.0 {
                            a
                        } else {
                            (f64::from(a) + (f64::from(b) - f64::from(a)) * frac) as f32
                        }
                    };
                    let got = masked_quantile(&values, m, q);
                    assert_eq!(got.to_bits(), expect.to_bits(), "n {n} q {q}");
                }
            }
        }
    }

    #[test]
    fn finish_fills_then_clips_then_scales() {
        // fill value = 25th pct of unmasked [0, 1, 2, 3, 100] = 1
        let mut v = vec![0.0, 1.0, 2.0, 3.0, 100.0, 50.0];
        let mask = [false, false, false, false, false, true];
        let mut out = vec![f16::ZERO; v.len()];
        let track = spec(SumStat::Sum, 10.0, 4.0, 2.0);
        let stats = finish_track(&mut v, Some(&mask), &track, 0.25, &mut out);
        assert_eq!(stats.fill_value, 1.0);
        assert_eq!(stats.pooled_mean, 106.0 / 5.0); // the masked 50 left out
        assert_eq!(stats.pooled_max, 100.0);
        // 100 → soft 4 + sqrt(96) = 13.8 → hard 10 → ×2
        let out: Vec<f32> = out.iter().map(|x| x.to_f32()).collect();
        assert_eq!(out, vec![0.0, 2.0, 4.0, 6.0, 20.0, 2.0]);
        assert_eq!(stats.target_mean, 34.0 / 6.0);
        assert!((stats.clipped_fraction - 1.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn finish_without_a_hard_clip_keeps_the_soft_clipped_excess() {
        // the paper's tables: soft clip at clip, no ceiling after it
        let mut v = vec![3.0, 4.5, 104.0];
        let mut out = vec![f16::ZERO; v.len()];
        let track = spec(SumStat::Mean, f32::INFINITY, 4.0, 1.0);
        let stats = finish_track(&mut v, None, &track, 0.25, &mut out);
        let out: Vec<f32> = out.iter().map(|x| x.to_f32()).collect();
        // 4.5 < 4 + sqrt(0.5) stays; 104 → 4 + sqrt(100)
        assert_eq!(out, vec![3.0, 4.5, 14.0]);
        assert!((stats.clipped_fraction - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(stats.overflow_fraction, 0.0);
    }

    #[test]
    fn finish_stores_values_beyond_float16_as_its_largest() {
        // sum of 128 bases at 1,000, scaled: past 65,504 with and without clipping
        let mut v = vec![128_000.0, 10.0, 70_000.0, 65_504.0];
        let mut out = vec![f16::ZERO; v.len()];
        let track = spec(SumStat::Sum, f32::INFINITY, 1e9, 1.0);
        let stats = finish_track(&mut v, None, &track, 0.25, &mut out);
        let out: Vec<f32> = out.iter().map(|x| x.to_f32()).collect();
        assert_eq!(out, vec![65_504.0, 10.0, 65_504.0, 65_504.0]);
        assert_eq!(stats.overflow_fraction, 0.5);
        assert_eq!(stats.target_mean, (3.0 * 65_504.0 + 10.0) / 4.0);
    }

    #[test]
    fn order_sorts_windows_into_runs_per_chromosome() {
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
        let (order, runs) = w.order();
        assert_eq!(order, vec![2, 3, 1, 0]);
        assert_eq!(runs, vec![(0, 0..3), (1, 3..4)]);
    }
}
