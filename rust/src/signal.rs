//! Signal transforms of binned coverage: soft clipping, hard clipping and scaling.
//!
//! NaN passes through every transform unchanged, so missing data stays visible to the
//! caller that decides what it means.

use rayon::prelude::*;

/// Elements per parallel task.
const CHUNK: usize = 1 << 16;

fn for_each_chunk(values: &mut [f32], op: impl Fn(&mut [f32]) + Send + Sync) {
    if values.len() <= CHUNK {
        op(values);
    } else {
        values.par_chunks_mut(CHUNK).for_each(op);
    }
}

/// Soft clip of one value: `min(x, t + sqrt(max(0, x − t)))`.
///
/// Values up to `t + 1` are unchanged (there `sqrt(x − t) ≥ x − t`); above it the excess
/// grows as a square root.
#[inline]
pub fn soft_clip_value(x: f32, threshold: f32) -> f32 {
    // Computed for every value and then selected, so that the loop vectorises; the
    // comparison keeps NaN (for which `x > threshold` is false) unchanged.
    let clipped = x.min(threshold + (x - threshold).max(0.0).sqrt());
    if x > threshold {
        clipped
    } else {
        x
    }
}

/// Soft clip every value in place: `min(x, t + sqrt(max(0, x − t)))`.
pub fn soft_clip(values: &mut [f32], threshold: f32) {
    for_each_chunk(values, |chunk| {
        for x in chunk {
            *x = soft_clip_value(*x, threshold);
        }
    });
}

/// Hard clip of one value into `[0, max]` (negatives become 0; NaN stays).
#[inline]
pub fn hard_clip_value(x: f32, max: f32) -> f32 {
    // `max`/`min` would turn NaN into a bound; compare explicitly to keep it.
    if x < 0.0 {
        0.0
    } else if x > max {
        max
    } else {
        x
    }
}

/// Clamp every value into `[0, max]` in place (negatives become 0).
pub fn hard_clip(values: &mut [f32], max: f32) {
    for_each_chunk(values, |chunk| {
        for x in chunk {
            *x = hard_clip_value(*x, max);
        }
    });
}

/// Multiply every value by `factor` in place.
pub fn scale(values: &mut [f32], factor: f32) {
    for_each_chunk(values, |chunk| {
        for x in chunk {
            *x *= factor;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_clip_known_values() {
        let mut x = vec![-3.0, 0.0, 32.0, 32.5, 33.0, 36.0, 132.0, f32::NAN];
        soft_clip(&mut x, 32.0);
        assert_eq!(&x[..7], &[-3.0, 0.0, 32.0, 32.5, 33.0, 34.0, 42.0]);
        assert!(x[7].is_nan());
    }

    #[test]
    fn hard_clip_bounds_and_nan() {
        let mut x = vec![-1.0, 0.5, 100.0, f32::NAN];
        hard_clip(&mut x, 64.0);
        assert_eq!(&x[..3], &[0.0, 0.5, 64.0]);
        assert!(x[3].is_nan());
    }

    #[test]
    fn parallel_chunks_cover_everything() {
        let mut x: Vec<f32> = (0..CHUNK * 3 + 5).map(|i| i as f32).collect();
        scale(&mut x, 2.0);
        assert!(x.iter().enumerate().all(|(i, &v)| v == 2.0 * i as f32));
    }
}
