//! The workspace's conventions as checks a test runs (`tests/tidy.rs`): each rule is a pure
//! function over file contents, unit-tested here with a planted violation, and run over the
//! whole tree by the tidy test. A rule returns its violations as readable lines.
//!
//! ```
//! let found = tests::cycles(&[("a", "use crate::b::X;"), ("b", "use crate::a::Y;")]);
//! assert_eq!(found, ["module cycle: a -> b -> a"]);
//! ```

use std::collections::{BTreeMap, BTreeSet};

/// `source` without its test code: each `#[cfg(test)]` module (to its closing brace at the
/// same indentation) and each other `#[cfg(test)]` item's line.
pub fn production(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "#[cfg(test)]" {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let Some(item) = lines.next() else { break };
        if item.trim_end().ends_with('{') {
            let close = format!("{}}}", " ".repeat(indent));
            for rest in lines.by_ref() {
                if rest.trim_end() == close {
                    break;
                }
            }
        }
    }
    out
}

/// Module cycles among a crate's top-level modules: `modules` is each module's name and its
/// source (all its files joined); an edge is a `crate::<other>` path in production code.
pub fn cycles(modules: &[(&str, &str)]) -> Vec<String> {
    let names: BTreeSet<&str> = modules.iter().map(|(n, _)| *n).collect();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, source) in modules {
        let code = production(source);
        let code = code.as_str();
        for other in &names {
            if other != name && mentions(code, &format!("crate::{other}::")) {
                edges.entry(name).or_default().insert(other);
            }
        }
    }
    let mut found = BTreeSet::new();
    for start in &names {
        let mut path = vec![*start];
        walk(start, start, &edges, &mut path, &mut found);
    }
    found.into_iter().collect()
}

fn mentions(code: &str, needle: &str) -> bool {
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .any(|l| l.contains(needle))
}

fn walk<'a>(
    start: &'a str,
    at: &'a str,
    edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    path: &mut Vec<&'a str>,
    found: &mut BTreeSet<String>,
) {
    for next in edges.get(at).into_iter().flatten() {
        if *next == start {
            // Report each cycle once, from its smallest module.
            if path.iter().all(|m| *m >= start) {
                let mut names = path.clone();
                names.push(start);
                found.insert(format!("module cycle: {}", names.join(" -> ")));
            }
        } else if !path.contains(next) && path.len() < 8 {
            path.push(next);
            walk(start, next, edges, path, found);
            path.pop();
        }
    }
}

/// Where each package stands: a package may depend (normally) only on packages of a lower
/// layer, and a `bins/` package on no other `bins/` package but `salesloft-config`.
/// `layers` maps a package to its layer (ARCHITECTURE.md's drawing, bottom = 0); `deps` is
/// each package's normal dependencies among them.
pub fn layering(layers: &BTreeMap<&str, u32>, deps: &[(&str, Vec<String>)]) -> Vec<String> {
    let mut out = Vec::new();
    for (package, on) in deps {
        let Some(mine) = layers.get(package) else {
            out.push(format!("{package}: not in the layering"));
            continue;
        };
        for dep in on {
            let Some(theirs) = layers.get(dep.as_str()) else {
                continue;
            };
            if theirs >= mine {
                out.push(format!(
                    "{package} (layer {mine}) depends on {dep} (layer {theirs}): only on lower layers"
                ));
            }
        }
    }
    out
}

/// Top-level functions (not methods) defined more than once with the same name and body
/// (whitespace aside), bodies of three lines or more: `files` is each file's path and source.
pub fn duplicate_helpers(files: &[(&str, &str)]) -> Vec<String> {
    let mut seen: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (path, source) in files {
        for f in functions(&production(source)) {
            if f.indent == 0 && f.lines >= 3 {
                let body: String = f.text.split_whitespace().collect::<Vec<_>>().join(" ");
                seen.entry((f.name.clone(), body))
                    .or_default()
                    .push(format!("{path}:{}", f.line));
            }
        }
    }
    seen.into_iter()
        .filter(|(_, at)| at.len() > 1)
        .map(|((name, _), at)| {
            format!(
                "helper `{name}` defined {} times: {}",
                at.len(),
                at.join(", ")
            )
        })
        .collect()
}

/// A function found in a source: where, how long, how indented.
#[derive(Debug)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// Its first line (1-based).
    pub line: usize,
    /// Lines from its signature to its closing brace.
    pub lines: usize,
    /// Spaces before `fn` (0 for a top-level function).
    pub indent: usize,
    /// Its text.
    pub text: String,
}

/// The functions with a body in `source`, found by their signature line and the closing brace
/// at the same indentation (as rustfmt writes them).
pub fn functions(source: &str) -> Vec<Function> {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((indent, name)) = signature(lines[i]) else {
            i += 1;
            continue;
        };
        let mut open = i;
        while open < lines.len() && !lines[open].trim_end().ends_with('{') {
            if lines[open].trim_end().ends_with(';') {
                break;
            }
            open += 1;
        }
        if open >= lines.len() || !lines[open].trim_end().ends_with('{') {
            i = open + 1;
            continue;
        }
        let close = (open + 1..lines.len())
            .find(|&k| {
                lines[k].len() == indent + 1
                    && lines[k].starts_with(&" ".repeat(indent))
                    && lines[k].ends_with('}')
            })
            .unwrap_or(lines.len() - 1);
        out.push(Function {
            name,
            line: i + 1,
            lines: close - i + 1,
            indent,
            text: lines[open + 1..close].join("\n"),
        });
        i = close + 1;
    }
    out
}

fn signature(line: &str) -> Option<(usize, String)> {
    let indent = line.len() - line.trim_start().len();
    let mut words = line.split_whitespace().peekable();
    while let Some(w) = words.peek() {
        if *w == "pub"
            || w.starts_with("pub(")
            || ["async", "const", "unsafe", "extern"].contains(w)
        {
            words.next();
        } else {
            break;
        }
    }
    if words.next()? != "fn" {
        return None;
    }
    let name: String = words
        .next()?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some((indent, name))
}

/// Production functions over `max_fn` lines and files over `max_file` lines, unless allowed
/// (`allowed` maps `path` or `path::function` to the most lines it may have: the list only
/// shrinks).
pub fn long_items(
    files: &[(&str, &str)],
    max_fn: usize,
    max_file: usize,
    allowed: &BTreeMap<String, usize>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut sizes = BTreeMap::new();
    for (path, source) in files {
        let code = production(source);
        let file_lines = source.lines().count();
        sizes.insert((*path).to_owned(), file_lines);
        let file_cap = allowed.get(*path).copied().unwrap_or(max_file);
        if file_lines > file_cap {
            out.push(format!("{path}: {file_lines} lines (at most {file_cap})"));
        }
        for f in functions(&code) {
            let key = format!("{path}::{}", f.name);
            sizes.insert(key.clone(), f.lines);
            let cap = allowed.get(&key).copied().unwrap_or(max_fn);
            if f.lines > cap {
                out.push(format!(
                    "{key} (line {}): {} lines (at most {cap})",
                    f.line, f.lines
                ));
            }
        }
    }
    // The list only shrinks: an entry that is gone, within the limit, or under its cap says so.
    for (key, cap) in allowed {
        let limit = if key.contains("::") { max_fn } else { max_file };
        match sizes.get(key) {
            None => out.push(format!(
                "{key}: listed, but not found: remove it from the list"
            )),
            Some(&n) if n <= limit => out.push(format!(
                "{key}: {n} lines, within the limit now: remove it from the list"
            )),
            Some(&n) if n < *cap => out.push(format!(
                "{key}: {n} lines now: lower its cap from {cap} to {n}"
            )),
            Some(_) => {}
        }
    }
    out
}

/// Public error variants that keep a cause as text: a `String` field named `reason`, `error`,
/// `cause` or `source`, or a `(String)` variant named for a failing part (`Unavailable`,
/// `Io`, `Storage`, `Database`, `Transport`, `Metrics`), in an `enum` whose name ends in
/// `Error` or is `Refusal`.
pub fn stringly_errors(files: &[(&str, &str)]) -> Vec<String> {
    const PARTS: &[&str] = &[
        "Unavailable",
        "Io",
        "Storage",
        "Database",
        "Transport",
        "Metrics",
    ];
    let mut out = Vec::new();
    for (path, source) in files {
        let code = production(source);
        let mut in_error_enum = false;
        for (n, line) in code.lines().enumerate() {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix("pub enum ") {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
                in_error_enum = name.ends_with("Error") || name == "Refusal";
                continue;
            }
            if !in_error_enum {
                continue;
            }
            if line == "}" {
                in_error_enum = false;
                continue;
            }
            for field in ["reason", "error", "cause", "source"] {
                if t == format!("{field}: String,") {
                    out.push(format!(
                        "{path}:{}: a cause kept as text (`{t}`): keep the error",
                        n + 1
                    ));
                }
            }
            for part in PARTS {
                if t == format!("{part}(String),") {
                    out.push(format!(
                        "{path}:{}: a cause kept as text (`{t}`): keep the error",
                        n + 1
                    ));
                }
            }
        }
    }
    out
}

/// Packages whose name is not their folder's.
pub fn misnamed_packages(packages: &[(&str, &str)]) -> Vec<String> {
    packages
        .iter()
        .filter(|(folder, name)| folder != name)
        .map(|(folder, name)| format!("package {name} lives in folder {folder}: name them alike"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_modules_are_left_out_wherever_they_are() {
        let source = "fn a() {}\n#[cfg(test)]\nmod tests {\n    fn t() {}\n}\nfn b() {}\n#[cfg(test)]\nuse x::Y;\nfn c() {}\n";
        assert_eq!(production(source), "fn a() {}\nfn b() {}\nfn c() {}\n");
    }

    #[test]
    fn a_planted_module_cycle_is_found_once() {
        let found = cycles(&[
            ("a", "use crate::b::X;"),
            ("b", "fn f() { crate::c::g() }"),
            ("c", "use crate::a::{Y, Z};"),
            ("d", "use crate::a::Y;\n#[cfg(test)]\nuse crate::d::T;"),
        ]);
        assert_eq!(found, ["module cycle: a -> b -> c -> a"]);
        assert!(cycles(&[("a", "use crate::b::X;"), ("b", "// crate::a::Y\n")]).is_empty());
    }

    #[test]
    fn a_planted_upward_dependency_is_found() {
        let layers = BTreeMap::from([("model", 0), ("client", 1), ("storage", 1)]);
        let deps = vec![
            ("client", vec!["model".to_owned()]),
            ("storage", vec!["model".to_owned(), "client".to_owned()]),
        ];
        assert_eq!(
            layering(&layers, &deps),
            ["storage (layer 1) depends on client (layer 1): only on lower layers"]
        );
    }

    #[test]
    fn a_planted_duplicate_helper_is_found() {
        let helper =
            "fn now_ms() -> i64 {\n    let t = clock();\n    t.millis()\n        .max(0)\n}\n";
        let other = "fn now_ms() -> i64 {\n    0\n}\n";
        let found = duplicate_helpers(&[("a.rs", helper), ("b.rs", helper), ("c.rs", other)]);
        assert_eq!(found, ["helper `now_ms` defined 2 times: a.rs:1, b.rs:1"]);
    }

    #[test]
    fn planted_long_functions_and_files_are_found_unless_allowed() {
        let mut long = String::from("fn long() {\n");
        for _ in 0..81 {
            long.push_str("    step();\n");
        }
        long.push_str("}\n");
        let files = [("a.rs", long.as_str())];
        assert_eq!(
            long_items(&files, 80, 800, &BTreeMap::new()),
            ["a.rs::long (line 1): 83 lines (at most 80)"]
        );
        let allowed = BTreeMap::from([("a.rs::long".to_owned(), 83)]);
        assert!(long_items(&files, 80, 800, &allowed).is_empty());
        assert_eq!(
            long_items(&files, 80, 50, &allowed),
            ["a.rs: 83 lines (at most 50)"]
        );
        // The list only shrinks.
        let loose = BTreeMap::from([("a.rs::long".to_owned(), 90)]);
        assert_eq!(
            long_items(&files, 80, 800, &loose),
            ["a.rs::long: 83 lines now: lower its cap from 90 to 83"]
        );
        let gone = BTreeMap::from([("a.rs::short".to_owned(), 90)]);
        assert_eq!(
            long_items(&files, 80, 800, &gone)[1],
            "a.rs::short: listed, but not found: remove it from the list"
        );
        assert_eq!(
            long_items(&files, 90, 800, &allowed),
            ["a.rs::long: 83 lines, within the limit now: remove it from the list"]
        );
    }

    #[test]
    fn a_planted_stringly_error_is_found() {
        let source = "pub enum Refusal {\n    Unavailable(String),\n}\npub enum StoreError {\n    Stopped {\n        reason: String,\n    },\n    Config(String),\n}\npub enum Kind {\n    Io(String),\n}\n";
        let found = stringly_errors(&[("e.rs", source)]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("e.rs:2:"), "{found:?}");
        assert!(found[1].starts_with("e.rs:6:"), "{found:?}");
    }

    #[test]
    fn a_planted_misnamed_package_is_found() {
        assert_eq!(
            misnamed_packages(&[("salesloft-sandbox", "salesloft-sandbox-bin"), ("x", "x")]),
            ["package salesloft-sandbox-bin lives in folder salesloft-sandbox: name them alike"]
        );
    }
}
