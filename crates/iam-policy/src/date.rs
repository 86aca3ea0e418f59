//! Dates of the `Date*` condition operators: ISO 8601 text or epoch seconds.

/// An instant as nanoseconds since 1970-01-01T00:00:00Z.
pub type Instant = i128;

const NANOS: i128 = 1_000_000_000;

/// Parses a date the way the `Date*` operators accept it:
/// epoch seconds (`1700000000`, `1700000000.25`), a calendar date (`2026-11-29`),
/// or a date and time with optional seconds, fraction and offset
/// (`2026-11-29T12:00Z`, `2026-11-29T12:00:00.5+01:00`, `20261129T120000Z`).
pub fn parse(text: &str) -> Option<Instant> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    if unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return parse_epoch(text);
    }
    parse_iso(text)
}

fn parse_epoch(text: &str) -> Option<Instant> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = match digits.split_once('.') {
        Some((w, f)) => (w, f),
        None => (digits, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i128 = whole.parse().ok()?;
    let nanos = fraction_nanos(frac)?;
    let value = secs * NANOS + nanos;
    Some(if negative { -value } else { value })
}

fn fraction_nanos(frac: &str) -> Option<i128> {
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut nanos: i128 = 0;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += i128::from(b - b'0') * 10_i128.pow(8 - i as u32);
    }
    Some(nanos)
}

fn parse_iso(text: &str) -> Option<Instant> {
    let (date, time) = match text.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let (year, month, day) = parse_date(date)?;
    let days = days_from_civil(year, month, day);
    let mut nanos = i128::from(days) * 86_400 * NANOS;
    if let Some(time) = time {
        nanos += parse_time(time)?;
    }
    Some(nanos)
}

fn parse_date(date: &str) -> Option<(i64, u32, u32)> {
    let (y, m, d) = if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) {
        (date.get(0..4)?, date.get(4..6)?, date.get(6..8)?)
    } else {
        let mut it = date.split('-');
        let parts = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() {
            return None;
        }
        parts
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let year: i64 = digits(y)?;
    let month: u32 = digits(m)?;
    let day: u32 = digits(d)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some((year, month, day))
}

/// `hh:mm[:ss[.fff]][Z|±hh[:mm]]` or `hhmmss[Z]`: nanoseconds since midnight UTC.
fn parse_time(time: &str) -> Option<i128> {
    let (clock, offset) = split_offset(time)?;
    let (h, m, s, frac) = if !clock.contains(':') && clock.len() >= 4 {
        let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
        let s = if hms.len() == 6 { hms.get(4..6)? } else { "00" };
        (hms.get(0..2)?, hms.get(2..4)?, s, frac)
    } else {
        let mut it = clock.split(':');
        let h = it.next()?;
        let m = it.next()?;
        let sec = it.next().unwrap_or("00");
        if it.next().is_some() {
            return None;
        }
        let (s, frac) = sec.split_once('.').unwrap_or((sec, ""));
        (h, m, s, frac)
    };
    if h.len() != 2 || m.len() != 2 || s.len() != 2 {
        return None;
    }
    let hour: i128 = digits(h)?;
    let minute: i128 = digits(m)?;
    let second: i128 = digits(s)?;
    if hour > 24 || minute > 59 || second > 60 || (hour == 24 && (minute | second) != 0) {
        return None;
    }
    let frac = if frac.is_empty() && !clock.ends_with('.') {
        0
    } else if frac.is_empty() {
        return None;
    } else {
        fraction_nanos(frac)?
    };
    Some(((hour * 60 + minute) * 60 + second - offset) * NANOS + frac)
}

/// Splits a trailing `Z` or `±hh[:mm]` offset; returns the clock and the offset in seconds.
fn split_offset(time: &str) -> Option<(&str, i128)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(pos) = time.rfind(['+', '-']) else {
        return Some((time, 0));
    };
    let clock = time.get(..pos)?;
    let sign = if time.get(pos..pos + 1)? == "-" {
        -1
    } else {
        1
    };
    let off = time.get(pos + 1..)?;
    let (h, m) = match off.split_once(':') {
        Some((h, m)) => (h, m),
        None if off.len() == 4 => (off.get(0..2)?, off.get(2..4)?),
        None => (off, "00"),
    };
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let hours: i128 = digits(h)?;
    let minutes: i128 = digits(m)?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((clock, sign * (hours * 3600 + minutes * 60)))
}

fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `secs` seconds after the epoch as AWS writes `aws:CurrentTime`: ISO 8601 in UTC to the
/// second, `2026-11-30T03:35:00Z`.
pub fn format_iso(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date (year, month, day) `days` days after 1970-01-01 (the
/// inverse of [`days_from_civil`], by the same algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are in range by construction (1-31, 1-12).
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> i128 {
        parse(text).map(|n| n / NANOS).unwrap_or(i128::MIN)
    }

    #[test]
    fn epoch_and_iso_agree() {
        assert_eq!(secs("1970-01-01T00:00:00Z"), 0);
        assert_eq!(secs("2026-11-29T12:00:00Z"), 1_795_953_600);
        assert_eq!(secs("1795953600"), 1_795_953_600);
        assert_eq!(secs("2026-11-29T13:00:00+01:00"), 1_795_953_600);
        assert_eq!(secs("2026-11-29T11:30:00-0030"), 1_795_953_600);
        assert_eq!(secs("20261129T120000Z"), 1_795_953_600);
        assert_eq!(secs("2026-11-29T12:00Z"), 1_795_953_600);
        assert_eq!(secs("2026-11-29"), 1_795_910_400);
        assert_eq!(secs("2000-02-29T00:00:00Z"), 951_782_400);
    }

    #[test]
    fn iso_formatting_is_the_inverse_of_parsing() {
        assert_eq!(format_iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_iso(1_795_953_600), "2026-11-29T12:00:00Z");
        assert_eq!(format_iso(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_iso(1_796_083_199), "2026-11-30T23:59:59Z");
        assert_eq!(format_iso(-1), "1969-12-31T23:59:59Z");
        assert_eq!(format_iso(4_102_444_800), "2100-01-01T00:00:00Z");
        // Every day of four centuries around now, at a time of day that moves.
        let mut s: i64 = -2_208_988_800; // 1900-01-01
        while s < 10_413_792_000 {
            // 2300-01-01
            let text = format_iso(s);
            assert_eq!(secs(&text), i128::from(s), "{text}");
            s += 86_400 + 3_607;
        }
    }

    #[test]
    fn fractions_are_kept() {
        let a = parse("2026-11-29T12:00:00.5Z").unwrap_or_default();
        let b = parse("2026-11-29T12:00:00Z").unwrap_or_default();
        assert_eq!(a - b, NANOS / 2);
        assert_eq!(parse("1.25"), Some(NANOS + NANOS / 4));
    }

    #[test]
    fn invalid_dates_are_rejected() {
        for bad in [
            "2026-13-45",
            "2026-02-30",
            "2025-02-29",
            "2026-11-29T25:00:00Z",
            "2026-11-29T12:60Z",
            "yesterday",
            "",
            "2026-11",
            "2026-11-29T12:00:00+25:00",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
