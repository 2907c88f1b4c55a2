//! Running a library call from Python: on a worker thread with the GIL released, a progress bar
//! on a terminal, and Ctrl-C turned into `KeyboardInterrupt` (the call is stopped at its next
//! progress step; nothing is written, since models are saved only by an explicit `save`).

use credence::infer::Progress;
use indicatif::{ProgressBar, ProgressStyle};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use std::io::IsTerminal;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

/// How often the waiting thread looks for a signal (Ctrl-C) while the call runs.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// The unwind payload that stops a call when the user interrupts it.
struct Interrupted;

/// The library's `Progress`: a bar on stderr when wanted and stderr is a terminal; every step
/// also checks whether the call was interrupted.
struct Hook {
    cancel: AtomicBool,
    bar: Mutex<Option<ProgressBar>>,
    show: bool,
}

impl Hook {
    fn stop_if_cancelled(&self) {
        if self.cancel.load(Ordering::Relaxed) {
            // `resume_unwind` skips the panic hook: no "panicked at" message is printed.
            resume_unwind(Box::new(Interrupted));
        }
    }
}

impl Progress for Hook {
    fn start(&self, total: u64, what: &str) {
        self.stop_if_cancelled();
        if !self.show {
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
        self.stop_if_cancelled();
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

/// Runs `f` on a worker thread without the GIL, showing a progress bar when `verbose` and
/// stderr is a terminal. Polls for signals meanwhile: on Ctrl-C the call is stopped at its next
/// progress step and the signal's exception (`KeyboardInterrupt`) is raised. Library errors
/// become Python exceptions (see `to_py`).
pub fn interruptible<T, F>(py: Python<'_>, verbose: bool, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&dyn Progress) -> credence::Result<T> + Send,
{
    let hook = Hook {
        cancel: AtomicBool::new(false),
        bar: Mutex::new(None),
        show: verbose && std::io::stderr().is_terminal(),
    };
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let hook_ref = &hook;
    let outcome = std::thread::scope(|s| {
        let worker = s.spawn(move || {
            let r = catch_unwind(AssertUnwindSafe(|| f(hook_ref)));
            let _ = done_tx.send(());
            r
        });
        let mut signal: Option<PyErr> = None;
        let mut rx = done_rx;
        loop {
            // The receiver moves in and out of the GIL-free closure (it is Send, not Sync).
            let (finished, back) = py.detach(move || {
                let f = match rx.recv_timeout(SIGNAL_POLL) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => true,
                    Err(mpsc::RecvTimeoutError::Timeout) => false,
                };
                (f, rx)
            });
            rx = back;
            if finished {
                break;
            }
            if signal.is_none() {
                if let Err(e) = py.check_signals() {
                    hook_ref.cancel.store(true, Ordering::Relaxed);
                    signal = Some(e);
                }
            }
        }
        let joined = py.detach(|| worker.join());
        (joined, signal)
    });
    hook.finish();
    let (joined, signal) = outcome;
    if let Some(e) = signal {
        return Err(e);
    }
    match joined {
        Ok(Ok(r)) => r.map_err(crate::to_py),
        Ok(Err(payload)) | Err(payload) => {
            if payload.is::<Interrupted>() {
                return Err(pyo3::exceptions::PyKeyboardInterrupt::new_err(
                    "interrupted",
                ));
            }
            let what = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(PyRuntimeError::new_err(format!(
                "internal error in the Credence core: {what}"
            )))
        }
    }
}
