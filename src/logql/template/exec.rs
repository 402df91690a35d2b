//! Executes a parsed template as Go's `text/template` does (`exec.go`):
//! the data is the label map (`missingkey=zero`: a missing label is ""),
//! pipelines pass their value as the last argument, variables are scoped
//! to their control structure, and errors name the template, line, column
//! and node as Go's do.

use std::borrow::Cow;

use super::funcs::{self, Ctx, P};
use super::gotime::GoTime;
use super::parse::{Arg, Branch, Cmd, Node, Pipe, Tree};
use super::value::{truth, write_value, Value};

/// Output beyond this many bytes stops the render with an error (user
/// templates and data are untrusted).
const MAX_OUTPUT: usize = 16 << 20;
/// Go's `maxExecDepth` is 100000; a smaller bound keeps our stack safe.
const MAX_DEPTH: usize = 100;
/// At most this many `range` iterations per render (all loops together).
/// A template runs once per log line, so this bounds a line's cost: 100,000
/// iterations of a cheap body take well under a second, and no real log
/// line carries a collection that long.
pub(crate) const MAX_ITERATIONS: usize = 100_000;
/// At most this many bytes of string arguments and results of function
/// calls per render: each call is bounded (`repeat` by 16 MiB), but a
/// `range` of many calls on long strings would otherwise run for hours.
const MAX_WORK: usize = 256 << 20;

/// An execution error before it is located in the source.
pub struct Fail {
    pos: usize,
    context: String,
    msg: String,
}

type R<T> = Result<T, Fail>;

enum Flow {
    Normal,
    Break,
    Continue,
}

pub struct Exec<'a> {
    pub tree: &'a Tree,
    pub ctx: Ctx<'a>,
    vars: Vec<(&'a str, Value<'a>)>,
    depth: usize,
    iterations: usize,
    /// String bytes passed to and returned by functions so far.
    work: usize,
    has_labels: Option<bool>,
}

fn fail(pos: usize, context: impl ToString, msg: impl Into<String>) -> Fail {
    Fail {
        pos,
        context: context.to_string(),
        msg: msg.into(),
    }
}

/// Go's error text: `template: NAME:LINE:COL: executing "NAME" at <NODE>:
/// MSG` (the column is the byte offset on the first line).
pub fn describe(f: &Fail, name: &str, src: &str) -> String {
    let before = src.get(..f.pos).unwrap_or(src);
    let line = 1 + before.matches('\n').count();
    let col = match before.rfind('\n') {
        Some(nl) => f.pos - (nl + 1),
        None => f.pos,
    };
    format!(
        "template: {name}:{line}:{col}: executing {name:?} at <{}>: {}",
        f.context.replace("{{", "{{\"{{\"}}"),
        f.msg
    )
}

impl<'a> Exec<'a> {
    pub fn new(tree: &'a Tree, ctx: Ctx<'a>) -> Exec<'a> {
        Exec {
            tree,
            ctx,
            vars: vec![("$", Value::Labels)],
            depth: 0,
            iterations: 0,
            work: 0,
            has_labels: None,
        }
    }

    pub fn run(&mut self, out: &mut String) -> R<()> {
        let root = &self.tree.root;
        self.walk(&Value::Labels, root, out).map(|_| ())
    }

    fn has_labels(&mut self) -> bool {
        *self
            .has_labels
            .get_or_insert_with(|| !self.ctx.labels().is_empty())
    }

    fn truth(&mut self, v: &Value) -> bool {
        let has = matches!(v, Value::Labels) && self.has_labels();
        truth(v, has)
    }

    fn walk(&mut self, dot: &Value<'a>, nodes: &'a [Node], out: &mut String) -> R<Flow> {
        for node in nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Action(pipe) => {
                    let v = self.eval_pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        match &v {
                            Value::Nil => out.push_str("<no value>"),
                            v => write_value(out, v, &|| self.ctx.labels()),
                        }
                    }
                }
                Node::If(b) | Node::With(b) => {
                    let with = matches!(node, Node::With(_));
                    let mark = self.vars.len();
                    let r = self.walk_if_or_with(dot, b, with, out);
                    self.vars.truncate(mark);
                    match r? {
                        Flow::Normal => {}
                        f => return Ok(f),
                    }
                }
                Node::Range(b) => {
                    let mark = self.vars.len();
                    let r = self.walk_range(dot, b, out);
                    self.vars.truncate(mark);
                    r?;
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
                Node::Template { pos, name, pipe } => {
                    self.walk_template(dot, *pos, name, pipe.as_ref(), out)?
                }
            }
            if out.len() > MAX_OUTPUT {
                return Err(fail(
                    0,
                    "",
                    format!("template output exceeds {MAX_OUTPUT} bytes"),
                ));
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_if_or_with(
        &mut self,
        dot: &Value<'a>,
        b: &'a Branch,
        with: bool,
        out: &mut String,
    ) -> R<Flow> {
        let v = self.eval_pipeline(dot, &b.pipe)?;
        if self.truth(&v) {
            if with {
                self.walk(&v, &b.list, out)
            } else {
                self.walk(dot, &b.list, out)
            }
        } else if let Some(e) = &b.else_list {
            self.walk(dot, e, out)
        } else {
            Ok(Flow::Normal)
        }
    }

    fn walk_template(
        &mut self,
        dot: &Value<'a>,
        pos: usize,
        name: &str,
        pipe: Option<&'a Pipe>,
        out: &mut String,
    ) -> R<()> {
        let context = format!("{{{{template {name:?}}}}}");
        let tree = self.tree;
        let Some(body) = tree.defines.get(name) else {
            return Err(fail(pos, context, format!("no such template {name:?}")));
        };
        if self.depth >= MAX_DEPTH {
            return Err(fail(
                pos,
                context,
                format!("exceeded maximum template depth ({MAX_DEPTH})"),
            ));
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Value::Nil,
        };
        let saved = std::mem::replace(&mut self.vars, vec![("$", new_dot.clone())]);
        self.depth += 1;
        let r = self.walk(&new_dot, body, out);
        self.depth -= 1;
        self.vars = saved;
        r.map(|_| ())
    }

    fn walk_range(&mut self, dot: &Value<'a>, b: &'a Branch, out: &mut String) -> R<()> {
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let items: Vec<(Value<'a>, Value<'a>)> = match &val {
            Value::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v.clone()))
                .collect(),
            Value::Map(m) => m
                .iter()
                .map(|(k, v)| (Value::string(k.clone()), v.clone()))
                .collect(),
            Value::Labels => self
                .ctx
                .labels()
                .into_iter()
                .map(|(k, v)| (Value::str(k), Value::str(v)))
                .collect(),
            Value::Int(n) | Value::Int64(n) => {
                if b.pipe.decl.len() > 1 {
                    return Err(fail(
                        b.pipe.pos,
                        &b.pipe,
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                let n = (*n).max(0);
                if n as u64 > (MAX_ITERATIONS - self.iterations) as u64 {
                    return Err(fail(b.pipe.pos, &b.pipe, "range over too many elements"));
                }
                (0..n).map(|i| (Value::Int(i), Value::Int(i))).collect()
            }
            Value::Nil => Vec::new(),
            v => {
                let mut s = String::new();
                write_value(&mut s, v, &|| self.ctx.labels());
                return Err(fail(
                    b.pipe.pos,
                    &b.pipe,
                    format!("range can't iterate over {s}"),
                ));
            }
        };
        if items.is_empty() {
            if let Some(e) = &b.else_list {
                self.walk(dot, e, out)?;
            }
            return Ok(());
        }
        for (index, elem) in items {
            self.iterations += 1;
            if self.iterations > MAX_ITERATIONS {
                return Err(fail(b.pipe.pos, &b.pipe, "range over too many elements"));
            }
            let decl = &b.pipe.decl;
            if !decl.is_empty() {
                if b.pipe.is_assign {
                    if decl.len() > 1 {
                        self.set_var(&decl[0], index.clone());
                        self.set_var(&decl[1], elem.clone());
                    } else {
                        self.set_var(&decl[0], elem.clone());
                    }
                } else {
                    // The pipeline pushed the declared variables; the
                    // element is the last, the index the one before.
                    let n = self.vars.len();
                    self.vars[n - 1].1 = elem.clone();
                    if decl.len() > 1 {
                        self.vars[n - 2].1 = index;
                    }
                }
            }
            let inner = self.vars.len();
            let r = self.walk(&elem, &b.list, out);
            self.vars.truncate(inner);
            if let Flow::Break = r? {
                break;
            }
        }
        Ok(())
    }

    fn set_var(&mut self, name: &str, v: Value<'a>) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            slot.1 = v;
        }
    }

    fn var_value(&self, name: &str, pos: usize) -> R<Value<'a>> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| fail(pos, name, format!("undefined variable: {name}")))
    }

    pub fn eval_pipeline(&mut self, dot: &Value<'a>, pipe: &'a Pipe) -> R<Value<'a>> {
        let mut value: Option<Value<'a>> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone());
            } else {
                self.vars.push((name.as_str(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, cmd: &Cmd, final_: &Option<Value<'a>>) -> R<()> {
        if cmd.args.len() > 1 || final_.is_some() {
            return Err(fail(
                cmd.pos,
                &cmd.args[0],
                format!("can't give argument to non-function {}", cmd.args[0]),
            ));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Value<'a>,
        cmd: &'a Cmd,
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let first = &cmd.args[0];
        let pos = cmd.pos;
        match first {
            Arg::Field(idents) => {
                self.eval_field_chain(dot, dot.clone(), first, pos, idents, cmd, final_)
            }
            Arg::Chain(node, fields) => {
                if matches!(node.as_ref(), Arg::Nil) {
                    return Err(fail(
                        pos,
                        first,
                        format!("indirection through explicit nil in {first}"),
                    ));
                }
                let recv = self.eval_arg(dot, None, node, pos)?;
                self.eval_field_chain(dot, recv, first, pos, fields, cmd, final_)
            }
            Arg::Ident(name) => self.eval_function(
                dot,
                name,
                Call {
                    pos,
                    args: &cmd.args[1..],
                    arg_pos: &cmd.arg_pos[1..],
                    node: cmd,
                },
                final_,
            ),
            Arg::Pipe(p) => {
                self.not_a_function(cmd, &final_)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable(name, idents) => {
                let v = self.var_value(name, pos)?;
                if idents.is_empty() {
                    self.not_a_function(cmd, &final_)?;
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, first, pos, idents, cmd, final_)
            }
            _ => {
                self.not_a_function(cmd, &final_)?;
                match first {
                    Arg::Bool(b) => Ok(Value::Bool(*b)),
                    Arg::Dot => Ok(dot.clone()),
                    Arg::Nil => Err(fail(pos, first, "nil is not a command")),
                    Arg::Number(n) => Ok(ideal_constant(n)),
                    Arg::Str(s, _) => Ok(Value::str(s)),
                    _ => Ok(Value::Nil),
                }
            }
        }
    }

    /// `.a.b.c` on a receiver: all but the last are plain lookups; the
    /// last may be a method (of a time) that takes the command's arguments.
    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        dot: &Value<'a>,
        mut recv: Value<'a>,
        node: &Arg,
        pos: usize,
        idents: &'a [String],
        cmd: &'a Cmd,
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let n = idents.len();
        for name in &idents[..n - 1] {
            recv = self.eval_field(dot, recv, name, node, pos, None, None)?;
        }
        self.eval_field(dot, recv, &idents[n - 1], node, pos, Some(cmd), final_)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field(
        &mut self,
        dot: &Value<'a>,
        recv: Value<'a>,
        name: &'a str,
        node: &Arg,
        pos: usize,
        cmd: Option<&'a Cmd>,
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let has_args = cmd.is_some_and(|c| c.args.len() > 1) || final_.is_some();
        match recv {
            Value::Nil => Ok(Value::Nil),
            Value::Labels => {
                if has_args {
                    return Err(fail(
                        pos,
                        node,
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                Ok(Value::str(self.ctx.data.label(name).unwrap_or("")))
            }
            Value::Map(m) => {
                if has_args {
                    return Err(fail(
                        pos,
                        node,
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                Ok(m.get(name).cloned().unwrap_or(Value::Nil))
            }
            Value::Time(t) => self.time_method(dot, &t, name, node, pos, cmd, final_),
            v => Err(fail(
                pos,
                node,
                format!("can't evaluate field {name} in type {}", v.type_name()),
            )),
        }
    }

    /// The methods of Go's `time.Time` that templates can reach.
    #[allow(clippy::too_many_arguments)]
    fn time_method(
        &mut self,
        dot: &Value<'a>,
        t: &GoTime,
        name: &'a str,
        node: &Arg,
        pos: usize,
        cmd: Option<&'a Cmd>,
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let mut args: Vec<Value<'a>> = Vec::new();
        if let Some(cmd) = cmd {
            for (a, p) in cmd.args[1..].iter().zip(&cmd.arg_pos[1..]) {
                args.push(self.eval_arg(dot, Some(P::Str), a, *p)?);
            }
        }
        if let Some(f) = final_ {
            args.push(f);
        }
        let want = usize::from(name == "Format");
        let known = matches!(
            name,
            "Unix"
                | "UnixMilli"
                | "UnixMicro"
                | "UnixNano"
                | "Year"
                | "Month"
                | "Day"
                | "Hour"
                | "Minute"
                | "Second"
                | "Nanosecond"
                | "YearDay"
                | "Weekday"
                | "Format"
                | "UTC"
                | "Local"
                | "String"
                | "IsZero"
        );
        if !known {
            return Err(fail(
                pos,
                node,
                format!("can't evaluate field {name} in type time.Time"),
            ));
        }
        if args.len() != want {
            return Err(fail(
                pos,
                node,
                format!(
                    "wrong number of args for {name}: want {want} got {}",
                    args.len()
                ),
            ));
        }
        Ok(match name {
            "Unix" => Value::Int64(t.secs),
            "UnixMilli" => Value::Int64(t.unix_millis()),
            "UnixMicro" => Value::Int64(t.unix_micros()),
            "UnixNano" => Value::Int64(t.unix_nanos()),
            "Year" => Value::Int(t.year()),
            "Month" => Value::str(t.month_name()),
            "Day" => Value::Int(i64::from(t.day())),
            "Hour" => Value::Int(i64::from(t.hour())),
            "Minute" => Value::Int(i64::from(t.minute())),
            "Second" => Value::Int(i64::from(t.second())),
            "Nanosecond" => Value::Int(i64::from(t.nsec)),
            "YearDay" => Value::Int(i64::from(t.year_day())),
            "Weekday" => Value::str(t.weekday_name()),
            "UTC" | "Local" => Value::Time(t.utc()),
            "IsZero" => Value::Bool(t.is_zero()),
            "Format" => {
                let Value::Str(layout) = &args[0] else {
                    return Ok(Value::Nil);
                };
                let mut s = String::new();
                t.format(&mut s, layout);
                Value::string(s)
            }
            _ => {
                let mut s = String::new();
                t.write_string(&mut s);
                Value::string(s)
            }
        })
    }

    fn eval_function(
        &mut self,
        dot: &Value<'a>,
        name: &'a str,
        cmd: Call<'a, '_>,
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let Some(func) = funcs::lookup(name) else {
            return Err(fail(
                cmd.pos,
                name,
                format!("{name:?} is not a defined function"),
            ));
        };
        let (args, arg_pos) = (cmd.args, cmd.arg_pos);
        let num_in = args.len() + usize::from(final_.is_some());
        let fixed = func.params.len();
        if func.variadic.is_some() {
            if num_in < fixed {
                return Err(fail(
                    cmd.pos,
                    name,
                    format!(
                        "wrong number of args for {name}: want at least {fixed} got {}",
                        args.len()
                    ),
                ));
            }
        } else if num_in != fixed {
            return Err(fail(
                cmd.pos,
                name,
                format!("wrong number of args for {name}: want {fixed} got {num_in}"),
            ));
        }
        if name == "and" || name == "or" {
            return self.and_or(dot, name == "or", cmd, final_);
        }
        let param = |i: usize| -> P {
            func.params
                .get(i)
                .copied()
                .or(func.variadic)
                .unwrap_or(P::Any)
        };
        let mut argv: Vec<Value<'a>> = Vec::with_capacity(num_in);
        for (i, (a, p)) in args.iter().zip(arg_pos).enumerate() {
            argv.push(self.eval_arg(dot, Some(param(i)), a, *p)?);
        }
        if let Some(f) = final_ {
            let t = param(num_in - 1);
            argv.push(validate(f, t, cmd.pos, cmd.node)?);
        }
        self.charge(argv.iter().map(str_len).sum(), &cmd)?;
        let v = (func.imp)(&self.ctx, argv).map_err(|e| {
            fail(
                cmd.pos,
                cmd.node,
                format!("error calling {}: {e}", func.name),
            )
        })?;
        self.charge(str_len(&v), &cmd)?;
        Ok(v)
    }

    /// Counts `bytes` of function work against [`MAX_WORK`].
    fn charge(&mut self, bytes: usize, cmd: &Call<'a, '_>) -> R<()> {
        self.work = self.work.saturating_add(bytes);
        if self.work > MAX_WORK {
            return Err(fail(
                cmd.pos,
                cmd.node,
                format!("template function calls exceed {MAX_WORK} bytes of strings"),
            ));
        }
        Ok(())
    }

    /// `and`/`or` evaluate their arguments in order and stop at the first
    /// false (`and`) or true (`or`) one, which is the result.
    fn and_or(
        &mut self,
        dot: &Value<'a>,
        or: bool,
        cmd: Call<'a, '_>,
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let mut v = Value::Nil;
        for (a, p) in cmd.args.iter().zip(cmd.arg_pos) {
            v = self.eval_arg(dot, Some(P::Val), a, *p)?;
            if self.truth(&v) == or {
                return Ok(v);
            }
        }
        if let Some(f) = final_ {
            v = validate(f, P::Val, cmd.pos, cmd.node)?;
        }
        Ok(v)
    }

    /// One argument, converted to the parameter type as Go's `evalArg`
    /// does (`None`: no conversion, as for a chain's receiver).
    fn eval_arg(
        &mut self,
        dot: &Value<'a>,
        typ: Option<P>,
        n: &'a Arg,
        pos: usize,
    ) -> R<Value<'a>> {
        let v = match n {
            Arg::Dot => dot.clone(),
            Arg::Field(idents) => {
                let cmd = None;
                let mut recv = dot.clone();
                for name in idents {
                    recv = self.eval_field(dot, recv, name, n, pos, cmd, None)?;
                }
                recv
            }
            Arg::Variable(name, idents) => {
                let mut recv = self.var_value(name, pos)?;
                for f in idents {
                    recv = self.eval_field(dot, recv, f, n, pos, None, None)?;
                }
                recv
            }
            Arg::Pipe(p) => self.eval_pipeline(dot, p)?,
            // A bare function name as an argument is a call without
            // arguments.
            Arg::Ident(name) => self.eval_function(
                dot,
                name,
                Call {
                    pos,
                    args: &[],
                    arg_pos: &[],
                    node: n,
                },
                None,
            )?,
            Arg::Chain(node, fields) => {
                if matches!(node.as_ref(), Arg::Nil) {
                    return Err(fail(
                        pos,
                        n,
                        format!("indirection through explicit nil in {n}"),
                    ));
                }
                let mut recv = self.eval_arg(dot, None, node, pos)?;
                for f in fields {
                    recv = self.eval_field(dot, recv, f, n, pos, None, None)?;
                }
                recv
            }
            Arg::Nil => {
                return match typ {
                    None | Some(P::Any) => Ok(Value::Nil),
                    Some(t) => Err(fail(
                        pos,
                        n,
                        format!("cannot assign nil to {}", t.go_name()),
                    )),
                }
            }
            Arg::Bool(b) => {
                return match typ {
                    None | Some(P::Any | P::Val) => Ok(Value::Bool(*b)),
                    Some(t) => Err(literal_mismatch(t, n, pos)),
                }
            }
            Arg::Str(s, _) => {
                return match typ {
                    None | Some(P::Any | P::Val | P::Str) => {
                        Ok(Value::Str(Cow::Borrowed(s.as_str())))
                    }
                    Some(t) => Err(literal_mismatch(t, n, pos)),
                }
            }
            Arg::Number(num) => {
                let v = match typ {
                    None | Some(P::Any | P::Val) => Some(ideal_constant(num)),
                    Some(P::Int) => num.int.map(Value::Int),
                    Some(P::Float) => num.float.map(Value::Float),
                    Some(_) => None,
                };
                return v.ok_or_else(|| literal_mismatch(typ.unwrap_or(P::Any), n, pos));
            }
        };
        match typ {
            None => Ok(v),
            Some(t) => validate(v, t, pos, n),
        }
    }
}

/// Go's error for a literal of the wrong kind (`evalString`,
/// `evalInteger`, …).
fn literal_mismatch(t: P, n: &Arg, pos: usize) -> Fail {
    let msg = match t {
        P::Str => format!("expected string; found {n}"),
        P::Int => format!("expected integer; found {n}"),
        P::Float => format!("expected float; found {n}"),
        t => format!("can't handle {n} for arg of type {}", t.go_name()),
    };
    fail(pos, n, msg)
}

/// A function call: its arguments (after the name) and the node errors
/// name.
#[derive(Clone, Copy)]
pub struct Call<'a, 'n> {
    pos: usize,
    args: &'a [Arg],
    arg_pos: &'a [usize],
    node: &'n dyn std::fmt::Display,
}

/// Go's `idealConstant`: a literal written with `.`/`e` is a float64,
/// otherwise an int.
fn ideal_constant<'a>(n: &super::parse::Number) -> Value<'a> {
    match (n.float_literal, n.int, n.float) {
        (false, Some(i), _) => Value::Int(i),
        (_, _, Some(f)) => Value::Float(f),
        _ => Value::Nil,
    }
}

/// Go's `validateType`: a computed value must have the parameter's type.
fn validate<'a>(v: Value<'a>, t: P, pos: usize, node: &dyn std::fmt::Display) -> R<Value<'a>> {
    let ok = match (t, &v) {
        (P::Any, _) => true,
        (_, Value::Nil) => {
            return Err(fail(
                pos,
                node,
                format!("invalid value; expected {}", t.go_name()),
            ));
        }
        (P::Val, _) => true,
        (P::Str, Value::Str(_)) => true,
        (P::Int, Value::Int(_)) => true,
        (P::Float, Value::Float(_)) => true,
        (P::Time, Value::Time(_)) => true,
        _ => false,
    };
    if ok {
        Ok(v)
    } else {
        Err(fail(
            pos,
            node,
            format!(
                "wrong type for value; expected {}; got {}",
                t.go_name(),
                v.type_name()
            ),
        ))
    }
}

fn str_len(v: &Value<'_>) -> usize {
    match v {
        Value::Str(s) => s.len(),
        _ => 0,
    }
}
