//! A track's values pooled into the pieces of a chromosome's grid: the sum or the maximum
//! over each piece, a record at a time or a section of one-base values at a time.

/// Records between two shifts of [`Sink::add_all`]'s running total back to 0.
const REBASE: usize = 16;

/// The largest value [`Sink::add_all`] adds to its running total: a larger one (above
/// any signal track's, 2^24) is added to its pieces alone, so that the rounding of the
/// total stays far below its neighbours' values.
const FAST_MAX: f32 = 16_777_216.0;

/// A track's pieces of one chromosome being pooled: the sum (`MAX`: the maximum) of the
/// values over each piece of the grid's `edges`.
pub(super) struct Sink<'a, const MAX: bool> {
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
    pub(super) fn new(edges: &'a [u32], pieces: &'a mut [f32]) -> Sink<'a, MAX> {
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
    pub(super) fn add(&mut self, a: u64, b: u64, v: f32) {
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
    pub(super) fn add_all(&mut self, records: impl Iterator<Item = (u64, u64, f32)>) {
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
    pub(super) fn add_per_base(&mut self, a: u64, values: &[u8]) {
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
    pub(super) fn flush(&mut self) {
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
pub(super) fn pooled(value: f32) -> f32 {
    value.max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bigwig_sweep::Grid;

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
}
