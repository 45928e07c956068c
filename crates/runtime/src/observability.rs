//! Log lines in runc's shapes. containerd-shim-runc-v2 shows a user only what `--log` holds,
//! reading the last `{"level":"error","msg":…}` line, so every error must end up there in
//! exactly that shape; the text format mirrors logrus's `time=… level=… msg=…`.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, filter};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug)]
enum Sink {
    Stderr,
    File(File),
}

/// The `--log` destination; errors of rune-run itself are written here too.
#[derive(Debug)]
pub struct RuncLog {
    sink: Mutex<Sink>,
    format: Format,
}

impl RuncLog {
    pub fn open(path: Option<&Path>, format: Format) -> io::Result<Self> {
        let sink = match path {
            Some(p) => Sink::File(OpenOptions::new().create(true).append(true).open(p)?),
            None => Sink::Stderr,
        };
        Ok(Self {
            sink: Mutex::new(sink),
            format,
        })
    }

    pub fn is_stderr(&self) -> bool {
        matches!(*self.lock(), Sink::Stderr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sink> {
        self.sink
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes one line; a log that cannot be written must not turn into a second failure.
    pub fn write(&self, level: Level, msg: &str) {
        let line = format_line(self.format, level, msg, &now_rfc3339());
        let _ = match &mut *self.lock() {
            Sink::Stderr => io::stderr().write_all(line.as_bytes()),
            Sink::File(f) => f.write_all(line.as_bytes()),
        };
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warning",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

fn format_line(format: Format, level: Level, msg: &str, time: &str) -> String {
    match format {
        Format::Json => {
            let v = serde_json::json!({"level": level_name(level), "msg": msg, "time": time});
            format!("{v}\n")
        }
        Format::Text => format!(
            "time=\"{time}\" level={} msg={}\n",
            level_name(level),
            serde_json::Value::from(msg)
        ),
    }
}

/// Collects an event's message and fields into one string, `msg key=value …`.
#[derive(Default)]
struct MessageVisitor(String);

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

struct RuncLayer(&'static RuncLog);

impl<S: Subscriber> Layer<S> for RuncLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        self.0
            .write(*event.metadata().level(), visitor.0.trim_start());
    }
}

/// Installs the subscriber and returns the log so that `main` can report the final error.
pub fn init(path: Option<&Path>, format: Format, debug: bool) -> io::Result<&'static RuncLog> {
    let log: &'static RuncLog = Box::leak(Box::new(RuncLog::open(path, format)?));
    // rune-run's own warnings (a failed poststart hook) are for the user, as runc's are;
    // libcontainer's are chatter unless debugging.
    let level = if debug {
        filter::Targets::new().with_default(filter::LevelFilter::DEBUG)
    } else {
        filter::Targets::new()
            .with_default(filter::LevelFilter::ERROR)
            .with_target(env!("CARGO_CRATE_NAME"), filter::LevelFilter::WARN)
    };
    // `try_init` only fails if a subscriber is already set, which cannot happen in `main`.
    let _ = tracing_subscriber::registry()
        .with(RuncLayer(log).with_filter(level))
        .try_init();
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_has_runc_shape() {
        let line = format_line(Format::Json, Level::ERROR, "bad \"x\"", "T");
        let v: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "bad \"x\"");
        assert_eq!(v["time"], "T");
        assert!(line.ends_with('\n'));
    }

    #[test]
    fn text_line_quotes_message() {
        let line = format_line(Format::Text, Level::WARN, "a b", "T");
        assert_eq!(line, "time=\"T\" level=warning msg=\"a b\"\n");
    }
}
