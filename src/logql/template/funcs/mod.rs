//! The functions a template may call: Go's builtins and Loki's function
//! map (its own functions plus the sprig functions it imports), each with
//! its Go parameter types so arguments are checked as Go checks them.

mod builtins;
mod encode;
mod math;
mod regex;
mod strings;
mod time;

use super::value::{LabelList, Value};
use super::TemplateData;

/// A Go parameter type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum P {
    /// `string`
    Str,
    /// `int`
    Int,
    /// `float64`
    Float,
    /// `time.Time`
    Time,
    /// `interface{}`: anything, nil included.
    Any,
    /// `reflect.Value` (Go's builtins): anything but nil.
    Val,
}

impl P {
    pub fn go_name(self) -> &'static str {
        match self {
            P::Str => "string",
            P::Int => "int",
            P::Float => "float64",
            P::Time => "time.Time",
            P::Any => "interface {}",
            P::Val => "reflect.Value",
        }
    }
}

/// What a function sees besides its arguments.
pub struct Ctx<'a> {
    pub data: &'a dyn TemplateData,
}

impl<'a> Ctx<'a> {
    pub fn labels(&self) -> LabelList<'a> {
        let mut v = Vec::new();
        self.data.for_each_label(&mut |k, val| v.push((k, val)));
        v.sort_unstable();
        v.dedup_by(|a, b| a.0 == b.0);
        v
    }
}

pub type Impl = for<'a> fn(&Ctx<'a>, Vec<Value<'a>>) -> Result<Value<'a>, String>;

/// One callable function.
pub struct Func {
    pub name: &'static str,
    pub params: &'static [P],
    /// The type of the `...` parameter, if any.
    pub variadic: Option<P>,
    pub imp: Impl,
}

const fn f(name: &'static str, params: &'static [P], imp: Impl) -> Func {
    Func {
        name,
        params,
        variadic: None,
        imp,
    }
}

const fn fv(name: &'static str, params: &'static [P], variadic: P, imp: Impl) -> Func {
    Func {
        name,
        params,
        variadic: Some(variadic),
        imp,
    }
}

use P::{Any, Float, Int, Str, Time, Val};

/// Every function, by name. `and`/`or` are evaluated lazily by the
/// executor; they are listed so the parser knows them.
static FUNCS: &[Func] = &[
    // Go text/template builtins.
    fv("and", &[Val], Val, builtins::unreachable),
    fv("or", &[Val], Val, builtins::unreachable),
    f("not", &[Val], builtins::not),
    f("len", &[Val], builtins::len),
    fv("index", &[Val], Val, builtins::index),
    fv("slice", &[Val], Val, builtins::slice),
    fv("print", &[], Any, builtins::print),
    fv("printf", &[Str], Any, builtins::printf),
    fv("println", &[], Any, builtins::println),
    fv("html", &[], Any, encode::html),
    fv("js", &[], Any, encode::js),
    fv("urlquery", &[], Any, encode::urlquery),
    fv("call", &[Val], Val, builtins::call),
    fv("eq", &[Val], Val, builtins::eq),
    f("ne", &[Val, Val], builtins::ne),
    f("lt", &[Val, Val], builtins::lt),
    f("le", &[Val, Val], builtins::le),
    f("gt", &[Val, Val], builtins::gt),
    f("ge", &[Val, Val], builtins::ge),
    // Loki's own (pkg/logql/log/fmt.go).
    f("__line__", &[], strings::line),
    f("__timestamp__", &[], time::timestamp),
    f("ToLower", &[Str], strings::lower),
    f("ToUpper", &[Str], strings::upper),
    f("Replace", &[Str, Str, Str, Int], strings::go_replace),
    f("Trim", &[Str, Str], strings::go_trim),
    f("TrimLeft", &[Str, Str], strings::go_trim_left),
    f("TrimRight", &[Str, Str], strings::go_trim_right),
    f("TrimPrefix", &[Str, Str], strings::go_trim_prefix),
    f("TrimSuffix", &[Str, Str], strings::go_trim_suffix),
    f("TrimSpace", &[Str], strings::trim_space),
    f("regexReplaceAll", &[Str, Str, Str], regex::replace_all),
    f(
        "regexReplaceAllLiteral",
        &[Str, Str, Str],
        regex::replace_all_literal,
    ),
    f("count", &[Str, Str], regex::count),
    f("urldecode", &[Str], encode::urldecode),
    f("urlencode", &[Str], encode::urlencode),
    f("bytes", &[Str], math::bytes),
    f("duration", &[Str], math::duration),
    f("duration_seconds", &[Str], math::duration),
    f("unixEpochMillis", &[Time], time::unix_epoch_millis),
    f("unixEpochNanos", &[Time], time::unix_epoch_nanos),
    f("toDateInZone", &[Str, Str, Str], time::to_date_in_zone),
    f("unixToTime", &[Str], time::unix_to_time),
    f("alignLeft", &[Int, Str], strings::align_left),
    f("alignRight", &[Int, Str], strings::align_right),
    // The sprig functions Loki imports.
    f("b64enc", &[Str], encode::b64enc),
    f("b64dec", &[Str], encode::b64dec),
    f("lower", &[Str], strings::lower),
    f("upper", &[Str], strings::upper),
    f("title", &[Str], strings::title),
    f("trunc", &[Int, Str], strings::trunc),
    f("substr", &[Int, Int, Str], strings::substr),
    f("contains", &[Str, Str], strings::contains),
    f("hasPrefix", &[Str, Str], strings::has_prefix),
    f("hasSuffix", &[Str, Str], strings::has_suffix),
    f("indent", &[Int, Str], strings::indent),
    f("nindent", &[Int, Str], strings::nindent),
    f("replace", &[Str, Str, Str], strings::replace),
    f("repeat", &[Int, Str], strings::repeat),
    f("trim", &[Str], strings::trim_space),
    f("trimAll", &[Str, Str], strings::trim_all),
    f("trimSuffix", &[Str, Str], strings::trim_suffix),
    f("trimPrefix", &[Str, Str], strings::trim_prefix),
    f("int", &[Any], math::to_int),
    f("float64", &[Any], math::float64),
    fv("add", &[], Any, math::add),
    f("sub", &[Any, Any], math::sub),
    fv("mul", &[Any], Any, math::mul),
    f("div", &[Any, Any], math::div),
    f("mod", &[Any, Any], math::modulo),
    fv("addf", &[], Any, math::addf),
    fv("subf", &[Any], Any, math::subf),
    fv("mulf", &[Any], Any, math::mulf),
    fv("divf", &[Any], Any, math::divf),
    fv("max", &[Any], Any, math::max),
    fv("min", &[Any], Any, math::min),
    fv("maxf", &[Any], Any, math::maxf),
    fv("minf", &[Any], Any, math::minf),
    f("ceil", &[Any], math::ceil),
    f("floor", &[Any], math::floor),
    fv("round", &[Any, Int], Float, math::round),
    f("fromJson", &[Str], encode::from_json),
    f("date", &[Str, Any], time::date),
    f("toDate", &[Str, Str], time::to_date),
    f("now", &[], time::now),
    f("unixEpoch", &[Time], time::unix_epoch),
    fv("default", &[Any], Any, builtins::default),
];

pub fn lookup(name: &str) -> Option<&'static Func> {
    FUNCS.iter().find(|f| f.name == name)
}

pub fn exists(name: &str) -> bool {
    lookup(name).is_some()
}

/// The string of a `string` parameter (checked by the caller).
pub fn s<'v>(v: &'v Value) -> &'v str {
    match v {
        Value::Str(s) => s,
        _ => "",
    }
}

/// The value of an `int` parameter (checked by the caller).
pub fn i(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    }
}

/// spf13/cast's `ToInt64`, as sprig uses it: numbers truncate, strings
/// parse as Go integers (any base prefix, `12.0` allowed), anything else
/// is 0.
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Byte(b) => i64::from(*b),
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => super::parse::parse_go_int(trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// cast's `trimZeroDecimal`: "12.00" reads as "12".
fn trim_zero_decimal(s: &str) -> &str {
    let b = s.as_bytes();
    let mut found_zero = false;
    for i in (0..b.len()).rev() {
        match b[i] {
            b'.' if found_zero => return &s[..i],
            b'.' => {}
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// cast's `ToFloat64`: strings parse as Go floats, unparsable ones are 0.
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Byte(b) => f64::from(*b),
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => parse_go_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Go's `strconv.ParseFloat(s, 64)`; out-of-range values are errors.
pub fn parse_go_float(s: &str) -> Option<f64> {
    if s.contains('_') || s.is_empty() {
        return None;
    }
    let f = s.parse::<f64>().ok()?;
    if f.is_infinite() && !s.to_ascii_lowercase().contains("inf") {
        return None;
    }
    Some(f)
}
