//! One gzip member inflated whole by libdeflate, reporting the compressed bytes it took:
//! `libdeflater`'s safe `gzip_decompress` does not say, and reads a file of many members
//! as its first alone, so this calls `libdeflate_gzip_decompress_ex` itself.

use std::ptr::NonNull;

use libdeflate_sys::{
    libdeflate_alloc_decompressor, libdeflate_decompressor, libdeflate_free_decompressor,
    libdeflate_gzip_decompress_ex, libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE as NO_ROOM,
    libdeflate_result_LIBDEFLATE_SUCCESS as SUCCESS,
};

/// What inflating a member gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Member {
    /// Inflated whole (size and CRC32 checked), taking `consumed` bytes of the input.
    Inflated { consumed: usize },
    /// It inflates to more bytes than the room given; nothing was added.
    NoRoom,
    /// Not a gzip member, cut short, or its size or CRC32 does not match.
    Bad,
}

/// A libdeflate decompressor, for gzip members one after another.
pub struct MemberInflater(NonNull<libdeflate_decompressor>);

impl MemberInflater {
    pub fn new() -> Self {
        // SAFETY: allocates a decompressor; null only when out of memory
        let raw = unsafe { libdeflate_alloc_decompressor() };
        MemberInflater(NonNull::new(raw).expect("libdeflate could not allocate a decompressor"))
    }

    /// Inflate the gzip member at the start of `input` into the unused capacity of `out`,
    /// appending its bytes to `out` when they fit there.
    pub fn inflate(&mut self, input: &[u8], out: &mut Vec<u8>) -> Member {
        let room = out.spare_capacity_mut();
        let (mut consumed, mut produced) = (0usize, 0usize);
        // SAFETY: libdeflate reads at most `input.len()` bytes from `input`, writes at
        // most `room.len()` bytes into `room` (the Vec's allocation, past its length) and
        // on success reports in `produced` how many it wrote, all of them initialised.
        let result = unsafe {
            libdeflate_gzip_decompress_ex(
                self.0.as_ptr(),
                input.as_ptr().cast(),
                input.len(),
                room.as_mut_ptr().cast(),
                room.len(),
                &mut consumed,
                &mut produced,
            )
        };
        match result {
            SUCCESS => {
                // SAFETY: the `produced <= room.len()` bytes after the length were written
                unsafe { out.set_len(out.len() + produced) };
                Member::Inflated { consumed }
            }
            NO_ROOM => Member::NoRoom,
            _ => Member::Bad,
        }
    }
}

impl Default for MemberInflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for MemberInflater {
    fn drop(&mut self) {
        // SAFETY: allocated by libdeflate_alloc_decompressor and freed once, here
        unsafe { libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inflate::tests::gzip;

    #[test]
    fn inflates_a_member_into_room_reporting_what_it_took() {
        let (a, b) = (gzip(b"first member"), gzip(b"second"));
        let both = [a.clone(), b].concat();
        let mut inflater = MemberInflater::new();
        let mut out = b"kept ".to_vec();
        out.reserve_exact(11);
        assert_eq!(inflater.inflate(&both, &mut out), Member::NoRoom);
        assert_eq!(out, b"kept ");
        out.reserve_exact(12);
        let taken = Member::Inflated { consumed: a.len() };
        assert_eq!(inflater.inflate(&both, &mut out), taken);
        assert_eq!(out, b"kept first member");
        out.reserve_exact(100);
        assert_eq!(
            inflater.inflate(&both[..a.len() - 1], &mut out),
            Member::Bad
        );
        assert_eq!(inflater.inflate(b"not gzip", &mut out), Member::Bad);
        let mut flipped = a.clone();
        flipped[a.len() - 6] ^= 1; // the CRC32
        assert_eq!(inflater.inflate(&flipped, &mut out), Member::Bad);
        assert_eq!(out, b"kept first member");
    }
}
