//! Throughput of the synteny split on a generated net between two genomes of hg38-like
//! and mm10-like chromosome sizes: net parsing with aligned-base counting per region pair,
//! and the assignment of components to splits.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use crossreg::net::ChromSizes;
use crossreg::synteny::{
    assign_components, count_aligned, split_genomes, NetInput, Regions, SplitOptions,
};

/// hg38 and mm10 chromosome lengths (chr1, chr2, ...).
const HG38: [u64; 24] = [
    248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973, 145138636,
    138394717, 133797422, 135086622, 133275309, 114364328, 107043718, 101991189, 90338345,
    83257441, 80373285, 58617616, 64444167, 46709983, 50818468, 156040895, 57227415,
];
const MM10: [u64; 21] = [
    195471971, 182113224, 160039680, 156508116, 151834684, 149736546, 145441459, 129401213,
    124595110, 130694993, 122082543, 120129022, 120421639, 124902244, 104043685, 98207768,
    94987271, 90702639, 61431566, 171031299, 91744698,
];

fn sizes(genome: &str, lengths: &[u64]) -> ChromSizes {
    let chroms = lengths
        .iter()
        .enumerate()
        .map(|(i, &n)| (format!("chr{}", i + 1), n))
        .collect();
    ChromSizes::new(genome, chroms).unwrap()
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// A net of colinear fills (~64 kb on average, a gap every ~4 kb) along every target chromosome,
/// each to a random query place; returns the text and its fill+gap line count.
fn generate_net(target: &[u64], query: &[u64], fills_per_chrom: u64) -> (String, u64) {
    let mut rng = Rng(2020);
    let mut text = String::new();
    let mut lines = 0;
    for (c, &size) in target.iter().enumerate() {
        writeln!(text, "net chr{} {size}", c + 1).unwrap();
        let step = size / fills_per_chrom;
        for f in 0..fills_per_chrom {
            let t = f * step + rng.below(step / 4);
            let t_len = (100_000 + rng.below(100_000)).min(step / 2);
            let q_chrom = rng.below(query.len() as u64) as usize;
            let q = rng.below(query[q_chrom] - 2 * t_len);
            let strand = if rng.below(2) == 0 { '+' } else { '-' };
            // Gaps as (target start, target size, query offset along the strand, query size).
            let mut gaps = Vec::new();
            let (mut off_t, mut off_q) = (0, 0);
            loop {
                let piece = 2_000 + rng.below(4_000);
                let (gt, gq) = (20 + rng.below(1_000), 20 + rng.below(1_000));
                if off_t + piece + gt + 1_000 > t_len {
                    off_q += t_len - off_t;
                    break;
                }
                off_t += piece;
                off_q += piece;
                gaps.push((t + off_t, gt, off_q, gq));
                off_t += gt;
                off_q += gq;
            }
            let q_len = off_q;
            writeln!(
                text,
                " fill {t} {t_len} chr{} {strand} {q} {q_len} id {f}",
                q_chrom + 1
            )
            .unwrap();
            for (g_t, gt, g_off, gq) in gaps {
                // Net files hold forward query coordinates: on the minus strand they count
                // from the other end of the fill.
                let g_q = if strand == '+' {
                    q + g_off
                } else {
                    q + q_len - g_off - gq
                };
                writeln!(
                    text,
                    "  gap {g_t} {gt} chr{} {strand} {g_q} {gq}",
                    q_chrom + 1
                )
                .unwrap();
                lines += 1;
            }
            lines += 1;
        }
    }
    (text, lines)
}

fn bench(c: &mut Criterion) {
    let genomes = [sizes("hg38", &HG38), sizes("mm10", &MM10)];
    let (text, lines) = generate_net(&HG38, &MM10, 1_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hg38.mm10.net");
    std::fs::write(&path, &text).unwrap();
    let nets = [NetInput {
        target: 0,
        query: 1,
        path: path.clone(),
    }];
    let regions = Regions::tile(&genomes, 1_000_000).unwrap();

    let mut g = c.benchmark_group("synteny");
    g.sample_size(10);
    g.throughput(Throughput::Elements(lines));
    g.bench_function(format!("count_aligned_{lines}_lines"), |b| {
        b.iter(|| count_aligned(black_box(&genomes), &regions, &nets, false).unwrap())
    });
    let options = SplitOptions {
        region_size: 1_000_000,
        min_aligned: 100_000,
        fractions: vec![0.76, 0.12, 0.12],
        labels: ["train", "valid", "test"].map(String::from).to_vec(),
        seed: 44,
        skip_unknown: false,
    };
    g.bench_function("split_genomes_end_to_end", |b| {
        b.iter(|| split_genomes(black_box(&genomes), &nets, &options).unwrap())
    });
    g.finish();

    // Assignment alone: 6,000 components of varied sizes in two genomes.
    let mut rng = Rng(7);
    let bases: Vec<Vec<u64>> = (0..6_000)
        .map(|_| vec![rng.below(2_000_000), rng.below(2_000_000)])
        .collect();
    let totals: Vec<u64> = (0..2).map(|i| bases.iter().map(|b| b[i]).sum()).collect();
    let names = ["hg38", "mm10"].map(String::from).to_vec();
    let mut g = c.benchmark_group("synteny_assign");
    g.sample_size(10);
    g.bench_function("assign_6000_components", |b| {
        b.iter(|| {
            assign_components(
                black_box(&bases),
                &totals,
                &options.fractions,
                &options.labels,
                &names,
                44,
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
