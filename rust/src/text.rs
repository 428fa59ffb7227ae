//! Numbers as text: score tables written the way Python's `format(x, ".6g")` writes them.

use rayon::prelude::*;

/// Significant digits of [`push_g6`], as in C's and Python's `%.6g`.
const DIGITS: i32 = 6;

/// Append `x` to `out` as Python's `format(x, ".6g")` does: six significant digits,
/// correctly rounded (exact ties to even); fixed notation for exponents from −4 to 5,
/// else `d.ddddde±XX`; insignificant trailing zeros (and a bare point) removed; `nan`,
/// `inf`, `-inf`.
pub fn push_g6(x: f64, out: &mut Vec<u8>) {
    if x.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    if x.is_sign_negative() {
        out.push(b'-');
    }
    let (digits, exponent) = if x == 0.0 {
        ([b'0'; 6], 0)
    } else {
        significant_digits(x.abs())
    };
    if (-4..DIGITS).contains(&exponent) {
        push_fixed(&digits, exponent, out);
    } else {
        push_significand(&digits[..1], &digits[1..], out);
        out.push(b'e');
        out.push(if exponent < 0 { b'-' } else { b'+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude >= 100 {
            out.push(b'0' + (magnitude / 100) as u8);
        }
        out.push(b'0' + (magnitude / 10 % 10) as u8);
        out.push(b'0' + (magnitude % 10) as u8);
    }
}

/// Powers of ten that a double holds exactly.
const EXACT_POWERS: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The six significant decimal digits of `x` (finite, above 0), correctly rounded, and
/// the decimal exponent of the first. `x` scaled by an exact power of ten into
/// [10⁵, 10⁶) is one rounding (under 6·10⁻¹¹) from its true value, so it rounds to the
/// true digits unless it lies within 10⁻⁹ of a half: there an exact tie (checked in
/// integers) goes to the even neighbour, as C and Python round. What remains (near-ties
/// that are not ties; magnitudes no exact power reaches) takes Rust's exact `{:e}`.
fn significant_digits(x: f64) -> ([u8; 6], i32) {
    let mut exponent = decimal_exponent_estimate(x);
    for _ in 0..3 {
        let power = DIGITS - 1 - exponent;
        let Some(&scale) = EXACT_POWERS.get(power.unsigned_abs() as usize) else {
            break;
        };
        let scaled = if power >= 0 { x * scale } else { x / scale };
        if scaled < 100_000.0 {
            exponent -= 1;
            continue;
        }
        if scaled >= 1_000_000.0 {
            exponent += 1;
            continue;
        }
        let below = scaled as u32; // truncation: no libm call on the hot path
        let fraction = scaled - f64::from(below);
        let rounded = if (fraction - 0.5).abs() >= 1e-9 {
            below + u32::from(fraction > 0.5)
        } else if is_exact_half(x, power) {
            below + below % 2
        } else {
            break;
        };
        return if rounded == 1_000_000 {
            (decimal_digits(100_000), exponent + 1)
        } else {
            (decimal_digits(rounded), exponent)
        };
    }
    exact_digits(x)
}

/// Whether `x × 10^power` (|power| ≤ 22) is exactly an integer and a half. With
/// `x = m·2^e`, `m` odd, twice it is `m·5^p·2^(e+1+p)` for `p ≥ 0`, an odd integer iff
/// `e + 1 + p = 0`; and `m·2^(e+1−q)/5^q` for `p = −q`, one iff `e + 1 = q` and `5^q`
/// divides `m`.
fn is_exact_half(x: f64, power: i32) -> bool {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, exp) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    let zeros = mantissa.trailing_zeros();
    let (odd, exp) = (mantissa >> zeros, exp + zeros as i32);
    if power >= 0 {
        exp + 1 + power == 0
    } else {
        exp + 1 == -power && odd % 5u64.pow(power.unsigned_abs()) == 0
    }
}

/// `floor(log10(x))` or one below it, from `x`'s binary exponent (`log10 2 ≈ 78913/2¹⁸`).
fn decimal_exponent_estimate(x: f64) -> i32 {
    let binary = ((x.to_bits() >> 52) & 0x7ff) as i32 - 1023; // subnormals: −1023
    (binary * 78_913) >> 18
}

/// The six digits of a number from 100,000 to 999,999.
fn decimal_digits(mut n: u32) -> [u8; 6] {
    let mut digits = [b'0'; 6];
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
    digits
}

/// [`significant_digits`] by Rust's exact scientific formatting.
fn exact_digits(x: f64) -> ([u8; 6], i32) {
    let scientific = format!("{:.*e}", (DIGITS - 1) as usize, x);
    let (mantissa, exponent) = scientific.split_once('e').expect("{:e} writes an exponent");
    let mut digits = [b'0'; 6];
    for (digit, byte) in digits
        .iter_mut()
        .zip(mantissa.bytes().filter(u8::is_ascii_digit))
    {
        *digit = byte;
    }
    (
        digits,
        exponent.parse().expect("{:e} writes an integer exponent"),
    )
}

/// The significant `digits` placed around the point for decimal `exponent` (−4 to 5).
fn push_fixed(digits: &[u8; 6], exponent: i32, out: &mut Vec<u8>) {
    if exponent < 0 {
        let mut fraction = [b'0'; 9];
        let zeros = (-exponent - 1) as usize;
        fraction[zeros..zeros + 6].copy_from_slice(digits);
        push_significand(b"0", &fraction[..zeros + 6], out);
    } else {
        let split = exponent as usize + 1;
        push_significand(&digits[..split], &digits[split..], out);
    }
}

/// `whole.fraction` without the fraction's trailing zeros, and without the point when
/// no fraction digit is left.
fn push_significand(whole: &[u8], fraction: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(whole);
    let kept = fraction
        .iter()
        .rposition(|&d| d != b'0')
        .map_or(0, |i| i + 1);
    if kept > 0 {
        out.push(b'.');
        out.extend_from_slice(&fraction[..kept]);
    }
}

/// Rows of a table as tab-separated lines: each `prefixes[i]`, then row `i` of `values`
/// (`prefixes.len()` rows of `columns` values, row-major) in [`push_g6`] form, each line
/// ending in a newline. Rows are formatted on rayon's threads.
pub fn format_rows(prefixes: &[String], values: &[f32], columns: usize) -> Vec<u8> {
    assert_eq!(
        prefixes.len() * columns,
        values.len(),
        "one row of values per prefix"
    );
    let lines: Vec<Vec<u8>> = prefixes
        .par_iter()
        .enumerate()
        .map(|(row, prefix)| {
            let mut line = Vec::with_capacity(prefix.len() + 12 * columns + 1);
            line.extend_from_slice(prefix.as_bytes());
            for &value in &values[row * columns..(row + 1) * columns] {
                line.push(b'\t');
                push_g6(f64::from(value), &mut line);
            }
            line.push(b'\n');
            line
        })
        .collect();
    lines.concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g6(x: f64) -> String {
        let mut out = Vec::new();
        push_g6(x, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_what_python_writes() {
        // each pair: the value and Python's format(value, ".6g")
        let cases: [(f64, &str); 27] = [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (123456.0, "123456"),
            (999999.5, "1e+06"),
            (1234567.0, "1.23457e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000123456789, "0.000123457"),
            (1.5e-7, "1.5e-07"),
            (3.0e100, "3e+100"),
            (1e-300, "1e-300"),
            (100.0, "100"),
            (99999.95, "99999.9"),
            (0.000099999996, "0.0001"),
            (12.3400001, "12.34"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (65504.0, "65504"),
            (1234565.0, "1.23456e+06"), // exact ties round to even, as C and Python do
            (1234575.0, "1.23458e+06"),
            (0.0009765625, "0.000976562"), // 2^-10: a tie below the point
            (0.0029296875, "0.00292969"),  // 3·2^-10: a tie rounded up to even
            (2.5e-5, "2.5e-05"),
        ];
        for (value, python) in cases {
            assert_eq!(g6(value), python, "{value:e}");
        }
    }

    #[test]
    fn rows_are_lines_of_tab_separated_values_after_their_prefix() {
        let prefixes = ["rs1\tchr1".to_string(), "rs2\tchr2".to_string()];
        let text = format_rows(&prefixes, &[1.0, -0.5, 0.25, 1e-6], 2);
        assert_eq!(text, b"rs1\tchr1\t1\t-0.5\nrs2\tchr2\t0.25\t1e-06\n");
        assert!(format_rows(&[], &[], 3).is_empty());
    }
}
