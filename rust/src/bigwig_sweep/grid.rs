//! The windows on a chromosome and the pieces their bin edges cut it into, built once per
//! chromosome and shared by the tracks; each window's bins gathered from its pieces.

use crate::Result;

/// The last coordinate a BigWig holds (its positions are 32-bit): edges beyond it are cut
/// there, where no record reaches.
const LAST: u64 = u32::MAX as u64;

/// The windows on one chromosome (sorted by start, all `bins × pool` bp long) and the
/// pieces their bin edges cut the chromosome into.
pub struct Grid<'a> {
    pub(super) starts: &'a [u64],
    bins: usize,
    pub(super) pool: u64,
    pub(super) span: u64,
    /// The distinct bin edges of all windows, ascending, after a first edge at 0 and with
    /// five edges at [`LAST`] at the end (the pieces `[edges[k], edges[k + 1])`; the last
    /// four are empty, so a piece holding a base, and the two after it, always have three
    /// edges after them).
    pub(super) edges: Vec<u32>,
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
    pub(super) fn meets(&self, start: u64, end: u64) -> bool {
        let span = self.span;
        let first = self.starts.partition_point(|&s| s + span <= start);
        first < self.starts.len() && self.starts[first] < end
    }

    /// Each window's bins (rows of `out`) from the pooled `pieces`, through `finish`.
    pub(super) fn gather<const MAX: bool>(
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

#[cfg(test)]
mod tests {
    use super::*;

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
