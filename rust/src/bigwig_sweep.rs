//! One sweep over a chromosome's BigWig blocks pools the intervals into the bins of every
//! window on it.
//!
//! The bin edges of all the windows on a chromosome, merged, cut it into pieces that each
//! lie within one bin of every window over them ([`Grid`], built once per chromosome and
//! shared by the tracks). A track's sweep adds each record's `value × overlap` to the piece
//! it falls in (or raises the piece to its value, for max pooling), keeping the current
//! piece in a register, so a record costs one addition however many windows overlap it;
//! then each window's bin is the sum (maximum) of its pieces. Bases outside every interval,
//! and past the chromosome's length in the file, stay 0. Each block is read and
//! decompressed once however much the windows overlap. Replicates are merged into the
//! piecewise-constant per-base average (the mean of the files having the chromosome, in
//! float32 as a per-base loop computes it) before pooling; so are one file's records
//! under max pooling when they overlap, whose per-base sums the maximum is taken of.

use crate::bigwig::SumStat;
use crate::bigwig_file::{BigWigFile, Block, BlockReader, Records};
use crate::Result;

/// The last coordinate a BigWig holds (its positions are 32-bit): edges beyond it are cut
/// there, where no record reaches.
const LAST: u64 = u32::MAX as u64;

/// The windows on one chromosome (sorted by start, all `bins × pool` bp long) and the
/// pieces their bin edges cut the chromosome into.
pub struct Grid<'a> {
    starts: &'a [u64],
    bins: usize,
    pool: u64,
    span: u64,
    /// The distinct bin edges of all windows, ascending, after a first edge at 0 and with
    /// five edges at [`LAST`] at the end (the pieces `[edges[k], edges[k + 1])`; the last
    /// four are empty, so a piece holding a base, and the two after it, always have three
    /// edges after them).
    edges: Vec<u32>,
    /// Index in `edges` of each window's start.
    first: Vec<usize>,
}

impl<'a> Grid<'a> {
    /// The grid of the windows at `starts` (sorted) of `bins` bins of `pool` bp.
    pub fn new(starts: &'a [u64], bins: usize, pool: usize) -> Result<Grid<'a>> {
        debug_assert!(starts.is_sorted());
        // in u128: a usize product could wrap around to a short span (2 bins of 2^63 bp)
        let span = bins as u128 * pool as u128;
        if span > u128::from(LAST) {
            return Err(crate::Error::Invalid(format!(
                "windows of {span} bp are longer than a BigWig chromosome can be (2^32 - 1 bp)"
            )));
        }
        let span = span as u64;
        let pool = pool as u64;
        let mut edges = Vec::with_capacity(starts.len() * (bins + 1) + 4);
        edges.push(0u32);
        // Window edges are `q × pool + r` for its start's remainder `r` and `q` from its
        // start's quotient on: between the quotients where a window begins or ends, every
        // quotient gives the same remainders (the active windows', ascending, each once).
        let mut active: Vec<(u64, u64)> = Vec::new(); // (remainder, last quotient)
        let (mut next, mut q) = (0, 0);
        while next < starts.len() || !active.is_empty() {
            if active.is_empty() {
                q = starts[next] / pool;
            }
            while let Some(&s) = starts.get(next).filter(|&&s| s / pool == q) {
                let (r, last) = (s % pool, q + bins as u64);
                let at = active.partition_point(|&(x, _)| x < r);
                match active.get_mut(at) {
                    // same remainder: the same edges, to the later end
                    Some(a) if a.0 == r => a.1 = a.1.max(last),
                    _ => active.insert(at, (r, last)),
                }
                next += 1;
            }
            let enter = starts.get(next).map_or(u64::MAX, |s| s / pool);
            let leave = active.iter().map(|a| a.1 + 1).min().unwrap_or(u64::MAX);
            let until = enter.min(leave);
            for qq in q..until {
                edges.extend(
                    active
                        .iter()
                        .map(|&(r, _)| (qq * pool + r).min(LAST) as u32),
                );
            }
            q = until;
            active.retain(|a| a.1 >= q);
        }
        edges.dedup();
        if edges.last() != Some(&(LAST as u32)) {
            edges.push(LAST as u32);
        }
        edges.extend([LAST as u32; 4]);
        let first = starts
            .iter()
            .map(|&s| edges.partition_point(|&e| u64::from(e) < s.min(LAST)))
            .collect();
        Ok(Grid {
            starts,
            bins,
            pool,
            span,
            edges,
            first,
        })
    }

    /// Whether any window meets `[start, end)`.
    fn meets(&self, start: u64, end: u64) -> bool {
        let span = self.span;
        let first = self.starts.partition_point(|&s| s + span <= start);
        first < self.starts.len() && self.starts[first] < end
    }

    /// Each window's bins (rows of `out`) from the pooled `pieces`, through `finish`.
    fn gather<const MAX: bool>(
        &self,
        pieces: &[f32],
        out: &mut [f32],
        finish: impl Fn(f32) -> f32,
    ) {
        let edges = &self.edges[..];
        for ((row, &s), &first) in out
            .chunks_exact_mut(self.bins)
            .zip(self.starts)
            .zip(&self.first)
        {
            let mut k = first;
            let mut end = s;
            for bin in row.iter_mut() {
                end += self.pool;
                let stop = end.min(LAST);
                let mut acc = 0f64;
                while u64::from(edges[k]) < stop {
                    let piece = f64::from(pieces[k]);
                    acc = if MAX { acc.max(piece) } else { acc + piece };
                    k += 1;
                }
                *bin = finish(acc as f32);
            }
        }
    }
}

/// Records between two shifts of [`Sink::add_all`]'s running total back to 0.
const REBASE: usize = 16;

/// The largest value [`Sink::add_all`] adds to its running total: a larger one (above
/// any signal track's, 2^24) is added to its pieces alone, so that the rounding of the
/// total stays far below its neighbours' values.
const FAST_MAX: f32 = 16_777_216.0;

/// A track's pieces of one chromosome being pooled: the sum (`MAX`: the maximum) of the
/// values over each piece of the grid's `edges`.
struct Sink<'a, const MAX: bool> {
    edges: &'a [u32],
    pieces: &'a mut [f32],
    /// The current piece, whose value `acc` holds (`pieces[k]` may be behind it).
    k: usize,
    acc: f64,
    /// The furthest piece made current yet: the pieces after it are still 0.
    reached: usize,
}

impl<'a, const MAX: bool> Sink<'a, MAX> {
    /// An empty sink over the `pieces` (all 0) cut by `edges`.
    fn new(edges: &'a [u32], pieces: &'a mut [f32]) -> Sink<'a, MAX> {
        Sink {
            edges,
            pieces,
            k: 0,
            acc: 0.0,
            reached: 0,
        }
    }

    /// Pool the interval `[a, b)` of value `v ≥ 0`.
    #[inline(always)]
    fn add(&mut self, a: u64, b: u64, v: f32) {
        let k = self.k;
        let e = &self.edges[k..k + 3];
        let (e0, e1, e2) = (u64::from(e[0]), u64::from(e[1]), u64::from(e[2]));
        // the common case: a non-empty interval starting in the current piece and ending
        // in it or the next, pooled without a branch on which
        if (a >= e0) & (a < e1) & (b <= e2) & (a < b) {
            let v = f64::from(v);
            let next = f64::from(self.pieces[k + 1]);
            let (total, next) = if MAX {
                (self.acc.max(v), next.max(if b > e1 { v } else { 0.0 }))
            } else {
                let second = b.saturating_sub(e1) as i64 as f64;
                // `max` takes +inf × an overlap of 0 (NaN) as the 0 it adds
                (
                    self.acc + v * (b.min(e1) - a) as i64 as f64,
                    next + (v * second).max(0.0),
                )
            };
            let cross = b >= e1;
            self.pieces[k] = total as f32;
            self.acc = if cross { next } else { total };
            self.k = k + usize::from(cross);
            self.reached = self.reached.max(self.k);
        } else if a < b {
            self.add_across(a, b, v);
        }
    }

    /// Pool the records of one section (values in `[0, +inf]`) in one loop.
    ///
    /// For sum pooling the common case runs without a branch: a running total `run` of
    /// the section's values and `base`, the total where the current piece began (less
    /// the piece's value before the section); each record adds to `run` and writes its
    /// pieces' values as differences of totals. Both are shifted back to a `run` of 0
    /// every [`REBASE`] records, so that a piece's rounding is that of its neighbours'
    /// total, and values above [`FAST_MAX`] are added to their pieces alone.
    #[inline(always)]
    fn add_all(&mut self, records: impl Iterator<Item = (u64, u64, f32)>) {
        if MAX {
            records.for_each(|(a, b, v)| self.add(a, b, v));
            return;
        }
        // the pieces and position in locals (stores through `self.pieces` would make the
        // loop reload them), handed back for the slow path
        let (edges, mut pieces) = (self.edges, std::mem::take(&mut self.pieces));
        let (mut k, mut reached, mut run, mut base) = (self.k, self.reached, 0f64, -self.acc);
        for (i, (a, b, v)) in records.enumerate() {
            if i % REBASE == 0 {
                base -= run;
                run = 0.0;
            }
            let e = &edges[k..k + 4];
            let [e0, e1, e2, e3] = [e[0], e[1], e[2], e[3]].map(u64::from);
            // in the current piece, ending in it or one of the next two, which are still
            // empty
            let fast = (a >= e0) & (a < e1) & (b <= e3) & (a < b) & (v <= FAST_MAX);
            if fast & (k == reached) {
                let v = f64::from(v);
                // totals at the piece's end and the next one's (each only one addition
                // from `run`, so the loop's chain from record to record is one addition)
                let at1 = run + v * (b.min(e1) - a) as i64 as f64;
                let at2 = run + v * (b.min(e2) - a) as i64 as f64;
                run += v * (b - a) as i64 as f64;
                pieces[k] = (at1 - base) as f32;
                pieces[k + 1] = (at2 - at1) as f32;
                let (cross1, cross2) = (b >= e1, b >= e2);
                // base = at2, at1 or itself as the record reaches the pieces' ends, by
                // bits: a float select becomes a branch, mispredicted about as often as
                // records cross edges
                let pick = |cross: bool, new: f64, old: f64| {
                    let keep = u64::from(cross).wrapping_sub(1);
                    f64::from_bits((old.to_bits() & keep) | (new.to_bits() & !keep))
                };
                base = pick(cross2, at2, pick(cross1, at1, base));
                k += usize::from(cross1) + usize::from(cross2);
                reached = k;
            } else if a < b {
                (self.pieces, self.k, self.reached, self.acc) = (pieces, k, reached, run - base);
                self.add_across(a, b, v);
                pieces = std::mem::take(&mut self.pieces);
                (k, reached, run, base) = (self.k, self.reached, 0.0, -self.acc);
            }
        }
        (self.pieces, self.k, self.reached, self.acc) = (pieces, k, reached, run - base);
    }

    /// Pool `[a, b)` (`a < b`) wherever it lies, across any number of pieces.
    #[inline(never)]
    fn add_across(&mut self, a: u64, b: u64, v: f32) {
        self.seek(a);
        let v64 = f64::from(v);
        let mut x = a;
        loop {
            let e1 = u64::from(self.edges[self.k + 1]);
            let part = (b.min(e1) - x) as i64 as f64;
            self.acc = if MAX {
                self.acc.max(v64)
            } else {
                self.acc + v64 * part
            };
            if b <= e1 {
                return;
            }
            self.step();
            x = e1;
        }
    }

    /// Store the current piece and make the next one current.
    #[inline]
    fn step(&mut self) {
        self.pieces[self.k] = self.acc as f32;
        self.k += 1;
        self.reached = self.reached.max(self.k);
        self.acc = f64::from(self.pieces[self.k]);
    }

    /// Make the piece holding base `x` (`x < LAST`) current.
    fn seek(&mut self, x: u64) {
        let (k, edges) = (self.k, self.edges);
        let within = |k: usize| u64::from(edges[k]) <= x && x < u64::from(edges[k + 1]);
        if within(k) {
            return;
        }
        self.pieces[k] = self.acc as f32;
        self.k = if within(k + 1) {
            k + 1
        } else {
            edges.partition_point(|&e| u64::from(e) <= x) - 1
        };
        self.reached = self.reached.max(self.k);
        self.acc = f64::from(self.pieces[self.k]);
    }

    /// Pool one-base values `values` (little-endian float32; missing, NaN and negative
    /// as 0) from `a` on, a whole piece at a time.
    fn add_per_base(&mut self, a: u64, values: &[u8]) {
        let b = a + (values.len() / 4) as u64;
        if b <= a {
            return;
        }
        self.seek(a);
        let mut x = a;
        loop {
            let e1 = u64::from(self.edges[self.k + 1]);
            let stop = b.min(e1);
            let chunk = &values[(x - a) as usize * 4..(stop - a) as usize * 4];
            self.acc = if MAX {
                self.acc.max(f64::from(lane_max(chunk)))
            } else {
                self.acc + f64::from(lane_sum(chunk))
            };
            if b <= e1 {
                return;
            }
            self.step();
            x = e1;
        }
    }

    /// Store the current piece (after the last record).
    fn flush(&mut self) {
        self.pieces[self.k] = self.acc as f32;
    }
}

/// Accumulator lanes of the per-base loops (independent lanes vectorise).
const LANES: usize = 8;

/// The value of 4 little-endian bytes as pooled ([`pooled`]).
#[inline]
fn clean(bytes: &[u8]) -> f32 {
    pooled(f32::from_le_bytes(bytes.try_into().unwrap()))
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

/// A record's value as pooled (and a per-base section's, [`clean`]): missing (NaN) and
/// negative values (-inf too) as 0 (adding 0, or taking the maximum with 0, leaves a
/// piece of non-negative values as it was, so they go through without a branch on the
/// value), and +inf kept, so that a bin holding a +inf base pools to +inf in every
/// section type and sum statistic.
#[inline(always)]
fn pooled(value: f32) -> f32 {
    value.max(0.0)
}

/// Whether a file's records, in the order read, overlap: one starts before the furthest
/// end read yet (records out of order count too).
#[derive(Default)]
struct Overlaps {
    reach: u64,
    found: bool,
}

impl Overlaps {
    /// Note the record `[start, end)`; empty ones cover nothing.
    #[inline(always)]
    fn see(&mut self, start: u64, end: u64) {
        if start < end {
            self.found |= start < self.reach;
            self.reach = self.reach.max(end);
        }
    }
}

/// One file's records, cut at the chromosome's length, into the sink; for max pooling,
/// noting whether they overlap (their maximum is then that of their per-base sums, which
/// the sink cannot take).
struct Clamped<'s, 'a, const MAX: bool> {
    sink: &'s mut Sink<'a, MAX>,
    length: u64,
    overlaps: Overlaps,
}

impl<const MAX: bool> Records for Clamped<'_, '_, MAX> {
    #[inline]
    fn record(&mut self, start: u64, end: u64, value: f32) {
        let end = end.min(self.length);
        if MAX {
            self.overlaps.see(start, end);
        }
        self.sink.add(start, end, pooled(value));
    }

    #[inline]
    fn records(&mut self, records: impl Iterator<Item = (u64, u64, f32)>) {
        let length = self.length;
        let records = records.map(|(start, end, value)| (start, end.min(length), pooled(value)));
        if MAX {
            let overlaps = &mut self.overlaps;
            self.sink
                .add_all(records.inspect(|&(start, end, _)| overlaps.see(start, end)));
        } else {
            self.sink.add_all(records);
        }
    }

    fn per_base(&mut self, start: u64, values: &[u8]) {
        let keep = self
            .length
            .saturating_sub(start)
            .min((values.len() / 4) as u64);
        if keep > 0 {
            if MAX {
                self.overlaps.see(start, start + keep);
            }
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
            self.records.push((start, end, pooled(value)));
        }
    }
}

/// The blocks of `file` on chromosome `chrom_id` that some window of `grid` meets.
fn window_blocks(file: &BigWigFile, chrom_id: u32, grid: &Grid<'_>) -> Result<Vec<Block>> {
    let (first, last) = match (grid.starts.first(), grid.starts.last()) {
        (Some(&f), Some(&l)) => (f, l + grid.span),
        _ => return Ok(Vec::new()),
    };
    let mut blocks = file.blocks(chrom_id, first, last)?;
    blocks.retain(|b| grid.meets(b.start, b.end));
    Ok(blocks)
}

/// Pooled bins of the windows of `grid` on `chrom` from a track's replicate `files`, into
/// `out` (`windows × bins`). Returns false, leaving `out` untouched, when no file has the
/// chromosome.
pub fn pool_chrom(
    files: &[BigWigFile],
    stat: SumStat,
    chrom: &str,
    grid: &Grid<'_>,
    out: &mut [f32],
) -> Result<bool> {
    let present: Vec<(&BigWigFile, u32, u64)> = files
        .iter()
        .filter_map(|f| f.chrom(chrom).map(|c| (f, c.id, c.length)))
        .collect();
    if present.is_empty() {
        return Ok(false);
    }
    let mut pieces = vec![0f32; grid.edges.len()];
    let pool = grid.pool as f32;
    match stat {
        SumStat::Max => {
            pool_pieces::<true>(&present, chrom, grid, &mut pieces)?;
            grid.gather::<true>(&pieces, out, |x| x);
        }
        SumStat::Sum => {
            pool_pieces::<false>(&present, chrom, grid, &mut pieces)?;
            grid.gather::<false>(&pieces, out, |x| x);
        }
        SumStat::Mean => {
            pool_pieces::<false>(&present, chrom, grid, &mut pieces)?;
            grid.gather::<false>(&pieces, out, |x| x / pool);
        }
        SumStat::SumSqrt => {
            pool_pieces::<false>(&present, chrom, grid, &mut pieces)?;
            grid.gather::<false>(&pieces, out, |x| (1.0 + x).sqrt() - 1.0);
        }
        SumStat::MeanSqrt => {
            pool_pieces::<false>(&present, chrom, grid, &mut pieces)?;
            grid.gather::<false>(&pieces, out, |x| (1.0 + x / pool).sqrt() - 1.0);
        }
    }
    Ok(true)
}

/// Pool the records of the files having the chromosome into the grid's `pieces`: one
/// file's straight, several merged into their per-base mean first, as are one file's
/// overlapping records under max pooling (the maximum of their per-base sums).
fn pool_pieces<const MAX: bool>(
    present: &[(&BigWigFile, u32, u64)],
    chrom: &str,
    grid: &Grid<'_>,
    pieces: &mut [f32],
) -> Result<()> {
    if let [(file, id, length)] = present[..] {
        if pool_file::<MAX>(file, id, length, grid, pieces)? {
            return Ok(());
        }
        pieces.fill(0.0);
    }
    let mut sink = Sink::<MAX>::new(&grid.edges, pieces);
    merge_replicates(present, chrom, grid, &mut sink)?;
    sink.flush();
    Ok(())
}

/// Pool one file's records on chromosome `chrom_id` (of `length` bp) straight into the
/// grid's `pieces`. Returns false, part way, when max pooling meets overlapping records.
fn pool_file<const MAX: bool>(
    file: &BigWigFile,
    chrom_id: u32,
    length: u64,
    grid: &Grid<'_>,
    pieces: &mut [f32],
) -> Result<bool> {
    let mut sink = Sink::<MAX>::new(&grid.edges, pieces);
    let mut reader = BlockReader::new(file);
    let mut clamped = Clamped {
        sink: &mut sink,
        length,
        overlaps: Overlaps::default(),
    };
    for block in window_blocks(file, chrom_id, grid)? {
        reader.for_each_record(&block, chrom_id, &mut clamped)?;
        if clamped.overlaps.found {
            return Ok(false);
        }
    }
    sink.flush();
    Ok(true)
}

/// One replicate's values on a chromosome as disjoint positive pieces in ascending order,
/// decoded block by block: records that overlap add up on their common bases (as the
/// one-file sweep sums them), and a block's records may come in any order.
struct Cursor<'a> {
    reader: BlockReader<'a>,
    path: &'a std::path::Path,
    chrom: &'a str,
    chrom_id: u32,
    /// The chromosome's length: records reaching past it are cut there.
    length: u64,
    blocks: std::vec::IntoIter<Block>,
    /// The records of the last block decoded, by start; those before `next` have begun.
    queue: Vec<(u64, u64, f32)>,
    next: usize,
    /// End and value of each begun record that reaches past `pos`.
    active: Vec<(u64, f32)>,
    /// Where the pieces handed out so far end.
    pos: u64,
    /// The current piece, once made.
    piece: Option<(u64, u64, f32)>,
}

impl Cursor<'_> {
    /// The current piece `(start, end, value)`, or None after the last.
    fn peek(&mut self) -> Result<Option<(u64, u64, f32)>> {
        if self.piece.is_none() {
            self.piece = self.next_piece()?;
        }
        Ok(self.piece)
    }

    /// Move past the current piece.
    fn advance(&mut self) {
        self.piece = None;
    }

    /// Decode blocks until a record is waiting in `queue`; false when no block is left.
    fn refill(&mut self) -> Result<bool> {
        while self.next == self.queue.len() {
            let Some(block) = self.blocks.next() else {
                return Ok(false);
            };
            self.queue.clear();
            self.next = 0;
            let mut collected = Collected {
                records: &mut self.queue,
                length: self.length,
            };
            self.reader
                .for_each_record(&block, self.chrom_id, &mut collected)?;
            self.queue.sort_unstable_by_key(|r| r.0);
            if let Some(&(start, _, _)) = self.queue.first().filter(|r| r.0 < self.pos) {
                return Err(crate::Error::Invalid(format!(
                    "{}: on {}, a data block starts at {start} after records up to {} were \
                     read: its records are out of order across blocks, which the per-base \
                     merge (of replicates, or of overlapping records for max pooling) cannot \
                     follow; rewrite it in order (bigWigToBedGraph, sort -k1,1 -k2,2n, \
                     bedGraphToBigWig)",
                    self.path.display(),
                    self.chrom,
                    self.pos
                )));
            }
        }
        Ok(true)
    }

    /// The piece after `pos`: from `pos` (or the next record's start, where nothing
    /// covers `pos`) to the first base where a record begins or ends.
    fn next_piece(&mut self) -> Result<Option<(u64, u64, f32)>> {
        let pos = self.pos;
        self.active.retain(|&(end, _)| end > pos);
        let mut more = self.refill()?;
        if self.active.is_empty() {
            if !more {
                return Ok(None);
            }
            self.pos = self.queue[self.next].0;
        }
        while more && self.queue[self.next].0 <= self.pos {
            let (_, end, value) = self.queue[self.next];
            self.active.push((end, value));
            self.next += 1;
            more = self.refill()?;
        }
        let (start, mut end, mut value) = (self.pos, u64::MAX, 0f32);
        for &(e, v) in &self.active {
            end = end.min(e);
            value += v;
        }
        if more {
            end = end.min(self.queue[self.next].0);
        }
        self.pos = end;
        Ok(Some((start, end, value)))
    }
}

/// Pool the per-base mean of several replicates: the sweep cuts the chromosome where any
/// replicate's interval starts or ends and pools each piece with its mean value.
fn merge_replicates<const MAX: bool>(
    present: &[(&BigWigFile, u32, u64)],
    chrom: &str,
    grid: &Grid<'_>,
    sink: &mut Sink<'_, MAX>,
) -> Result<()> {
    let mut cursors = present
        .iter()
        .map(|&(file, id, length)| {
            Ok(Cursor {
                reader: BlockReader::new(file),
                path: file.path(),
                chrom,
                chrom_id: id,
                length,
                blocks: window_blocks(file, id, grid)?.into_iter(),
                queue: Vec::new(),
                next: 0,
                active: Vec::new(),
                pos: 0,
                piece: None,
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
                c.advance();
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
        sink.add(pos, end, pooled(value * inv));
        pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// Pool `records` (sum, or max with `MAX`) and one-base `runs` through a grid and a
    /// sink, in sections of random length, and compare with a per-base reference.
    fn check<const MAX: bool>(rng: &mut Rng, starts: &[u64], bins: usize, pool: usize) {
        let mut records: Vec<(u64, u64, f32)> = Vec::new();
        let mut at = rng.below(50);
        while at < 6_000 {
            let longest = if rng.below(10) == 0 { 400 } else { 40 };
            let len = 1 + rng.below(longest);
            let value = match rng.below(200) {
                0 => f32::INFINITY,
                1 => 1e30,
                2..=40 => 0.0,
                _ => rng.below(1000) as f32 / 7.0,
            };
            records.push((at, at + len, value));
            at += len + if rng.below(4) == 0 { rng.below(300) } else { 0 };
        }
        // overlapping and out-of-order records among them
        for _ in 0..30 {
            let (a, len) = (rng.below(6_000), 1 + rng.below(200));
            let at = rng.below(records.len() as u64) as usize;
            records.insert(at, (a, a + len, rng.below(100) as f32 / 3.0));
        }
        let runs: Vec<(u64, Vec<f32>)> = (0..5)
            .map(|_| {
                let n = rng.below(300) as usize;
                (
                    rng.below(6_000),
                    (0..n).map(|_| rng.below(50) as f32 / 9.0).collect(),
                )
            })
            .collect();
        let mut per_base = vec![0f64; 8_000];
        for &(a, b, v) in &records {
            let v = pooled(v);
            for x in &mut per_base[a as usize..b as usize] {
                *x = if MAX {
                    x.max(f64::from(v))
                } else {
                    *x + f64::from(v)
                };
            }
        }
        for (a, values) in &runs {
            for (x, &v) in per_base[*a as usize..].iter_mut().zip(values) {
                *x = if MAX {
                    x.max(f64::from(v))
                } else {
                    *x + f64::from(v)
                };
            }
        }
        let grid = Grid::new(starts, bins, pool).unwrap();
        let mut pieces = vec![0f32; grid.edges.len()];
        let mut sink = Sink::<MAX>::new(&grid.edges, &mut pieces);
        let mut rest = &records[..];
        while !rest.is_empty() {
            let (section, tail) = rest.split_at((1 + rng.below(20) as usize).min(rest.len()));
            sink.add_all(section.iter().map(|&(a, b, v)| (a, b, pooled(v))));
            rest = tail;
            if let Some(&(a, b, v)) = rest.first() {
                sink.add(a, b, pooled(v));
                rest = &rest[1..];
            }
        }
        for (a, values) in &runs {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            sink.add_per_base(*a, &bytes);
        }
        sink.flush();
        let mut out = vec![0f32; starts.len() * bins];
        grid.gather::<MAX>(&pieces, &mut out, |x| x);
        for (j, &s) in starts.iter().enumerate() {
            for i in 0..bins {
                let from = s as usize + i * pool;
                let bin = &per_base[from..from + pool];
                let expect = if MAX {
                    bin.iter().fold(0f64, |m, &x| m.max(x))
                } else {
                    bin.iter().sum()
                };
                // sums past the largest float32 are +inf, as a float32 sum makes them
                let expect = if expect > f64::from(f32::MAX) {
                    f64::INFINITY
                } else {
                    expect
                };
                let got = f64::from(out[j * bins + i]);
                assert!(
                    got == expect || (got - expect).abs() <= 1e-5 * expect.abs() + 1e-6,
                    "window {j} at {s}, bin {i}: {got} != {expect}"
                );
            }
        }
    }

    #[test]
    fn pieces_pool_as_the_per_base_values() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for round in 0..40 {
            let (bins, pool) = [(7, 13), (4, 128), (16, 1), (3, 50)][round % 4];
            let span = (bins * pool) as u64;
            // overlapping windows, windows with the same edges, far apart ones
            let mut starts: Vec<u64> = (0..1 + rng.below(12))
                .map(|_| rng.below(6_500 - span))
                .collect();
            if round % 3 == 0 {
                starts.push(starts[0]);
                starts.push(starts[0] + pool as u64);
            }
            starts.sort_unstable();
            check::<false>(&mut rng, &starts, bins, pool);
            check::<true>(&mut rng, &starts, bins, pool);
        }
    }

    #[test]
    fn huge_and_infinite_values_leave_their_neighbours_exact() {
        let starts = [0];
        let grid = Grid::new(&starts, 4, 100).unwrap();
        for big in [1e30, f32::INFINITY] {
            let mut pieces = vec![0f32; grid.edges.len()];
            let mut sink = Sink::<false>::new(&grid.edges, &mut pieces);
            // tiling records: the third reaches into the second bin
            let records = [
                (0, 10, 1.0),
                (10, 20, big),
                (20, 110, 2.0),
                (110, 130, 3.0),
                (250, 260, 0.5),
            ];
            sink.add_all(records.iter().map(|&(a, b, v)| (a, b, pooled(v))));
            sink.flush();
            let mut out = vec![0f32; 4];
            grid.gather::<false>(&pieces, &mut out, |x| x);
            let first = if big.is_finite() { 1e31 } else { f32::INFINITY };
            assert_eq!(out, [first, 80.0, 5.0, 0.0]);
        }
    }

    #[test]
    fn an_infinite_record_ending_on_an_edge_leaves_the_next_piece_exact() {
        let starts = [0];
        let grid = Grid::new(&starts, 4, 100).unwrap();
        let mut pieces = vec![0f32; grid.edges.len()];
        let mut sink = Sink::<false>::new(&grid.edges, &mut pieces);
        for (a, b, v) in [(0, 10, 1.0), (90, 100, f32::INFINITY), (100, 110, 2.0)] {
            sink.add(a, b, pooled(v));
        }
        sink.flush();
        let mut out = vec![0f32; 4];
        grid.gather::<false>(&pieces, &mut out, |x| x);
        assert_eq!(out, [f32::INFINITY, 20.0, 0.0, 0.0]);
    }

    #[test]
    fn pooled_values_keep_plus_infinity_and_zero_the_rest() {
        let values = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -1.0, 2.5];
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let want = [f32::INFINITY, 0.0, 0.0, 0.0, 2.5];
        assert_eq!(values.map(pooled), want);
        let cleaned: Vec<f32> = bytes.chunks_exact(4).map(clean).collect();
        assert_eq!(cleaned, want);
    }

    #[test]
    fn grid_edges_are_every_windows_bin_edges() {
        let starts = [0, 5, 5, 30, 200];
        let grid = Grid::new(&starts, 3, 10).unwrap();
        let mut expect: Vec<u32> = starts
            .iter()
            .flat_map(|&s| (0..=3).map(move |i| (s + i * 10) as u32))
            .collect();
        expect.sort_unstable();
        expect.dedup();
        let last = u32::MAX;
        assert_eq!(grid.edges, [&expect[..], &[last; 5]].concat());
        assert_eq!(grid.first, vec![0, 1, 1, 6, 11]);
        assert!(Grid::new(&[0], 1 << 20, 1 << 13).is_err());
        // 2 bins of 2^63 bp: the product wraps around to 0 in 64 bits
        assert!(Grid::new(&[0], 2, 1 << 63).is_err());
    }
}
