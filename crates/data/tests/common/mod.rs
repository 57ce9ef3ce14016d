//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `<CARGO_MANIFEST_DIR>/../../../shared/data`, or `None` (with a printed message) when absent.
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(sub);
    if p.exists() {
        Some(p)
    } else {
        println!(
            "SKIPPED: test data folder {} is absent (see shared/data/NOTICE.md)",
            p.display()
        );
        None
    }
}

/// A fresh, unique temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let p = std::env::temp_dir().join(format!(
        "vaecam-data-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}
