//! Dates and times of EVTX records, through `chrono`: `SystemTime` text
//! (`2021-04-26T08:25:31.043685Z`) to epoch seconds and back, and epoch
//! seconds as a calendar date for the offline reports (`cli::scan`).
//! The calendar is chrono's proleptic Gregorian one; what is left here is
//! reading and writing the text.

use std::ops::Range;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// Epoch seconds as a UTC date and time; `None` past what chrono
/// represents (years beyond ±262,143).
pub(crate) fn utc(secs: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(secs, 0).map(|t| t.naive_utc())
}

/// The times written as `SystemTime` text (four-digit years, 1970 through
/// 9999); the `evtx` crate's own text stands for any other.
pub(crate) const SYSTEM_TIME_RANGE: Range<i64> = 0..253_402_300_800;

/// Appends `YYYY-MM-DDTHH:MM:SS.ffffffZ`, as Windows renders a
/// `SystemTime`, for a time in [`SYSTEM_TIME_RANGE`].
pub(crate) fn push_system_time(out: &mut String, secs: i64, micros: i32) {
    use std::fmt::Write;
    let Some(t) = utc(secs) else {
        return;
    };
    // Writing into a String cannot fail.
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

/// `2021-04-26T08:25:31.043685Z` → epoch seconds.
///
/// As lenient as it has always been: a day past its month's end runs on
/// into the next month (`2021-02-30` is 2 March), second 60 is the next
/// minute, and only the upper bounds of the clock's fields are checked.
/// A year chrono does not represent, or a clock that overflows, is no time.
pub fn parse_system_time(s: &str) -> Option<f64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, clock) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms.splitn(3, ':').map(|x| x.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let first_of_month = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m as u32, 1)?;
    let midnight = first_of_month
        .and_time(NaiveTime::MIN)
        .and_utc()
        .timestamp()
        .checked_add((day - 1) * 86_400)?;
    let secs = [hh.checked_mul(3600)?, mm.checked_mul(60)?, ss]
        .into_iter()
        .try_fold(midnight, i64::checked_add)?;
    let frac: f64 = if frac.is_empty() {
        0.0
    } else {
        format!("0.{frac}").parse().ok()?
    };
    Some(secs as f64 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written calendar this module replaced (553877b: Howard
    /// Hinnant's `civil_from_days`, in `evtx.rs` and `scan.rs`), kept as
    /// the oracle the chrono route is held to.
    fn old_civil_from_days(z: i64) -> (i64, i64, i64) {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        (yoe + era * 400 + i64::from(m <= 2), m, d)
    }

    /// Its inverse, as `parse_system_time` had it (`days_from_civil`).
    fn old_days_from_civil(y: i64, m: i64, day: i64) -> i64 {
        let y2 = if m <= 2 { y - 1 } else { y };
        let era = y2.div_euclid(400);
        let yoe = y2 - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn ymd_hms(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
        let t = utc(secs).unwrap();
        let (y, m, d) = (i64::from(t.year()), t.month(), t.day());
        (y, m, d, t.hour(), t.minute(), t.second())
    }

    #[test]
    fn calendar_edges() {
        assert_eq!(ymd_hms(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(ymd_hms(-1), (1969, 12, 31, 23, 59, 59));
        // 2000 is a leap year (divisible by 400), 2100 is not, 2400 is.
        assert_eq!(ymd_hms(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(ymd_hms(4_107_456_000 + 86_399), (2100, 2, 28, 23, 59, 59));
        assert_eq!(ymd_hms(4_107_542_400), (2100, 3, 1, 0, 0, 0));
        assert_eq!(ymd_hms(13_574_563_200), (2400, 2, 29, 0, 0, 0));
        assert_eq!(ymd_hms(13_574_649_600), (2400, 3, 1, 0, 0, 0));
        assert_eq!(
            ymd_hms(SYSTEM_TIME_RANGE.end - 1),
            (9999, 12, 31, 23, 59, 59)
        );
        assert_eq!(utc(i64::MAX), None);
    }

    /// Every day of eight 400-year cycles (1170 to 4370), and every 997th
    /// of chrono's whole range (years -262,143 to 262,142), is the date the
    /// hand-written calendar gave.
    #[test]
    fn chrono_days_are_the_old_calendars_days() {
        let sparse = (-95_000_000..95_000_000).step_by(997);
        for days in (-146_097 * 2..146_097 * 6).chain(sparse) {
            let (y, m, d, ..) = ymd_hms(days * 86_400);
            assert_eq!(
                (y, i64::from(m), i64::from(d)),
                old_civil_from_days(days),
                "day {days}"
            );
        }
    }

    #[test]
    fn system_time_parses_to_epoch() {
        assert_eq!(parse_system_time("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            parse_system_time("2000-03-01T00:00:01.5Z"),
            Some(951_868_801.5)
        );
        assert_eq!(
            parse_system_time("2000-02-29T00:00:00Z"),
            Some(951_782_400.0)
        );
        assert_eq!(
            parse_system_time("2100-03-01T00:00:00Z"),
            Some(4_107_542_400.0)
        );
        assert_eq!(
            parse_system_time("2400-02-29T00:00:00Z"),
            Some(13_574_563_200.0)
        );
        assert_eq!(parse_system_time("2021-13-01T00:00:00Z"), None);
        assert_eq!(parse_system_time("garbage"), None);
        assert_eq!(parse_system_time("300000-01-01T00:00:00Z"), None);
        assert_eq!(
            parse_system_time("2021-01-01T-9223372036854775807:00:00Z"),
            None
        );
    }

    /// The leniency the reader always had: days past the month's end and
    /// second 60 run on.
    #[test]
    fn system_time_runs_on_as_it_did() {
        let t = parse_system_time;
        assert_eq!(t("2021-02-30T00:00:00Z"), t("2021-03-02T00:00:00Z"));
        assert_eq!(t("2100-02-29T00:00:00Z"), t("2100-03-01T00:00:00Z"));
        assert_eq!(t("2021-12-31T23:59:60Z"), t("2022-01-01T00:00:00Z"));
        assert_eq!(t("2021-01-01T-1:00:00Z"), Some(1_609_455_600.0));
    }

    /// Every day 1 to 31 of every month of 1600 to 2800 is the number of
    /// days the hand-written calendar gave.
    #[test]
    fn system_time_days_are_the_old_calendars_days() {
        for y in 1600..2800 {
            for m in 1..=12 {
                for d in 1..=31 {
                    let text = format!("{y:04}-{m:02}-{d:02}T01:02:03.25Z");
                    let want = old_days_from_civil(y, m, d) * 86_400 + 3723;
                    assert_eq!(parse_system_time(&text), Some(want as f64 + 0.25), "{text}");
                }
            }
        }
    }

    #[test]
    fn system_time_text() {
        let text = |secs, micros| {
            let mut s = String::new();
            push_system_time(&mut s, secs, micros);
            s
        };
        assert_eq!(text(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(text(951_782_400, 7), "2000-02-29T00:00:00.000007Z");
        assert_eq!(text(1_619_425_536, 560_801), "2021-04-26T08:25:36.560801Z");
        assert_eq!(
            text(SYSTEM_TIME_RANGE.end - 1, 999_999),
            "9999-12-31T23:59:59.999999Z"
        );
    }
}
