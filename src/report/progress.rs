//! Progress bars on a terminal (nothing when stderr is not one): e-graph saturation, steps
//! over a known count (frameworks in `compare`), and spinners for steps of unknown length
//! (extraction and the check in `optimize`, `equiv`, large profiles).

use crate::optimize::{Progress, ProgressFn};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// The bar, shown on stderr while the e-graph grows towards its node limit.
pub struct SaturationBar {
    bar: Option<ProgressBar>,
}

/// A bar for a run with this node limit; hidden unless stderr is a terminal.
pub fn saturation_bar(node_limit: usize) -> SaturationBar {
    if !std::io::stderr().is_terminal() {
        return SaturationBar { bar: None };
    }
    let bar = ProgressBar::new(node_limit as u64);
    let style =
        ProgressStyle::with_template("{spinner} saturating [{bar:30}] {pos}/{len} e-nodes  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    SaturationBar { bar: Some(bar) }
}

impl SaturationBar {
    /// The callback to give the optimizer.
    pub fn callback(&self) -> Option<ProgressFn> {
        let bar = self.bar.clone()?;
        let limit = bar.length().unwrap_or(u64::MAX);
        Some(Box::new(move |p: &Progress| {
            bar.set_position((p.enodes as u64).min(limit));
            bar.set_message(format!(
                "iteration {}, {} e-classes, {:.1} s",
                p.iteration + 1,
                p.eclasses,
                p.seconds
            ));
        }))
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// A bar over a known number of steps (frameworks to cost, models to load), on stderr when it
/// is a terminal.
pub struct CountBar {
    bar: Option<ProgressBar>,
}

/// A bar of `len` steps, each shown as `VERB NAME`.
pub fn count_bar(len: usize, verb: &str) -> CountBar {
    if !std::io::stderr().is_terminal() {
        return CountBar { bar: None };
    }
    let bar = ProgressBar::new(len as u64);
    let template = format!("{{spinner}} {verb} {{msg}} [{{bar:30}}] {{pos}}/{{len}}");
    let style = ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    CountBar { bar: Some(bar) }
}

impl CountBar {
    /// Starts the step named `name` (the previous one is done).
    pub fn step(&self, name: &str) {
        if let Some(b) = &self.bar {
            if b.message() != "" {
                b.inc(1);
            }
            b.set_message(name.to_string());
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// A spinner with a message, for a step whose amount of work is not known in advance (the
/// check of an optimized graph, an equivalence check, loading and profiling a large model);
/// on stderr when it is a terminal, never in pipes or redirected output.
pub struct Spinner {
    bar: Option<ProgressBar>,
}

/// A spinner showing `message` (and the time spent) until [`Spinner::finish`].
pub fn spinner(message: &str) -> Spinner {
    if !std::io::stderr().is_terminal() {
        return Spinner { bar: None };
    }
    let bar = ProgressBar::new_spinner();
    let style = ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Spinner { bar: Some(bar) }
}

impl Spinner {
    /// Removes the spinner.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Drop for Spinner {
    /// Clears the spinner also when its step fails.
    fn drop(&mut self) {
        self.finish();
    }
}
