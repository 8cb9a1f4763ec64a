//! The standard process metrics (`process_resident_memory_bytes`, `process_cpu_seconds_total`,
//! `process_open_fds`, `process_start_time_seconds`), read from `/proc` at each scrape. Outside
//! Linux, or when `/proc` cannot be read, they are left out of the scrape.

use std::fmt::Write as _;

/// Clock ticks per second of the times in `/proc/<pid>/stat`: `USER_HZ`, fixed at 100 by the
/// Linux ABI on every architecture Rust targets (the kernel's own `HZ` may differ; these files
/// are always converted to `USER_HZ`).
const TICKS_PER_SECOND: f64 = 100.0;

/// One reading of the process's resources.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sample {
    /// Resident set size, in bytes.
    pub(super) resident_bytes: u64,
    /// User and system CPU time, in seconds.
    pub(super) cpu_seconds: f64,
    /// Open file descriptors.
    pub(super) open_fds: u64,
    /// When the process started, in seconds since the Unix epoch.
    pub(super) start_time_seconds: f64,
}

/// The process metrics in the text exposition format, or nothing where `/proc` is missing.
pub(super) fn encode() -> String {
    read().map(|sample| format(&sample)).unwrap_or_default()
}

/// Reads `/proc/self/{stat,status,fd}` and `/proc/stat`.
fn read() -> Option<Sample> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let system = std::fs::read_to_string("/proc/stat").ok()?;
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    parse(&stat, &status, &system, open_fds)
}

/// A sample from the texts of `/proc/self/stat`, `/proc/self/status` and `/proc/stat`.
pub(super) fn parse(stat: &str, status: &str, system: &str, open_fds: u64) -> Option<Sample> {
    // `pid (comm) state ppid …`: the command may hold spaces and parentheses, so the fields are
    // counted from after its last `)`; field 3 (state) is then index 0.
    let (_, fields) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = fields.split_whitespace().collect();
    let field = |number: usize| -> Option<f64> { fields.get(number - 3)?.parse().ok() };
    let cpu_ticks = field(14)? + field(15)?; // utime + stime
    let start_ticks = field(22)?; // starttime, since boot
    let resident_kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    let boot_time: f64 = system
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(Sample {
        resident_bytes: resident_kib * 1024,
        cpu_seconds: cpu_ticks / TICKS_PER_SECOND,
        open_fds,
        start_time_seconds: boot_time + start_ticks / TICKS_PER_SECOND,
    })
}

/// `sample` as four metric families, with the help texts other exporters use.
pub(super) fn format(sample: &Sample) -> String {
    let families: [(&str, &str, &str, String); 4] = [
        (
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            "counter",
            super::format_float(sample.cpu_seconds),
        ),
        (
            "process_open_fds",
            "Number of open file descriptors.",
            "gauge",
            sample.open_fds.to_string(),
        ),
        (
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            "gauge",
            sample.resident_bytes.to_string(),
        ),
        (
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            "gauge",
            super::format_float(sample.start_time_seconds),
        ),
    ];
    let mut out = String::new();
    for (name, help, kind, value) in families {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (chancery (x) y) S 1 4242 4242 0 -1 4194560 2913 0 0 0 \
                        250 75 0 0 20 0 9 0 123456 1048576000 5120 18446744073709551615";
    const STATUS: &str =
        "Name:\tchancery\nVmPeak:\t  1024000 kB\nVmRSS:\t    20480 kB\nThreads:\t9\n";
    const SYSTEM: &str = "cpu  1 2 3 4\nintr 5\nbtime 1700000000\nprocesses 77\n";

    #[test]
    fn proc_texts_give_memory_cpu_and_start_time() {
        let sample = parse(STAT, STATUS, SYSTEM, 17).expect("a sample");
        assert_eq!(
            sample,
            Sample {
                resident_bytes: 20480 * 1024,
                cpu_seconds: 3.25,
                open_fds: 17,
                start_time_seconds: 1_700_000_000.0 + 1234.56,
            }
        );
        let text = format(&sample);
        assert!(
            text.contains(
                "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 3.25\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\nprocess_resident_memory_bytes 20971520\n"),
            "{text}"
        );
        assert!(text.contains("\nprocess_open_fds 17\n"), "{text}");
        assert!(
            text.contains("\nprocess_start_time_seconds 1700001234.56\n"),
            "{text}"
        );
    }

    #[test]
    fn unreadable_proc_texts_give_nothing() {
        assert_eq!(parse("", STATUS, SYSTEM, 1), None);
        assert_eq!(parse(STAT, "Name:\tx\n", SYSTEM, 1), None);
        assert_eq!(parse(STAT, STATUS, "cpu 1\n", 1), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_read_from_proc() {
        let sample = read().expect("/proc/self on Linux");
        assert!(sample.resident_bytes > 0);
        assert!(sample.open_fds >= 3, "{sample:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(sample.start_time_seconds <= now + 1.0, "{sample:?}");
        assert!(sample.start_time_seconds > now - 3600.0, "{sample:?}");
    }
}
