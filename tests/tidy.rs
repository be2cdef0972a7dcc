//! The tidy test: the workspace's conventions, checked over the whole tree (see the rules in
//! `src/lib.rs`, each unit-tested with a planted violation). Runs in `cargo test --workspace`.

#![allow(clippy::unwrap_used)] // a test: a file it cannot read fails it

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every package folder: `crates/*`, `bins/*`, `tests` and `tests/embedder`.
fn package_dirs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for group in ["crates", "bins"] {
        let mut dirs: Vec<PathBuf> = fs::read_dir(root().join(group))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("Cargo.toml").exists())
            .collect();
        dirs.sort();
        out.extend(dirs);
    }
    out.push(root().join("tests"));
    out.push(root().join("tests/embedder"));
    out
}

fn manifest(dir: &Path) -> toml::Table {
    fs::read_to_string(dir.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap()
}

fn name_of(dir: &Path) -> String {
    manifest(dir)["package"]["name"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

/// The production sources of every crate and binary: `(path from the root, text)`.
fn sources() -> Vec<(String, String)> {
    package_dirs()
        .iter()
        .filter(|d| !d.ends_with("tests"))
        .flat_map(|d| rust_files(&d.join("src")))
        .map(|p| (relative(&p), fs::read_to_string(&p).unwrap()))
        .collect()
}

fn check(rule: &str, found: Vec<String>) {
    assert!(
        found.is_empty(),
        "{rule}:\n  {}\n(see tests/src/lib.rs for the rule)",
        found.join("\n  ")
    );
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let mut found = Vec::new();
    for dir in package_dirs() {
        let src = dir.join("src");
        let Ok(entries) = fs::read_dir(&src) else {
            continue;
        };
        let mut modules: Vec<(String, String)> = Vec::new();
        for e in entries {
            let path = e.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            if stem == "lib" || stem == "main" {
                continue;
            }
            let text = if path.is_dir() {
                rust_files(&path)
                    .iter()
                    .map(|p| fs::read_to_string(p).unwrap())
                    .collect::<Vec<_>>()
                    .join("\n")
            } else if path.extension().is_some_and(|x| x == "rs") {
                fs::read_to_string(&path).unwrap()
            } else {
                continue;
            };
            modules.push((stem, text));
        }
        let refs: Vec<(&str, &str)> = modules
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        for cycle in tests::cycles(&refs) {
            found.push(format!("{}: {cycle}", relative(&dir)));
        }
    }
    check("module cycles", found);
}

/// ARCHITECTURE.md's layering, bottom = 0.
fn layers() -> BTreeMap<&'static str, u32> {
    BTreeMap::from([
        ("salesloft-model", 0),
        ("salesloft-client", 1),
        ("salesloft-storage", 1),
        ("salesloft-jobs", 2),
        ("salesloft-sandbox", 2),
        ("salesloft-services", 3),
        ("salesloft-webhooks", 4),
        ("salesloft-runtime", 5),
        ("salesloft-config", 6),
        ("salesloft-sandbox-bin", 6),
        ("salesloft-worker", 7),
        ("salesloft-server", 7),
        ("salesloft", 7),
        ("tests", 8),
        ("embedder", 8),
    ])
}

/// What the embedder service may depend on: the libraries an embedder takes from crates.io
/// (not the runtime the binaries share, nothing under `bins/`).
const PUBLISHED_LIBRARIES: &[&str] = &[
    "salesloft-model",
    "salesloft-client",
    "salesloft-storage",
    "salesloft-jobs",
    "salesloft-services",
    "salesloft-webhooks",
];

#[test]
fn crates_depend_only_on_layers_below_and_bins_only_on_the_config() {
    let layers = layers();
    let architecture = fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut found = Vec::new();
    let mut deps = Vec::new();
    for dir in package_dirs() {
        let name = name_of(&dir);
        if !architecture.contains(name.as_str()) && name != "tests" && name != "embedder" {
            found.push(format!("{name} is not in ARCHITECTURE.md"));
        }
        let on: Vec<String> = manifest(&dir)
            .get("dependencies")
            .and_then(|d| d.as_table())
            .map(|t| {
                t.keys()
                    .filter(|k| layers.contains_key(k.as_str()))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if name == "embedder" {
            // The embedder service proves the libraries alone suffice.
            for dep in on
                .iter()
                .filter(|d| !PUBLISHED_LIBRARIES.contains(&d.as_str()))
            {
                found.push(format!(
                    "embedder depends on {dep}: only on the published libraries"
                ));
            }
        }
        if relative(&dir).starts_with("bins/") {
            for dep in &on {
                let is_bin = package_dirs()
                    .iter()
                    .any(|d| relative(d).starts_with("bins/") && name_of(d) == *dep);
                if is_bin && dep != "salesloft-config" {
                    found.push(format!(
                        "{name} (bins/) depends on {dep}: only on salesloft-config"
                    ));
                }
            }
        }
        deps.push((name, on));
    }
    let refs: Vec<(&str, Vec<String>)> =
        deps.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    found.extend(tests::layering(&layers, &refs));
    check("layering", found);
}

#[test]
fn no_helper_is_defined_twice() {
    let sources = sources();
    let refs: Vec<(&str, &str)> = sources
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    check("duplicate helpers", tests::duplicate_helpers(&refs));
}

#[test]
fn packages_are_named_as_their_folders() {
    let pairs: Vec<(String, String)> = package_dirs()
        .iter()
        .map(|d| {
            (
                d.file_name().unwrap().to_string_lossy().into_owned(),
                name_of(d),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(f, n)| (f.as_str(), n.as_str()))
        .collect();
    check("package names", tests::misnamed_packages(&refs));
}

/// The functions over 80 lines and files over 800 that stay so, each with its reason and its
/// size: the list only shrinks, and none of them may grow.
const LONG: &[(&str, usize, &str)] = &[(
    "crates/salesloft-sandbox/src/generate/people.rs::people",
    146,
    "one struct literal of a person's 60 fields, drawn in the order a seed replays",
)];

#[test]
fn functions_and_files_stay_short() {
    let sources = sources();
    let refs: Vec<(&str, &str)> = sources
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let allowed: BTreeMap<String, usize> =
        LONG.iter().map(|(k, n, _)| ((*k).to_owned(), *n)).collect();
    for (item, _, why) in LONG {
        assert!(why.len() >= 20, "{item}: say why it stays long");
    }
    check(
        "long functions and files",
        tests::long_items(&refs, 80, 800, &allowed),
    );
}

#[test]
fn errors_keep_their_causes() {
    let sources = sources();
    let refs: Vec<(&str, &str)> = sources
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    check(
        "errors that keep a cause as text",
        tests::stringly_errors(&refs),
    );
}
