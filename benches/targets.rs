//! Throughput of BigWig → targets, the hot path of `crossreg data`, on coverage-like
//! (dense) and fold-change-like (sparse) tracks, beside what a reader built on per-window
//! base-level values does (pyBigWig's `values()` + a reshape and sum, here in Rust on the
//! same block reader, so that only the pooling differs).
//!
//! The BigWigs are written by a small writer below (one chromosome, bedGraph sections of
//! up to 1,024 records a block, zlib-compressed, one index leaf), read by crossreg's own
//! reader; `decode_floor` decompresses every block once and keeps nothing, the least any
//! exact reader pays. Windows are the defaults of `crossreg data`: 131,072 bp of 128-bp bins every
//! 65,599 bp. Everything runs on one thread (crossreg parallelises over tracks and
//! chromosomes; one thread is the per-core figure).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use libdeflater::{CompressionLvl, Compressor};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use crossreg::bigwig::{self, SumStat, TrackSpec, Windows};
use crossreg::bigwig_file::{decode_all, BigWigFile, BlockReader, Records};
use crossreg::bigwig_sweep::{pool_chrom, Grid};
use half::f16;

const CHROM: &str = "chr1";
const CHROM_LEN: u32 = 12_000_000;
const POOL: usize = 128;
const BINS: usize = 1024;
const STRIDE: u64 = 65_599;
const RECORDS_PER_BLOCK: usize = 1024;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Geometric run length of mean `mean` bp (at least 1).
    fn run(&mut self, mean: f64) -> u32 {
        1 + (-(1.0 - self.unit()).ln() * (mean - 1.0)) as u32
    }
}

/// Coverage-like records: runs of mean 10 bp over ~85% of the chromosome, exponential
/// values with a rare spike 300 times higher (as `bench_bigwig.py`'s dense tracks).
fn dense_records(rng: &mut Rng) -> Vec<(u32, u32, f32)> {
    let mut records = Vec::new();
    let mut at = 0;
    while at < CHROM_LEN {
        let end = (at + rng.run(10.0)).min(CHROM_LEN);
        if rng.unit() < 0.85 {
            let mut value = -(1.0 - rng.unit()).ln() * 2.4;
            if rng.unit() < 0.001 {
                value *= 300.0;
            }
            records.push((at, end, value as f32));
        }
        at = end;
    }
    records
}

/// Fold-change-like records: runs of mean 50 bp tiling the chromosome, a fifth of them
/// 0, the others lognormal-ish, and a gap without records every ~2 Mbp (as
/// `bench_bigwig.py`'s sparse tracks).
fn sparse_records(rng: &mut Rng) -> Vec<(u32, u32, f32)> {
    let mut records = Vec::new();
    let mut at = 0;
    while at < CHROM_LEN {
        if rng.unit() < 50.0 / 2e6 {
            at += 20_000 + (rng.next() % 180_000) as u32;
            continue;
        }
        let end = (at + rng.run(50.0)).min(CHROM_LEN);
        let value = if rng.unit() < 0.2 {
            0.0
        } else {
            (rng.unit() * 2.0 - 1.0 + rng.unit() - 0.5).exp()
        };
        records.push((at, end, value as f32));
        at = end;
    }
    records
}

/// Write a one-chromosome BigWig of bedGraph `records` (sorted, not overlapping).
fn write_bigwig(path: &Path, records: &[(u32, u32, f32)]) {
    const HEADER: usize = 64;
    let mut out = vec![0u8; HEADER];
    // chromosome B+ tree: one leaf holding the one chromosome
    let chrom_tree = out.len() as u64;
    let key_size = CHROM.len() as u32;
    for v in [0x78CA_8C91u32, 1, key_size, 8] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&1u64.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(CHROM.as_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&CHROM_LEN.to_le_bytes());
    // data: the section count, then one compressed bedGraph section per block
    let data = out.len() as u64;
    let sections = records.chunks(RECORDS_PER_BLOCK);
    out.extend_from_slice(&(sections.len() as u64).to_le_bytes());
    let mut compressor = Compressor::new(CompressionLvl::default());
    let (mut leaves, mut largest) = (Vec::new(), 0usize);
    for section in sections {
        let (first, last) = (section[0].0, section[section.len() - 1].1);
        let mut raw = Vec::with_capacity(24 + 12 * section.len());
        for v in [0u32, first, last, 0, 0] {
            raw.extend_from_slice(&v.to_le_bytes());
        }
        raw.extend_from_slice(&[1, 0]);
        raw.extend_from_slice(&(section.len() as u16).to_le_bytes());
        for &(start, end, value) in section {
            raw.extend_from_slice(&start.to_le_bytes());
            raw.extend_from_slice(&end.to_le_bytes());
            raw.extend_from_slice(&value.to_le_bytes());
        }
        largest = largest.max(raw.len());
        let mut packed = vec![0u8; compressor.zlib_compress_bound(raw.len())];
        let n = compressor.zlib_compress(&raw, &mut packed).unwrap();
        leaves.push((first, last, out.len() as u64, n as u64));
        out.extend_from_slice(&packed[..n]);
    }
    // R-tree index: one leaf over every block
    let index = out.len() as u64;
    assert!(
        leaves.len() <= usize::from(u16::MAX),
        "too many blocks for one leaf"
    );
    for v in [0x2468_ACE0u32, leaves.len() as u32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(leaves.len() as u64).to_le_bytes());
    for v in [0u32, 0, 0, CHROM_LEN] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(&(leaves.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(leaves.len() as u16).to_le_bytes());
    for (first, last, offset, size) in leaves {
        for v in [0u32, first, 0, last] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
    }
    // header: magic, version 4, no zoom levels, the offsets, bedGraph fields, buffer size
    let mut header = Vec::with_capacity(HEADER);
    header.extend_from_slice(&0x888F_FC26u32.to_le_bytes());
    header.extend_from_slice(&4u16.to_le_bytes());
    header.extend_from_slice(&0u16.to_le_bytes());
    for v in [chrom_tree, data, index] {
        header.extend_from_slice(&v.to_le_bytes());
    }
    header.extend_from_slice(&[0; 4]);
    header.extend_from_slice(&[0; 16]);
    header.extend_from_slice(&(largest as u32).to_le_bytes());
    header.resize(HEADER, 0);
    out[..HEADER].copy_from_slice(&header);
    std::fs::write(path, out).unwrap();
}

/// Per-base values of one window, as a `values()` reader fills them (0 where no record).
struct PerBase<'a> {
    start: u64,
    values: &'a mut [f32],
}

impl Records for PerBase<'_> {
    fn record(&mut self, start: u64, end: u64, value: f32) {
        let end = end.min(self.start + self.values.len() as u64);
        for at in start.max(self.start)..end {
            self.values[(at - self.start) as usize] = value;
        }
    }
}

/// Mean-pooled bins of each window from its own base-level values: the usual way.
fn per_window_values(file: &BigWigFile, starts: &[u64], out: &mut [f32]) {
    let mut reader = BlockReader::new(file);
    let mut bases = vec![0f32; BINS * POOL];
    for (&start, bins) in starts.iter().zip(out.chunks_exact_mut(BINS)) {
        bases.fill(0.0);
        let end = start + bases.len() as u64;
        let mut sink = PerBase {
            start,
            values: &mut bases,
        };
        for block in file.blocks(0, start, end).unwrap() {
            reader.for_each_record(&block, 0, &mut sink).unwrap();
        }
        for (bin, chunk) in bins.iter_mut().zip(bases.chunks_exact(POOL)) {
            *bin = chunk.iter().sum::<f32>() / POOL as f32;
        }
    }
}

fn pooling(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let starts: Vec<u64> = (0..)
        .map(|i| i * STRIDE)
        .take_while(|&s| s + (BINS * POOL) as u64 <= u64::from(CHROM_LEN))
        .collect();
    let ids = vec![0u32; starts.len()];
    let chroms = vec![CHROM.to_string()];
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut g = c.benchmark_group("bigwig_to_bins");
    g.throughput(Throughput::Elements(starts.len() as u64));
    for (shape, make) in [
        ("dense", dense_records as fn(&mut Rng) -> _),
        ("sparse", sparse_records),
    ] {
        let path = dir.path().join(format!("{shape}.bw"));
        write_bigwig(&path, &make(&mut Rng(0x9E37_79B9_7F4A_7C15)));
        let file = BigWigFile::open(&path).unwrap();
        let grid = Grid::new(&starts, BINS, POOL).unwrap();
        let mut ours = vec![0f32; starts.len() * BINS];
        let mut usual = vec![0f32; starts.len() * BINS];
        let files = [BigWigFile::open(&path).unwrap()];
        pool_chrom(&files, SumStat::Mean, CHROM, &grid, &mut ours).unwrap();
        per_window_values(&file, &starts, &mut usual);
        for (a, b) in ours.iter().zip(&usual) {
            assert!((a - b).abs() <= 1e-4 * a.abs().max(1.0), "{a} vs {b}");
        }
        // the floor of any exact reader: every block decompressed once, nothing kept
        g.bench_function(format!("{shape}/decode_floor"), |b| {
            b.iter(|| decode_all(black_box(&path)).unwrap())
        });
        g.bench_function(format!("{shape}/per_window_values"), |b| {
            b.iter(|| per_window_values(&file, black_box(&starts), &mut usual))
        });
        g.bench_function(format!("{shape}/crossreg_sweep"), |b| {
            b.iter(|| pool_chrom(&files, SumStat::Mean, CHROM, &grid, &mut ours).unwrap())
        });
        // the whole of one track: pooling, 25th-percentile fill, clips, scale, float16
        let track = TrackSpec {
            files: vec![path.clone()],
            sum_stat: SumStat::Mean,
            clip: f32::INFINITY,
            clip_soft: 32.0,
            scale: 2.0,
        };
        let windows = Windows {
            chroms: &chroms,
            chrom_ids: &ids,
            starts: &starts,
            bins: BINS,
            pool: POOL,
        };
        let mask: Vec<bool> = (0..starts.len() * BINS).map(|i| i % 53 == 0).collect();
        let mut targets = vec![f16::ZERO; starts.len() * BINS];
        g.bench_function(format!("{shape}/crossreg_targets"), |b| {
            b.iter(|| {
                one_thread.install(|| {
                    bigwig::targets(
                        std::slice::from_ref(&track),
                        &windows,
                        Some(&mask),
                        0.25,
                        &mut targets,
                    )
                    .unwrap()
                })
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10)
}

criterion_group! {
    name = benches;
    config = config();
    targets = pooling
}
criterion_main!(benches);
