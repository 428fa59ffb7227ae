//! Throughput of SLDP's `.info` sums (`sldp::info_sums`, what `ChromAnnotations.info`
//! calls per 65,536 SNPs and table), in SNP × annotation values per second: a SAD-like
//! float16 table (a third 0, every third row swapped, 10% of SNPs without a row, scaled as
//! `--alpha 0` scales), the same stored as float32 and float64, a sparse float64 table (99%
//! 0, as a `.sannot.gz` of a narrow annotation is held), and a lone annotation (summed
//! pairwise, as numpy sums one column).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use half::f16;
use std::hint::black_box;
use std::time::Duration;

use crossreg::sldp::{info_sums, Order};

const SNPS: usize = 8_192;
const TRACKS: usize = 5_313;

/// A uniform stream on [0, 1) from `seed`.
fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `SNPS × columns` Laplace-like values, a fraction `zeros` of them 0.
fn table(seed: u64, columns: usize, zeros: f64) -> Vec<f64> {
    let mut u = uniform(seed);
    (0..SNPS * columns)
        .map(|_| {
            if u() < zeros {
                return 0.0;
            }
            let sign = if u() < 0.5 { -1.0 } else { 1.0 };
            -sign * (1.0 - u()).ln()
        })
        .collect()
}

/// Each SNP's row (its own, or −1 for a tenth), factor (sign × √(2p(1−p))) and whether
/// its MAF is at least 0.05.
fn snps() -> (Vec<i64>, Vec<f64>, Vec<bool>) {
    let mut u = uniform(7);
    let mut rows = Vec::new();
    let mut factors = Vec::new();
    let mut kept = Vec::new();
    for i in 0..SNPS {
        rows.push(if u() < 0.1 { -1 } else { i as i64 });
        let maf = 0.5 * u();
        let sign = if i % 3 == 0 { -1.0 } else { 1.0 };
        factors.push(sign * (2.0 * maf * (1.0 - maf)).sqrt());
        kept.push(maf >= 0.05);
    }
    (rows, factors, kept)
}

fn sums(c: &mut Criterion) {
    let (rows, factors, kept) = snps();
    let wide = table(1, TRACKS, 1.0 / 3.0);
    let half: Vec<f16> = wide.iter().map(|&x| f16::from_f64(x)).collect();
    let single: Vec<f32> = wide.iter().map(|&x| x as f32).collect();
    let sparse = table(2, TRACKS, 0.99);
    let lone = table(3, 1, 1.0 / 3.0);
    let mut g = c.benchmark_group("sldp_info_sums");
    g.throughput(Throughput::Elements((SNPS * TRACKS) as u64));
    g.bench_function("float16", |b| {
        b.iter(|| {
            info_sums(
                black_box(&half),
                TRACKS,
                &rows,
                &factors,
                &kept,
                Order::Rows,
            )
        })
    });
    g.bench_function("float32", |b| {
        b.iter(|| {
            info_sums(
                black_box(&single),
                TRACKS,
                &rows,
                &factors,
                &kept,
                Order::Rows,
            )
        })
    });
    g.bench_function("float64", |b| {
        b.iter(|| {
            info_sums(
                black_box(&wide),
                TRACKS,
                &rows,
                &factors,
                &kept,
                Order::Rows,
            )
        })
    });
    g.bench_function("float64_sparse", |b| {
        b.iter(|| {
            info_sums(
                black_box(&sparse),
                TRACKS,
                &rows,
                &factors,
                &kept,
                Order::Rows,
            )
        })
    });
    g.throughput(Throughput::Elements(SNPS as u64));
    g.bench_function("lone_pairwise", |b| {
        b.iter(|| info_sums(black_box(&lone), 1, &rows, &factors, &kept, Order::Pairwise))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).sample_size(10);
    targets = sums
}
criterion_main!(benches);
