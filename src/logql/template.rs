//! The Go-template subset of `line_format` and `label_format`.
//!
//! Supported: literal text, `{{.label}}`, string/number literals, function
//! calls and pipelines (`{{ .path | trimPrefix "/v1" | upper }}`: the piped
//! value is the last argument, as in Go templates), `{{-`/`-}}` trimming,
//! `__line__` and `__timestamp__`. A missing label renders as "", as in Loki.
//! Templates are parsed once; rendering writes into a reused buffer.

use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Field(String),
    Str(String),
    Num(f64),
    /// A function called with no arguments (`__line__`).
    Call(String),
    Pipeline(Box<Pipeline>),
}

#[derive(Debug, Clone, PartialEq)]
struct Command {
    /// `None` when the command is a bare operand.
    func: Option<String>,
    args: Vec<Operand>,
}

#[derive(Debug, Clone, PartialEq)]
struct Pipeline {
    commands: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Action(Pipeline),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

/// What a template reads while rendering.
pub trait TemplateData {
    fn label(&self, name: &str) -> Option<&str>;
    fn line(&self) -> &[u8];
    fn timestamp_ns(&self) -> i64;
}

/// Every function a template may call, with its number of fixed arguments
/// (the piped value, if any, comes last).
const FUNCS: &[(&str, usize)] = &[
    ("ToLower", 1),
    ("ToUpper", 1),
    ("lower", 1),
    ("upper", 1),
    ("title", 1),
    ("Title", 1),
    ("trim", 1),
    ("TrimSpace", 1),
    ("trimAll", 2),
    ("trimPrefix", 2),
    ("TrimPrefix", 2),
    ("trimSuffix", 2),
    ("TrimSuffix", 2),
    ("replace", 3),
    ("Replace", 4),
    ("substr", 3),
    ("trunc", 2),
    ("default", 2),
    ("repeat", 2),
    ("len", 1),
    ("__line__", 0),
    ("__timestamp__", 0),
    ("unixEpoch", 1),
];

fn arity(name: &str) -> Option<usize> {
    FUNCS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

impl Template {
    /// Parses `src`; the error says what is wrong and at which byte.
    pub fn parse(src: &str) -> Result<Template, (usize, String)> {
        let mut parts = Vec::new();
        let mut rest = src;
        let mut offset = 0;
        while let Some(open) = rest.find("{{") {
            let mut text = &rest[..open];
            let mut after = &rest[open + 2..];
            let mut act_off = offset + open + 2;
            if let Some(a) = after.strip_prefix("- ") {
                text = text.trim_end();
                after = a;
                act_off += 2;
            }
            if !text.is_empty() {
                parts.push(Part::Text(text.to_string()));
            }
            let close = after
                .find("}}")
                .ok_or((offset + open, "unclosed action: missing }}".to_string()))?;
            let mut body = &after[..close];
            let mut trim_next = false;
            if let Some(b) = body.strip_suffix(" -") {
                body = b;
                trim_next = true;
            }
            let pipeline = parse_pipeline(body, act_off)?;
            parts.push(Part::Action(pipeline));
            rest = &after[close + 2..];
            offset = act_off + close + 2;
            if trim_next {
                let t = rest.trim_start();
                offset += rest.len() - t.len();
                rest = t;
            }
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// Label names the template reads (so decoders extract them).
    pub fn fields(&self) -> Vec<String> {
        fn walk(p: &Pipeline, out: &mut Vec<String>) {
            for c in &p.commands {
                for a in &c.args {
                    match a {
                        Operand::Field(f) => out.push(f.clone()),
                        Operand::Pipeline(p) => walk(p, out),
                        _ => {}
                    }
                }
            }
        }
        let mut out = Vec::new();
        for part in &self.parts {
            if let Part::Action(p) = part {
                walk(p, &mut out);
            }
        }
        out
    }

    /// Renders into `out` (cleared first).
    pub fn render(&self, data: &dyn TemplateData, out: &mut String) {
        out.clear();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Action(p) => {
                    let v = eval_pipeline(p, data);
                    out.push_str(&v);
                }
            }
        }
    }
}

fn tokenize(body: &str, base: usize) -> Result<Vec<(usize, String)>, (usize, String)> {
    let b = body.as_bytes();
    let mut i = 0;
    let mut toks = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        match c {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= b.len() {
                    return Err((base + start, "unterminated string in template".into()));
                }
                i += 1;
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
                if i >= b.len() {
                    return Err((base + start, "unterminated raw string in template".into()));
                }
                i += 1;
            }
            b'|' | b'(' | b')' => i += 1,
            _ => {
                while i < b.len()
                    && !b[i].is_ascii_whitespace()
                    && !matches!(b[i], b'|' | b'(' | b')')
                {
                    i += 1;
                }
            }
        }
        toks.push((base + start, body[start..i].to_string()));
    }
    Ok(toks)
}

fn parse_pipeline(body: &str, base: usize) -> Result<Pipeline, (usize, String)> {
    let toks = tokenize(body, base)?;
    let mut pos = 0;
    let p = pipeline_at(&toks, &mut pos, base)?;
    if pos < toks.len() {
        return Err((
            toks[pos].0,
            format!("unexpected {:?} in template action", toks[pos].1),
        ));
    }
    Ok(p)
}

fn pipeline_at(
    toks: &[(usize, String)],
    pos: &mut usize,
    base: usize,
) -> Result<Pipeline, (usize, String)> {
    let mut commands = Vec::new();
    loop {
        let cmd = command_at(toks, pos, base, !commands.is_empty())?;
        commands.push(cmd);
        if toks.get(*pos).is_some_and(|t| t.1 == "|") {
            *pos += 1;
            continue;
        }
        break;
    }
    Ok(Pipeline { commands })
}

fn command_at(
    toks: &[(usize, String)],
    pos: &mut usize,
    base: usize,
    piped: bool,
) -> Result<Command, (usize, String)> {
    let mut operands = Vec::new();
    let mut func = None;
    let first_pos = toks.get(*pos).map_or(base, |t| t.0);
    while let Some((at, t)) = toks.get(*pos) {
        if t == "|" || t == ")" {
            break;
        }
        *pos += 1;
        let op = if t == "(" {
            let p = pipeline_at(toks, pos, base)?;
            if toks.get(*pos).map(|t| t.1.as_str()) != Some(")") {
                return Err((*at, "missing ) in template".into()));
            }
            *pos += 1;
            Operand::Pipeline(Box::new(p))
        } else if let Some(f) = t.strip_prefix('.') {
            Operand::Field(f.to_string())
        } else if t.starts_with('"') {
            Operand::Str(unquote(t).ok_or((*at, format!("invalid string {t}")))?)
        } else if let Some(raw) = t.strip_prefix('`') {
            Operand::Str(raw.trim_end_matches('`').to_string())
        } else if let Ok(n) = t.parse::<f64>() {
            Operand::Num(n)
        } else if arity(t).is_some() {
            if operands.is_empty() && func.is_none() {
                func = Some(t.clone());
                continue;
            }
            Operand::Call(t.clone())
        } else {
            return Err((*at, format!("function {t:?} not defined")));
        };
        operands.push(op);
    }
    if func.is_none() && operands.is_empty() {
        return Err((first_pos, "empty command in template".into()));
    }
    if let Some(f) = &func {
        let want = arity(f).unwrap_or(0);
        let have = operands.len() + usize::from(piped);
        if have != want {
            return Err((
                first_pos,
                format!("wrong number of args for {f}: want {want} got {have}"),
            ));
        }
    } else if piped {
        return Err((first_pos, "a piped command must be a function".into()));
    } else if operands.len() > 1 {
        return Err((
            first_pos,
            "only one operand allowed without a function".into(),
        ));
    }
    Ok(Command {
        func,
        args: operands,
    })
}

fn unquote(t: &str) -> Option<String> {
    let inner = t.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

fn eval_operand(o: &Operand, data: &dyn TemplateData) -> String {
    match o {
        Operand::Field(f) => data.label(f).unwrap_or("").to_string(),
        Operand::Str(s) => s.clone(),
        Operand::Num(n) => fmt_num(*n),
        Operand::Call(f) => call(f, &[], data),
        Operand::Pipeline(p) => eval_pipeline(p, data),
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn eval_pipeline(p: &Pipeline, data: &dyn TemplateData) -> String {
    let mut value: Option<String> = None;
    for c in &p.commands {
        let mut args: Vec<String> = c.args.iter().map(|a| eval_operand(a, data)).collect();
        if let Some(v) = value.take() {
            args.push(v);
        }
        value = Some(match &c.func {
            Some(f) => call(f, &args, data),
            None => args.pop().unwrap_or_default(),
        });
    }
    value.unwrap_or_default()
}

fn num_arg(s: &str) -> i64 {
    s.trim().parse::<f64>().map(|f| f as i64).unwrap_or(0)
}

fn call(f: &str, a: &[String], data: &dyn TemplateData) -> String {
    let arg = |i: usize| a.get(i).map(String::as_str).unwrap_or("");
    match f {
        "ToLower" | "lower" => arg(0).to_lowercase(),
        "ToUpper" | "upper" => arg(0).to_uppercase(),
        "title" | "Title" => {
            let mut out = String::with_capacity(arg(0).len());
            let mut at_start = true;
            for ch in arg(0).chars() {
                if at_start && ch.is_alphanumeric() {
                    out.extend(ch.to_uppercase());
                    at_start = false;
                } else {
                    out.push(ch);
                    at_start = !ch.is_alphanumeric();
                }
            }
            out
        }
        "trim" | "TrimSpace" => arg(0).trim().to_string(),
        "trimAll" => arg(1).trim_matches(|c| arg(0).contains(c)).to_string(),
        "trimPrefix" => arg(1).strip_prefix(arg(0)).unwrap_or(arg(1)).to_string(),
        "TrimPrefix" => arg(0).strip_prefix(arg(1)).unwrap_or(arg(0)).to_string(),
        "trimSuffix" => arg(1).strip_suffix(arg(0)).unwrap_or(arg(1)).to_string(),
        "TrimSuffix" => arg(0).strip_suffix(arg(1)).unwrap_or(arg(0)).to_string(),
        "replace" => arg(2).replace(arg(0), arg(1)),
        "Replace" => {
            let n = num_arg(arg(3));
            if n < 0 {
                arg(0).replace(arg(1), arg(2))
            } else {
                arg(0).replacen(arg(1), arg(2), n as usize)
            }
        }
        "substr" => {
            let s: Vec<char> = arg(2).chars().collect();
            let start = num_arg(arg(0)).max(0) as usize;
            let end = num_arg(arg(1));
            let end = if end < 0 || end as usize > s.len() {
                s.len()
            } else {
                end as usize
            };
            if start >= end {
                String::new()
            } else {
                s[start..end].iter().collect()
            }
        }
        "trunc" => {
            let n = num_arg(arg(0));
            let s: Vec<char> = arg(1).chars().collect();
            if n >= 0 {
                s.iter().take(n as usize).collect()
            } else {
                let k = s.len().saturating_sub(n.unsigned_abs() as usize);
                s[k..].iter().collect()
            }
        }
        "default" => {
            if arg(1).is_empty() {
                arg(0).to_string()
            } else {
                arg(1).to_string()
            }
        }
        "repeat" => arg(1).repeat(num_arg(arg(0)).clamp(0, 10_000) as usize),
        "len" => arg(0).chars().count().to_string(),
        "__line__" => String::from_utf8_lossy(data.line()).into_owned(),
        "__timestamp__" => crate::time::format_rfc3339_nano(data.timestamp_ns()),
        "unixEpoch" => {
            let ns = crate::time::parse_event_time(arg(0).as_bytes()).unwrap_or(0);
            let mut s = String::new();
            let _ = write!(s, "{}", ns.div_euclid(crate::time::NANOS_PER_SEC));
            s
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct D(Vec<(&'static str, &'static str)>);
    impl TemplateData for D {
        fn label(&self, name: &str) -> Option<&str> {
            self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
        }
        fn line(&self) -> &[u8] {
            b"the line"
        }
        fn timestamp_ns(&self) -> i64 {
            0
        }
    }

    fn render(t: &str) -> String {
        let d = D(vec![
            ("status", "503"),
            ("path", "/v1/items"),
            ("lvl", " warn "),
        ]);
        let mut out = String::new();
        Template::parse(t).unwrap().render(&d, &mut out);
        out
    }

    #[test]
    fn fields_and_functions() {
        assert_eq!(render("{{.status}} {{.path}}"), "503 /v1/items");
        assert_eq!(render("{{ .path | trimPrefix \"/v1\" | upper }}"), "/ITEMS");
        assert_eq!(render("{{ .missing }}|"), "|");
        assert_eq!(render("{{ default \"-\" .missing }}"), "-");
        assert_eq!(render("{{ .lvl | trim | ToUpper }}"), "WARN");
        assert_eq!(render("{{ replace \"items\" \"x\" .path }}"), "/v1/x");
        assert_eq!(render("{{ __line__ }}!"), "the line!");
        assert_eq!(render("{{ substr 0 3 .path }}"), "/v1");
        assert_eq!(render("a  {{- .status -}}  b"), "a503b");
        assert_eq!(render("{{ len .path }}"), "9");
        // Extreme counts from user templates do not overflow.
        assert_eq!(
            render("{{ trunc -9223372036854775808 .path }}"),
            "/v1/items"
        );
        assert_eq!(render("{{ trunc 2 .path }}"), "/v");
    }

    #[test]
    fn errors() {
        assert!(Template::parse("{{ .a ").is_err());
        assert!(Template::parse("{{ nosuch .a }}").is_err());
        assert!(Template::parse("{{ .a | .b }}").is_err());
        assert!(Template::parse("{{ upper .a .b }}").is_err());
        assert_eq!(Template::parse("{{.a}} {{ nosuch }}").unwrap_err().0, 10);
    }

    #[test]
    fn reports_fields() {
        let t = Template::parse("{{.a}} {{ .b | default .c }}").unwrap();
        assert_eq!(t.fields(), vec!["a", "b", "c"]);
    }
}
