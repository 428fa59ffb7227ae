//! SLDP's `.info` sums of signed annotations: per annotation, Σv² and the count of v ≠ 0,
//! over all SNPs and over a kept subset, where v is a row of a stored table (float16,
//! float32 or float64) picked for each SNP and multiplied by the SNP's factor (sign and
//! scale). One pass over the table, columns in parallel, each column summed in float64 in
//! the order numpy sums it, so that the sums have numpy's bits.

use half::f16;
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

use crate::{Error, Result};

/// A stored value type, widened to float64 (exactly) a row segment at a time.
pub trait Value: Copy + Send + Sync {
    /// `dst[i] = src[i]` as float64.
    fn widen(src: &[Self], dst: &mut [f64]);
}

impl Value for f16 {
    fn widen(src: &[Self], dst: &mut [f64]) {
        src.convert_to_f64_slice(dst);
    }
}

impl Value for f32 {
    fn widen(src: &[Self], dst: &mut [f64]) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = f64::from(s);
        }
    }
}

impl Value for f64 {
    fn widen(src: &[Self], dst: &mut [f64]) {
        dst.copy_from_slice(src);
    }
}

/// The order in which a column's squares are added, as numpy adds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Row by row from 0.0: numpy's axis-0 sum of a C-contiguous array of 2 or more columns.
    Rows,
    /// numpy's pairwise summation (`pairwise_sum`): its axis-0 sum of a single column.
    Pairwise,
}

/// Per column: Σv² and #(v ≠ 0) over all SNPs, and over the kept ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InfoSums {
    pub squares: Vec<f64>,
    pub squares_kept: Vec<f64>,
    pub nonzero: Vec<u64>,
    pub nonzero_kept: Vec<u64>,
}

/// Columns a parallel task sums: wide enough to read whole cache lines of each row, narrow
/// enough to give every core several tasks.
const MIN_TASK_COLUMNS: usize = 32;
const MAX_TASK_COLUMNS: usize = 512;

/// The [`InfoSums`] of v over SNPs `0..rows.len()`, with `values` a row-major table of
/// `columns` columns: for SNP `i`, v = `values[rows[i]] × factors[i]`, or `0 × factors[i]`
/// where `rows[i]` is negative (no row: v is 0, or NaN when the factor is not finite). The
/// kept sums take the SNPs where `kept[i]`. Each column's squares are added in SNP order
/// as `order` says, from 0.0, so a v that is not finite makes its column's `squares` not
/// finite (inf or NaN).
pub fn info_sums<T: Value>(
    values: &[T],
    columns: usize,
    rows: &[i64],
    factors: &[f64],
    kept: &[bool],
    order: Order,
) -> Result<InfoSums> {
    if factors.len() != rows.len() || kept.len() != rows.len() {
        return Err(Error::Invalid(format!(
            "rows ({}), factors ({}) and kept ({}) must have one entry per SNP",
            rows.len(),
            factors.len(),
            kept.len()
        )));
    }
    if columns == 0 {
        return Ok(InfoSums::default());
    }
    if values.len() % columns != 0 {
        return Err(Error::Invalid(format!(
            "values has {} entries, not a whole number of rows of {columns}",
            values.len()
        )));
    }
    let table_rows = values.len() / columns;
    if let Some(&row) = rows.iter().find(|&&r| r >= table_rows as i64) {
        return Err(Error::Invalid(format!(
            "row {row} is past the table's {table_rows} rows"
        )));
    }
    let threads = rayon::current_num_threads().max(1);
    let width = columns
        .div_ceil(4 * threads)
        .clamp(MIN_TASK_COLUMNS, MAX_TASK_COLUMNS);
    let tasks: Vec<(usize, usize)> = (0..columns)
        .step_by(width)
        .map(|a| (a, (a + width).min(columns)))
        .collect();
    let parts: Vec<InfoSums> = tasks
        .into_par_iter()
        .map(|(first, last)| {
            let segments = Segments {
                values,
                columns,
                first,
                last,
                rows,
                factors,
            };
            match order {
                Order::Rows => segments.row_sums(kept),
                Order::Pairwise => segments.pairwise_sums(kept),
            }
        })
        .collect();
    let mut sums = InfoSums::default();
    for part in parts {
        sums.squares.extend(part.squares);
        sums.squares_kept.extend(part.squares_kept);
        sums.nonzero.extend(part.nonzero);
        sums.nonzero_kept.extend(part.nonzero_kept);
    }
    Ok(sums)
}

/// Columns `first..last` of v, SNP by SNP.
struct Segments<'a, T> {
    values: &'a [T],
    columns: usize,
    first: usize,
    last: usize,
    rows: &'a [i64],
    factors: &'a [f64],
}

impl<T: Value> Segments<'_, T> {
    /// Calls `each(snp, x, factor)` in SNP order with x the SNP's stored segment widened
    /// (v = x × factor; x all 0 for a SNP without a row), skipping, when `skip_zeros`, the
    /// SNPs without a row whose v is all 0 (they add nothing to a sum in row order).
    fn for_each(&self, skip_zeros: bool, mut each: impl FnMut(usize, &[f64], f64)) {
        let mut x = vec![0.0; self.last - self.first];
        for (snp, (&row, &factor)) in self.rows.iter().zip(self.factors).enumerate() {
            if row < 0 {
                if skip_zeros && factor.is_finite() {
                    continue;
                }
                x.fill(0.0);
            } else {
                let start = row as usize * self.columns;
                T::widen(&self.values[start + self.first..start + self.last], &mut x);
            }
            each(snp, &x, factor);
        }
    }

    fn row_sums(&self, kept: &[bool]) -> InfoSums {
        let width = self.last - self.first;
        let mut sums = InfoSums {
            squares: vec![0.0; width],
            squares_kept: vec![0.0; width],
            nonzero: vec![0; width],
            nonzero_kept: vec![0; width],
        };
        self.for_each(true, |snp, x, factor| {
            if kept[snp] {
                add_row_kept(&mut sums, x, factor);
            } else {
                add_row(&mut sums.squares, &mut sums.nonzero, x, factor);
            }
        });
        sums
    }

    fn pairwise_sums(&self, kept: &[bool]) -> InfoSums {
        let width = self.last - self.first;
        let mut all = vec![Vec::with_capacity(self.rows.len()); width];
        let mut some = vec![Vec::new(); width];
        self.for_each(false, |snp, x, factor| {
            for (j, &x) in x.iter().enumerate() {
                let v = x * factor;
                all[j].push(v);
                if kept[snp] {
                    some[j].push(v);
                }
            }
        });
        let squares = |v: &Vec<f64>| pairwise_sum(&v.iter().map(|x| x * x).collect::<Vec<_>>());
        let nonzero = |v: &Vec<f64>| v.iter().filter(|&&x| x != 0.0).count() as u64;
        InfoSums {
            squares: all.iter().map(squares).collect(),
            squares_kept: some.iter().map(squares).collect(),
            nonzero: all.iter().map(nonzero).collect(),
            nonzero_kept: some.iter().map(nonzero).collect(),
        }
    }
}

/// `squares[j] += v²` and `nonzero[j] += (v ≠ 0)`, v = `x[j] × factor`.
#[inline]
fn add_row(squares: &mut [f64], nonzero: &mut [u64], x: &[f64], factor: f64) {
    for ((s, n), &x) in squares.iter_mut().zip(nonzero.iter_mut()).zip(x) {
        let v = x * factor;
        *s += v * v;
        *n += u64::from(v != 0.0);
    }
}

/// [`add_row`] into both the sums over all SNPs and those over the kept ones.
#[inline]
fn add_row_kept(sums: &mut InfoSums, x: &[f64], factor: f64) {
    let all = sums.squares.iter_mut().zip(sums.nonzero.iter_mut());
    let kept = sums
        .squares_kept
        .iter_mut()
        .zip(sums.nonzero_kept.iter_mut());
    for (((s, n), (sk, nk)), &x) in all.zip(kept).zip(x) {
        let v = x * factor;
        let (square, nonzero) = (v * v, u64::from(v != 0.0));
        *s += square;
        *n += nonzero;
        *sk += square;
        *nk += nonzero;
    }
}

/// numpy's pairwise summation of float64 (`pairwise_sum_DOUBLE`): blocks of up to 128
/// added in 8 interleaved partial sums, larger runs split in two at a multiple of 8.
pub fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        return a.iter().fold(0.0, |s, &x| s + x);
    }
    if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        let whole = n - n % 8;
        for block in a[8..whole].chunks_exact(8) {
            for (r, &x) in r.iter_mut().zip(block) {
                *r += x;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[whole..] {
            res += x;
        }
        return res;
    }
    let half = n / 2;
    let half = half - half % 8;
    pairwise_sum(&a[..half]) + pairwise_sum(&a[half..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_a_tiny_table_exactly() {
        // 3 table rows × 2 columns; SNPs: row 2 negated, no row, row 0 scaled by 0.5, row 1
        let values = [1.0f64, 0.0, 2.0, -3.0, 0.5, 4.0];
        let rows = [2, -1, 0, 1];
        let factors = [-1.0, 1.0, 0.5, 1.0];
        let kept = [true, true, false, true];
        let sums = info_sums(&values, 2, &rows, &factors, &kept, Order::Rows).unwrap();
        // column 0: v = -0.5, 0, 0.5, 2; column 1: v = -4, 0, 0, -3
        assert_eq!(sums.squares, vec![0.25 + 0.25 + 4.0, 16.0 + 9.0]);
        assert_eq!(sums.squares_kept, vec![0.25 + 4.0, 16.0 + 9.0]);
        assert_eq!(sums.nonzero, vec![3, 2]);
        assert_eq!(sums.nonzero_kept, vec![2, 2]);
    }

    #[test]
    fn widens_every_stored_type_alike() {
        // float16's largest, smallest normal and smallest subnormal among them
        let wide = [1.5, -0.25, 0.0, 65504.0, 2f64.powi(-14), -(2f64.powi(-24))];
        let rows = [0, 1, 2];
        let factors = [1.0, -2.0, 0.75];
        let kept = [false, true, true];
        let want = info_sums(&wide, 2, &rows, &factors, &kept, Order::Rows).unwrap();
        let narrow: Vec<f32> = wide.iter().map(|&x| x as f32).collect();
        let half: Vec<f16> = wide.iter().map(|&x| f16::from_f64(x)).collect();
        assert!(half.iter().zip(&wide).all(|(h, &w)| h.to_f64() == w));
        for order in [Order::Rows, Order::Pairwise] {
            let got = info_sums(&narrow, 2, &rows, &factors, &kept, order).unwrap();
            assert_eq!(got, want);
            let got = info_sums(&half, 2, &rows, &factors, &kept, order).unwrap();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn a_snp_without_a_row_and_an_infinite_factor_is_nan() {
        let (rows, kept) = ([-1, 0], [true; 2]);
        let inf = info_sums(
            &[1.0f64],
            1,
            &rows,
            &[f64::INFINITY, 1.0],
            &kept,
            Order::Rows,
        );
        let inf = inf.unwrap();
        assert!(inf.squares[0].is_nan() && inf.squares_kept[0].is_nan());
        let finite = info_sums(&[1.0f64], 1, &rows, &[2.0, 1.0], &kept, Order::Rows).unwrap();
        assert_eq!((finite.squares[0], finite.nonzero[0]), (1.0, 1));
    }

    #[test]
    fn pairwise_adds_in_numpys_order() {
        // 1e16 + 1 is 1e16, so row by row every 1 is lost; pairwise, only the 7 added to
        // 1e16's partial sum (of 8) in the first half (64 values) are
        let mut a = vec![1.0; 136];
        a[0] = 1e16;
        let rows: f64 = a.iter().fold(0.0, |s, &x| s + x);
        assert_eq!(rows, 1e16);
        assert_eq!(pairwise_sum(&a), 1e16 + 128.0);
        assert_eq!(pairwise_sum(&a[..7]), 1e16); // under 8: row by row
    }

    #[test]
    fn refuses_a_row_past_the_table() {
        let err = info_sums(&[1.0f64, 2.0], 2, &[1], &[1.0], &[true], Order::Rows).unwrap_err();
        assert!(
            err.to_string().contains("row 1 is past the table's 1 rows"),
            "{err}"
        );
        assert!(info_sums(&[1.0f64], 1, &[0], &[1.0, 2.0], &[true], Order::Rows).is_err());
    }
}
