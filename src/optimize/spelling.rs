//! How a front end names the optimizer's options in its messages: `--max-error 0.1` on the
//! command line, `max_error=0.1` in Python. A message is written once, in terms of options,
//! and each front end reads its own spelling.

use std::fmt::Display;

/// The front end whose option names a message uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spelling {
    /// `hawkeye optimize --max-error 0.1`
    #[default]
    Cli,
    /// `hawkeye_mpc.optimize(..., max_error=0.1)`
    Python,
}

impl Spelling {
    /// The option's name: `--max-error`, `max_error`. `cli_name` is the command line's, without
    /// its dashes.
    pub fn name(self, cli_name: &str) -> String {
        match self {
            Spelling::Cli => format!("--{cli_name}"),
            Spelling::Python => match cli_name {
                "inputs" => "check_inputs".to_string(),
                _ => cli_name.replace('-', "_"),
            },
        }
    }

    /// A switch turned on: `--allow-approx`, `allow_approx=True`.
    pub fn flag(self, cli_name: &str) -> String {
        match self {
            Spelling::Cli => self.name(cli_name),
            Spelling::Python => format!("{}=True", self.name(cli_name)),
        }
    }

    /// An option with a number or a placeholder: `--max-error 0.1`, `max_error=0.1`.
    pub fn value(self, cli_name: &str, value: impl Display) -> String {
        match self {
            Spelling::Cli => format!("{} {value}", self.name(cli_name)),
            Spelling::Python => format!("{}={value}", self.name(cli_name)),
        }
    }

    /// An option with a text: `--error-metric 'l2'`, `error_metric='l2'`.
    pub fn text(self, cli_name: &str, value: &str) -> String {
        match self {
            Spelling::Cli => format!("{} '{value}'", self.name(cli_name)),
            Spelling::Python => format!("{}='{value}'", self.name(cli_name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Spelling::{Cli, Python};

    #[test]
    fn each_front_end_reads_its_own_option_names() {
        assert_eq!(Cli.value("max-error", 0.1), "--max-error 0.1");
        assert_eq!(Python.value("max-error", 0.1), "max_error=0.1");
        assert_eq!(Cli.flag("allow-approx"), "--allow-approx");
        assert_eq!(Python.flag("allow-approx"), "allow_approx=True");
        assert_eq!(Cli.text("error-metric", "l2"), "--error-metric 'l2'");
        assert_eq!(Python.text("error-metric", "l2"), "error_metric='l2'");
        assert_eq!(Cli.name("inputs"), "--inputs");
        assert_eq!(Python.name("inputs"), "check_inputs");
    }
}
