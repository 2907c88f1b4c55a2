//! SIGINT and SIGTERM (Ctrl-C, `kill`): the process removes what it was writing — a half-written
//! model folder, its lock file — and exits at once with a message and status 130. A model
//! already at `--out` is left as it was: saves swap a whole folder in (see
//! `credence::artifact::folder`), and the handler waits for a swap in progress.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Set when a signal arrived.
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Exit status after an interruption (128 + SIGINT).
const STATUS: i32 = 130;

/// Installs the handler for SIGINT and SIGTERM (once per process; a failure leaves the
/// default behaviour, which also stops the process).
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        REQUESTED.store(true, Ordering::SeqCst);
        // Held until the process ends: no save can swap a folder in after this point.
        let guard = credence::artifact::abandon();
        eprintln!("\ninterrupted: stopped; no partial model was written (a model already at --out is unchanged, or whole and new if its save had finished)");
        std::mem::forget(guard);
        std::process::exit(STATUS);
    });
}

/// Whether a signal arrived; if so, waits for the handler to end the process (a few seconds
/// at most, then ends it here).
pub fn wait_if_requested() {
    if !REQUESTED.load(Ordering::SeqCst) {
        return;
    }
    std::thread::sleep(Duration::from_secs(5));
    std::process::exit(STATUS);
}
