//! The clock in Unix seconds, and Unix seconds as RFC 3339 UTC text (`2026-11-27T23:53:45Z`), for what
//! `get` and `list` print. The store keeps integers (cheap to compare and
//! to expire); people read dates. Written here rather than taken from a
//! date crate: it is the one conversion icyproxy needs, and two small pure
//! functions are easy to test exhaustively.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (0 on a clock set before 1970).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Seconds in a day; Unix time has no leap seconds.
const DAY: i64 = 86_400;

/// Days from 1970-01-01 to the proleptic Gregorian date `year-month-day`
/// (negative before it). Howard Hinnant's `days_from_civil`
/// (<https://howardhinnant.github.io/date_algorithms.html>): years are
/// shifted to start in March, so the leap day is the last day of a
/// "year" and each 400-year era has exactly 146097 days.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400); // [0, 399]
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1; // [0, 365]
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year; // [0, 146096]
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`]: `(year, month, day)` of the date
/// `days` after 1970-01-01 (Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let shifted_month = (5 * day_of_year + 2) / 153; // [0, 11], March = 0
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32; // [1, 31]
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32; // [1, 12]
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Unix seconds as RFC 3339 in UTC, e.g. `2026-11-27T23:53:45Z`. RFC 3339
/// has four-digit years only: a time outside years 0000 to 9999 (which no
/// real stream URL carries) is printed as the plain number of seconds.
pub fn rfc3339(unix_secs: i64) -> String {
    let (days, secs) = (unix_secs.div_euclid(DAY), unix_secs.rem_euclid(DAY));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return unix_secs.to_string();
    }
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        for (secs, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (-1, "1969-12-31T23:59:59Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (951_868_799, "2000-02-29T23:59:59Z"),
            (951_868_800, "2000-03-01T00:00:00Z"),
            (1_795_823_625, "2026-11-27T23:53:45Z"),
            (2_147_483_647, "2038-01-19T03:14:07Z"),
            (2_147_483_648, "2038-01-19T03:14:08Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
            (13_574_606_400, "2400-02-29T12:00:00Z"),
            (-2_203_891_200, "1900-03-01T00:00:00Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ] {
            assert_eq!(rfc3339(secs), text, "{secs}");
        }
    }

    #[test]
    fn out_of_range_years_stay_numbers() {
        assert_eq!(rfc3339(253_402_300_800), "253402300800");
        assert_eq!(rfc3339(-62_167_219_201), "-62167219201");
        assert_eq!(rfc3339(-62_167_219_200), "0000-01-01T00:00:00Z");
        assert_eq!(rfc3339(i64::MAX), i64::MAX.to_string());
        assert_eq!(rfc3339(i64::MIN), i64::MIN.to_string());
    }

    #[test]
    fn leap_years() {
        let feb = |y| days_from_civil(y, 3, 1) - days_from_civil(y, 2, 1);
        assert_eq!(feb(2024), 29, "divisible by 4");
        assert_eq!(feb(2023), 28);
        assert_eq!(feb(1900), 28, "divisible by 100, not 400");
        assert_eq!(feb(2100), 28);
        assert_eq!(feb(2000), 29, "divisible by 400");
        assert_eq!(feb(2400), 29);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(days_from_civil(2038, 1, 19), 24_855);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    /// Every day from 1600 to 2500 round-trips, and consecutive days are
    /// consecutive dates.
    #[test]
    fn round_trip_over_nine_centuries() {
        let first = days_from_civil(1600, 1, 1);
        let last = days_from_civil(2500, 12, 31);
        let mut previous = civil_from_days(first - 1);
        for days in first..=last {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            let next_day = (y, m, d) == (previous.0, previous.1, previous.2 + 1);
            let next_month = d == 1 && (y, m) == (previous.0, previous.1 + 1);
            let next_year = (m, d) == (1, 1) && y == previous.0 + 1 && previous.1 == 12;
            assert!(
                next_day || next_month || next_year,
                "{previous:?} -> {:?}",
                (y, m, d)
            );
            previous = (y, m, d);
        }
    }
}
