//! Whether an approximate result may be written: its output error, measured by the check
//! against the input ([`super::verify::approximation_error`]), relative to the input's largest
//! |output|, must not exceed `--max-error` (0.01 by default), unless `--force`.

use super::spelling::Spelling;
use super::verify::Comparison;

/// The relative error allowed for `--allow-approx` results when none is given.
pub const DEFAULT_MAX_ERROR: f64 = 0.01;

/// The error an approximate result may have, and whether to write it anyway.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorBudget {
    /// Largest output error relative to the input's largest |output|.
    pub max_relative: f64,
    pub force: bool,
    /// The option names of the front end's messages.
    pub spelling: Spelling,
}

impl ErrorBudget {
    /// The budget of a run: `None` without approximate rules. A `--max-error` without
    /// `--allow-approx`, or one that is not a finite number >= 0, is an error, in `spelling`'s
    /// option names.
    pub fn new(
        allow_approx: bool,
        max_error: Option<f64>,
        force: bool,
        spelling: Spelling,
    ) -> Result<Option<ErrorBudget>, String> {
        let approx = spelling.flag("allow-approx");
        if let Some(e) = max_error {
            let given = spelling.value("max-error", e);
            if !allow_approx {
                return Err(format!(
                    "{given} applies to {approx} results only (exact results are checked to 1e-9); add {approx} or drop {}",
                    spelling.name("max-error")
                ));
            }
            if !(e.is_finite() && e >= 0.0) {
                return Err(format!(
                    "{given} is not a relative error: give a finite number >= 0, e.g. 0.01"
                ));
            }
        }
        if force && !allow_approx {
            return Err(format!(
                "{} applies to {approx} results only (it writes one whose error exceeds {}); add {approx} or drop {}",
                spelling.flag("force"),
                spelling.name("max-error"),
                spelling.name("force"),
            ));
        }
        Ok(allow_approx.then_some(ErrorBudget {
            max_relative: max_error.unwrap_or(DEFAULT_MAX_ERROR),
            force,
            spelling,
        }))
    }

    /// Judges a changed result by its check: `Ok(None)` within the budget, `Ok(Some(warning))`
    /// when it is written anyway (forced, or not measured), `Err(refusal)` when it must not be
    /// written.
    pub fn judge(&self, check: Option<&Comparison>) -> Result<Option<String>, String> {
        let Some(c) = check else {
            return Ok(Some(format!(
                "the approximation's output error was not measured ({}, or the interpreter cannot run the model): it is written unchecked",
                self.spelling.value("samples", 0)
            )));
        };
        let scale = c.reference_max_abs();
        let error = c.max_abs();
        let relative = if error == 0.0 {
            0.0
        } else if scale > 0.0 {
            error / scale
        } else {
            f64::INFINITY
        };
        if c.agrees && relative <= self.max_relative {
            return Ok(None);
        }
        let what = if c.agrees {
            format!(
                "the result's output error is {relative:.3e} of the input's largest |output| (max |difference| {error:.3e}, largest |output| {scale:.3e}), above {}",
                self.spelling.value("max-error", self.max_relative)
            )
        } else {
            "the result's outputs are not finite where the input's are".to_string()
        };
        if self.force {
            Ok(Some(format!(
                "{what}; written anyway ({})",
                self.spelling.flag("force")
            )))
        } else {
            Err(format!(
                "{what}: nothing written (raise {}, or {} to write it anyway)",
                self.spelling.name("max-error"),
                self.spelling.flag("force")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        use Spelling::{Cli, Python};
        assert_eq!(ErrorBudget::new(false, None, false, Cli), Ok(None));
        assert_eq!(
            ErrorBudget::new(true, None, false, Cli),
            Ok(Some(ErrorBudget {
                max_relative: 0.01,
                force: false,
                spelling: Cli
            }))
        );
        assert_eq!(
            ErrorBudget::new(false, Some(0.1), false, Cli).unwrap_err(),
            "--max-error 0.1 applies to --allow-approx results only (exact results are checked to 1e-9); add --allow-approx or drop --max-error"
        );
        assert_eq!(
            ErrorBudget::new(false, Some(0.1), false, Python).unwrap_err(),
            "max_error=0.1 applies to allow_approx=True results only (exact results are checked to 1e-9); add allow_approx=True or drop max_error"
        );
        assert_eq!(
            ErrorBudget::new(true, Some(f64::NAN), false, Cli).unwrap_err(),
            "--max-error NaN is not a relative error: give a finite number >= 0, e.g. 0.01"
        );
        assert_eq!(
            ErrorBudget::new(false, None, true, Python).unwrap_err(),
            "force=True applies to allow_approx=True results only (it writes one whose error exceeds max_error); add allow_approx=True or drop force"
        );
    }
}
