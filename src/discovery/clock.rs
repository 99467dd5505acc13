//! The time a sync runs at: the system's, or for tests one read from a file that the test moves (with
//! okta-sim's movable clock, a test drives months of simulated time through the real binaries).

use std::path::PathBuf;

use chrono::{DateTime, Utc};

/// Where "now" comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Clock {
    #[default]
    System,
    /// An RFC 3339 time in a file, read at each use (test-only: the CLI refuses it without
    /// `--insecure-allow-http`).
    File(PathBuf),
}

impl Clock {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::File(path) => match read(path) {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(error = %e, "the test clock cannot be read; using the system clock");
                    Utc::now()
                }
            },
        }
    }
}

fn read(path: &PathBuf) -> Result<DateTime<Utc>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{}: not an RFC 3339 time ({e})", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_clock_reads_the_time_each_time_and_falls_back_when_unreadable() {
        let dir = std::env::temp_dir().join(format!("dti-clock-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("now");
        let clock = Clock::File(path.clone());
        assert!(std::fs::write(&path, "2027-03-01T00:00:00Z\n").is_ok());
        assert_eq!(clock.now().to_rfc3339(), "2027-03-01T00:00:00+00:00");
        assert!(std::fs::write(&path, "2027-04-01T12:00:00+02:00").is_ok());
        assert_eq!(clock.now().to_rfc3339(), "2027-04-01T10:00:00+00:00");
        assert!(std::fs::write(&path, "soon").is_ok());
        assert!((clock.now() - Utc::now()).num_seconds().abs() < 5);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
