//! The documentation stays true to the repository: every key of a shipped config
//! (`config/*.toml`) has its own row in a table of `docs/configuration.md`; every relative link in
//! `README.md`, `BENCHMARKS.md` and `docs/*.md` leads to a file that exists, and to a heading
//! that exists when it names one; every repository path written in a code span exists; every
//! command of the binary is named in the README and every flag of it is in its docs page; and
//! the README stays short enough to read in five minutes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The README's length budget, in lines.
const README_MAX_LINES: usize = 200;

/// Top-level folders whose paths, written in a code span, must name something that exists.
const REPO_ROOTS: &[&str] = &[
    "src/",
    "tests/",
    "config/",
    "benches/",
    "scripts/",
    "fixtures/",
    "docs/",
    ".cargo/",
    ".ci/",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path inside the repository, as the repository names it.
fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Files with the given extension directly inside `dir`, sorted.
fn files_in(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

/// README.md, BENCHMARKS.md and every page of docs/.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md"), root().join("BENCHMARKS.md")];
    let docs = files_in(&root().join("docs"), "md");
    assert!(
        docs.len() >= 8,
        "docs/ should hold a page per command family plus architecture and configuration, found {docs:?}"
    );
    files.extend(docs);
    files
}

/// The dotted path of every value in `table`, and of every empty table (a section shipped with
/// nothing set in it is a key of its own).
fn dotted_keys(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(t) if !t.is_empty() => dotted_keys(&path, t, out),
            _ => out.push(path),
        }
    }
}

/// The lines of a Markdown file outside fenced code blocks, with their line numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut in_fence = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            out.push((i + 1, line));
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of every heading of a Markdown file.
fn anchors(text: &str) -> BTreeSet<String> {
    prose_lines(text)
        .into_iter()
        .filter_map(|(_, line)| {
            let hashes = line.len() - line.trim_start_matches('#').len();
            (1..=6)
                .contains(&hashes)
                .then(|| line[hashes..].strip_prefix(' '))
                .flatten()
                .map(slug)
        })
        .collect()
}

/// The targets of the inline links `[text](target)` of one line.
fn link_targets(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        match after.find(')') {
            Some(j) => {
                out.push(after[..j].trim());
                rest = &after[j + 1..];
            }
            None => break,
        }
    }
    out
}

/// The contents of the code spans of one line.
fn code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

#[test]
fn every_shipped_config_key_is_in_configuration_md() {
    let doc = read(&root().join("docs/configuration.md"));
    let configs = files_in(&root().join("config"), "toml");
    assert!(
        configs.len() >= 7,
        "expected the shipped configs in config/, found {configs:?}"
    );
    let mut missing = Vec::new();
    let mut checked = 0;
    for file in &configs {
        let table: toml::Table = read(file)
            .parse()
            .unwrap_or_else(|e| panic!("{} is not valid TOML: {e}", file.display()));
        let mut keys = Vec::new();
        dotted_keys("", &table, &mut keys);
        assert!(!keys.is_empty(), "{} sets no key", file.display());
        for key in keys {
            checked += 1;
            if !doc.contains(&format!("\n| `{key}` |")) {
                missing.push(format!("{}: `{key}`", rel(file)));
            }
        }
    }
    assert!(checked > 100, "only {checked} keys found in config/");
    assert!(
        missing.is_empty(),
        "keys of shipped configs without a row in docs/configuration.md (`| `dotted.path` | type | default | meaning |`):\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn relative_links_lead_to_existing_files_and_headings() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let text = read(&file);
        let dir = file.parent().expect("a file has a folder");
        for (n, line) in prose_lines(&text) {
            for target in link_targets(line) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (path, anchor) = match target.split_once('#') {
                    Some((p, a)) => (p, Some(a)),
                    None => (target, None),
                };
                let dest = if path.is_empty() {
                    file.clone()
                } else {
                    dir.join(path)
                };
                let at = format!("{}:{n}: ({target})", rel(&file));
                if !dest.exists() {
                    broken.push(format!("{at}: no file {}", rel(&dest)));
                    continue;
                }
                if let Some(anchor) = anchor
                    && dest.extension().is_some_and(|x| x == "md")
                    && !anchors(&read(&dest)).contains(anchor)
                {
                    broken.push(format!("{at}: no heading #{anchor} in {}", rel(&dest)));
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} relative links found");
    assert!(
        broken.is_empty(),
        "broken links:\n  {}",
        broken.join("\n  ")
    );
}

#[test]
fn repository_paths_in_code_spans_exist() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let text = read(&file);
        for (n, line) in prose_lines(&text) {
            for span in code_spans(line) {
                for token in span.split(|c: char| c.is_whitespace() || ",()\"'=".contains(c)) {
                    let token = token.trim_end_matches(['.', ':', ';']);
                    if !REPO_ROOTS.iter().any(|r| token.starts_with(r))
                        || token.contains(['*', '<', '…', '$', '{'])
                    {
                        continue;
                    }
                    checked += 1;
                    if !root().join(token).exists() {
                        missing.push(format!("{}:{n}: `{token}`", rel(&file)));
                    }
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} repository paths found");
    assert!(
        missing.is_empty(),
        "paths named in the docs that do not exist in the repository:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn readme_is_short() {
    let lines = read(&root().join("README.md")).lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, more than {README_MAX_LINES}: move detail into docs/"
    );
}

#[test]
fn slugs_follow_github() {
    assert_eq!(
        slug("`polyarb order place`, `cancel`, `list`"),
        "polyarb-order-place-cancel-list"
    );
    assert_eq!(slug("Live trading (`[trading]`)"), "live-trading-trading");
    assert_eq!(slug("Storage layout"), "storage-layout");
}

/// The docs page of each top-level command.
const COMMAND_PAGES: &[(&str, &str)] = &[
    ("demo", "docs/demo.md"),
    ("feed", "docs/demo.md"),
    ("flood", "docs/demo.md"),
    ("replay", "docs/replay.md"),
    ("synth", "docs/replay.md"),
    ("order", "docs/order.md"),
    ("catalog", "docs/catalog.md"),
    ("db", "docs/db.md"),
    ("venue", "docs/venue.md"),
    ("config", "docs/configuration.md"),
    ("chain", "docs/chain.md"),
    ("ctf", "docs/chain.md"),
    ("risk", "docs/risk.md"),
    ("status", "docs/operations.md"),
];

/// `polyarb <args> --help`.
fn help(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_polyarb"))
        .args(args)
        .arg("--help")
        .output()
        .expect("run polyarb --help");
    assert!(out.status.success(), "polyarb {args:?} --help failed");
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The subcommands listed under `Commands:` in a help text (`help` left out).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// The long flags listed under `Options:` in a help text (the global ones left out).
fn flags(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Options:"))
        .filter_map(|l| {
            let t = l.trim_start();
            let t = t
                .strip_prefix("-")
                .and_then(|r| r.split_once(", "))
                .map_or(t, |(_, r)| r);
            t.strip_prefix("--").map(|r| {
                r.split([' ', '.', '<'])
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
        })
        .filter(|f| !["help", "version", "verbose"].contains(&f.as_str()))
        .map(|f| format!("--{f}"))
        .collect()
}

#[test]
fn every_command_is_in_the_readme_and_every_flag_in_its_page() {
    // `polyarb demo --help` and the other venue-backed commands' help come from polyarb-venue.
    testkit::bins::polyarb_venue();
    let readme = read(&root().join("README.md"));
    let mut missing = Vec::new();
    let mut flags_checked = 0;
    // (command path, docs page)
    let mut todo: Vec<(Vec<String>, String)> = Vec::new();
    for top in subcommands(&help(&[])) {
        match COMMAND_PAGES.iter().find(|(c, _)| *c == top) {
            Some((_, page)) => todo.push((vec![top], (*page).to_string())),
            None => missing.push(format!(
                "`polyarb {top}` has no docs page: write one and add it to COMMAND_PAGES"
            )),
        }
    }
    while let Some((path, page)) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        // Named in full (`polyarb db import`), or as a sibling after its parent: `polyarb order
        // place`, `cancel`.
        let full = path.join(" ");
        let (name, parent) = path.split_last().expect("a command path is not empty");
        let named = readme.contains(&format!("`polyarb {full}"))
            || (!parent.is_empty()
                && readme.contains(&format!("`polyarb {}", parent.join(" ")))
                && readme.contains(&format!("`{name}`")));
        if !named {
            missing.push(format!("README.md does not name `polyarb {full}`"));
        }
        let doc = read(&root().join(&page));
        for flag in flags(&text) {
            flags_checked += 1;
            if !doc.contains(&format!("`{flag}")) {
                missing.push(format!("{page} lacks `{flag}` of `polyarb {full}`"));
            }
        }
        for sub in subcommands(&text) {
            let mut p = path.clone();
            p.push(sub);
            todo.push((p, page.clone()));
        }
    }
    assert!(
        flags_checked > 60,
        "only {flags_checked} flags found in --help"
    );
    assert!(
        missing.is_empty(),
        "commands and flags missing from the docs:\n  {}",
        missing.join("\n  ")
    );
}

/// Top-level modules of `src/` left out of the layering check: `cli` (the command line, above
/// everything). The venue double is a crate of its own (`venue/`).
const LAYERING_EXEMPT: &[&str] = &["cli"];

/// Every `.rs` file under `dir`, recursively.
fn rust_files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
    {
        let p = e.expect("directory entry").path();
        if p.is_dir() {
            rust_files_under(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules a line names through `crate::<module>` or `crate::{<module>, ..}`;
/// comment lines name nothing.
fn crate_modules_named(line: &str) -> Vec<String> {
    let t = line.trim_start();
    if t.starts_with("//") {
        return Vec::new();
    }
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    for (i, _) in line.match_indices("crate::") {
        if i > 0 {
            let before = line.as_bytes()[i - 1];
            if before.is_ascii_alphanumeric() || before == b'_' {
                continue; // a longer word: not this crate
            }
        }
        let rest = &line[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Only the group's top level names modules of the crate.
            let mut depth = 0;
            let mut at_item = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => at_item = true,
                    c if at_item && depth == 0 && !c.is_whitespace() => {
                        out.push(ident(&group[j..]));
                        at_item = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest));
        }
    }
    out
}

/// `src/`'s top-level modules form layers: no module reaches itself through `crate::` paths, so
/// each can be read, tested and moved with only what is below it.
#[test]
fn top_level_modules_have_no_import_cycles() {
    let src = root().join("src");
    let mut modules: std::collections::BTreeMap<String, Vec<PathBuf>> = Default::default();
    for e in std::fs::read_dir(&src).expect("src/ lists") {
        let p = e.expect("directory entry").path();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if LAYERING_EXEMPT.contains(&name.as_str()) {
            continue;
        }
        if p.is_dir() {
            let mut files = Vec::new();
            rust_files_under(&p, &mut files);
            modules.insert(name, files);
        } else if p.extension().is_some_and(|x| x == "rs")
            && !["lib", "main", "build"].contains(&name.as_str())
        {
            modules.insert(name, vec![p]);
        }
    }
    assert!(
        modules.len() >= 8,
        "expected the engine's modules under src/, found {:?}",
        modules.keys()
    );
    // module -> (module it names -> first file that names it)
    let mut edges: std::collections::BTreeMap<&str, std::collections::BTreeMap<String, PathBuf>> =
        Default::default();
    for (m, files) in &modules {
        let out = edges.entry(m.as_str()).or_default();
        for f in files {
            for line in read(f).lines() {
                for d in crate_modules_named(line) {
                    if d != *m && modules.contains_key(&d) {
                        out.entry(d).or_insert_with(|| f.clone());
                    }
                }
            }
        }
    }
    let reaches = |from: &str, to: &str| -> Option<Vec<String>> {
        // Breadth-first, so the path reported is a shortest one.
        let mut prev: std::collections::BTreeMap<String, String> = Default::default();
        let mut queue = std::collections::VecDeque::from([from.to_string()]);
        while let Some(x) = queue.pop_front() {
            for y in edges.get(x.as_str()).into_iter().flat_map(|e| e.keys()) {
                if y == to {
                    let mut path = vec![to.to_string(), x.clone()];
                    let mut at = x.clone();
                    while let Some(p) = prev.get(&at) {
                        path.push(p.clone());
                        at = p.clone();
                    }
                    path.reverse();
                    return Some(path);
                }
                if y != from && !prev.contains_key(y) {
                    prev.insert(y.clone(), x.clone());
                    queue.push_back(y.clone());
                }
            }
        }
        None
    };
    let mut cycles = Vec::new();
    for (m, out) in &edges {
        for (d, file) in out {
            if let Some(back) = reaches(d, m) {
                cycles.push(format!(
                    "{m} -> {d} ({}), and back: {}",
                    rel(file),
                    back.join(" -> ")
                ));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles between top-level modules of src/:\n  {}",
        cycles.join("\n  ")
    );
}

#[test]
fn crate_paths_are_read_from_uses_and_groups() {
    assert_eq!(crate_modules_named("use crate::book::Books;"), ["book"]);
    assert_eq!(
        crate_modules_named("use crate::{core::Price, storage::{self, X}, obs};"),
        ["core", "storage", "obs"]
    );
    assert_eq!(
        crate_modules_named("    let t = crate::storage::time::unix_now_ns() + crate::obs::x();"),
        ["storage", "obs"]
    );
    assert!(crate_modules_named("//! The catalog's job (`crate::catalog`).").is_empty());
    assert_eq!(crate_modules_named("$crate::core::x"), ["core"]);
    assert!(crate_modules_named("mycrate::core::x").is_empty());
}
