//! Field roles: which field of a record is its status, latency, route, …
//!
//! Roles are found by name, first match wins (ARCHITECTURE.md, contract: "Derived metrics"), and
//! can be overridden with `--field role=name`. Dotted names from the design
//! (`response.status`, `function.path`) are looked up in their flattened form
//! (`response_status`), as decoders flatten nested objects.

/// The unit a latency field is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyUnit {
    Millis,
    Seconds,
}

/// The field names to try for each role, in order.
#[derive(Debug, Clone)]
pub struct Roles {
    pub status: Vec<String>,
    pub latency: Vec<(String, LatencyUnit)>,
    pub route: Vec<String>,
    pub method: Vec<String>,
    pub query: Vec<String>,
    pub event: Vec<String>,
    pub level: Vec<String>,
    /// Convex: the function's path and its outcome.
    pub function: Vec<String>,
    pub function_status: Vec<String>,
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| flatten(s)).collect()
}

/// `response.status` → `response_status`, as decoders flatten keys.
fn flatten(name: &str) -> String {
    name.replace(['.', '-'], "_")
}

impl Default for Roles {
    fn default() -> Self {
        use LatencyUnit::*;
        Roles {
            status: names(&[
                "status",
                "status_code",
                "response_status",
                "response.status",
            ]),
            latency: vec![
                ("latency_ms".into(), Millis),
                ("duration_ms".into(), Millis),
                ("elapsed_ms".into(), Millis),
                ("execution_time_ms".into(), Millis),
                ("request_time".into(), Seconds),
                ("duration".into(), Seconds),
            ],
            route: names(&["route", "path", "endpoint", "function.path", "url"]),
            method: names(&["method"]),
            query: names(&["q", "query"]),
            event: names(&["event", "msg"]),
            level: names(&["level", "severity"]),
            function: names(&["function.path", "function_name", "udfPath"]),
            function_status: names(&["function_status", "status"]),
        }
    }
}

/// A `--field` override that names no known role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RoleError(pub String);

impl Roles {
    /// Applies `role=name` overrides: the named field becomes the only
    /// candidate for that role. A latency field may say its unit with a
    /// suffix: `latency=duration:s` (seconds) or `:ms`.
    pub fn apply_overrides(&mut self, overrides: &[String]) -> Result<(), RoleError> {
        for o in overrides {
            let (role, name) = o.split_once('=').ok_or_else(|| {
                RoleError(format!(
                    "--field {o:?}: expected ROLE=NAME, e.g. status=status_code"
                ))
            })?;
            let name = name.trim();
            if name.is_empty() {
                return Err(RoleError(format!("--field {o:?}: the field name is empty")));
            }
            let one = vec![flatten(name)];
            match role.trim() {
                "status" => self.status = one,
                "latency" => {
                    let (n, unit) = match name.rsplit_once(':') {
                        Some((n, "s")) => (n, LatencyUnit::Seconds),
                        Some((n, "ms")) => (n, LatencyUnit::Millis),
                        Some((_, u)) => {
                            return Err(RoleError(format!(
                                "--field {o:?}: unknown latency unit {u:?} (use :ms or :s)"
                            )))
                        }
                        None if name.ends_with("_ms") => (name, LatencyUnit::Millis),
                        None => (name, LatencyUnit::Millis),
                    };
                    self.latency = vec![(flatten(n), unit)];
                }
                "route" => self.route = one,
                "method" => self.method = one,
                "query" => self.query = one,
                "event" => self.event = one,
                "level" => self.level = one,
                "function" => self.function = one,
                other => {
                    return Err(RoleError(format!(
                        "--field {o:?}: unknown role {other:?} (roles: status, latency, route, method, query, event, level, function)"
                    )))
                }
            }
        }
        Ok(())
    }

    /// Every field name any role may read (what decoders must extract).
    pub fn all_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .status
            .iter()
            .chain(self.route.iter())
            .chain(self.method.iter())
            .chain(self.query.iter())
            .chain(self.event.iter())
            .chain(self.level.iter())
            .chain(self.function.iter())
            .chain(self.function_status.iter())
            .cloned()
            .chain(self.latency.iter().map(|(n, _)| n.clone()))
            // Convex's event kind: only `function_execution` events count
            // as executions.
            .chain(std::iter::once("topic".to_string()))
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_flatten_dotted_names() {
        let r = Roles::default();
        assert!(r.status.contains(&"response_status".to_string()));
        assert!(r.route.contains(&"function_path".to_string()));
    }

    #[test]
    fn overrides() {
        let mut r = Roles::default();
        r.apply_overrides(&["status=code".into(), "latency=took:s".into()])
            .unwrap();
        assert_eq!(r.status, vec!["code"]);
        assert_eq!(r.latency, vec![("took".to_string(), LatencyUnit::Seconds)]);
        assert!(r.apply_overrides(&["nope=x".into()]).is_err());
        assert!(r.apply_overrides(&["status".into()]).is_err());
        assert!(r.apply_overrides(&["latency=x:h".into()]).is_err());
        let e = r.apply_overrides(&["status".into()]).unwrap_err();
        let want = "--field \"status\": expected ROLE=NAME, e.g. status=status_code";
        assert_eq!(e.to_string(), want);
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert_eq!(boxed.to_string(), want);
    }
}
