//! The command line's helpers and its larger commands, one module each; `main.rs` parses the
//! arguments and dispatches here. Rendering stays in the library's `report` modules.

pub mod catalog;
pub mod compare;
pub mod diff;
pub mod framework;
pub mod optimize;
pub mod output;
pub mod profile;
pub mod rules;

use clap::ValueEnum;
use hawkeye_mpc::report::numbers::Units;

/// `--units bytes|bits`.
#[derive(Clone, Copy, ValueEnum)]
pub enum UnitsArg {
    Bytes,
    Bits,
}

impl From<UnitsArg> for Units {
    fn from(u: UnitsArg) -> Units {
        match u {
            UnitsArg::Bytes => Units::Bytes,
            UnitsArg::Bits => Units::Bits,
        }
    }
}
