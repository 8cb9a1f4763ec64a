//! Instants as microseconds since the Unix epoch, the form every store keeps them in.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since 1970-01-01T00:00:00Z, now.
pub fn now_micros() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX)
}

/// A protobuf timestamp for microseconds since the epoch.
pub fn timestamp_from_micros(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1_000) as i32,
    }
}

/// Microseconds since the epoch for a protobuf timestamp (sub-microsecond digits dropped).
pub fn micros_from_timestamp(timestamp: &prost_types::Timestamp) -> i64 {
    timestamp
        .seconds
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(timestamp.nanos) / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_including_before_the_epoch() {
        for micros in [0, 1, -1, 1_648_512_000_123_456, -86_400_000_001] {
            assert_eq!(
                micros_from_timestamp(&timestamp_from_micros(micros)),
                micros
            );
        }
        let before = timestamp_from_micros(-1);
        assert_eq!((before.seconds, before.nanos), (-1, 999_999_000));
    }
}
