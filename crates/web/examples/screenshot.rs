//! Screenshots the page once it has explained the bundled demo (docs/web-screenshot.png):
//! `cargo run --release -p vaecam-web --example screenshot -- OUT.png [QUERY]`
//! with web/dist/ built (scripts/build_web.sh); QUERY defaults to `backend=gpu`. Chromium's
//! own `--screenshot` fires at the load event, before the page has computed anything, so the
//! page is driven over the DevTools protocol until its result is there.

use std::path::{Path, PathBuf};
use std::time::Duration;
use vaecam_web::headless::{find_chromium, Browser};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, query) = match args.as_slice() {
        [out] => (PathBuf::from(out), "backend=gpu".to_string()),
        [out, q] => (PathBuf::from(out), q.clone()),
        _ => return Err("usage: screenshot OUT.png [QUERY]".into()),
    };
    let chrome = find_chromium().ok_or("no chromium on PATH")?;
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist");
    let index = dist
        .join("index.html")
        .canonicalize()
        .map_err(|e| format!("web/dist/index.html: {e} (run scripts/build_web.sh)"))?;
    let url = format!("file://{}?{query}", index.display());
    let mut b = Browser::open(&chrome, &url, (1400, 1000), &[])?;
    let result = b.wait_for_text("result", Duration::from_secs(300))?;
    if result.contains("\"error\"") {
        return Err(format!("the page failed: {result}; log: {}", b.log_text()));
    }
    let status = b.eval("document.getElementById('status').textContent")?;
    b.screenshot(&out)?;
    println!("{}: {}", out.display(), status.as_str().unwrap_or("?"));
    Ok(())
}
