//! A fence around third-party decoders: a panic inside one (a bug in that crate, reached by a
//! damaged file) becomes a typed error instead of a crash, and prints nothing.
//!
//! The process-wide panic hook is chained once: while a guarded call runs on this thread the hook
//! stays silent (the error that replaces the panic says what happened); everywhere else the hook
//! that was installed before (Rust's default, a CLI's, a fuzzer's) runs unchanged.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static GUARDED: Cell<u32> = const { Cell::new(0) };
}

static INSTALL: Once = Once::new();

fn install_hook() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}

/// Runs `f`; a panic inside it is returned as `Err` with the panic's message.
pub(crate) fn contain<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    install_hook();
    GUARDED.with(|g| g.set(g.get() + 1));
    let out = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(g.get().saturating_sub(1)));
    out.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown failure".to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::contain;

    #[test]
    fn a_panic_becomes_an_error_and_values_pass_through() {
        assert_eq!(contain(|| 3), Ok(3));
        let err = contain(|| -> u8 { panic!("index out of bounds") }).unwrap_err();
        assert!(err.contains("index out of bounds"), "{err}");
        // Nested and repeated guards keep working.
        assert_eq!(contain(|| contain(|| 1).map(|v| v + 1)), Ok(Ok(2)));
    }
}
