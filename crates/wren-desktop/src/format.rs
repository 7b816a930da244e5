//! Times, days and initials as the GUI shows them.
//!
//! Times are shown in UTC: wren-core gives milliseconds since the Unix epoch
//! and the app has no time-zone database yet.

/// A civil date (year, month 1–12, day 1–31).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    /// The year.
    pub year: i64,
    /// The month, 1 to 12.
    pub month: u32,
    /// The day of the month, 1 to 31.
    pub day: u32,
}

const MS_PER_DAY: u64 = 86_400_000;

/// The day a timestamp (ms since the Unix epoch) falls on.
pub fn day(ms: u64) -> Day {
    // Howard Hinnant's civil_from_days.
    let z = i64::try_from(ms / MS_PER_DAY).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    Day { year, month, day }
}

/// `HH:MM` of a timestamp.
pub fn time(ms: u64) -> String {
    let minutes = (ms % MS_PER_DAY) / 60_000;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A day as a separator label: `Today`, `Yesterday` or `12 March 2026`.
pub fn day_label(ms: u64, now_ms: u64) -> String {
    let today = now_ms / MS_PER_DAY;
    let that = ms / MS_PER_DAY;
    if that == today {
        return "Today".into();
    }
    if that + 1 == today {
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
    let d = day(ms);
    let month = usize::try_from(d.month.saturating_sub(1))
        .ok()
        .and_then(|m| MONTHS.get(m))
        .copied()
        .unwrap_or("?");
    format!("{} {month} {}", d.day, d.year)
}

/// A sidebar time: `HH:MM` today, else `D/M`.
pub fn short(ms: u64, now_ms: u64) -> String {
    if ms / MS_PER_DAY == now_ms / MS_PER_DAY {
        time(ms)
    } else {
        let d = day(ms);
        format!("{}/{}", d.day, d.month)
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

/// Now, in ms since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_times() {
        assert_eq!(
            day(0),
            Day {
                year: 1970,
                month: 1,
                day: 1
            }
        );
        // 2024-02-29 12:34 UTC
        let leap = 1_709_210_040_000;
        assert_eq!(
            day(leap),
            Day {
                year: 2024,
                month: 2,
                day: 29
            }
        );
        assert_eq!(time(leap), "12:34");
        assert_eq!(day_label(leap, leap), "Today");
        assert_eq!(day_label(leap - MS_PER_DAY, leap), "Yesterday");
        assert_eq!(day_label(leap, leap + 10 * MS_PER_DAY), "29 February 2024");
    }

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("ada lovelace"), "AL");
        assert_eq!(initials("Bob"), "B");
        assert_eq!(initials("  "), "?");
        assert_eq!(initials("a b c"), "AB");
    }
}
