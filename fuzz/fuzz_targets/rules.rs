//! Fuzz target: the rules reader, then what the tool does with what it read (see ../src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hawkeye_fuzz::rules(data));
