//! Throughput of score rows as text (`text::format_rows`, what `sad --out .tsv` writes),
//! in values per second, on SAD-like scores (small, mixed exponents), on sparse ones
//! (90% zero) and on values of one digit, beside Rust's own exact `{:.5e}` per value
//! (what the fast path stands in for).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::io::Write;
use std::time::Duration;

use crossreg::text;

const ROWS: usize = 64;
const TRACKS: usize = 5_313;

/// Scores of a SAD-like spread: magnitudes 10⁻⁶–10¹ of either sign, `zeros` of them 0.
fn scores(seed: u64, zeros: f64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..ROWS * TRACKS)
        .map(|_| {
            if uniform() < zeros {
                return 0.0;
            }
            let sign = if uniform() < 0.5 { -1.0 } else { 1.0 };
            (sign * 10f64.powf(uniform() * 7.0 - 6.0)) as f32
        })
        .collect()
}

fn format_rows(c: &mut Criterion) {
    let prefixes: Vec<String> = (0..ROWS)
        .map(|i| format!("rs{i}\tchr1\t{i}\tA\tG"))
        .collect();
    let mut g = c.benchmark_group("format_rows");
    g.throughput(Throughput::Elements((ROWS * TRACKS) as u64));
    for (name, values) in [
        ("sad_like", scores(1, 0.0)),
        ("sparse", scores(2, 0.9)),
        ("one_digit", vec![1.0f32; ROWS * TRACKS]),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| text::format_rows(black_box(&prefixes), black_box(&values), TRACKS))
        });
        if name == "sad_like" {
            g.bench_function("sad_like_std_exact_e", |b| {
                let mut out = Vec::with_capacity(values.len() * 13);
                b.iter(|| {
                    out.clear();
                    for &x in black_box(&values) {
                        write!(out, "\t{:.5e}", f64::from(x)).unwrap();
                    }
                })
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).sample_size(10);
    targets = format_rows
}
criterion_main!(benches);
