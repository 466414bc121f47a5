//! Whether an approximate result may be written: its output error, measured by the check
//! against the input ([`super::verify::approximation_error`]), relative to the input's largest
//! |output|, must not exceed `--max-error` (0.01 by default), unless `--force`.

use super::verify::Comparison;

/// The relative error allowed for `--allow-approx` results when none is given.
pub const DEFAULT_MAX_ERROR: f64 = 0.01;

/// The error an approximate result may have, and whether to write it anyway.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorBudget {
    /// Largest output error relative to the input's largest |output|.
    pub max_relative: f64,
    pub force: bool,
}

impl ErrorBudget {
    /// The budget of a command: `None` without approximate rules. A `--max-error` without
    /// `--allow-approx`, or one that is not a finite number >= 0, is an error.
    pub fn new(
        allow_approx: bool,
        max_error: Option<f64>,
        force: bool,
    ) -> Result<Option<ErrorBudget>, String> {
        if let Some(e) = max_error {
            if !allow_approx {
                return Err(format!(
                    "--max-error {e} applies to --allow-approx results only (exact results are checked to 1e-9); add --allow-approx or drop --max-error"
                ));
            }
            if !(e.is_finite() && e >= 0.0) {
                return Err(format!(
                    "--max-error {e} is not a relative error: give a finite number >= 0, e.g. 0.01"
                ));
            }
        }
        if force && !allow_approx {
            return Err(
                "--force applies to --allow-approx results only (it writes one whose error exceeds --max-error); add --allow-approx or drop --force"
                    .to_string(),
            );
        }
        Ok(allow_approx.then_some(ErrorBudget {
            max_relative: max_error.unwrap_or(DEFAULT_MAX_ERROR),
            force,
        }))
    }

    /// Judges a changed result by its check: `Ok(None)` within the budget, `Ok(Some(warning))`
    /// when it is written anyway (forced, or not measured), `Err(refusal)` when it must not be
    /// written.
    pub fn judge(&self, check: Option<&Comparison>) -> Result<Option<String>, String> {
        let Some(c) = check else {
            return Ok(Some(
                "the approximation's output error was not measured (--samples 0, or the interpreter cannot run the model): it is written unchecked".to_string(),
            ));
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
                "the result's output error is {relative:.3e} of the input's largest |output| (max |difference| {error:.3e}, largest |output| {scale:.3e}), above --max-error {}",
                self.max_relative
            )
        } else {
            "the result's outputs are not finite where the input's are".to_string()
        };
        if self.force {
            Ok(Some(format!("{what}; written anyway (--force)")))
        } else {
            Err(format!(
                "{what}: nothing written (raise --max-error, or --force to write it anyway)"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked() {
        assert_eq!(ErrorBudget::new(false, None, false), Ok(None));
        assert_eq!(
            ErrorBudget::new(true, None, false),
            Ok(Some(ErrorBudget {
                max_relative: 0.01,
                force: false
            }))
        );
        assert_eq!(
            ErrorBudget::new(false, Some(0.1), false).unwrap_err(),
            "--max-error 0.1 applies to --allow-approx results only (exact results are checked to 1e-9); add --allow-approx or drop --max-error"
        );
        assert_eq!(
            ErrorBudget::new(true, Some(f64::NAN), false).unwrap_err(),
            "--max-error NaN is not a relative error: give a finite number >= 0, e.g. 0.01"
        );
        assert!(ErrorBudget::new(false, None, true).is_err());
    }
}
