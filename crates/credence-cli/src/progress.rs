//! Progress bars on a terminal; silent with --json, --quiet or when stderr is not a terminal.

use credence::infer::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;

/// A progress bar that implements the library's `Progress`.
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
}

impl Bar {
    /// A bar that shows only when `wanted` and stderr is a terminal.
    pub fn new(wanted: bool) -> Self {
        Bar {
            bar: Mutex::new(None),
            enabled: wanted && std::io::stderr().is_terminal(),
        }
    }
}

impl Progress for Bar {
    fn start(&self, total: u64, what: &str) {
        if !self.enabled {
            return;
        }
        let pb = ProgressBar::new(total);
        if let Ok(style) =
            ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
        {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_prefix(what.to_string());
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(pb);
        }
    }

    fn tick(&self, pos: u64, msg: &str) {
        if let Ok(b) = self.bar.lock() {
            if let Some(pb) = b.as_ref() {
                pb.set_position(pos);
                pb.set_message(msg.to_string());
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut b) = self.bar.lock() {
            if let Some(pb) = b.take() {
                pb.finish_and_clear();
            }
        }
    }
}
