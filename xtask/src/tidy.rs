//! Tests that keep the tree tidy and the documents true to the code, in the manner of
//! rust-analyzer's `xtask/src/tidy.rs`: every source file opens with module docs, no module
//! imports one that imports it back, the libraries' dependencies point one way, and the crates
//! and dependencies CONTRIBUTING.md and `docs/architecture.md` name are the workspace's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::project_root;

/// The workspace's crates by folder name (`crates/*` and `xtask`), with their folders.
fn crates() -> BTreeMap<String, PathBuf> {
    let root = project_root();
    let mut crates = BTreeMap::new();
    for entry in std::fs::read_dir(root.join("crates")).expect("crates/") {
        let path = entry.expect("an entry").path();
        if path.join("Cargo.toml").is_file() {
            let name = path
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            crates.insert(name, path);
        }
    }
    crates.insert(String::from("xtask"), root.join("xtask"));
    crates
}

/// The `.rs` files below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The names of a manifest's `[dependencies]` (not dev- or build-dependencies).
fn dependencies(manifest: &Path) -> BTreeSet<String> {
    dependencies_in(manifest, &["[dependencies]"])
}

/// The names of the dependencies in the manifest's `tables`.
fn dependencies_in(manifest: &Path, tables: &[&str]) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).expect("a manifest");
    let mut inside = false;
    let mut names = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = tables.contains(&line);
            continue;
        }
        if !inside || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name: String = line
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        names.insert(name);
    }
    names
}

#[test]
fn every_source_file_opens_with_module_docs() {
    let mut bare = Vec::new();
    for dir in crates().values() {
        for file in rust_files(&dir.join("src")) {
            let text = std::fs::read_to_string(&file).expect("a source file");
            if !text.starts_with("//!") {
                bare.push(file);
            }
        }
    }
    assert!(bare.is_empty(), "files without `//!` docs: {bare:?}");
}

/// A module's path in its crate (`columnar::read`) from its file below `src`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file
        .strip_prefix(src)
        .expect("below src")
        .with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The modules a file imports: `crate::a::b` (and `crate::{a, b}`), `super::x`, and its own
/// children named in `use` lines. Unit tests (`#[cfg(test)] mod tests`) are left out.
fn imports(module: &str, text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let mut found = BTreeSet::new();
    let longest = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").collect();
        (1..=parts.len())
            .rev()
            .map(|k| parts[..k].join("::"))
            .find(|m| modules.contains(m))
    };
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect()
    };
    for (prefix, base) in [("crate::", String::new()), ("super::", parent.to_owned())] {
        for piece in code.split(prefix).skip(1) {
            let within = |path: &str| {
                if base.is_empty() {
                    path.to_owned()
                } else {
                    format!("{base}::{path}")
                }
            };
            if let Some(group) = piece.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or_default();
                for item in group.split(',') {
                    found.extend(longest(&within(&word(item.trim()))));
                }
            } else {
                found.extend(longest(&within(&word(piece))));
            }
        }
    }
    for line in code.lines().map(str::trim_start) {
        let line = line.strip_prefix("pub ").unwrap_or(line);
        let line = line.strip_prefix("pub(crate) ").unwrap_or(line);
        if let Some(rest) = line.strip_prefix("use ") {
            let child = word(rest);
            let child = child.split("::").next().unwrap_or_default();
            let path = if module.is_empty() {
                child.to_owned()
            } else {
                format!("{module}::{child}")
            };
            if modules.contains(&path) {
                found.insert(path);
            }
        }
    }
    found.remove(module);
    found.remove("");
    found
}

/// The modules of `src` that import each other, directly or through others: each cycle's
/// modules (Tarjan's strongly connected components of more than one module).
fn cycles(src: &Path) -> Vec<Vec<String>> {
    let files = rust_files(src);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(src, f)).collect();
    let graph: BTreeMap<String, BTreeSet<String>> = files
        .iter()
        .map(|f| {
            let module = module_of(src, f);
            let text = std::fs::read_to_string(f).expect("a source file");
            let edges = imports(&module, &text, &modules);
            (module, edges)
        })
        .collect();
    let names: Vec<&String> = graph.keys().collect();
    let index_of: BTreeMap<&String, usize> =
        names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut state = Tarjan {
        index: vec![None; names.len()],
        low: vec![0; names.len()],
        stack: Vec::new(),
        on_stack: vec![false; names.len()],
        next: 0,
        components: Vec::new(),
    };
    let edges: Vec<Vec<usize>> = names
        .iter()
        .map(|n| {
            graph[*n]
                .iter()
                .filter_map(|m| index_of.get(m).copied())
                .collect()
        })
        .collect();
    for v in 0..names.len() {
        if state.index[v].is_none() {
            state.visit(v, &edges);
        }
    }
    state
        .components
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| c.into_iter().map(|i| names[i].clone()).collect())
        .collect()
}

struct Tarjan {
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    stack: Vec<usize>,
    on_stack: Vec<bool>,
    next: usize,
    components: Vec<Vec<usize>>,
}

impl Tarjan {
    fn visit(&mut self, v: usize, edges: &[Vec<usize>]) {
        self.index[v] = Some(self.next);
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        for &w in &edges[v] {
            match self.index[w] {
                None => {
                    self.visit(w, edges);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(i) if self.on_stack[w] => self.low[v] = self.low[v].min(i),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.components.push(component);
        }
    }
}

#[test]
fn no_module_imports_one_that_imports_it() {
    let mut found = Vec::new();
    for (name, dir) in crates() {
        for cycle in cycles(&dir.join("src")) {
            found.push(format!("{name}: {}", cycle.join(" ↔ ")));
        }
    }
    assert!(found.is_empty(), "import circles: {found:#?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    // The check above cannot pass by finding nothing: a circle written here is found.
    let dir = std::env::temp_dir().join(format!("cali-reg-tidy-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("a")).expect("a scratch folder");
    std::fs::write(src.join("lib.rs"), "//! x\nmod a;\nmod b;\nmod c;\n").expect("lib.rs");
    std::fs::write(src.join("a/mod.rs"), "//! a\nuse crate::{b::X, c};\n").expect("a");
    std::fs::write(src.join("b.rs"), "//! b\nuse crate::a::Y;\n").expect("b");
    std::fs::write(src.join("c.rs"), "//! c\n").expect("c");
    let found = cycles(&src);
    std::fs::remove_dir_all(&dir).expect("cleaned up");
    assert_eq!(found.len(), 1, "{found:?}");
    let mut cycle = found[0].clone();
    cycle.sort();
    assert_eq!(cycle, ["a", "b"]);
}

/// The libraries' arrows point one way.
#[test]
fn libraries_depend_on_neither_the_binary_nor_clap_nor_each_other_backwards() {
    let crates = crates();
    let deps = |name: &str| dependencies(&crates[name].join("Cargo.toml"));
    for library in [
        "quant", "recipe", "linreg", "onnx", "dataset", "pipeline", "serve",
    ] {
        let d = deps(library);
        assert!(
            !d.contains("clap") && !d.contains("cli") && !d.contains("anyhow"),
            "{library}: {d:?}"
        );
    }
    for (library, never) in [
        ("quant", ["linreg", "polars", "dataset"]),
        ("linreg", ["polars", "dataset", "pipeline"]),
        ("onnx", ["polars", "dataset", "pipeline"]),
        ("dataset", ["linreg", "pipeline", "serve"]),
        ("pipeline", ["serve", "polars", "cli"]),
    ] {
        let d = deps(library);
        for n in never {
            assert!(!d.contains(n), "{library} depends on {n}");
        }
    }
}

/// The rows of the table under `header`: each row's first name in backticks (a crate's, as
/// `` [`name`](path) `` or `` `name` ``) and its last cell.
fn table_rows(text: &str, header: &str) -> BTreeMap<String, String> {
    let mut rows = BTreeMap::new();
    let mut lines = text.lines().skip_while(|l| !l.starts_with(header)).skip(1);
    for line in lines.by_ref().take_while(|l| l.starts_with('|')) {
        if line.starts_with("|---") {
            continue;
        }
        let cells: Vec<&str> = line
            .split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let name = cells.first().and_then(|c| c.split('`').nth(1));
        if let (Some(name), Some(last)) = (name, cells.last()) {
            rows.insert(name.to_owned(), (*last).to_owned());
        }
    }
    rows
}

#[test]
fn the_documents_name_the_workspace_crates_and_their_dependencies() {
    let root = project_root();
    let crates = crates();
    let names: BTreeSet<String> = crates.keys().cloned().collect();
    let architecture = std::fs::read_to_string(root.join("docs/architecture.md")).expect("docs");
    let table = table_rows(&architecture, "| crate | owns | depends on |");
    let documented: BTreeSet<String> = table.keys().cloned().collect();
    assert_eq!(documented, names, "docs/architecture.md's crate table");
    let mut wrong = Vec::new();
    for (name, stated) in &table {
        let manifest = dependencies(&crates[name].join("Cargo.toml"));
        // Each internal crate named (in backticks) is a dependency, and each dependency is named.
        for other in &names {
            let named = stated.contains(&format!("`{other}`"));
            if named != manifest.contains(other) {
                let says = if named { "name" } else { "leave out" };
                wrong.push(format!("{name}'s dependencies {says} `{other}`"));
            }
        }
        for dependency in manifest.iter().filter(|d| !names.contains(*d)) {
            if !stated.contains(dependency.as_str()) {
                wrong.push(format!("{name}'s dependencies leave out {dependency}"));
            }
        }
    }
    assert!(wrong.is_empty(), "docs/architecture.md: {wrong:#?}");
    let contributing = std::fs::read_to_string(root.join("CONTRIBUTING.md")).expect("CONTRIBUTING");
    let listed: BTreeSet<String> = table_rows(&contributing, "| crate | what |")
        .into_keys()
        .collect();
    assert_eq!(listed, names, "CONTRIBUTING.md's crate table");
}

/// The README's dependency table names every crate the workspace depends on, tests included.
#[test]
fn the_readme_names_every_dependency() {
    let crates = crates();
    let readme = std::fs::read_to_string(project_root().join("README.md")).expect("README");
    let named: String = readme
        .lines()
        .skip_while(|l| !l.starts_with("| crate | used for |"))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('|').nth(1))
        .collect::<Vec<_>>()
        .join(", ");
    let mut missing = BTreeSet::new();
    for dir in crates.values() {
        let manifest = dir.join("Cargo.toml");
        for dependency in dependencies_in(&manifest, &["[dependencies]", "[dev-dependencies]"]) {
            let word = |w: &str| {
                w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '_') == dependency
            };
            if !crates.contains_key(&dependency) && !named.split_whitespace().any(word) {
                missing.insert(dependency);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the README's dependency table leaves out {missing:?}"
    );
}
