//! Splitting several genomes into train/valid/test (or folds) by synteny.
//!
//! 1. Each genome is cut into regions of `region_size` bp per chromosome (the last region
//!    of a chromosome is shorter) — [`Regions::tile`].
//! 2. The aligned segments of every net ([`crate::net`]) are cut at region boundaries on
//!    both sides and the aligned bases are summed per pair of regions — [`count_aligned`].
//!    Within a segment (a fill between two of its gaps) the alignment is assumed colinear:
//!    with `n = min(tLen, qLen)` aligned bases, the k-th (`0 <= k < n`) pairs target base
//!    `tStart + ⌊k·tLen/n⌋` with query strand base `qStart + ⌊k·qLen/n⌋`. When the two sides
//!    have equal length this is the exact base-to-base pairing; otherwise the unlisted
//!    indels (`chainNet` lists only gaps of 25 bp or more) are spread evenly. On the minus
//!    strand the query strand base `s` is forward base `qChromSize − 1 − s` (the net's
//!    forward coordinates are turned into strand ones by [`crate::net`]).
//! 3. Two regions are joined when more than `min_aligned` bases align between them; the
//!    connected components of that graph (petgraph union-find) are the units of
//!    assignment — [`components`]. A region without alignment is a component of its own.
//! 4. Whole components go to the splits so that every genome gets close to the requested
//!    fraction of its bases — [`assign_components`] (deterministic from a seed).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use petgraph::unionfind::UnionFind;
use rayon::prelude::*;

use crate::net::{read_net, ChromSizes, NetSummary, Segment, Strand};
use crate::{Error, Result};

/// All regions of all genomes, numbered genome by genome, chromosome by chromosome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Regions {
    pub region_size: u64,
    /// Genome index of each region.
    pub genome: Vec<u32>,
    /// Chromosome index (within its genome) of each region.
    pub chrom: Vec<u32>,
    pub start: Vec<u64>,
    pub end: Vec<u64>,
    /// `first[g][c]`: index of the first region of chromosome `c` of genome `g`.
    first: Vec<Vec<u32>>,
}

impl Regions {
    /// Cut every chromosome of every genome into regions of `region_size` bp.
    pub fn tile(genomes: &[ChromSizes], region_size: u64) -> Result<Self> {
        if region_size == 0 {
            return Err(Error::Invalid(
                "the region size must be at least 1 bp".into(),
            ));
        }
        let count: u64 = genomes
            .iter()
            .flat_map(|sizes| sizes.sizes().iter())
            .map(|&size| size.div_ceil(region_size))
            .fold(0u64, u64::saturating_add);
        if count > u64::from(u32::MAX) {
            return Err(Error::Invalid(format!(
                "{count} regions are too many; raise the region size"
            )));
        }
        let count = count as usize;
        let mut regions = Regions {
            region_size,
            genome: Vec::with_capacity(count),
            chrom: Vec::with_capacity(count),
            start: Vec::with_capacity(count),
            end: Vec::with_capacity(count),
            first: Vec::with_capacity(genomes.len()),
        };
        for (g, sizes) in genomes.iter().enumerate() {
            let mut firsts = Vec::with_capacity(sizes.len());
            for (c, &size) in sizes.sizes().iter().enumerate() {
                firsts.push(regions.genome.len() as u32);
                let mut start = 0;
                while start < size {
                    let end = (start + region_size).min(size);
                    regions.genome.push(g as u32);
                    regions.chrom.push(c as u32);
                    regions.start.push(start);
                    regions.end.push(end);
                    start = end;
                }
            }
            regions.first.push(firsts);
        }
        Ok(regions)
    }

    /// Number of regions.
    pub fn len(&self) -> usize {
        self.genome.len()
    }

    /// Whether there are no regions.
    pub fn is_empty(&self) -> bool {
        self.genome.is_empty()
    }

    /// Index of the region holding base `pos` of chromosome `chrom` of genome `genome`.
    pub fn index_of(&self, genome: usize, chrom: u32, pos: u64) -> u32 {
        self.first[genome][chrom as usize] + (pos / self.region_size) as u32
    }

    /// Length of region `i` in bp.
    pub fn length(&self, i: usize) -> u64 {
        self.end[i] - self.start[i]
    }
}

/// `⌊a·b/c⌋` without overflow.
fn mul_div(a: u64, b: u64, c: u64) -> u64 {
    (a as u128 * b as u128 / c as u128) as u64
}

/// `⌈a·b/c⌉` without overflow.
fn ceil_mul_div(a: u64, b: u64, c: u64) -> u64 {
    (a as u128 * b as u128).div_ceil(c as u128) as u64
}

/// Cut a segment at the region boundaries of both sides and call
/// `f(target region ordinal, query region ordinal, aligned bases)` for each piece, where an
/// ordinal counts regions of `region_size` from the chromosome start (forward strand).
/// `q_chrom_size` converts minus-strand query coordinates.
pub fn segment_pieces(
    segment: &Segment,
    q_chrom_size: u64,
    region_size: u64,
    mut f: impl FnMut(u64, u64, u64),
) {
    let n = segment.aligned();
    let mut k = 0;
    while k < n {
        let t = segment.t_start + mul_div(k, segment.t_len, n);
        let s = segment.q_start + mul_div(k, segment.q_len, n);
        let t_region = t / region_size;
        // End (exclusive) of the current target region, in bases from the segment start.
        let t_stop = (t_region + 1) * region_size - segment.t_start;
        let (q_region, q_stop) = match segment.strand {
            Strand::Plus => {
                let r = s / region_size;
                (r, (r + 1) * region_size - segment.q_start)
            }
            Strand::Minus => {
                let forward = q_chrom_size - 1 - s;
                let r = forward / region_size;
                // Strand coordinates of forward region r end at qChromSize − r·regionSize.
                (r, q_chrom_size - r * region_size - segment.q_start)
            }
        };
        let next_t = if t_stop >= segment.t_len {
            n
        } else {
            ceil_mul_div(t_stop, n, segment.t_len)
        };
        let next_q = if q_stop >= segment.q_len {
            n
        } else {
            ceil_mul_div(q_stop, n, segment.q_len)
        };
        let next = next_t.min(next_q).min(n);
        f(t_region, q_region, next - k);
        k = next;
    }
}

/// One net file and the two genomes it aligns (indices into the genome list): `target`
/// is the genome of its `net` lines, `query` the other.
#[derive(Clone, Debug)]
pub struct NetInput {
    pub target: usize,
    pub query: usize,
    pub path: PathBuf,
}

/// Bases aligned between two regions (`a < b`), summed over all nets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    pub a: u32,
    pub b: u32,
    pub bases: u64,
}

/// Aligned bases per region pair `(a, b)`, `a < b`.
type PairCounts = HashMap<(u32, u32), u64>;

/// Read every net (in parallel, one thread per file) and sum the aligned bases per region
/// pair. Returns the links sorted by `(a, b)` and one summary per net.
pub fn count_aligned(
    genomes: &[ChromSizes],
    regions: &Regions,
    nets: &[NetInput],
    skip_unknown: bool,
) -> Result<(Vec<Link>, Vec<NetSummary>)> {
    for net in nets {
        for g in [net.target, net.query] {
            if g >= genomes.len() {
                return Err(Error::Invalid(format!(
                    "{}: genome index {g} is out of range ({} genomes)",
                    net.path.display(),
                    genomes.len()
                )));
            }
        }
        if net.target == net.query {
            return Err(Error::Invalid(format!(
                "{}: a net must align two different genomes, both sides are '{}'",
                net.path.display(),
                genomes[net.target].genome()
            )));
        }
    }
    let per_net: Vec<(PairCounts, NetSummary)> = nets
        .par_iter()
        .map(|net| {
            let (target, query) = (&genomes[net.target], &genomes[net.query]);
            let mut pairs = PairCounts::new();
            let summary = read_net(&net.path, target, query, skip_unknown, |segment| {
                let q_size = query.sizes()[segment.q_chrom as usize];
                segment_pieces(&segment, q_size, regions.region_size, |tr, qr, bases| {
                    let a = regions.first[net.target][segment.t_chrom as usize] + tr as u32;
                    let b = regions.first[net.query][segment.q_chrom as usize] + qr as u32;
                    *pairs.entry((a.min(b), a.max(b))).or_insert(0) += bases;
                });
            })?;
            Ok((pairs, summary))
        })
        .collect::<Result<_>>()?;
    refuse_repeated_blocks(genomes, nets, per_net.iter().map(|(_, summary)| summary))?;
    let mut total = PairCounts::new();
    let mut summaries = Vec::with_capacity(per_net.len());
    for (pairs, summary) in per_net {
        for (key, bases) in pairs {
            *total.entry(key).or_insert(0) += bases;
        }
        summaries.push(summary);
    }
    let mut links: Vec<Link> = total
        .into_iter()
        .map(|((a, b), bases)| Link { a, b, bases })
        .collect();
    links.sort_unstable_by_key(|l| (l.a, l.b));
    Ok((links, summaries))
}

/// Refuse a target chromosome aligned to the same query genome by two nets: a net given
/// twice under two names (a copy, `x.net` and `x.net.gz`, the whole net beside its
/// per-chromosome files) would count its aligned bases double.
fn refuse_repeated_blocks<'a>(
    genomes: &[ChromSizes],
    nets: &[NetInput],
    summaries: impl Iterator<Item = &'a NetSummary>,
) -> Result<()> {
    let mut first: HashMap<(usize, usize, &str), (&Path, usize)> = HashMap::new();
    for (net, summary) in nets.iter().zip(summaries) {
        for (chrom, line) in &summary.blocks {
            let key = (net.target, net.query, chrom.as_str());
            if let Some((path, first_line)) = first.insert(key, (&net.path, *line)) {
                return Err(Error::parse(
                    &net.path,
                    *line,
                    format!(
                        "the 'net' block for {chrom} ({} against {}) is also in {} line {first_line}; \
                         the same alignments given twice would count double. Give each net \
                         once (a net split by chromosome may come in several files, but not \
                         beside the whole net)",
                        genomes[net.target].genome(),
                        genomes[net.query].genome(),
                        path.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Component label of each of `n_regions` regions when regions linked by more than
/// `min_aligned` bases are joined. Components are numbered 0, 1, ... in the order of
/// their first region.
pub fn components(n_regions: usize, links: &[Link], min_aligned: u64) -> Vec<u32> {
    let mut sets = UnionFind::<u32>::new(n_regions);
    for link in links.iter().filter(|l| l.bases > min_aligned) {
        sets.union(link.a, link.b);
    }
    let roots = sets.into_labeling();
    let mut label_of_root: HashMap<u32, u32> = HashMap::new();
    roots
        .iter()
        .map(|&root| {
            let next = label_of_root.len() as u32;
            *label_of_root.entry(root).or_insert(next)
        })
        .collect()
}

/// Deviation of achieved from requested fractions above which a warning is given.
pub const FRACTION_TOLERANCE: f64 = 0.01;

/// The split chosen for every component, and warnings where a genome's fractions could not
/// be met.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// Split index (into the fractions) of each component.
    pub split: Vec<u32>,
    pub warnings: Vec<String>,
}

/// SplitMix64: a tiny, fixed pseudo-random sequence, so a seed means the same split on
/// every platform and version.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Assign whole components to splits so that each genome gets close to `fractions` of its
/// bases (`fractions` sum to 1; `labels` name the splits in messages).
///
/// `bases[c][g]` is the size in bp of component `c` in genome `g`. The cost of an
/// assignment is `Σ_genomes Σ_splits (share − fraction)²`, shares measured per genome.
/// Components are placed one at a time, largest share first, each in the split that
/// lowers the cost most; components of similar size (within a factor 2^¼) are taken in an
/// order shuffled by `seed`, so different seeds give different splits of equal quality.
/// Then single components move to another split while that lowers the cost. A warning
/// names every genome and split that ends more than [`FRACTION_TOLERANCE`] off.
pub fn assign_components(
    bases: &[Vec<u64>],
    totals: &[u64],
    fractions: &[f64],
    labels: &[String],
    genome_names: &[String],
    seed: u64,
) -> Result<Assignment> {
    let n_genomes = totals.len();
    let n_splits = fractions.len();
    if n_splits == 0 || labels.len() != n_splits {
        return Err(Error::Invalid(format!(
            "{n_splits} fractions and {} labels: give one label per split",
            labels.len()
        )));
    }
    if fractions.iter().any(|f| !(0.0..=1.0).contains(f))
        || (fractions.iter().sum::<f64>() - 1.0).abs() > 1e-9
    {
        return Err(Error::Invalid(format!(
            "split fractions {fractions:?} must lie in [0, 1] and sum to 1"
        )));
    }
    if totals.contains(&0) || genome_names.len() != n_genomes {
        return Err(Error::Invalid(
            "every genome needs a name and a positive total size".into(),
        ));
    }
    let share: Vec<Vec<f64>> = bases
        .iter()
        .map(|b| {
            if b.len() != n_genomes {
                return Err(Error::Invalid(format!(
                    "a component has sizes for {} genomes, expected {n_genomes}",
                    b.len()
                )));
            }
            Ok(b.iter()
                .zip(totals)
                .map(|(&x, &t)| x as f64 / t as f64)
                .collect())
        })
        .collect::<Result<_>>()?;
    let weight: Vec<f64> = share.iter().map(|s| s.iter().sum()).collect();
    // Order: by size bucket (quarter octaves), largest first; shuffled within a bucket.
    let mut order: Vec<usize> = (0..bases.len()).collect();
    let bucket = |c: usize| -> i64 {
        if weight[c] > 0.0 {
            (weight[c].log2() * 4.0).floor() as i64
        } else {
            i64::MIN
        }
    };
    order.sort_by_key(|&c| {
        (
            std::cmp::Reverse(bucket(c)),
            splitmix64(seed ^ splitmix64(c as u64)),
        )
    });

    // achieved[g][s]: share of genome g in split s so far.
    let mut achieved = vec![vec![0.0f64; n_splits]; n_genomes];
    // Change of cost when component c enters (sign +1) or leaves (sign −1) split s.
    let delta = |achieved: &[Vec<f64>], c: usize, s: usize, sign: f64| -> f64 {
        share[c]
            .iter()
            .enumerate()
            .map(|(g, &x)| {
                let before = achieved[g][s] - fractions[s];
                let after = before + sign * x;
                after * after - before * before
            })
            .sum()
    };
    let mut split = vec![0u32; bases.len()];
    for &c in &order {
        let best = (0..n_splits)
            .min_by(|&a, &b| delta(&achieved, c, a, 1.0).total_cmp(&delta(&achieved, c, b, 1.0)))
            .unwrap_or(0);
        split[c] = best as u32;
        for g in 0..n_genomes {
            achieved[g][best] += share[c][g];
        }
    }
    // Local improvement: move single components while that lowers the cost.
    for _ in 0..100 {
        let mut moved = false;
        for &c in &order {
            let from = split[c] as usize;
            let leave = delta(&achieved, c, from, -1.0);
            let mut best: Option<(usize, f64)> = None;
            for to in (0..n_splits).filter(|&s| s != from) {
                let gain = leave + delta(&achieved, c, to, 1.0);
                if gain < -1e-15 && best.is_none_or(|(_, g)| gain < g) {
                    best = Some((to, gain));
                }
            }
            if let Some((to, _)) = best {
                for g in 0..n_genomes {
                    achieved[g][from] -= share[c][g];
                    achieved[g][to] += share[c][g];
                }
                split[c] = to as u32;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    let warnings = fraction_warnings(&share, &achieved, fractions, labels, genome_names);
    Ok(Assignment { split, warnings })
}

fn fraction_warnings(
    share: &[Vec<f64>],
    achieved: &[Vec<f64>],
    fractions: &[f64],
    labels: &[String],
    genome_names: &[String],
) -> Vec<String> {
    let mut warnings = Vec::new();
    for (g, name) in genome_names.iter().enumerate() {
        let off: Vec<String> = (0..fractions.len())
            .filter(|&s| (achieved[g][s] - fractions[s]).abs() > FRACTION_TOLERANCE)
            .map(|s| {
                format!(
                    "{} {:.1}% (requested {:.1}%)",
                    labels[s],
                    100.0 * achieved[g][s],
                    100.0 * fractions[s]
                )
            })
            .collect();
        if off.is_empty() {
            continue;
        }
        let (largest, largest_share) = share
            .iter()
            .enumerate()
            .map(|(c, s)| (c, s[g]))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0));
        warnings.push(format!(
            "genome '{name}': the requested fractions cannot be met: {}; its largest \
             component (component {largest}) holds {:.1}% of it and {} components hold any \
             of it; components cannot be divided (raise --min-aligned to join fewer \
             regions, lower --region-size for smaller ones, or accept these fractions)",
            off.join(", "),
            100.0 * largest_share,
            share.iter().filter(|s| s[g] > 0.0).count(),
        ));
    }
    warnings
}

/// Options of [`split_genomes`].
#[derive(Clone, Debug)]
pub struct SplitOptions {
    pub region_size: u64,
    /// Regions are joined when strictly more bases than this align between them.
    pub min_aligned: u64,
    /// Fraction of each genome per split (sum to 1).
    pub fractions: Vec<f64>,
    /// Split names, one per fraction.
    pub labels: Vec<String>,
    pub seed: u64,
    /// Skip alignments to chromosomes outside the sizes instead of stopping.
    pub skip_unknown: bool,
}

/// Everything the split computed.
#[derive(Clone, Debug)]
pub struct SplitOutcome {
    pub regions: Regions,
    /// Component of each region.
    pub component: Vec<u32>,
    /// Split index of each component.
    pub component_split: Vec<u32>,
    /// Aligned bases per region pair (every pair with any alignment).
    pub links: Vec<Link>,
    pub nets: Vec<NetSummary>,
    pub warnings: Vec<String>,
}

/// The whole procedure: regions, aligned bases, components, assignment.
pub fn split_genomes(
    genomes: &[ChromSizes],
    nets: &[NetInput],
    options: &SplitOptions,
) -> Result<SplitOutcome> {
    let regions = Regions::tile(genomes, options.region_size)?;
    let (links, summaries) = count_aligned(genomes, &regions, nets, options.skip_unknown)?;
    let component = components(regions.len(), &links, options.min_aligned);
    let n_components = component.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let mut bases = vec![vec![0u64; genomes.len()]; n_components];
    for (i, &c) in component.iter().enumerate() {
        bases[c as usize][regions.genome[i] as usize] += regions.length(i);
    }
    let totals: Vec<u64> = genomes.iter().map(ChromSizes::total).collect();
    let names: Vec<String> = genomes.iter().map(|g| g.genome().to_string()).collect();
    let assignment = assign_components(
        &bases,
        &totals,
        &options.fractions,
        &options.labels,
        &names,
        options.seed,
    )?;
    Ok(SplitOutcome {
        regions,
        component,
        component_split: assignment.split,
        links,
        nets: summaries,
        warnings: assignment.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(genome: &str, chroms: &[(&str, u64)]) -> ChromSizes {
        ChromSizes::new(
            genome,
            chroms.iter().map(|(n, s)| (n.to_string(), *s)).collect(),
        )
        .unwrap()
    }

    /// Per-base reference of [`segment_pieces`].
    fn brute_pieces(seg: &Segment, q_size: u64, r: u64) -> HashMap<(u64, u64), u64> {
        let n = seg.aligned();
        let mut out = HashMap::new();
        for k in 0..n {
            let t = seg.t_start + k * seg.t_len / n;
            let s = seg.q_start + k * seg.q_len / n;
            let q = match seg.strand {
                Strand::Plus => s,
                Strand::Minus => q_size - 1 - s,
            };
            *out.entry((t / r, q / r)).or_insert(0) += 1;
        }
        out
    }

    fn pieces(seg: &Segment, q_size: u64, r: u64) -> HashMap<(u64, u64), u64> {
        let mut out = HashMap::new();
        segment_pieces(seg, q_size, r, |a, b, k| {
            assert!(k > 0);
            *out.entry((a, b)).or_insert(0) += k;
        });
        out
    }

    #[test]
    fn tile_refuses_too_many_regions_before_allocating() {
        let big = sizes("h", &[("chr1", 5_000_000_000)]);
        let err = Regions::tile(std::slice::from_ref(&big), 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("5000000000 regions are too many"), "{err}");
        let regions = Regions::tile(&[big], 1_000_000).unwrap();
        assert_eq!(regions.len(), 5000);
        assert_eq!(regions.end[4999], 5_000_000_000);
    }

    #[test]
    fn pieces_match_a_per_base_reference() {
        let mut state = 7u64;
        let mut next = |m: u64| {
            state = splitmix64(state);
            state % m
        };
        for _ in 0..2000 {
            let q_size = 200 + next(400);
            let r = 1 + next(60);
            let t_len = next(150);
            let q_len = next(150).min(q_size);
            let seg = Segment {
                t_chrom: 0,
                t_start: next(300),
                t_len,
                q_chrom: 0,
                q_start: next(q_size - q_len + 1),
                q_len,
                strand: if next(2) == 0 {
                    Strand::Plus
                } else {
                    Strand::Minus
                },
            };
            assert_eq!(
                pieces(&seg, q_size, r),
                brute_pieces(&seg, q_size, r),
                "{seg:?} r={r}"
            );
        }
    }

    #[test]
    fn minus_strand_maps_to_the_forward_end_of_the_chromosome() {
        // Query strand [0, 10) on a 100-bp chromosome is forward [90, 100): region 9 of 10.
        let seg = Segment {
            t_chrom: 0,
            t_start: 0,
            t_len: 10,
            q_chrom: 0,
            q_start: 0,
            q_len: 10,
            strand: Strand::Minus,
        };
        assert_eq!(pieces(&seg, 100, 10), HashMap::from([((0, 9), 10)]));
        // Crossing a forward boundary at 90: strand [5, 15) is forward [85, 95).
        let seg = Segment { q_start: 5, ..seg };
        assert_eq!(
            pieces(&seg, 100, 10),
            HashMap::from([((0, 9), 5), ((0, 8), 5)])
        );
    }

    #[test]
    fn regions_tile_each_chromosome_with_a_short_last_region() {
        let g = [
            sizes("a", &[("c1", 25), ("c2", 10)]),
            sizes("b", &[("x", 3)]),
        ];
        let r = Regions::tile(&g, 10).unwrap();
        assert_eq!(r.start, vec![0, 10, 20, 0, 0]);
        assert_eq!(r.end, vec![10, 20, 25, 10, 3]);
        assert_eq!(r.genome, vec![0, 0, 0, 0, 1]);
        assert_eq!(r.index_of(0, 1, 5), 3);
        assert_eq!(r.index_of(1, 0, 2), 4);
    }

    #[test]
    fn components_join_only_above_the_threshold() {
        let links = [
            Link {
                a: 0,
                b: 3,
                bases: 11,
            },
            Link {
                a: 1,
                b: 2,
                bases: 10,
            },
            Link {
                a: 3,
                b: 4,
                bases: 50,
            },
        ];
        assert_eq!(components(5, &links, 10), vec![0, 1, 2, 0, 0]);
    }

    #[test]
    fn assignment_meets_fractions_and_depends_on_the_seed() {
        let names = vec!["a".to_string(), "b".to_string()];
        let labels = vec!["train".to_string(), "valid".to_string(), "test".to_string()];
        let fractions = [0.8, 0.1, 0.1];
        // 300 components of varied sizes in two genomes.
        let bases: Vec<Vec<u64>> = (0..300u64)
            .map(|c| vec![1000 + splitmix64(c) % 5000, splitmix64(c + 999) % 3000])
            .collect();
        let totals: Vec<u64> = (0..2).map(|g| bases.iter().map(|b| b[g]).sum()).collect();
        let run = |seed| assign_components(&bases, &totals, &fractions, &labels, &names, seed);
        let one = run(1).unwrap();
        assert!(one.warnings.is_empty(), "{:?}", one.warnings);
        for g in 0..2 {
            for (s, f) in fractions.iter().enumerate() {
                let got: u64 = (0..300)
                    .filter(|&c| one.split[c] == s as u32)
                    .map(|c| bases[c][g])
                    .sum();
                let share = got as f64 / totals[g] as f64;
                assert!((share - f).abs() < 0.005, "genome {g} split {s}: {share}");
            }
        }
        assert_eq!(run(1).unwrap(), one);
        assert_ne!(run(2).unwrap().split, one.split);
    }

    #[test]
    fn an_indivisible_component_is_reported_with_numbers() {
        let names = vec!["a".to_string()];
        let labels = vec!["train".to_string(), "valid".to_string(), "test".to_string()];
        let bases = vec![vec![900], vec![50], vec![50]];
        let out =
            assign_components(&bases, &[1000], &[0.5, 0.25, 0.25], &labels, &names, 0).unwrap();
        assert_eq!(out.split, vec![0, 1, 2]);
        assert_eq!(out.warnings.len(), 1);
        let w = &out.warnings[0];
        assert!(w.contains("train 90.0% (requested 50.0%)"), "{w}");
        assert!(w.contains("holds 90.0%"), "{w}");
    }

    #[test]
    fn bad_fractions_are_rejected() {
        let names = vec!["a".to_string()];
        let labels = vec!["x".to_string(), "y".to_string()];
        let err = assign_components(&[vec![1]], &[1], &[0.5, 0.6], &labels, &names, 0);
        assert!(err.unwrap_err().to_string().contains("sum to 1"));
    }
}
