//! A run folder (`config.json`, `checkpoint.safetensors`, `log.jsonl`, `overrides.jsonl` and
//! the temporary files of atomic writes) and the one resume policy every command uses:
//!
//! - a new run starts only in a folder that holds none ([`Intent::New`]);
//! - a run is resumed only when its stored settings equal the new ones; otherwise the command
//!   is refused, naming the setting and both values. The step target, the learning rate and
//!   the checkpoint interval may change (users raise `--steps` or lower `--lr` after a
//!   divergence on purpose); a changed step target or learning rate is recorded in
//!   `overrides.jsonl`;
//! - `--force` ([`Intent::Replace`]) replaces the old run only when the new one writes its
//!   first checkpoint: every setting is checked first, and a new run that fails before its
//!   first checkpoint leaves the old one as it was;
//! - temporary files left by a killed atomic write (`.checkpoint.safetensors.tmp-PID`) are
//!   removed when the run is next opened.

use crate::error::{Error, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use vaecam_tensor::Device;
use vaecam_vae::trainer::{CHECKPOINT, CONFIG, LOG};
use vaecam_vae::{read_run_config, RunConfig, RunMode, Trainer};

/// File in a run folder that records every setting changed on resume.
pub const OVERRIDES: &str = "overrides.jsonl";

/// Settings a resume may change, as paths into `config.json`.
const MAY_CHANGE: [&str; 4] = [
    "train.steps",
    "train.lr",
    "train.checkpoint_every",
    "train.log_every",
];
/// Of those, the ones whose change is recorded in [`OVERRIDES`] (they change the result).
const RECORDED: [&str; 2] = ["train.steps", "train.lr"];

/// What the command wants to do with the folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    /// Start a run; the folder must not hold one (`train` without `--resume`/`--force`).
    New,
    /// Continue the run in the folder; it must exist (`train --resume`).
    Resume,
    /// Continue the run if the folder holds one, else start it (`disentangle`, `localize`:
    /// rerunning the same command finishes what a killed one began).
    ResumeOrNew,
    /// Replace the run in the folder, once the new run has written its first checkpoint
    /// (`train --force`).
    Replace,
}

/// One setting that differs between the stored run and the new command.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// Path into `config.json`, e.g. `train.batch_size`.
    pub setting: String,
    /// The stored value (JSON).
    pub stored: Value,
    /// The new value (JSON).
    pub given: Value,
}

impl Difference {
    /// The flag that sets this setting, where one does.
    pub fn flag(&self) -> Option<&'static str> {
        let s = self.setting.as_str();
        let table: [(&str, &str); 12] = [
            ("data", "--data"),
            ("model.z_dim", "--z"),
            ("model.image_size", "--size"),
            ("model.in_channels", "--in-channels"),
            ("model.arch", "--model / --channels"),
            ("model.likelihood", "--model"),
            ("train.batch_size", "--batch"),
            ("train.seed", "--seed (--seeds)"),
            ("train.beta", "--beta"),
            ("train.factor", "--factor-gamma (--gamma)"),
            ("train.lr", "--lr"),
            ("extra.ad", "--ad-*"),
        ];
        table
            .iter()
            .find(|(prefix, _)| s == *prefix || s.starts_with(&format!("{prefix}.")))
            .map(|(_, flag)| *flag)
    }
}

/// The first setting (depth first, in the stored order) where `stored` and `given` differ.
pub fn first_difference(stored: &Value, given: &Value) -> Option<Difference> {
    fn walk(path: &str, a: &Value, b: &Value) -> Option<Difference> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys = x.keys().chain(y.keys().filter(|k| !x.contains_key(*k)));
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    let (va, vb) = (
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                    );
                    if let Some(d) = walk(&p, va, vb) {
                        return Some(d);
                    }
                }
                None
            }
            _ if a == b => None,
            _ => Some(Difference {
                setting: path.to_string(),
                stored: a.clone(),
                given: b.clone(),
            }),
        }
    }
    walk("", stored, given)
}

fn to_json(c: &RunConfig) -> Result<Value> {
    serde_json::to_value(c).map_err(|e| Error::Serde {
        what: "run config".into(),
        msg: e.to_string(),
    })
}

/// Removes `path` from a JSON object tree (a dotted path).
fn remove_path(v: &mut Value, path: &str) {
    let mut parts = path.split('.').peekable();
    let mut cur = v;
    while let Some(p) = parts.next() {
        let Value::Object(m) = cur else { return };
        if parts.peek().is_none() {
            m.remove(p);
            return;
        }
        match m.get_mut(p) {
            Some(next) => cur = next,
            None => return,
        }
    }
}

fn get_path<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .try_fold(v, |cur, p| cur.get(p))
        .unwrap_or(&Value::Null)
}

/// A run folder.
#[derive(Clone, Debug)]
pub struct RunFolder {
    dir: PathBuf,
}

impl RunFolder {
    /// The run folder at `dir` (nothing is read or created yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RunFolder { dir: dir.into() }
    }
    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG)
    }
    /// `checkpoint.safetensors`.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.dir.join(CHECKPOINT)
    }
    /// `log.jsonl`.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(LOG)
    }
    /// `overrides.jsonl`.
    pub fn overrides_path(&self) -> PathBuf {
        self.dir.join(OVERRIDES)
    }

    /// Whether the folder holds a run (a config or a checkpoint).
    pub fn holds_run(&self) -> bool {
        self.config_path().exists() || self.checkpoint_path().exists()
    }

    /// The stored run's settings.
    pub fn stored_config(&self) -> Result<RunConfig> {
        Ok(read_run_config(&self.dir)?)
    }

    /// Checks that a run of `config` may be opened with `intent`, without touching anything:
    /// the settings are valid, and a resumed run's stored settings equal them (up to the
    /// step target, learning rate and checkpoint interval). Returns the mode to open with.
    pub fn check(&self, config: &RunConfig, intent: Intent) -> Result<RunMode> {
        config.validate()?;
        let exists = self.holds_run();
        let mode = match intent {
            Intent::New if exists => {
                return Err(Error::Run {
                    dir: self.dir.clone(),
                    msg: "already holds a run (config.json or checkpoint); pass --resume to continue it or --force to replace it".into(),
                })
            }
            Intent::New => RunMode::New,
            Intent::Resume if !exists => {
                return Err(Error::Run {
                    dir: self.dir.clone(),
                    msg: "holds no run to resume (no config.json)".into(),
                })
            }
            Intent::Resume => RunMode::Resume,
            Intent::ResumeOrNew if exists => RunMode::Resume,
            Intent::ResumeOrNew => RunMode::New,
            Intent::Replace => RunMode::Force,
        };
        if mode == RunMode::Resume {
            let stored = self.stored_config()?;
            let (mut a, mut b) = (to_json(&stored)?, to_json(config)?);
            for p in MAY_CHANGE {
                remove_path(&mut a, p);
                remove_path(&mut b, p);
            }
            if let Some(d) = first_difference(&a, &b) {
                let flag = d.flag().map(|f| format!(" ({f})")).unwrap_or_default();
                return Err(Error::Run {
                    dir: self.dir.clone(),
                    msg: format!(
                        "the run was trained with {}{flag} = {}, this command gives {}; resume with the run's value or choose another --out",
                        d.setting, d.stored, d.given
                    ),
                });
            }
        }
        if mode == RunMode::Resume && !self.checkpoint_path().is_file() {
            // A run stopped before its first checkpoint has nothing to continue: it starts
            // over, and its config and log are replaced once it writes a checkpoint.
            return Ok(RunMode::Force);
        }
        Ok(mode)
    }

    /// Opens the run for training (see the module doc for the policy). Stale temporary
    /// files are removed first; a changed step target or learning rate is recorded.
    pub fn open(&self, config: RunConfig, intent: Intent, device: &Device) -> Result<Trainer> {
        let mode = self.check(&config, intent)?;
        let stored = match mode {
            RunMode::Resume => Some(self.stored_config()?),
            _ => None,
        };
        self.remove_stale_temp_files()?;
        let trainer = Trainer::create(&self.dir, config, mode, device)?;
        if let Some(stored) = stored {
            self.record_overrides(&stored, &trainer)?;
        }
        Ok(trainer)
    }

    /// Appends the recorded settings that differ from the stored run to `overrides.jsonl`
    /// (one JSON line: the step, and per setting its old and new value).
    fn record_overrides(&self, stored: &RunConfig, trainer: &Trainer) -> Result<()> {
        let (a, b) = (to_json(stored)?, to_json(&trainer.config)?);
        let mut line = serde_json::Map::new();
        for p in RECORDED {
            let (old, new) = (get_path(&a, p), get_path(&b, p));
            if old != new {
                line.insert(p.into(), serde_json::json!({ "was": old, "now": new }));
            }
        }
        if line.is_empty() {
            return Ok(());
        }
        line.insert("at_step".into(), trainer.step().into());
        let text = Value::Object(line).to_string();
        eprintln!("vaecam: resuming with changed settings {text} (recorded in {OVERRIDES})");
        use std::io::Write;
        let p = self.overrides_path();
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .and_then(|mut f| writeln!(f, "{text}"))
            .map_err(|e| Error::Io {
                path: p.clone(),
                msg: format!("cannot record the changed settings: {e}"),
            })
    }

    /// Removes `.NAME.tmp-PID` files of this folder's run files whose writer is gone (a
    /// process killed during an atomic write). Returns what was removed.
    pub fn remove_stale_temp_files(&self) -> Result<Vec<PathBuf>> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(Vec::new());
        };
        let mut removed = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let Some(pid) = [CHECKPOINT, CONFIG, LOG].iter().find_map(|f| {
                name.strip_prefix(&format!(".{f}.tmp-"))
                    .and_then(|p| p.parse::<u32>().ok())
            }) else {
                continue;
            };
            if pid != std::process::id() && !process_alive(pid) {
                let p = e.path();
                std::fs::remove_file(&p).map_err(|err| Error::Io {
                    path: p.clone(),
                    msg: format!("cannot remove a stale temporary file: {err}"),
                })?;
                removed.push(p);
            }
        }
        Ok(removed)
    }
}

/// Whether a process with this id runs (Linux: /proc; elsewhere every writer counts as gone,
/// since only a killed vaecam leaves these files and two runs never share a folder).
fn process_alive(pid: u32) -> bool {
    let proc_root = Path::new("/proc");
    proc_root.is_dir() && proc_root.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_difference_names_the_nested_setting() {
        let a = serde_json::json!({"train": {"batch_size": 8, "lr": 0.1}, "data": "x"});
        let b = serde_json::json!({"train": {"batch_size": 64, "lr": 0.1}, "data": "x"});
        let d = first_difference(&a, &b).unwrap();
        assert_eq!(d.setting, "train.batch_size");
        assert_eq!((&d.stored, &d.given), (&8.into(), &64.into()));
        assert_eq!(d.flag(), Some("--batch"));
        assert_eq!(first_difference(&a, &a), None);
        let c = serde_json::json!({"train": {"batch_size": 8, "lr": 0.1}, "data": "x", "extra": 1});
        assert_eq!(first_difference(&a, &c).unwrap().setting, "extra");
    }

    #[test]
    fn stale_temp_files_of_dead_writers_go_and_others_stay() {
        let dir = std::env::temp_dir().join(format!("vaecam-runfolder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // PID 4294967 cannot exist (Linux caps PIDs at 2^22).
        let stale = dir.join(".checkpoint.safetensors.tmp-4294967");
        let live = dir.join(format!(
            ".checkpoint.safetensors.tmp-{}",
            std::process::id()
        ));
        let user = dir.join(".notes.tmp-4294967");
        for f in [&stale, &live, &user] {
            std::fs::write(f, b"x").unwrap();
        }
        let removed = RunFolder::new(&dir).remove_stale_temp_files().unwrap();
        assert_eq!(removed, vec![stale.clone()]);
        assert!(!stale.exists() && live.exists() && user.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
