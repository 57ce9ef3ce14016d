//! Drives the page in headless Chromium through the DevTools protocol (native only): used by
//! the browser test and the screenshot example.
//!
//! `--dump-dom` cannot wait for the page: it dumps at the load event, before any await has
//! resolved, and `--virtual-time-budget` (which does wait) runs virtual time ahead of the GPU
//! process, so WebGPU's promises never resolve inside the budget. Instead Chromium is started
//! with `--remote-debugging-pipe` (commands on its fd 3, replies on fd 4, each message JSON
//! ended by a NUL byte), and a `Runtime.evaluate` whose promise resolves once
//! `<pre id="result">` holds the result waits in real time. The page's console messages and
//! the browser's log (WebGPU validation errors land there) are collected for error messages.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Chromium flags for WebGPU without a display: SwiftShader through Vulkan, and pages opened
/// from disk may read the files next to them.
pub const FLAGS: [&str; 6] = [
    "--headless=new",
    "--no-sandbox",
    "--enable-unsafe-webgpu",
    "--enable-features=Vulkan",
    "--use-angle=vulkan",
    "--allow-file-access-from-files",
];

/// The first Chromium (or Chrome) on `PATH` that runs, or None.
pub fn find_chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(String::from)
}

/// A headless Chromium showing one page, driven over the DevTools pipe.
pub struct Browser {
    child: Child,
    to_browser: ChildStdin,
    from_browser: Receiver<Value>,
    session: String,
    next_id: u64,
    /// Console messages, exceptions and browser log entries seen so far, one line each.
    pub log: Vec<String>,
}

fn err(msg: impl std::fmt::Display) -> String {
    format!("headless chromium: {msg}")
}

impl Browser {
    /// Starts `chrome` on `url` with [`FLAGS`], a `width`x`height` window and `extra` flags.
    pub fn open(
        chrome: &str,
        url: &str,
        (width, height): (u32, u32),
        extra: &[&str],
    ) -> Result<Browser, String> {
        // The browser reads commands from fd 3 and writes replies to fd 4: the shell puts our
        // stdin pipe on 3 and our stdout pipe on 4, then hands Chromium's own output to stderr.
        let window = format!("--window-size={width},{height}");
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 1>&2 </dev/null"#)
            .arg(chrome)
            .args(FLAGS)
            .args(extra)
            .args([window.as_str(), "--remote-debugging-pipe", url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| err(format!("cannot start {chrome}: {e}")))?;
        let to_browser = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, from_browser) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut msg = Vec::new();
                match r.read_until(0, &mut msg) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if msg.last() == Some(&0) {
                            msg.pop();
                        }
                        let Ok(v) = serde_json::from_slice::<Value>(&msg) else {
                            continue;
                        };
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let mut b = Browser {
            child,
            to_browser,
            from_browser,
            session: String::new(),
            next_id: 0,
            log: Vec::new(),
        };
        let targets = b.call("Target.getTargets", json!({}), Duration::from_secs(30))?;
        let page = targets["targetInfos"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .ok_or_else(|| err("no page target"))?["targetId"]
            .clone();
        let attached = b.call(
            "Target.attachToTarget",
            json!({ "targetId": page, "flatten": true }),
            Duration::from_secs(30),
        )?;
        b.session = attached["sessionId"]
            .as_str()
            .ok_or_else(|| err("attachToTarget gave no session"))?
            .to_string();
        for domain in ["Runtime.enable", "Log.enable"] {
            b.call(domain, json!({}), Duration::from_secs(30))?;
        }
        Ok(b)
    }

    /// Sends one command (to the page's session once attached) and waits up to `timeout` for
    /// its reply, logging the events that arrive meanwhile.
    pub fn call(
        &mut self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() && !method.starts_with("Target.") {
            msg["sessionId"] = json!(self.session);
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(0);
        self.to_browser
            .write_all(&bytes)
            .and_then(|()| self.to_browser.flush())
            .map_err(|e| err(format!("{method}: the browser went away: {e}")))?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = match self.from_browser.recv_timeout(left) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(err(format!(
                        "{method}: no answer within {} s; page log: {}",
                        timeout.as_secs(),
                        self.log_text()
                    )))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(err(format!(
                        "{method}: the browser exited; page log: {}",
                        self.log_text()
                    )))
                }
            };
            if m["id"] == json!(id) {
                if let Some(e) = m.get("error") {
                    return Err(err(format!("{method}: {e}")));
                }
                return Ok(m["result"].clone());
            }
            self.note(&m);
        }
    }

    fn note(&mut self, m: &Value) {
        let p = &m["params"];
        let line = match m["method"].as_str() {
            Some("Runtime.consoleAPICalled") => {
                let args: Vec<String> = p["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| match &a["value"] {
                        Value::String(s) => s.clone(),
                        Value::Null => a["description"].as_str().unwrap_or("?").to_string(),
                        v => v.to_string(),
                    })
                    .collect();
                format!(
                    "console.{}: {}",
                    p["type"].as_str().unwrap_or("?"),
                    args.join(" ")
                )
            }
            Some("Runtime.exceptionThrown") => {
                let d = &p["exceptionDetails"];
                let text = d["exception"]["description"]
                    .as_str()
                    .or(d["text"].as_str())
                    .unwrap_or("?");
                format!("exception: {text}")
            }
            Some("Log.entryAdded") => format!(
                "log.{}: {}",
                p["entry"]["level"].as_str().unwrap_or("?"),
                p["entry"]["text"].as_str().unwrap_or("?")
            ),
            _ => return,
        };
        self.log.push(line);
    }

    /// The log as one line (for error messages), or "(empty)".
    pub fn log_text(&self) -> String {
        if self.log.is_empty() {
            "(empty)".into()
        } else {
            self.log.join(" | ")
        }
    }

    /// Waits up to `timeout` until the element `id` has text, and returns the text. An
    /// evaluation cut short by the page's navigation (the first page is replaced by the URL
    /// while we attach) is retried.
    pub fn wait_for_text(&mut self, id: &str, timeout: Duration) -> Result<String, String> {
        let expr = format!(
            "new Promise((ok) => {{ const poll = () => {{ const e = document.getElementById({id:?}); \
             if (e && e.textContent) ok(e.textContent); else setTimeout(poll, 50); }}; poll(); }})"
        );
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let params = json!({ "expression": expr, "awaitPromise": true, "returnByValue": true });
            match self.call("Runtime.evaluate", params, left) {
                Ok(r) => {
                    return r["result"]["value"]
                        .as_str()
                        .map(String::from)
                        .ok_or_else(|| err(format!("#{id}: no text: {r}")))
                }
                Err(e) if e.contains("context") && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Evaluates a JavaScript expression (awaiting a promise) and returns its value.
    pub fn eval(&mut self, expr: &str) -> Result<Value, String> {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expr, "awaitPromise": true, "returnByValue": true }),
            Duration::from_secs(60),
        )?;
        if let Some(e) = r.get("exceptionDetails") {
            return Err(err(format!("{expr}: {e}")));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Puts `files` into the file input `id`, as if the user had picked them.
    pub fn set_files(&mut self, id: &str, files: &[&Path]) -> Result<(), String> {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": format!("document.getElementById({id:?})") }),
            Duration::from_secs(30),
        )?;
        let object = r["result"]["objectId"]
            .as_str()
            .ok_or_else(|| err(format!("no element #{id}")))?
            .to_string();
        let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        self.call(
            "DOM.setFileInputFiles",
            json!({ "files": files, "objectId": object }),
            Duration::from_secs(30),
        )?;
        Ok(())
    }

    /// Saves a PNG of the whole page (its full height, at the window's width) to `path`.
    pub fn screenshot(&mut self, path: &Path) -> Result<(), String> {
        let r = self.call(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true }),
            Duration::from_secs(60),
        )?;
        let png = base64_decode(
            r["data"]
                .as_str()
                .ok_or_else(|| err("no screenshot data"))?,
        )?;
        std::fs::write(path, png).map_err(|e| format!("{}: {e}", path.display()))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Decodes standard base64 (the DevTools protocol's encoding of binary data).
fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=' && !c.is_ascii_whitespace()) {
        let v = val(c).ok_or_else(|| err(format!("screenshot: bad base64 byte {c:#x}")))?;
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn base64_round_trips_known_strings() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("AAEC/w==").unwrap(), [0, 1, 2, 255]);
        assert!(base64_decode("a$").is_err());
    }
}
