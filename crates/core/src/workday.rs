//! The workspace's business day: its time zone and the minute the day
//! ends. Day passcodes are valid until the end of the business day, and
//! time-of-day policies ("not outside 08:00-18:00") read the workspace's
//! local time, with daylight saving time handled by the IANA time zone
//! database bundled in this crate (through jiff), so the answer is the same
//! on every machine.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use time::OffsetDateTime;

/// The default: days end at 18:00.
pub const DEFAULT_DAY_END: u16 = 18 * 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkdayError {
    #[error(
        "unknown time zone {0:?}: use an IANA name such as Europe/Berlin, America/New_York or UTC"
    )]
    UnknownTimeZone(String),
    #[error("the business day's end {0:?} is not a time: use HH:MM between 00:00 and 23:59")]
    BadTime(String),
    #[error("{0:?} is not a date: use YYYY-MM-DD")]
    BadDate(String),
    #[error("{0} is outside the range of dates confidant handles")]
    OutOfRange(String),
}

/// A workspace's business day.
#[derive(Debug, Clone)]
pub struct BusinessDay {
    name: String,
    zone: TimeZone,
    /// Minutes after local midnight at which the day ends (0..1440).
    ends_at: u16,
}

impl PartialEq for BusinessDay {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.ends_at == other.ends_at
    }
}

impl BusinessDay {
    /// A business day in the IANA time zone `name`, ending `ends_at`
    /// minutes after local midnight.
    pub fn new(name: &str, ends_at: u16) -> Result<BusinessDay, WorkdayError> {
        let name = name.trim();
        let zone =
            TimeZone::get(name).map_err(|_| WorkdayError::UnknownTimeZone(name.to_owned()))?;
        if ends_at >= 24 * 60 {
            return Err(WorkdayError::BadTime(format!(
                "{:02}:{:02}",
                ends_at / 60,
                ends_at % 60
            )));
        }
        Ok(BusinessDay {
            name: name.to_owned(),
            zone,
            ends_at,
        })
    }

    /// UTC, days ending at 18:00.
    pub fn utc() -> BusinessDay {
        BusinessDay {
            name: "UTC".to_owned(),
            zone: TimeZone::UTC,
            ends_at: DEFAULT_DAY_END,
        }
    }

    /// Parses `HH:MM` into minutes after midnight.
    pub fn parse_time(text: &str) -> Result<u16, WorkdayError> {
        let bad = || WorkdayError::BadTime(text.to_owned());
        let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok(h * 60 + m)
    }

    pub fn time_zone(&self) -> &str {
        &self.name
    }

    pub fn ends_at(&self) -> u16 {
        self.ends_at
    }

    /// `HH:MM` of the day's end.
    pub fn ends_at_text(&self) -> String {
        format!("{:02}:{:02}", self.ends_at / 60, self.ends_at % 60)
    }

    fn zoned(&self, at: OffsetDateTime) -> Result<ZonedDateTime, WorkdayError> {
        let ts = Timestamp::from_second(at.unix_timestamp())
            .map_err(|_| WorkdayError::OutOfRange(at.to_string()))?;
        Ok(ts.to_zoned_datetime(self.zone.clone()))
    }

    /// Minutes since local midnight at `at` (0..1439).
    pub fn minute_of_day(&self, at: OffsetDateTime) -> u16 {
        match self.zoned(at) {
            Ok(z) => u16::try_from(i32::from(z.hour()) * 60 + i32::from(z.minute())).unwrap_or(0),
            Err(_) => 0,
        }
    }

    /// The local day of the week at `at`: 0 for Monday to 6 for Sunday.
    pub fn weekday(&self, at: OffsetDateTime) -> u8 {
        self.zoned(at)
            .map(|z| u8::try_from(z.weekday().to_monday_zero_offset()).unwrap_or(0))
            .unwrap_or(0)
    }

    /// The local calendar date at `at`, as `YYYY-MM-DD`.
    pub fn local_date(&self, at: OffsetDateTime) -> String {
        self.zoned(at)
            .map(|z| z.date().to_string())
            .unwrap_or_else(|_| at.date().to_string())
    }

    /// The instant the business day of `date` ends. When that local time
    /// falls into a DST gap, the instant just after the gap; when it occurs
    /// twice, the earlier one.
    fn end_of(&self, date: Date) -> Result<OffsetDateTime, WorkdayError> {
        let hour = i8::try_from(self.ends_at / 60).unwrap_or(0);
        let minute = i8::try_from(self.ends_at % 60).unwrap_or(0);
        let zoned = date
            .at(hour, minute, 0, 0)
            .to_zoned_datetime(self.zone.clone())
            .map_err(|_| WorkdayError::OutOfRange(date.to_string()))?;
        OffsetDateTime::from_unix_timestamp(zoned.timestamp().as_second())
            .map_err(|_| WorkdayError::OutOfRange(date.to_string()))
    }

    /// The end of the business day `at` falls in: the first day end
    /// strictly after `at` (after today's end, tomorrow's).
    pub fn day_end_after(&self, at: OffsetDateTime) -> Result<OffsetDateTime, WorkdayError> {
        let mut date = self.zoned(at)?.date();
        // Two steps at most; a third guards against odd zone histories.
        for _ in 0..3 {
            let end = self.end_of(date)?;
            if end > at {
                return Ok(end);
            }
            date = date
                .tomorrow()
                .map_err(|_| WorkdayError::OutOfRange(at.to_string()))?;
        }
        Err(WorkdayError::OutOfRange(at.to_string()))
    }

    /// The business day `at` falls in, as (start, end): from the previous
    /// day end to the next one.
    pub fn day_of(
        &self,
        at: OffsetDateTime,
    ) -> Result<(OffsetDateTime, OffsetDateTime), WorkdayError> {
        let end = self.day_end_after(at)?;
        // The day before the end's local date: for a day ending at 00:00,
        // the end's own date (one minute earlier is the day before, which
        // made a 48-hour day).
        let local = self.zoned(end)?.date();
        let previous = local
            .yesterday()
            .map_err(|_| WorkdayError::OutOfRange(at.to_string()))?;
        Ok((self.end_of(previous)?, end))
    }

    /// The name of the business day `at` falls in: the local date it
    /// covers (`YYYY-MM-DD`; a day ending at midnight is named after the
    /// date before its end).
    pub fn day_name(&self, at: OffsetDateTime) -> Result<String, WorkdayError> {
        let (_, end) = self.day_of(at)?;
        Ok(self.local_date(end - time::Duration::minutes(1)))
    }

    /// The business day named `date` (`YYYY-MM-DD`, as [`Self::day_name`]
    /// names it), as (start, end).
    pub fn named_day(&self, date: &str) -> Result<(OffsetDateTime, OffsetDateTime), WorkdayError> {
        let parsed: Date = date
            .trim()
            .parse()
            .map_err(|_| WorkdayError::BadDate(date.to_owned()))?;
        // The day named D ends on D at the day's end, or at the midnight
        // after D for a day ending at 00:00.
        let end_date = if self.ends_at == 0 {
            parsed
                .tomorrow()
                .map_err(|_| WorkdayError::OutOfRange(date.to_owned()))?
        } else {
            parsed
        };
        let end = self.end_of(end_date)?;
        self.day_of(end - time::Duration::seconds(1))
    }

    /// The business day after the one `at` falls in (the day tomorrow's
    /// passcodes are for).
    pub fn next_day(
        &self,
        at: OffsetDateTime,
    ) -> Result<(OffsetDateTime, OffsetDateTime), WorkdayError> {
        let (_, end) = self.day_of(at)?;
        let after = self.day_end_after(end)?;
        Ok((end, after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_day_ends_at_the_local_time_and_after_it_the_next_day_begins() {
        let day = BusinessDay::new("America/New_York", 18 * 60).unwrap();
        // 17:59 EST is 22:59 UTC in November.
        let before = datetime!(2026-11-30 22:59 UTC);
        assert_eq!(
            day.day_end_after(before).unwrap(),
            datetime!(2026-11-30 23:00 UTC)
        );
        let at = datetime!(2026-11-30 23:00 UTC);
        assert_eq!(
            day.day_end_after(at).unwrap(),
            datetime!(2026-12-01 23:00 UTC)
        );
        assert_eq!(day.minute_of_day(before), 17 * 60 + 59);
    }

    #[test]
    fn across_a_dst_change_the_day_is_23_or_25_hours_long() {
        // Europe/Berlin leaves summer time on 2026-10-25 (03:00 -> 02:00).
        let day = BusinessDay::new("Europe/Berlin", 18 * 60).unwrap();
        let (start, end) = day.day_of(datetime!(2026-10-25 12:00 UTC)).unwrap();
        assert_eq!(start, datetime!(2026-10-24 16:00 UTC)); // 18:00 CEST
        assert_eq!(end, datetime!(2026-10-25 17:00 UTC)); // 18:00 CET
        assert_eq!(end - start, time::Duration::hours(25));
        // And enters it on 2027-03-28: a 23-hour day.
        let (start, end) = day.day_of(datetime!(2027-03-28 12:00 UTC)).unwrap();
        assert_eq!(end - start, time::Duration::hours(23));
    }

    #[test]
    fn a_day_end_inside_a_dst_gap_is_the_instant_after_the_gap() {
        // America/New_York springs forward at 02:00 on 2027-03-14.
        let day = BusinessDay::new("America/New_York", 2 * 60 + 30).unwrap();
        let end = day.day_end_after(datetime!(2027-03-14 05:00 UTC)).unwrap();
        assert_eq!(end, datetime!(2027-03-14 07:30 UTC)); // 03:30 EDT
    }

    #[test]
    fn time_zones_far_apart_give_different_days() {
        let tokyo = BusinessDay::new("Asia/Tokyo", 18 * 60).unwrap();
        let la = BusinessDay::new("America/Los_Angeles", 18 * 60).unwrap();
        let now = datetime!(2026-11-30 10:00 UTC); // 19:00 Tokyo, 02:00 LA
        assert_eq!(
            tokyo.day_end_after(now).unwrap(),
            datetime!(2026-12-01 09:00 UTC)
        );
        assert_eq!(
            la.day_end_after(now).unwrap(),
            datetime!(2026-12-01 02:00 UTC)
        );
        assert_eq!(tokyo.local_date(now), "2026-11-30");
    }

    #[test]
    fn bad_names_and_times_are_refused_with_what_to_do() {
        let e = BusinessDay::new("Mars/Olympus", 0).unwrap_err();
        assert!(e.to_string().contains("IANA"));
        assert_eq!(BusinessDay::parse_time("18:30"), Ok(18 * 60 + 30));
        assert!(BusinessDay::parse_time("24:00").is_err());
        assert!(BusinessDay::parse_time("6pm").is_err());
    }

    #[test]
    fn a_day_ending_at_midnight_is_24_hours_long() {
        let day = BusinessDay::new("UTC", 0).unwrap();
        let (start, end) = day.day_of(datetime!(2026-11-30 23:30 UTC)).unwrap();
        assert_eq!(start, datetime!(2026-11-30 00:00 UTC));
        assert_eq!(end, datetime!(2026-12-01 00:00 UTC));
        let (start, end) = day.next_day(datetime!(2026-11-30 23:30 UTC)).unwrap();
        assert_eq!(end - start, time::Duration::hours(24));
        // And in a zone that springs forward at midnight (Chile, 2026-09-06).
        let santiago = BusinessDay::new("America/Santiago", 0).unwrap();
        let (start, end) = santiago.day_of(datetime!(2026-09-06 12:00 UTC)).unwrap();
        assert!(end - start <= time::Duration::hours(24), "{start} {end}");
    }

    #[test]
    fn the_next_day_follows_the_current_one() {
        let day = BusinessDay::utc();
        let (start, end) = day.next_day(datetime!(2026-11-30 10:00 UTC)).unwrap();
        assert_eq!(start, datetime!(2026-11-30 18:00 UTC));
        assert_eq!(end, datetime!(2026-12-01 18:00 UTC));
    }

    #[test]
    fn a_named_day_is_the_business_day_that_covers_that_date() {
        let day = BusinessDay::new("America/New_York", 18 * 60).unwrap();
        let (start, end) = day.named_day("2026-11-30").unwrap();
        assert_eq!(start, datetime!(2026-11-29 23:00 UTC));
        assert_eq!(end, datetime!(2026-11-30 23:00 UTC));
        assert_eq!(day.day_name(start).unwrap(), "2026-11-30");
        assert_eq!(day.day_name(end).unwrap(), "2026-12-01");
        let midnight = BusinessDay::new("UTC", 0).unwrap();
        assert_eq!(
            midnight.named_day("2026-11-30").unwrap(),
            (
                datetime!(2026-11-30 00:00 UTC),
                datetime!(2026-12-01 00:00 UTC)
            )
        );
        assert_eq!(
            midnight.day_name(datetime!(2026-11-30 23:59 UTC)).unwrap(),
            "2026-11-30"
        );
        assert!(matches!(
            day.named_day("30/11/2026"),
            Err(WorkdayError::BadDate(_))
        ));
    }
}
