//! Ctrl-C (SIGINT, and SIGTERM as a scheduler's `scancel` sends it): exit code 130, keeping
//! what is already computed.
//!
//! A command that checkpoints (`check`) calls [`graceful`]: the first signal then only asks it
//! to stop ([`requested`]); it finishes the instances in progress, writes its files atomically
//! and exits 130, saying what it kept. Any other command, or a second signal, exits 130 at once:
//! every file the harness writes is written atomically (temporary file, then rename), so a file
//! is either the previous complete version or the new one.

use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code of an interrupted run (128 + SIGINT, as shells report it).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

static GRACEFUL: AtomicBool = AtomicBool::new(false);
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Installs the handler (once, at start-up). If the platform refuses, the default action of the
/// signal (terminate) stays, which loses nothing written atomically.
pub(crate) fn install() {
    let _ = ctrlc::set_handler(|| {
        if GRACEFUL.load(Ordering::SeqCst) && !REQUESTED.swap(true, Ordering::SeqCst) {
            eprintln!(
                "\ninterrupt: finishing the instances in progress, then saving what is measured \
                 (press Ctrl-C again to stop at once)"
            );
        } else {
            eprintln!("\ninterrupted: stopped at once; files written so far are complete");
            std::process::exit(EXIT_INTERRUPTED as i32);
        }
    });
}

/// From now on the first signal asks the command to stop at its next checkpoint.
pub(crate) fn graceful() {
    GRACEFUL.store(true, Ordering::SeqCst);
}

/// Whether a stop was asked for.
pub(crate) fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
