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
/// writers never interleave within a line), or standard error.
#[derive(Debug)]
pub enum Sink {
    File(File),
    Stderr,
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
            Sink::Stderr => std::io::stderr().write_all(&line),
        };
    }
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}
