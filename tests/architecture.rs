//! The tree as the architecture says: inside each package (`controller`, `discovery`, `okta`) no module
//! refers to another that refers back (directly or round a longer circle), so each part can be read and
//! tested on its own; the controller's shared helpers are leaves. A reference is any `super::x` or
//! `crate::<package>::x` path outside a file's test module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The module path of a file below src/controller ("" for the controller itself).
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> =
        relative.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn files(dir: &Path, root: &Path, out: &mut Vec<(Vec<String>, String)>) {
    for entry in std::fs::read_dir(dir).expect("read src/controller") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("read a module");
            // Test modules may reach anywhere.
            let product = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default().to_string();
            let relative = path.strip_prefix(root).expect("below the root");
            if relative.file_name().is_some_and(|f| f == "tests.rs") {
                continue;
            }
            out.push((module_of(relative), product));
        }
    }
}

/// Identifiers following `prefix` in `text`, as paths (`a::b::c` → ["a", "b", "c"]).
fn paths_after<'a>(text: &'a str, prefix: &'a str) -> impl Iterator<Item = Vec<String>> + 'a {
    text.match_indices(prefix).map(move |(i, _)| {
        let rest = &text[i + prefix.len()..];
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
        rest[..end].split("::").filter(|s| !s.is_empty()).map(str::to_string).collect()
    })
}

/// The longest known module that `path` (from the controller's root) names.
fn resolve(path: &[String], known: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| known.contains(p))
}

fn graph(package: &str) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(package);
    let absolute = format!("crate::{package}::");
    let mut all = Vec::new();
    files(&root, &root, &mut all);
    let known: BTreeSet<Vec<String>> = all.iter().map(|(m, _)| m.clone()).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, text) in &all {
        let is_dir_module = known.iter().any(|k| k.len() > module.len() && k.starts_with(module));
        let mut targets: Vec<Vec<String>> = paths_after(text, &absolute).collect();
        for rel in paths_after(text, "super::") {
            // `super` of a file module is its parent; of a directory's mod.rs, the grandparent.
            let mut base = module.clone();
            if !is_dir_module {
                base.pop();
            } else if base.pop().is_none() {
                continue;
            }
            let ups = rel.iter().take_while(|s| *s == "super").count();
            for _ in 0..ups {
                base.pop();
            }
            base.extend(rel.into_iter().skip(ups));
            targets.push(base);
        }
        let from = edges.entry(module.clone()).or_default();
        for target in targets {
            if let Some(to) = resolve(&target, &known).filter(|t| t != module) {
                from.insert(to);
            }
        }
    }
    edges
}

/// A cycle through `start`, if any (depth-first search).
fn cycle_from(start: &Vec<String>, edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<Vec<String>>> {
    let mut stack = vec![(start.clone(), vec![start.clone()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in edges.get(&node).into_iter().flatten() {
            if next == start {
                return Some(path.clone());
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_module_in_a_package_refers_back_to_one_that_refers_to_it() {
    for package in ["controller", "discovery", "okta"] {
        let edges = graph(package);
        assert!(edges.len() > 10, "the {package} modules were found: {:?}", edges.keys());
        let name = |m: &Vec<String>| if m.is_empty() { package.to_string() } else { m.join("::") };
        let cycles: Vec<String> = edges
            .keys()
            .filter_map(|m| cycle_from(m, &edges))
            .map(|c| c.iter().map(name).collect::<Vec<_>>().join(" → "))
            .collect();
        assert!(cycles.is_empty(), "import cycles in src/{package}:\n{}", cycles.join("\n"));
    }
}

/// The helpers every step uses: they import nothing from the controller but one another.
const HELPERS: [&str; 9] =
    ["shared", "conditions", "events", "leader", "fence", "membership", "checkpoint_key", "tracker", "error"];

#[test]
fn the_shared_helpers_import_nothing_from_the_controller_but_each_other() {
    let edges = graph("controller");
    for helper in HELPERS {
        let deps = edges.get(&vec![helper.to_string()]).unwrap_or_else(|| panic!("module {helper} exists"));
        let outside: Vec<String> =
            deps.iter().map(|d| d.join("::")).filter(|d| !HELPERS.contains(&d.as_str())).collect();
        assert!(outside.is_empty(), "{helper} imports {outside:?} from the controller");
    }
    for leaf in ["shared", "conditions", "events"] {
        assert_eq!(edges.get(&vec![leaf.to_string()]).map(BTreeSet::len), Some(0), "{leaf} is a leaf");
    }
}
