//! Go `text/template`, as `line_format` and `label_format` use it in Loki:
//! the whole template language (actions, pipelines, variables, `if`/
//! `with`/`range`/`else`, `define`/`template`, comments, trim markers) and
//! every function in Loki's function map, over typed values (strings from
//! labels, numbers from math, times, JSON from `fromJson`) printed as Go
//! prints them.
//!
//! - `lex`/`parse`: the template's syntax, with Go's error messages;
//! - `exec`: evaluation with Go's semantics (`missingkey=zero`: a missing
//!   label is "");
//! - `value`/`printf`/`gotime`: Go's `fmt` and `time` behaviour;
//! - `funcs/`: the functions, one module per family.
//!
//! Templates are parsed once; rendering writes into a reused buffer, and a
//! template that is one label (`{{.message}}`) is copied directly, as Loki
//! does.

mod exec;
mod funcs;
mod gotime;
mod lex;
mod parse;
mod printf;
mod value;

#[cfg(test)]
mod tests;

use parse::{Arg, Node, Pipe, Tree};

/// What a template reads while rendering.
pub trait TemplateData {
    fn label(&self, name: &str) -> Option<&str>;
    fn line(&self) -> &[u8];
    fn timestamp_ns(&self) -> i64;
    /// Every label (for `{{ . }}`, `range $k, $v := .`, `index . "x"`).
    fn for_each_label<'s>(&'s self, _f: &mut dyn FnMut(&'s str, &'s str)) {}
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    src: String,
    tree: Tree,
    /// Go names a template in its errors: Loki's `line_format` template is
    /// "line", `label_format`'s are "label".
    name: &'static str,
    /// The template is exactly `{{.label}}`.
    simple_key: Option<String>,
}

impl Template {
    /// Parses `src`; the error says what is wrong and at which byte.
    pub fn parse(src: &str) -> Result<Template, (usize, String)> {
        let tree = parse::parse(src)?;
        let simple_key = match tree.root.as_slice() {
            [Node::Action(p)] if p.decl.is_empty() && p.cmds.len() == 1 => {
                match p.cmds[0].args.as_slice() {
                    [Arg::Field(idents)] if idents.len() == 1 => Some(idents[0].clone()),
                    _ => None,
                }
            }
            _ => None,
        };
        Ok(Template {
            src: src.to_string(),
            tree,
            name: "line",
            simple_key,
        })
    }

    /// The name execution errors report (`"line"` by default, `"label"`
    /// for `label_format`).
    pub fn named(mut self, name: &'static str) -> Template {
        self.name = name;
        self
    }

    /// Label names the template reads (so decoders extract them): every
    /// field (`.a`, `.a.b`, `$.a`), as Loki lists them.
    pub fn fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut all = false;
        walk_nodes(&self.tree.root, &mut out, &mut all);
        for body in self.tree.defines.values() {
            walk_nodes(body, &mut out, &mut all);
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether the template may read any label, not only named ones (it
    /// uses `.` or `$` as a whole: `{{ . }}`, `index . "x"`, `range`).
    pub fn reads_all_labels(&self) -> bool {
        let mut out = Vec::new();
        let mut all = false;
        walk_nodes(&self.tree.root, &mut out, &mut all);
        for body in self.tree.defines.values() {
            walk_nodes(body, &mut out, &mut all);
        }
        all
    }

    /// Whether the template calls the function `name` anywhere.
    pub fn calls(&self, name: &str) -> bool {
        fn arg(a: &Arg, name: &str) -> bool {
            match a {
                Arg::Ident(n) => n == name,
                Arg::Pipe(p) => pipe(p, name),
                Arg::Chain(node, _) => arg(node, name),
                _ => false,
            }
        }
        fn pipe(p: &Pipe, name: &str) -> bool {
            p.cmds.iter().any(|c| c.args.iter().any(|a| arg(a, name)))
        }
        fn nodes(ns: &[Node], name: &str) -> bool {
            ns.iter().any(|n| match n {
                Node::Action(p) => pipe(p, name),
                Node::If(b) | Node::With(b) | Node::Range(b) => {
                    pipe(&b.pipe, name)
                        || nodes(&b.list, name)
                        || b.else_list.as_deref().is_some_and(|e| nodes(e, name))
                }
                Node::Template { pipe: p, .. } => p.as_ref().is_some_and(|p| pipe(p, name)),
                _ => false,
            })
        }
        nodes(&self.tree.root, name) || self.tree.defines.values().any(|b| nodes(b, name))
    }

    /// Renders into `out` (cleared first). On an execution error (Go's
    /// text, e.g. `template: line:1:2: executing "line" at <div 1 0>:
    /// error calling div: runtime error: integer divide by zero`), `out`
    /// holds what was written before it.
    pub fn render(&self, data: &dyn TemplateData, out: &mut String) -> Result<(), String> {
        out.clear();
        if let Some(key) = &self.simple_key {
            out.push_str(data.label(key).unwrap_or(""));
            return Ok(());
        }
        let mut ex = exec::Exec::new(&self.tree, funcs::Ctx { data });
        ex.run(out)
            .map_err(|f| exec::describe(&f, self.name, &self.src))
    }
}

fn walk_nodes(nodes: &[Node], out: &mut Vec<String>, all: &mut bool) {
    for n in nodes {
        match n {
            Node::Text(_) | Node::Break | Node::Continue => {}
            Node::Action(p) => walk_pipe(p, out, all),
            Node::If(b) | Node::With(b) | Node::Range(b) => {
                walk_pipe(&b.pipe, out, all);
                walk_nodes(&b.list, out, all);
                if let Some(e) = &b.else_list {
                    walk_nodes(e, out, all);
                }
            }
            Node::Template { pipe, .. } => {
                if let Some(p) = pipe {
                    walk_pipe(p, out, all);
                }
            }
        }
    }
}

fn walk_pipe(p: &Pipe, out: &mut Vec<String>, all: &mut bool) {
    for c in &p.cmds {
        for a in &c.args {
            walk_arg(a, out, all);
        }
    }
}

fn walk_arg(a: &Arg, out: &mut Vec<String>, all: &mut bool) {
    match a {
        Arg::Field(idents) => out.extend(idents.iter().cloned()),
        Arg::Variable(name, idents) => {
            if name == "$" {
                match idents.first() {
                    Some(first) => out.push(first.clone()),
                    None => *all = true,
                }
            }
            out.extend(idents.iter().skip(1).cloned());
        }
        Arg::Dot => *all = true,
        Arg::Pipe(p) => walk_pipe(p, out, all),
        Arg::Chain(node, fields) => {
            walk_arg(node, out, all);
            out.extend(fields.iter().cloned());
        }
        _ => {}
    }
}
