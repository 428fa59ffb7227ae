//! Throughput of the native DNA and signal hot paths on Basenji2-size windows
//! (131,072 bp), beside a plain copy of the same output size: the memory-bandwidth
//! ceiling each operation is measured against.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

use crossreg::{dna, genome::Genome, signal};

const WINDOW: usize = 131_072;

fn random_dna(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            b"ACGTacgtN"[((state >> 33) % 9) as usize]
        })
        .collect()
}

fn one_hot(c: &mut Criterion) {
    let seq = random_dna(WINDOW, 1);
    let mut g = c.benchmark_group("one_hot");
    g.throughput(Throughput::Bytes((WINDOW * 4) as u64));
    let mut out_u8 = vec![0u8; WINDOW * 4];
    let src_u8 = vec![1u8; WINDOW * 4];
    g.bench_function("copy_ceiling_u8", |b| {
        b.iter(|| out_u8.copy_from_slice(black_box(&src_u8)))
    });
    g.bench_function("u8", |b| {
        b.iter(|| dna::one_hot_u8(black_box(&seq), &mut out_u8).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("one_hot_f32");
    g.throughput(Throughput::Bytes((WINDOW * 16) as u64));
    let mut out_f32 = vec![0f32; WINDOW * 4];
    let src_f32 = vec![1f32; WINDOW * 4];
    g.bench_function("copy_ceiling_f32", |b| {
        b.iter(|| out_f32.copy_from_slice(black_box(&src_f32)))
    });
    g.bench_function("f32", |b| {
        b.iter(|| dna::one_hot_f32(black_box(&seq), &mut out_f32, dna::NEncoding::Zeros).unwrap())
    });
    g.finish();
}

fn reverse_complement(c: &mut Criterion) {
    let seq = random_dna(WINDOW, 2);
    let mut g = c.benchmark_group("reverse_complement");
    g.throughput(Throughput::Bytes(WINDOW as u64));
    let mut out = vec![0u8; WINDOW];
    g.bench_function("copy_ceiling", |b| {
        b.iter(|| out.copy_from_slice(black_box(&seq)))
    });
    g.bench_function("bytes", |b| {
        b.iter(|| dna::reverse_complement_into(black_box(&seq), &mut out).unwrap())
    });
    let mut hot = vec![0u8; WINDOW * 4];
    dna::one_hot_u8(&seq, &mut hot).unwrap();
    g.throughput(Throughput::Bytes((WINDOW * 4) as u64));
    g.bench_function("one_hot_u8", |b| {
        b.iter(|| dna::reverse_rows(black_box(&mut hot), WINDOW * 4, 1).unwrap())
    });
    g.finish();
}

fn soft_clip(c: &mut Criterion) {
    // one window of human-width targets: 896 bins x 5,313 tracks
    let n = 896 * 5313;
    let values: Vec<f32> = (0..n).map(|i| (i % 97) as f32 * 0.7).collect();
    let mut g = c.benchmark_group("soft_clip");
    g.throughput(Throughput::Bytes((n * 4) as u64));
    let mut work = values.clone();
    g.bench_function("copy_ceiling", |b| {
        b.iter(|| work.copy_from_slice(black_box(&values)))
    });
    g.bench_function("soft_clip", |b| {
        b.iter(|| {
            work.copy_from_slice(&values);
            signal::soft_clip(black_box(&mut work), 32.0)
        })
    });
    g.finish();
}

fn window_fetch(c: &mut Criterion) {
    let chrom = random_dna(20_000_000, 3);
    let genome = Genome::from_sequences("bench", vec![("chr1".into(), chrom)]).unwrap();
    let mut g = c.benchmark_group("window_fetch");
    for batch in [1usize, 64] {
        let ids = vec![0usize; batch];
        let starts: Vec<i64> = (0..batch as i64).map(|i| i * 150_001 + 17).collect();
        let mut out = vec![0u8; batch * WINDOW];
        g.throughput(Throughput::Bytes((batch * WINDOW) as u64));
        g.bench_with_input(BenchmarkId::new("windows", batch), &batch, |b, _| {
            b.iter(|| {
                genome
                    .fetch_many_into(&ids, black_box(&starts), WINDOW, &mut out)
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = one_hot, reverse_complement, soft_clip, window_fetch
}
criterion_main!(benches);
