//! One sweep over a chromosome's BigWig blocks pools the intervals into the bins of every
//! window on it.
//!
//! Each interval adds `value × overlap` to each bin it touches (sum and mean pooling) or
//! raises the bin to its value (max pooling); bases outside every interval, and past the
//! chromosome's length in the file, stay 0.
//! Windows are visited in start order with a moving pointer, so each block is read and
//! decompressed once however much the windows overlap. Replicates are merged into the
//! piecewise-constant per-base average (the mean of the files having the chromosome,
//! in float32 as a per-base loop computes it) before pooling.

use crate::bigwig::SumStat;
use crate::bigwig_file::{BigWigFile, Block, BlockReader, Records};
use crate::Result;

/// Pooling target: the rows of windows sorted by start, all `bins × pool` bp long;
/// `MAX` pools by maximum, else by sum.
struct Sink<'a, const MAX: bool> {
    starts: &'a [u64],
    bins: usize,
    pool: usize,
    /// `log2(pool)` when `pool` is a power of two: a shift instead of a division.
    shift: Option<u32>,
    span: u64,
    out: &'a mut [f32],
    /// First window that may still meet the next interval.
    lo: usize,
    /// Start of the previous interval (a smaller one resets `lo`).
    last: u64,
}

impl<const MAX: bool> Sink<'_, MAX> {
    /// Pool the interval `[a, b)` of value `v ≥ 0` into every window it meets.
    #[inline]
    fn add(&mut self, a: u64, b: u64, v: f32) {
        if b <= a {
            return;
        }
        let (span, pool, bins) = (self.span, self.pool, self.bins);
        if a < self.last {
            self.lo = self.starts.partition_point(|&s| s + span <= a);
        }
        self.last = a;
        while self.lo < self.starts.len() && self.starts[self.lo] + span <= a {
            self.lo += 1;
        }
        let starts = self.starts;
        for (row_at, &s) in (self.lo * bins..).step_by(bins).zip(&starts[self.lo..]) {
            if s >= b {
                break;
            }
            let x0 = (a.max(s) - s) as usize;
            let x1 = (b.min(s + span) - s) as usize;
            let (b0, b1) = match self.shift {
                Some(k) => (x0 >> k, (x1 - 1) >> k),
                None => (x0 / pool, (x1 - 1) / pool),
            };
            let out = &mut *self.out;
            if x1 - x0 <= pool && b0 + 1 < bins {
                // at most two bins, written without a data-dependent branch (the second
                // gets nothing when the piece ends in the first)
                let edge = (b0 + 1) * pool;
                let (first, second) = (edge.min(x1) - x0, x1.saturating_sub(edge));
                let at = row_at + b0;
                if MAX {
                    out[at] = out[at].max(v);
                    out[at + 1] = out[at + 1].max(if second > 0 { v } else { 0.0 });
                } else {
                    out[at] += v * count(first);
                    out[at + 1] += v * count(second);
                }
            } else if MAX {
                for r in &mut out[row_at + b0..=row_at + b1] {
                    *r = r.max(v);
                }
            } else if b0 == b1 {
                out[row_at + b0] += v * count(x1 - x0);
            } else {
                out[row_at + b0] += v * count((b0 + 1) * pool - x0);
                let full = v * count(pool);
                for r in &mut out[row_at + b0 + 1..row_at + b1] {
                    *r += full;
                }
                out[row_at + b1] += v * count(x1 - b1 * pool);
            }
        }
    }

    /// Pool one-base values `values` (little-endian float32; missing, NaN and negative
    /// as 0) from `a` on, a whole bin at a time.
    fn add_per_base(&mut self, a: u64, values: &[u8]) {
        let n = (values.len() / 4) as u64;
        let b = a + n;
        let (span, pool, bins) = (self.span, self.pool, self.bins);
        if a < self.last {
            self.lo = self.starts.partition_point(|&s| s + span <= a);
        }
        self.last = a;
        while self.lo < self.starts.len() && self.starts[self.lo] + span <= a {
            self.lo += 1;
        }
        for (j, &s) in self.starts.iter().enumerate().skip(self.lo) {
            if s >= b {
                break;
            }
            let (x0, x1) = ((a.max(s) - s) as usize, (b.min(s + span) - s) as usize);
            let row = &mut self.out[j * bins..(j + 1) * bins];
            let mut x = x0;
            while x < x1 {
                let bin = x / pool;
                let stop = ((bin + 1) * pool).min(x1);
                let from = (s + x as u64 - a) as usize * 4;
                let chunk = &values[from..from + (stop - x) * 4];
                if MAX {
                    row[bin] = row[bin].max(lane_max(chunk));
                } else {
                    row[bin] += lane_sum(chunk);
                }
                x = stop;
            }
        }
    }

    /// Whether any window meets `[start, end)`.
    fn meets(&self, start: u64, end: u64) -> bool {
        let span = self.span;
        let first = self.starts.partition_point(|&s| s + span <= start);
        first < self.starts.len() && self.starts[first] < end
    }
}

/// A count of bases within a window as f32: windows are shorter than 2^32 bp (see
/// `pool_chrom`), and from u32 the conversion needs no branch (from u64 it does).
#[inline(always)]
fn count(n: usize) -> f32 {
    n as u32 as f32
}

/// Accumulator lanes of the per-base loops (independent lanes vectorise).
const LANES: usize = 8;

/// The value of 4 little-endian bytes with missing data (NaN) and negatives as 0.
#[inline]
fn clean(bytes: &[u8]) -> f32 {
    f32::from_le_bytes(bytes.try_into().unwrap()).max(0.0)
}

/// Sum of the cleaned little-endian float32 `bytes`, in `LANES` partial sums.
fn lane_sum(bytes: &[u8]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = bytes.chunks_exact(4 * LANES);
    let rest: f32 = chunks.remainder().chunks_exact(4).map(clean).sum();
    for chunk in chunks {
        for (a, v) in acc.iter_mut().zip(chunk.chunks_exact(4)) {
            *a += clean(v);
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// Maximum of the cleaned little-endian float32 `bytes` (0 for none).
fn lane_max(bytes: &[u8]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = bytes.chunks_exact(4 * LANES);
    let rest = chunks
        .remainder()
        .chunks_exact(4)
        .map(clean)
        .fold(0f32, f32::max);
    for chunk in chunks {
        for (a, v) in acc.iter_mut().zip(chunk.chunks_exact(4)) {
            *a = a.max(clean(v));
        }
    }
    acc.iter().fold(rest, |m, &v| m.max(v))
}

/// One file's records, cut at the chromosome's length, into the sink.
struct Clamped<'s, 'a, const MAX: bool> {
    sink: &'s mut Sink<'a, MAX>,
    length: u64,
}

impl<const MAX: bool> Records for Clamped<'_, '_, MAX> {
    #[inline]
    fn record(&mut self, start: u64, end: u64, value: f32) {
        // missing (NaN) and negative values pool as 0: adding 0 (or taking the maximum
        // with 0) leaves a bin of non-negative values as it was, so they go through
        // without a branch on the value
        self.sink.add(start, end.min(self.length), value.max(0.0));
    }

    fn per_base(&mut self, start: u64, values: &[u8]) {
        let keep = self
            .length
            .saturating_sub(start)
            .min((values.len() / 4) as u64);
        if keep > 0 {
            self.sink.add_per_base(start, &values[..keep as usize * 4]);
        }
    }
}

/// The positive records of one block, cut at the chromosome's length.
struct Collected<'r> {
    records: &'r mut Vec<(u64, u64, f32)>,
    length: u64,
}

impl Records for Collected<'_> {
    fn record(&mut self, start: u64, end: u64, value: f32) {
        let end = end.min(self.length);
        if value > 0.0 && end > start {
            self.records.push((start, end, value));
        }
    }
}

/// The blocks of `file` on chromosome `chrom_id` that some window of `sink` meets.
fn window_blocks<const MAX: bool>(
    file: &BigWigFile,
    chrom_id: u32,
    sink: &Sink<'_, MAX>,
) -> Result<Vec<Block>> {
    let (first, last) = match (sink.starts.first(), sink.starts.last()) {
        (Some(&f), Some(&l)) => (f, l + sink.span),
        _ => return Ok(Vec::new()),
    };
    let mut blocks = file.blocks(chrom_id, first, last)?;
    blocks.retain(|b| sink.meets(b.start, b.end));
    Ok(blocks)
}

/// Pooled bins of the windows at `starts` (sorted) on `chrom` from a track's replicate
/// `files`, into `out` (`starts.len() × bins`, zeroed). Returns false, leaving `out`
/// untouched, when no file has the chromosome.
pub fn pool_chrom(
    files: &[BigWigFile],
    stat: SumStat,
    chrom: &str,
    starts: &[u64],
    bins: usize,
    pool: usize,
    out: &mut [f32],
) -> Result<bool> {
    let present: Vec<(&BigWigFile, u32, u64)> = files
        .iter()
        .filter_map(|f| f.chrom(chrom).map(|c| (f, c.id, c.length)))
        .collect();
    if present.is_empty() {
        return Ok(false);
    }
    let shift = pool.is_power_of_two().then(|| pool.trailing_zeros());
    let span = (bins * pool) as u64;
    if span > u64::from(u32::MAX) {
        return Err(crate::Error::Invalid(format!(
            "windows of {span} bp are longer than a BigWig chromosome can be (2^32 - 1 bp)"
        )));
    }
    if stat == SumStat::Max {
        let mut sink = Sink::<true> {
            starts,
            bins,
            pool,
            shift,
            span,
            out: &mut *out,
            lo: 0,
            last: 0,
        };
        sweep(&present, &mut sink)?;
    } else {
        let mut sink = Sink::<false> {
            starts,
            bins,
            pool,
            shift,
            span,
            out: &mut *out,
            lo: 0,
            last: 0,
        };
        sweep(&present, &mut sink)?;
    }
    let pool_f = pool as f32;
    let finish: fn(f32, f32) -> f32 = match stat {
        SumStat::Sum | SumStat::Max => |x, _| x,
        SumStat::Mean => |x, p| x / p,
        SumStat::SumSqrt => |x, _| (1.0 + x).sqrt() - 1.0,
        SumStat::MeanSqrt => |x, p| (1.0 + x / p).sqrt() - 1.0,
    };
    if !matches!(stat, SumStat::Sum | SumStat::Max) {
        out.iter_mut().for_each(|x| *x = finish(*x, pool_f));
    }
    Ok(true)
}

/// Pool the records of the files having the chromosome: one file's straight into the
/// sink, several merged into their per-base mean first.
fn sweep<const MAX: bool>(
    present: &[(&BigWigFile, u32, u64)],
    sink: &mut Sink<'_, MAX>,
) -> Result<()> {
    if let [(file, id, length)] = present[..] {
        let mut reader = BlockReader::new(file);
        let blocks = window_blocks(file, id, sink)?;
        let mut clamped = Clamped { sink, length };
        for block in blocks {
            reader.for_each_record(&block, id, &mut clamped)?;
        }
        Ok(())
    } else {
        merge_replicates(present, sink)
    }
}

/// The positive intervals of one replicate, block by block, as a pull iterator.
struct Cursor<'a> {
    reader: BlockReader<'a>,
    chrom_id: u32,
    /// The chromosome's length: records reaching past it are cut there.
    length: u64,
    blocks: std::vec::IntoIter<Block>,
    records: Vec<(u64, u64, f32)>,
    at: usize,
}

impl Cursor<'_> {
    /// The current interval, decoding the next block when this one is used up.
    fn peek(&mut self) -> Result<Option<(u64, u64, f32)>> {
        while self.at == self.records.len() {
            let Some(block) = self.blocks.next() else {
                return Ok(None);
            };
            self.records.clear();
            self.at = 0;
            let mut collected = Collected {
                records: &mut self.records,
                length: self.length,
            };
            self.reader
                .for_each_record(&block, self.chrom_id, &mut collected)?;
        }
        Ok(Some(self.records[self.at]))
    }
}

/// Pool the per-base mean of several replicates: the sweep cuts the chromosome where any
/// replicate's interval starts or ends and pools each piece with its mean value.
fn merge_replicates<const MAX: bool>(
    present: &[(&BigWigFile, u32, u64)],
    sink: &mut Sink<'_, MAX>,
) -> Result<()> {
    let mut cursors = present
        .iter()
        .map(|&(file, id, length)| {
            Ok(Cursor {
                reader: BlockReader::new(file),
                chrom_id: id,
                length,
                blocks: window_blocks(file, id, sink)?.into_iter(),
                records: Vec::new(),
                at: 0,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let inv = 1.0 / present.len() as f32;
    let mut pos = 0u64;
    loop {
        let (mut next_start, mut end, mut value, mut live, mut covered) =
            (u64::MAX, u64::MAX, 0f32, false, false);
        for c in cursors.iter_mut() {
            while let Some((_, e, _)) = c.peek()? {
                if e > pos {
                    break;
                }
                c.at += 1;
            }
            if let Some((s, e, v)) = c.peek()? {
                live = true;
                if s <= pos {
                    covered = true;
                    value += v;
                    end = end.min(e);
                } else {
                    next_start = next_start.min(s);
                    end = end.min(s);
                }
            }
        }
        if !live {
            return Ok(());
        }
        if !covered {
            pos = next_start;
            continue;
        }
        sink.add(pos, end, value * inv);
        pos = end;
    }
}
