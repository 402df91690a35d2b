//! Time functions: `__timestamp__`, sprig's `date`/`toDate`/`now`/
//! `unixEpoch`, and Loki's `toDateInZone`, `unixToTime`,
//! `unixEpochMillis`/`Nanos`. Layouts are Go reference-time layouts.

use super::super::gotime::{self, GoTime};
use super::{s, Ctx, Value};

type R<'a> = Result<Value<'a>, String>;

fn time_arg(v: &Value) -> GoTime {
    match v {
        Value::Time(t) => t.clone(),
        _ => GoTime::zero(),
    }
}

pub fn timestamp<'a>(c: &Ctx<'a>, _: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Time(GoTime::from_unix_nanos(c.data.timestamp_ns())))
}

pub fn now<'a>(_: &Ctx<'a>, _: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Time(GoTime::now()))
}

pub fn unix_epoch<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::string(time_arg(&a[0]).secs.to_string()))
}

pub fn unix_epoch_millis<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::string(time_arg(&a[0]).unix_millis().to_string()))
}

pub fn unix_epoch_nanos<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::string(time_arg(&a[0]).unix_nanos().to_string()))
}

/// sprig `date layout t`: a time, or Unix seconds as an integer; anything
/// else formats the current time (as sprig does). Shown in the local zone
/// (UTC).
pub fn date<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let t = match &a[1] {
        Value::Time(t) => t.clone(),
        Value::Int(i) | Value::Int64(i) => GoTime::from_unix(*i, 0),
        _ => GoTime::now(),
    };
    let mut out = String::new();
    t.utc().format(&mut out, s(&a[0]));
    Ok(Value::string(out))
}

/// sprig `toDate layout str`: Go's zero time when the string does not
/// match the layout.
pub fn to_date<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Time(
        gotime::parse(s(&a[0]), s(&a[1])).unwrap_or_else(GoTime::zero),
    ))
}

/// Loki `toDateInZone layout zone str`. Zones other than UTC/Local are
/// read as UTC, which is what Loki does for a zone it cannot load.
pub fn to_date_in_zone<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Time(
        gotime::parse(s(&a[0]), s(&a[2])).unwrap_or_else(GoTime::zero),
    ))
}

/// Loki `unixToTime epoch`: days, seconds, milliseconds, microseconds or
/// nanoseconds, told apart by the number of digits (5, 10, 13, 16, 19).
pub fn unix_to_time<'a>(_: &Ctx<'a>, a: Vec<Value<'a>>) -> R<'a> {
    let epoch = s(&a[0]);
    let parsed = parse_int10(epoch);
    let i = match parsed {
        Ok(i) => i,
        Err(e) => return Err(format!("unable to parse time '{epoch}': {e}")),
    };
    let t = match epoch.len() {
        5 => GoTime::from_unix(i.wrapping_mul(86_400), 0),
        10 => GoTime::from_unix(i, 0),
        13 => GoTime::from_unix(0, i.wrapping_mul(1_000_000)),
        16 => GoTime::from_unix(0, i.wrapping_mul(1000)),
        19 => GoTime::from_unix(0, i),
        // Go formats the nil error with %w.
        _ => return Err(format!("unable to parse time '{epoch}': %!w(<nil>)")),
    };
    Ok(Value::Time(t))
}

/// Go's `strconv.ParseInt(s, 10, 64)` with its error text.
fn parse_int10(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.ParseInt: parsing {s:?}: invalid syntax"));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.ParseInt: parsing {s:?}: value out of range"))
}
