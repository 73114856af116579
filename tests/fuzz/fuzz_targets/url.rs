//! CrackUrl and CreateUrl on arbitrary text: the first four bytes pick the flags, the rest
//! is the URL. Nothing panics, and whatever cracks is rebuilt into a URL that cracks the
//! same way.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (flags, rest) = match data.split_first_chunk::<4>() {
        Some((f, rest)) => (u32::from_le_bytes(*f), rest),
        None => (0, data),
    };
    if let Ok(url) = std::str::from_utf8(rest) {
        hinet_fuzz::crack_and_create(url, flags);
        hinet_fuzz::crack_and_create(url, 0);
    }
});
