//! The server's log: one line per record on stderr, as text or as JSON
//! (`serve --log-format`), written in batches.
//!
//! Every line starts with the time in RFC 3339, UTC, to the microsecond,
//! and the level. A text line is then the message and the record's fields
//! as `key=value` (a value with spaces, quotes or `=` quoted as a JSON
//! string):
//!
//! ```text
//! 2026-03-01T12:00:00.000123Z INFO request completed; req_id=7c0f... dialect=native status=200 latency_us=812
//! ```
//!
//! A JSON line is one object: `timestamp`, `level` (lower case), `msg`,
//! then every field, numbers as numbers. Fields without a value (`None`)
//! are left out. The fields of the logger come before those of the
//! record, each in the order they were written.
//!
//! Lines are formatted on the thread that logs them, into a buffer it
//! reuses, and appended to a shared buffer; a background thread writes that
//! to stderr every [`FLUSH_INTERVAL`], and a logger that fills it past
//! [`FLUSH_BYTES`] writes it at once. A record is therefore on stderr at
//! most [`FLUSH_INTERVAL`] after it was logged, or when [`LogOutput::flush`]
//! is called (as `serve` does before it exits). Records below the level are
//! dropped before any of this ([`logger`]).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use chrono::Utc;
use slog::{Drain, KV, Key, OwnedKVList, Record};

/// How a line looks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `<time> <LEVEL> <message>; key=value ...`
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// RFC 3339 in UTC, to the second: the part of a line's time that
/// changes once a second, formatted once a second per thread (chrono's
/// formatter parses its pattern on every call, which was a fifth of the
/// access log's cost).
const RFC3339_UTC_SECONDS: &str = "%Y-%m-%dT%H:%M:%S";

/// How long a line waits, at most, before it is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// How many bytes of lines are written at once, without waiting.
pub const FLUSH_BYTES: usize = 64 * 1024;

/// A logger for `level` and above, writing `format` lines to stderr, and
/// the handle that flushes them.
pub fn logger(level: slog::Level, format: LogFormat) -> (slog::Logger, LogOutput) {
    let output = LogOutput::new(Box::new(std::io::stderr()));
    let drain = LineDrain {
        format,
        output: output.clone(),
    };
    let filtered = slog::LevelFilter::new(drain, level).ignore_res();
    (slog::Logger::root(filtered, slog::o!()), output)
}

/// Where the lines go: a buffer, written out in batches.
#[derive(Clone)]
pub struct LogOutput {
    inner: Arc<Output>,
}

struct Output {
    /// Lines not yet written.
    pending: Mutex<Vec<u8>>,
    /// The destination, and a spare buffer to swap with `pending`. Held
    /// while writing, so that batches are written in order.
    sink: Mutex<Sink>,
}

struct Sink {
    writer: Box<dyn Write + Send>,
    spare: Vec<u8>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LogOutput {
    /// Lines to `writer`, flushed every [`FLUSH_INTERVAL`] by a background
    /// thread that ends with the last handle.
    pub fn new(writer: Box<dyn Write + Send>) -> LogOutput {
        let output = LogOutput::unflushed(writer);
        let weak = Arc::downgrade(&output.inner);
        // If the thread cannot be started, lines are still written when the
        // buffer fills and when `flush` is called.
        let _ = std::thread::Builder::new()
            .name("log-flusher".into())
            .spawn(move || flush_periodically(weak));
        output
    }

    /// Lines to `writer`, written only when the buffer fills or on `flush`.
    fn unflushed(writer: Box<dyn Write + Send>) -> LogOutput {
        let inner = Arc::new(Output {
            pending: Mutex::new(Vec::with_capacity(FLUSH_BYTES)),
            sink: Mutex::new(Sink {
                writer,
                spare: Vec::with_capacity(FLUSH_BYTES),
            }),
        });
        LogOutput { inner }
    }

    /// Appends one complete line.
    fn append(&self, line: &[u8]) {
        let full = {
            let mut pending = lock(&self.inner.pending);
            pending.extend_from_slice(line);
            pending.len() >= FLUSH_BYTES
        };
        if full {
            self.flush();
        }
    }

    /// Writes every line logged so far.
    pub fn flush(&self) {
        self.inner.flush();
    }
}

impl Output {
    fn flush(&self) {
        let mut sink = lock(&self.sink);
        let Sink { writer, spare } = &mut *sink;
        std::mem::swap(&mut *lock(&self.pending), spare);
        if spare.is_empty() {
            return;
        }
        // Nowhere to report a failure to write the log: the lines are lost.
        let _ = writer.write_all(spare).and_then(|()| writer.flush());
        spare.clear();
    }
}

fn flush_periodically(output: Weak<Output>) {
    loop {
        std::thread::sleep(FLUSH_INTERVAL);
        match output.upgrade() {
            Some(output) => output.flush(),
            None => return,
        }
    }
}

/// The drain that formats records as lines.
struct LineDrain {
    format: LogFormat,
    output: LogOutput,
}

/// What formatting a record reuses from one record to the next, per
/// thread.
#[derive(Default)]
struct Scratch {
    /// The line being built.
    line: String,
    /// The fields, each formatted on its own, in the order slog gives them.
    fields: String,
    /// Where each field is in `fields`.
    spans: Vec<(usize, usize)>,
    /// One value, before it is quoted.
    value: String,
    /// The last second a line was stamped with, and its formatted text.
    second: Option<(i64, String)>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

impl Drain for LineDrain {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), slog::Never> {
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => self.write(&mut scratch, record, values),
            // Logging while formatting a record (a value that logs): use a
            // buffer of its own.
            Err(_) => self.write(&mut Scratch::default(), record, values),
        });
        Ok(())
    }
}

impl LineDrain {
    fn write(&self, scratch: &mut Scratch, record: &Record<'_>, values: &OwnedKVList) {
        let Scratch {
            line,
            fields,
            spans,
            value,
            second,
        } = scratch;
        line.clear();
        fields.clear();
        spans.clear();
        let mut serializer = FieldSerializer {
            format: self.format,
            fields,
            spans,
            value,
        };
        // slog gives the record's fields last first, then the logger's,
        // the newest child's first: reversed, that is the logger's from the
        // root, then the record's, each in written order.
        let _ = record.kv().serialize(record, &mut serializer);
        let _ = values.serialize(record, &mut serializer);
        let timestamp = Timestamp::now(second);
        match self.format {
            LogFormat::Text => {
                let _ = write!(
                    line,
                    "{timestamp} {} {}",
                    level_name(record.level()).0,
                    record.msg()
                );
                for (index, (start, end)) in spans.iter().rev().enumerate() {
                    line.push_str(if index == 0 { "; " } else { " " });
                    line.push_str(&fields[*start..*end]);
                }
            }
            LogFormat::Json => {
                let _ = write!(
                    line,
                    "{{\"timestamp\":\"{timestamp}\",\"level\":\"{}\",\"msg\":",
                    level_name(record.level()).1
                );
                value.clear();
                let _ = write!(value, "{}", record.msg());
                push_json_string(line, value);
                for (start, end) in spans.iter().rev() {
                    line.push(',');
                    line.push_str(&fields[*start..*end]);
                }
                line.push('}');
            }
        }
        line.push('\n');
        self.output.append(line.as_bytes());
    }
}

/// A time in RFC 3339, UTC, to the microsecond, whose seconds were
/// formatted at most once per second per thread.
struct Timestamp<'a> {
    second: &'a str,
    micros: u32,
}

impl<'a> Timestamp<'a> {
    fn now(cache: &'a mut Option<(i64, String)>) -> Timestamp<'a> {
        Timestamp::at(Utc::now(), cache)
    }

    fn at(now: chrono::DateTime<Utc>, cache: &'a mut Option<(i64, String)>) -> Timestamp<'a> {
        let seconds = now.timestamp();
        let fresh = matches!(cache, Some((cached, _)) if *cached == seconds);
        if !fresh {
            *cache = Some((seconds, now.format(RFC3339_UTC_SECONDS).to_string()));
        }
        Timestamp {
            second: cache.as_ref().map_or("", |(_, text)| text.as_str()),
            // A leap second's nanoseconds go past 10^9: say .999999.
            micros: now.timestamp_subsec_micros().min(999_999),
        }
    }
}

impl std::fmt::Display for Timestamp<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:06}Z", self.second, self.micros)
    }
}

/// A level's name, in upper case (text) and lower case (JSON).
fn level_name(level: slog::Level) -> (&'static str, &'static str) {
    match level {
        slog::Level::Critical => ("CRITICAL", "critical"),
        slog::Level::Error => ("ERROR", "error"),
        slog::Level::Warning => ("WARN", "warn"),
        slog::Level::Info => ("INFO", "info"),
        slog::Level::Debug => ("DEBUG", "debug"),
        slog::Level::Trace => ("TRACE", "trace"),
    }
}

/// Formats each field into `fields`, recording where it is.
struct FieldSerializer<'a> {
    format: LogFormat,
    fields: &'a mut String,
    spans: &'a mut Vec<(usize, usize)>,
    value: &'a mut String,
}

impl FieldSerializer<'_> {
    fn start(&mut self, key: &str) -> usize {
        let start = self.fields.len();
        match self.format {
            LogFormat::Text => {
                self.fields.push_str(key);
                self.fields.push('=');
            }
            LogFormat::Json => {
                push_json_string(self.fields, key);
                self.fields.push(':');
            }
        }
        start
    }

    fn finish(&mut self, start: usize) {
        self.spans.push((start, self.fields.len()));
    }

    /// A value written as is: a number or a boolean.
    fn bare(&mut self, key: Key, value: std::fmt::Arguments<'_>) -> slog::Result {
        let start = self.start(key.as_ref());
        let _ = self.fields.write_fmt(value);
        self.finish(start);
        Ok(())
    }

    /// A value written as a string.
    fn text(&mut self, key: Key, value: std::fmt::Arguments<'_>) -> slog::Result {
        self.value.clear();
        let _ = self.value.write_fmt(value);
        let start = self.start(key.as_ref());
        match self.format {
            LogFormat::Json => push_json_string(self.fields, self.value),
            LogFormat::Text if needs_quotes(self.value) => {
                push_json_string(self.fields, self.value)
            }
            LogFormat::Text => self.fields.push_str(self.value),
        }
        self.finish(start);
        Ok(())
    }
}

impl slog::Serializer for FieldSerializer<'_> {
    fn emit_arguments(&mut self, key: Key, value: &std::fmt::Arguments<'_>) -> slog::Result {
        self.text(key, *value)
    }

    fn emit_str(&mut self, key: Key, value: &str) -> slog::Result {
        self.text(key, format_args!("{value}"))
    }

    fn emit_none(&mut self, _key: Key) -> slog::Result {
        Ok(())
    }

    fn emit_unit(&mut self, _key: Key) -> slog::Result {
        Ok(())
    }

    fn emit_bool(&mut self, key: Key, value: bool) -> slog::Result {
        self.bare(key, format_args!("{value}"))
    }

    fn emit_u8(&mut self, key: Key, value: u8) -> slog::Result {
        self.bare(key, format_args!("{value}"))
    }

    fn emit_u16(&mut self, key: Key, value: u16) -> slog::Result {
        self.bare(key, format_args!("{value}"))
    }

    fn emit_u32(&mut self, key: Key, value: u32) -> slog::Result {
        self.bare(key, format_args!("{value}"))
    }

    fn emit_u64(&mut self, key: Key, value: u64) -> slog::Result {
        self.bare(key, format_args!("{value}"))
    }

    fn emit_usize(&mut self, key: Key, value: usize) -> slog::Result {
        self.bare(key, format_args!("{value}"))
    }

    fn emit_u128(&mut self, key: Key, value: u128) -> slog::Result {
        self.bare(key, format_args!("{value}"))
    }

    fn emit_i8(&mut self, key: Key, value: i8) -> slog::Result {
        self.bare(key, format_args!("{value}"))
    }

    fn emit_i16(&mut self, key: Key, value: i16) -> slog::Result {
        self.bare(key, format_args!("{value}"))
    }

    fn emit_i32(&mut self, key: Key, value: i32) -> slog::Result {
        self.bare(key, format_args!("{value}"))
    }

    fn emit_i64(&mut self, key: Key, value: i64) -> slog::Result {
        self.bare(key, format_args!("{value}"))
    }

    fn emit_isize(&mut self, key: Key, value: isize) -> slog::Result {
        self.bare(key, format_args!("{value}"))
    }

    fn emit_i128(&mut self, key: Key, value: i128) -> slog::Result {
        self.bare(key, format_args!("{value}"))
    }

    fn emit_f32(&mut self, key: Key, value: f32) -> slog::Result {
        self.emit_f64(key, f64::from(value))
    }

    fn emit_f64(&mut self, key: Key, value: f64) -> slog::Result {
        if value.is_finite() {
            self.bare(key, format_args!("{value}"))
        } else {
            // JSON has no NaN or infinity.
            self.text(key, format_args!("{value}"))
        }
    }
}

/// Whether a text value must be quoted to stay one `key=value` field.
fn needs_quotes(value: &str) -> bool {
    value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=')
}

/// Appends `value` as a JSON string.
fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn captured(format: LogFormat) -> (slog::Logger, LogOutput, Captured) {
        let captured = Captured::default();
        let output = LogOutput::unflushed(Box::new(captured.clone()));
        let drain = LineDrain {
            format,
            output: output.clone(),
        };
        let log = slog::Logger::root(drain.fuse(), slog::o!("name" => "test"));
        (log, output, captured)
    }

    fn lines(output: &LogOutput, captured: &Captured) -> Vec<String> {
        output.flush();
        String::from_utf8(lock(&captured.0).clone())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn json_lines_are_objects_with_the_fields_in_order() {
        let (log, output, captured) = captured(LogFormat::Json);
        let child = log.new(slog::o!("req_id" => "abc"));
        let nothing: Option<&str> = None;
        slog::info!(child, "request \"completed\"";
            "status" => 200u16, "path" => "/a b", "operation" => nothing, "ratio" => f64::NAN);
        let lines = lines(&output, &captured);
        assert_eq!(lines.len(), 1);
        let line: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["level"], "info");
        assert_eq!(line["msg"], "request \"completed\"");
        assert_eq!(line["status"], 200);
        assert_eq!(line["path"], "/a b");
        assert_eq!(line["req_id"], "abc");
        assert_eq!(line["ratio"], "NaN");
        assert!(line.get("operation").is_none(), "{line}");
        let timestamp = line["timestamp"].as_str().unwrap();
        assert!(timestamp.ends_with('Z'), "{timestamp}");
        chrono::DateTime::parse_from_rfc3339(timestamp).unwrap();
        let keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        // serde_json sorts keys; the order on the line itself:
        let order: Vec<usize> = ["\"name\"", "\"req_id\"", "\"status\"", "\"path\""]
            .iter()
            .map(|key| lines[0].find(key).unwrap())
            .collect();
        assert!(
            order.windows(2).all(|pair| pair[0] < pair[1]),
            "{}",
            lines[0]
        );
        assert!(keys.contains(&"timestamp"));
    }

    #[test]
    fn text_lines_carry_an_rfc3339_utc_time_and_quote_what_needs_it() {
        let (log, output, captured) = captured(LogFormat::Text);
        slog::warn!(log, "store unavailable"; "error" => "connection refused", "attempt" => 2);
        let lines = lines(&output, &captured);
        assert_eq!(lines.len(), 1);
        let (timestamp, rest) = lines[0].split_once(' ').unwrap();
        let parsed = chrono::DateTime::parse_from_rfc3339(timestamp).unwrap();
        assert_eq!(parsed.offset().local_minus_utc(), 0);
        assert!(timestamp.ends_with('Z'));
        assert_eq!(
            rest,
            "WARN store unavailable; name=test error=\"connection refused\" attempt=2"
        );
    }

    #[test]
    fn timestamps_are_rfc3339_utc_micros_across_seconds() {
        let mut cache = None;
        for (at, expected) in [
            ("2026-03-01T12:00:00.000123Z", "2026-03-01T12:00:00.000123Z"),
            ("2026-03-01T12:00:00.999999Z", "2026-03-01T12:00:00.999999Z"),
            ("2026-03-01T12:00:01.000001Z", "2026-03-01T12:00:01.000001Z"),
            ("2025-12-31T23:59:59.5Z", "2025-12-31T23:59:59.500000Z"),
        ] {
            let time = chrono::DateTime::parse_from_rfc3339(at)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(Timestamp::at(time, &mut cache).to_string(), expected);
        }
    }

    #[test]
    fn lines_wait_for_a_flush_until_the_buffer_fills() {
        let (log, output, captured) = captured(LogFormat::Text);
        let filler = "x".repeat(1024);
        let mut logged = 0;
        while lock(&captured.0).is_empty() {
            slog::info!(log, "{}", filler);
            logged += 1;
            assert!(
                logged <= FLUSH_BYTES / 1024 + 1,
                "the full buffer was written"
            );
        }
        assert!(logged >= FLUSH_BYTES / 1100, "{logged} lines");
        assert_eq!(lines(&output, &captured).len(), logged);
    }

    #[test]
    fn the_level_filter_drops_records_before_formatting() {
        let (log, _output) = logger(slog::Level::Warning, LogFormat::Json);
        assert!(!log.is_info_enabled());
        assert!(log.is_warning_enabled());
    }
}
