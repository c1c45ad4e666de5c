//! libFuzzer entry for `valgbord::fuzzing::fuzz_import` (the body lives in the crate so a
//! stable test runs it too).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| valgbord::fuzzing::fuzz_import(data));
