//! Logging set up from `[logging]`: console lines to stderr, and JSON lines to a size-rotated
//! file with 21.03's fields (`timestamp`, `level`, `name`, `processName`, `message`, then any
//! structured fields of the event).

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::local::{FileLogConfig, LoggingConfig};

/// Keeps the background log writer alive; drop it last (it flushes on drop).
pub struct LogGuard {
    _worker: Option<tracing_appender::non_blocking::WorkerGuard>,
}

fn rust_level(python: &str) -> &'static str {
    match python {
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARNING" => "warn",
        "ERROR" | "CRITICAL" => "error",
        _ => "trace",
    }
}

fn severity(python: &str) -> u8 {
    ["NOTSET", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
        .iter()
        .position(|l| *l == python)
        .unwrap_or(0) as u8
}

/// The stricter of two Python level names: 21.03 applies both the global level and a
/// namespace's own level to each record.
fn stricter<'a>(a: &'a str, b: &'a str) -> &'a str {
    if severity(a) >= severity(b) {
        a
    } else {
        b
    }
}

/// Builds the filter as 21.03 reads `[logging]`: the root namespace `""` applies to everything,
/// `ai.backend` (21.03's own code) to our crates, other namespaces that are Rust targets pass
/// through, and the global `level` bounds them all. `RUST_LOG` wins when set.
pub fn filter_directives(config: &LoggingConfig) -> String {
    let ns_level = |ns: &str| {
        config
            .pkg_ns
            .iter()
            .find(|(n, _)| n == ns)
            .map(|(_, l)| l.as_str())
    };
    let global = config.level.as_str();
    let root = stricter(global, ns_level("").unwrap_or(global));
    let ours = stricter(global, ns_level("ai.backend").unwrap_or(global));
    // PostgreSQL's notices reach sqlx's log as warnings; the only ones this manager causes say
    // that a transaction ended by a serialization failure was rolled back again (then retried).
    let mut directives = vec![
        rust_level(root).to_owned(),
        "sqlx::postgres::notice=error".to_owned(),
    ];
    for krate in ["bai_manager", "entities", "migration", "queryfilter"] {
        directives.push(format!("{krate}={}", rust_level(ours)));
    }
    for (ns, level) in &config.pkg_ns {
        let is_rust_target = !ns.is_empty()
            && ns
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == ':');
        if is_rust_target {
            directives.push(format!("{ns}={}", rust_level(stricter(global, level))));
        }
    }
    directives.join(",")
}

/// Installs the global subscriber. Call once, before anything logs.
pub fn init(config: &LoggingConfig) -> io::Result<LogGuard> {
    let filter = || {
        std::env::var("RUST_LOG")
            .ok()
            .and_then(|v| EnvFilter::try_new(v).ok())
            .unwrap_or_else(|| EnvFilter::new(filter_directives(config)))
    };
    let console = config.console.as_ref().map(|c| {
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(io::stderr)
            .with_ansi(c.colored && io::IsTerminal::is_terminal(&io::stderr()));
        if c.format == "simple" {
            layer
                .without_time()
                .with_target(false)
                .with_filter(filter())
                .boxed()
        } else {
            layer.with_filter(filter()).boxed()
        }
    });
    let (file, guard) = match &config.file {
        Some(f) => {
            let (writer, guard) = tracing_appender::non_blocking(RotatingFile::open(f)?);
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .event_format(JsonLines)
                .with_filter(filter());
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    // `try_init` fails only when a subscriber is already installed (tests); keep that one.
    let _ = tracing_subscriber::registry()
        .with(console)
        .with(file)
        .try_init();
    if config.logstash_requested {
        tracing::warn!("the logstash log driver is not supported by bai-manager; logging to the other drivers only");
    }
    Ok(LogGuard { _worker: guard })
}

/// 21.03's file log line: one JSON object per event.
struct JsonLines;

#[derive(Default)]
struct FieldCollector {
    message: String,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl Visit for FieldCollector {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.fields.insert(field.name().to_owned(), value.into());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.insert(field.name().to_owned(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.fields
                .insert(field.name().to_owned(), format!("{value:?}").into());
        }
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut collected = FieldCollector::default();
        event.record(&mut collected);
        let meta = event.metadata();
        let level = match *meta.level() {
            tracing::Level::ERROR => "ERROR",
            tracing::Level::WARN => "WARNING",
            tracing::Level::INFO => "INFO",
            _ => "DEBUG",
        };
        let mut line = serde_json::Map::new();
        line.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string()
                .into(),
        );
        line.insert("level".into(), level.into());
        line.insert("name".into(), meta.target().into());
        line.insert("processName".into(), "MainProcess".into());
        line.insert("message".into(), collected.message.into());
        for (k, v) in collected.fields {
            line.entry(k).or_insert(v);
        }
        writeln!(writer, "{}", serde_json::Value::Object(line))
    }
}

/// A log file that rotates by size: `manager.log` → `manager.log.1` … `manager.log.N`.
struct RotatingFile {
    path: PathBuf,
    file: File,
    written: u64,
    max_bytes: u64,
    backups: u32,
}

impl RotatingFile {
    fn open(config: &FileLogConfig) -> io::Result<Self> {
        std::fs::create_dir_all(&config.path)?;
        let path = config.path.join(&config.filename);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let written = file.metadata()?.len();
        Ok(RotatingFile {
            path,
            file,
            written,
            max_bytes: config.rotation_size,
            backups: config.backup_count,
        })
    }

    fn numbered(&self, n: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        for n in (1..self.backups).rev() {
            let from = self.numbered(n);
            if from.exists() {
                std::fs::rename(&from, self.numbered(n + 1))?;
            }
        }
        std::fs::rename(&self.path, self.numbered(1))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written > 0 && self.written + buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_follows_21_03_namespaces() {
        let config = LoggingConfig {
            level: "INFO".into(),
            pkg_ns: vec![
                ("".into(), "WARNING".into()),
                ("ai.backend".into(), "DEBUG".into()),
                ("sqlx".into(), "ERROR".into()),
                ("aiohttp".into(), "INFO".into()),
            ],
            console: None,
            file: None,
            logstash_requested: false,
        };
        assert_eq!(
            filter_directives(&config),
            "warn,sqlx::postgres::notice=error,bai_manager=info,entities=info,migration=info,queryfilter=info,sqlx=error,aiohttp=info"
        );
    }

    #[test]
    fn rotates_by_size_and_keeps_n_backups() {
        let dir = tempfile::tempdir().unwrap();
        let config = FileLogConfig {
            path: dir.path().to_path_buf(),
            filename: "m.log".into(),
            backup_count: 2,
            rotation_size: 10,
        };
        let mut f = RotatingFile::open(&config).unwrap();
        for _ in 0..5 {
            f.write_all(b"12345678\n").unwrap();
        }
        assert!(dir.path().join("m.log").exists());
        assert!(dir.path().join("m.log.1").exists());
        assert!(dir.path().join("m.log.2").exists());
        assert!(!dir.path().join("m.log.3").exists());
    }
}
