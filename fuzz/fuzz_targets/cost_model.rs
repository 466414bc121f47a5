//! Fuzz target: the cost_model reader, then what the tool does with what it read (see ../src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hawkeye_fuzz::cost_model(data));
