//! Events (ARCHITECTURE.md §4): one JSON object per line, for every call a `log` rule or
//! `"log": true` covers and every call denied or killed in user space.

use std::fs::File;
use std::io::Write as _;

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Event<'a> {
    pub time: String,
    pub container: &'a str,
    pub pid: u32,
    pub tid: u32,
    pub syscall: &'a str,
    pub args: [u64; 6],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a str>,
    /// `false` when `path` is the call's argument as written (made absolute against the
    /// caller's cwd), read for the record and not decided on; absent when `path` is the
    /// object the call was decided on.
    #[serde(rename = "pathResolved", skip_serializing_if = "Option::is_none")]
    pub path_resolved: Option<bool>,
    /// Where a rewrite sent the call instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewritten: Option<&'a str>,
    /// The rule's name, or `#N` for an unnamed one, or `default`.
    pub rule: String,
    /// Whose policy decided: `admin` or `container`.
    pub policy: &'static str,
    pub action: &'static str,
    /// What the caller got: a return value, or a negative errno; `null` when the call was let
    /// through to the kernel and its result is not known here.
    pub result: Option<i64>,
    pub backend: &'static str,
}

/// Where events go: a file opened for appending (each event one `write`, so concurrent
/// writers never interleave within a line), a kept file of bounded size, or standard error.
#[derive(Debug)]
pub enum Sink {
    File(File),
    Kept(Kept),
    Stderr,
}

/// A container's events kept by the administrator (`rune-run --events-dir`): one file that
/// outlives the container, renamed to `NAME.1` (the one before dropped) once it holds
/// `limit` bytes, so that a noisy container cannot fill the disk.
#[derive(Debug)]
pub struct Kept {
    path: std::path::PathBuf,
    file: File,
    written: u64,
    limit: u64,
}

impl Kept {
    pub fn open(path: std::path::PathBuf, limit: u64) -> std::io::Result<Kept> {
        let file = Self::append(&path)?;
        Self::from_file(path, file, limit)
    }

    /// A kept file already open for appending at `path`.
    pub fn from_file(path: std::path::PathBuf, file: File, limit: u64) -> std::io::Result<Kept> {
        let written = file.metadata()?.len();
        Ok(Kept {
            path,
            file,
            written,
            limit,
        })
    }

    /// `path` opened for appending, created private, never through a symlink, and only if
    /// it is a regular file with one name (not a hard link someone planted at the name).
    pub fn append(path: &std::path::Path) -> std::io::Result<File> {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() || meta.nlink() != 1 {
            return Err(std::io::Error::other(format!(
                "{}: not a regular file with one name",
                path.display()
            )));
        }
        Ok(file)
    }

    fn write(&mut self, line: &[u8]) -> std::io::Result<()> {
        if self.written > 0 && self.written + line.len() as u64 > self.limit {
            let mut old = self.path.clone().into_os_string();
            old.push(".1");
            // Whatever happens to the rotation, the count starts again: a failed rename or
            // reopen is retried after another `limit` bytes, and events keep going to the
            // file at hand meanwhile.
            self.written = 0;
            if std::fs::rename(&self.path, old).is_ok()
                && let Ok(f) = Self::append(&self.path)
            {
                self.file = f;
            }
        }
        self.file.write_all(line)?;
        self.written += line.len() as u64;
        Ok(())
    }
}

impl Sink {
    pub fn emit(&mut self, event: &Event<'_>) {
        let Ok(mut line) = serde_json::to_vec(event) else {
            return;
        };
        line.push(b'\n');
        // An event that cannot be written must not change what the call does.
        let _ = match self {
            Sink::File(f) => f.write_all(&line),
            Sink::Kept(k) => k.write(&line),
            Sink::Stderr => std::io::stderr().write_all(&line),
        };
    }
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_events_rotate_at_their_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let mut k = Kept::open(path.clone(), 100).unwrap();
        for i in 0..30 {
            k.write(format!("{{\"n\": {i:04}}}\n").as_bytes()).unwrap();
        }
        let now = std::fs::read_to_string(&path).unwrap();
        let old = std::fs::read_to_string(dir.path().join("c.jsonl.1")).unwrap();
        assert!(now.len() <= 100 && old.len() <= 100, "{now:?} {old:?}");
        assert!(now.ends_with("{\"n\": 0029}\n"), "{now}");
        // Nothing older than the one file before is kept.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
