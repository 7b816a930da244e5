//! Times, days and initials as the GUI shows them.
//!
//! wren-core gives times as milliseconds since the Unix epoch; the GUI
//! shows them in the user's local time zone. [`local_zone`] finds it the
//! way the C library does on Unix — the `TZ` environment variable, then
//! `/etc/localtime` — and falls back to UTC when neither names a zone
//! (jiff's `TimeZone::system`, which reads the zone files itself rather
//! than calling the C library's `localtime`, so it is sound in a
//! multi-threaded program, and caches the zone for a few minutes). Every
//! formatting function takes the zone as an argument, so tests pin one.

use jiff::Timestamp;
pub use jiff::tz::TimeZone;

/// A civil date (year, month 1–12, day 1–31) in some time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    /// The year.
    pub year: i64,
    /// The month, 1 to 12.
    pub month: u32,
    /// The day of the month, 1 to 31.
    pub day: u32,
}

/// The user's time zone: `TZ`, else `/etc/localtime`, else UTC.
pub fn local_zone() -> TimeZone {
    TimeZone::system()
}

/// The civil date and time of a timestamp in `zone`. Timestamps beyond
/// what the calendar covers (a peer's clock is untrusted) are clamped.
fn civil(ms: u64, zone: &TimeZone) -> jiff::civil::DateTime {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    let instant = Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX);
    zone.to_datetime(instant)
}

fn date(ms: u64, zone: &TimeZone) -> jiff::civil::Date {
    civil(ms, zone).date()
}

/// The day a timestamp (ms since the Unix epoch) falls on in `zone`.
pub fn day(ms: u64, zone: &TimeZone) -> Day {
    let date = date(ms, zone);
    Day {
        year: i64::from(date.year()),
        month: u32::try_from(date.month()).unwrap_or(1),
        day: u32::try_from(date.day()).unwrap_or(1),
    }
}

/// `HH:MM` of a timestamp in `zone`.
pub fn time(ms: u64, zone: &TimeZone) -> String {
    let civil = civil(ms, zone);
    format!("{:02}:{:02}", civil.hour(), civil.minute())
}

/// A day as a separator label in `zone`: `Today`, `Yesterday` or
/// `12 March 2026`.
pub fn day_label(ms: u64, now_ms: u64, zone: &TimeZone) -> String {
    let that = date(ms, zone);
    let today = date(now_ms, zone);
    if that == today {
        return "Today".into();
    }
    if today.yesterday().is_ok_and(|yesterday| yesterday == that) {
        return "Yesterday".into();
    }
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = usize::try_from(that.month().saturating_sub(1))
        .ok()
        .and_then(|m| MONTHS.get(m))
        .copied()
        .unwrap_or("?");
    format!("{} {month} {}", that.day(), that.year())
}

/// A sidebar time in `zone`: `HH:MM` today, else `D/M`.
pub fn short(ms: u64, now_ms: u64, zone: &TimeZone) -> String {
    let that = date(ms, zone);
    if that == date(now_ms, zone) {
        time(ms, zone)
    } else {
        format!("{}/{}", that.day(), that.month())
    }
}

/// Up to two initials of a name, upper-cased (`?` for an empty name).
pub fn initials(name: &str) -> String {
    let mut letters = name
        .split_whitespace()
        .filter_map(|word| word.chars().next())
        .flat_map(char::to_uppercase);
    let initials: String = letters.by_ref().take(2).collect();
    if initials.is_empty() {
        "?".into()
    } else {
        initials
    }
}

/// A peer id shortened for display: its last 6 characters after `…`
/// (every peer id starts with the same `12D3KooW`).
pub fn short_peer(peer_id: &str) -> String {
    let chars: Vec<char> = peer_id.chars().collect();
    if chars.len() <= 8 {
        return peer_id.to_owned();
    }
    let tail: String = chars.iter().skip(chars.len() - 6).collect();
    format!("…{tail}")
}

/// Now, in ms since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {

    #![allow(clippy::unwrap_used)]

    use super::*;

    const MS_PER_HOUR: u64 = 3_600_000;
    const MS_PER_DAY: u64 = 24 * MS_PER_HOUR;

    /// Central European time with its DST rule, as a POSIX TZ string, so
    /// the tests need no time-zone database and ignore the machine's zone.
    fn berlin() -> TimeZone {
        TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()
    }

    /// US Pacific time with its DST rule.
    fn los_angeles() -> TimeZone {
        TimeZone::posix("PST8PDT,M3.2.0,M11.1.0").unwrap()
    }

    #[test]
    fn days_and_times_in_utc() {
        let utc = TimeZone::UTC;
        assert_eq!(
            day(0, &utc),
            Day {
                year: 1970,
                month: 1,
                day: 1
            }
        );
        // 2024-02-29 12:34 UTC
        let leap = 1_709_210_040_000;
        assert_eq!(
            day(leap, &utc),
            Day {
                year: 2024,
                month: 2,
                day: 29
            }
        );
        assert_eq!(time(leap, &utc), "12:34");
        assert_eq!(day_label(leap, leap, &utc), "Today");
        assert_eq!(day_label(leap - MS_PER_DAY, leap, &utc), "Yesterday");
        assert_eq!(
            day_label(leap, leap + 10 * MS_PER_DAY, &utc),
            "29 February 2024"
        );
        assert_eq!(short(leap, leap + MS_PER_HOUR, &utc), "12:34");
        assert_eq!(short(leap, leap + MS_PER_DAY, &utc), "29/2");
    }

    #[test]
    fn times_follow_the_zone() {
        // 2024-02-29 23:30 UTC is already 1 March in Berlin, and still
        // the afternoon of 29 February in Los Angeles.
        let ms = 1_709_249_400_000;
        assert_eq!(time(ms, &TimeZone::UTC), "23:30");
        assert_eq!(time(ms, &berlin()), "00:30");
        assert_eq!(
            day(ms, &berlin()),
            Day {
                year: 2024,
                month: 3,
                day: 1
            }
        );
        assert_eq!(time(ms, &los_angeles()), "15:30");
        assert_eq!(day(ms, &los_angeles()).day, 29);
        // A fixed offset without DST.
        let tokyo = TimeZone::fixed(jiff::tz::offset(9));
        assert_eq!(time(ms, &tokyo), "08:30");
    }

    #[test]
    fn daylight_saving_time_boundaries() {
        let berlin = berlin();
        // Clocks go forward on 31 March 2024 at 01:00 UTC (02:00 → 03:00).
        let spring = 1_711_846_800_000; // 2024-03-31 01:00 UTC
        assert_eq!(time(spring - 60_000, &berlin), "01:59");
        assert_eq!(time(spring, &berlin), "03:00");
        // Clocks go back on 27 October 2024 at 01:00 UTC (03:00 → 02:00).
        let autumn = 1_729_990_800_000; // 2024-10-27 01:00 UTC
        assert_eq!(time(autumn - 60_000, &berlin), "02:59");
        assert_eq!(time(autumn, &berlin), "02:00");

        // The spring day has 23 hours: 23:30 local on 30 March and 00:30
        // local on 1 April are 24 hours apart in UTC terms only once.
        let saturday_late = 1_711_837_800_000; // 2024-03-30 22:30 UTC = 23:30 CET
        assert_eq!(day(saturday_late, &berlin).day, 30);
        let monday_early = saturday_late + 24 * MS_PER_HOUR; // 2024-03-31 22:30 UTC
        assert_eq!(time(monday_early, &berlin), "00:30");
        assert_eq!(day(monday_early, &berlin).day, 1);
        // "Yesterday" counts calendar days, not 24-hour periods.
        assert_eq!(
            day_label(saturday_late, monday_early, &berlin),
            "30 March 2024"
        );
        assert_eq!(
            day_label(monday_early - 2 * MS_PER_HOUR, monday_early, &berlin),
            "Yesterday"
        );
        assert_eq!(
            short(monday_early - MS_PER_HOUR, monday_early, &berlin),
            "31/3"
        );

        // Los Angeles changes on other dates (10 March 2024, 10:00 UTC).
        let la = los_angeles();
        let forward = 1_710_064_800_000; // 2024-03-10 10:00 UTC
        assert_eq!(time(forward - 60_000, &la), "01:59");
        assert_eq!(time(forward, &la), "03:00");
    }

    #[test]
    fn absurd_timestamps_do_not_panic() {
        for zone in [TimeZone::UTC, berlin(), los_angeles()] {
            for ms in [0, u64::MAX, i64::MAX as u64, 253_402_300_800_000] {
                let _ = time(ms, &zone);
                let _ = day(ms, &zone);
                let _ = day_label(ms, 0, &zone);
                let _ = day_label(0, ms, &zone);
                let _ = short(ms, u64::MAX, &zone);
            }
        }
    }

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("ada lovelace"), "AL");
        assert_eq!(initials("Bob"), "B");
        assert_eq!(initials("  "), "?");
        assert_eq!(initials("a b c"), "AB");
    }

    #[test]
    fn short_peer_ids_keep_their_tail() {
        assert_eq!(
            super::short_peer("12D3KooWQmVbNwR1xJ3Z8tA5cWcT9s4QbEy7nq2m3oVxkAbCdE"),
            "…kAbCdE"
        );
        assert_eq!(super::short_peer("short"), "short");
        assert_eq!(super::short_peer(""), "");
    }
}
