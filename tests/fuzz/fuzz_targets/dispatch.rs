//! Whole NDJSON input, any bytes: dispatching it never panics, and every parsed params
//! value round-trips. libFuzzer's `-rss_limit_mb` catches unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hinet_fuzz::dispatch_stream(data);
});
