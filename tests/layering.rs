//! The module layering of src/, checked from the source text. The rules and
//! both lists live in docs/ARCHITECTURE.md, section "Layering (checked by
//! tests/layering.rs)":
//!
//! - (a) no file under src/ffi names an engine module (`ENGINE_MODULES`):
//!   the C layer goes through the Rust API;
//! - (b) `allow(unsafe_code ...)` appears only in the files of the
//!   ```` ```unsafe-modules ```` block;
//! - (c) a module imports only modules below it in the ```` ```layers ````
//!   block, and every module in src/ is in that block;
//! - (d) a `mod.rs` holds only `mod` and `use` lines (and their attributes):
//!   a directory is a visibility boundary that says what it exports.
//!
//! Comments and the contents of string and char literals are blanked before
//! scanning, so prose naming a crate path does not count. `checker_*` tests
//! exercise the checker on small in-memory trees; `source_tree_is_layered`
//! runs it on the real one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// Engine modules the C layer must not name (rule a).
const ENGINE_MODULES: [&str; 5] = ["tree", "alloc", "storage", "env", "wal"];

/// The lines of the fenced block opened by ```` ```NAME ```` in `doc`,
/// trimmed, without blank lines; `None` if the block is missing.
fn fenced_block(doc: &str, name: &str) -> Option<Vec<String>> {
    let mut lines = doc.lines().skip_while(|l| l.trim() != format!("```{name}"));
    lines.next()?;
    let body = lines.take_while(|l| l.trim() != "```");
    Some(body.map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect())
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `src` with comments (line, doc and nested block comments) and the
/// contents of string, raw string and char literals replaced by spaces.
/// Newlines are kept, so offsets and line numbers stay those of `src`.
fn blank_comments_and_literals(src: &str) -> String {
    let s: Vec<char> = src.chars().collect();
    let at = |i: usize| s.get(i).copied().unwrap_or('\0');
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == '/' && at(i + 1) == '/' {
            while i < s.len() && s[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if i >= s.len() {
                    break;
                }
                if s[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if s[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(s[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && raw_prefix(&s, i) && (at(i + 1) == '"' || at(i + 1) == '#') {
            // A raw string: r"...", r#"..."#, br"...".
            let hashes = (i + 1..s.len()).take_while(|&j| s[j] == '#').count();
            if at(i + 1 + hashes) != '"' {
                out.push(c); // a raw identifier, r#name
                i += 1;
                continue;
            }
            let open = 1 + hashes + 1;
            out.extend(&s[i..i + open]);
            i += open;
            while i < s.len() && !(s[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#')) {
                out.push(blank(s[i]));
                i += 1;
            }
            let close = (1 + hashes).min(s.len() - i);
            out.extend(&s[i..i + close]);
            i += close;
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < s.len() && s[i] != '"' {
                if s[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < s.len() {
                    out.push(blank(s[i]));
                    i += 1;
                }
            }
            if i < s.len() {
                out.push('"');
                i += 1;
            }
        } else if c == '\'' && (at(i + 1) == '\\' || (at(i + 2) == '\'' && at(i + 1) != '\'')) {
            // A char literal ('x', '\n', '\''); otherwise a lifetime.
            out.push('\'');
            i += 1;
            if s[i] == '\\' {
                out.push_str("  "); // the backslash and the escaped character
                i += 2;
            }
            while i < s.len() && s[i] != '\'' {
                out.push(' ');
                i += 1;
            }
            if i < s.len() {
                out.push('\'');
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether the `r` at `i` can open a raw string: no identifier character
/// before it, or just a `b` (br"...") with none before that.
fn raw_prefix(s: &[char], i: usize) -> bool {
    let before = |k: usize| i >= k && is_ident(s[i - k]);
    !before(1) || (s[i - 1] == 'b' && !before(2))
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count() + 1
}

/// One name a file reaches through the crate root.
#[derive(Debug, PartialEq)]
struct Import {
    offset: usize,
    line: usize,
    name: String,
}

/// Every `crate::NAME` and `$crate::NAME` in `code` (already blanked), and
/// each top-level NAME in `crate::{...}` groups (nested, spanning lines).
/// Macros called through the root (`crate::name!`) are left out.
fn crate_imports(code: &str) -> Vec<Import> {
    let b = code.as_bytes();
    let ident_end = |from: usize| from + b[from..].iter().take_while(|&&c| is_ident(c as char)).count();
    let skip_ws = |mut i: usize| {
        while i < b.len() && (b[i] as char).is_whitespace() {
            i += 1;
        }
        i
    };
    let mut out = Vec::new();
    let mut push = |start: usize, end: usize| {
        let name = &code[start..end];
        let is_macro = b.get(skip_ws(end)) == Some(&b'!');
        if !name.is_empty() && name != "self" && !is_macro {
            out.push(Import { offset: start, line: line_of(code, start), name: name.to_string() });
        }
    };
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && is_ident(b[at - 1] as char) {
            continue; // some_crate::
        }
        let i = skip_ws(at + "crate::".len());
        if b.get(i) != Some(&b'{') {
            push(i, ident_end(i));
            continue;
        }
        // A group: the first identifier of each item at depth 1.
        let (mut depth, mut j, mut item_start) = (1, i + 1, true);
        while j < b.len() && depth > 0 {
            match b[j] {
                b'{' => depth += 1,
                b'}' => depth -= 1,
                b',' if depth == 1 => item_start = true,
                c if item_start && depth == 1 && is_ident(c as char) => {
                    let end = ident_end(j);
                    push(j, end);
                    item_start = false;
                    j = end;
                    continue;
                }
                c if item_start && depth == 1 && !(c as char).is_whitespace() => item_start = false, // `*`, `::`
                _ => {}
            }
            j += 1;
        }
    }
    out
}

/// Names re-exported by `use` statements of lib.rs, mapped to the module they
/// come from: `pub use db::{Database, Stats};` maps Database and Stats to db.
/// Names are the leaves of the use tree (after `as` when renamed).
fn reexports(lib_rs: &str) -> BTreeMap<String, String> {
    let code = blank_comments_and_literals(lib_rs);
    let mut map = BTreeMap::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("use ") {
        let statement_start = at == 0 || !is_ident(rest.as_bytes()[at - 1] as char);
        let after = &rest[at + 4..];
        if !statement_start {
            rest = after;
            continue;
        }
        let end = after.find(';').unwrap_or(after.len());
        rest = &after[end..];
        let tree = after[..end].trim().trim_start_matches("::");
        let tree = tree.strip_prefix("crate::").unwrap_or(tree);
        // Tokens: identifiers and the punctuation that matters.
        let mut tokens: Vec<&str> = Vec::new();
        let mut t = tree;
        while let Some(c) = t.chars().next() {
            if is_ident(c) {
                let n = t.find(|c: char| !is_ident(c)).unwrap_or(t.len());
                tokens.push(&t[..n]);
                t = &t[n..];
            } else if t.starts_with("::") {
                tokens.push("::");
                t = &t[2..];
            } else {
                if !c.is_whitespace() {
                    tokens.push(&t[..c.len_utf8()]);
                }
                t = &t[c.len_utf8()..];
            }
        }
        let Some(module) = tokens.first().filter(|m| is_ident(m.chars().next().unwrap_or(' '))) else { continue };
        for (k, tok) in tokens.iter().enumerate() {
            let next = tokens.get(k + 1).copied();
            let leaf = is_ident(tok.chars().next().unwrap_or(' '))
                && *tok != "as"
                && *tok != "self"
                && next != Some("::")
                && next != Some("as");
            if leaf {
                map.insert(tok.to_string(), module.to_string());
            }
        }
    }
    map
}

/// The module a file under src/ belongs to: its first path component
/// (`src/db.rs` -> db, `src/env/x.rs` -> env). `None` for src/lib.rs and
/// the test-only src/tests/.
fn module_of(path: &str) -> Option<String> {
    let rel = path.strip_prefix("src/")?;
    let first = rel.split('/').next()?;
    let module = first.strip_suffix(".rs").unwrap_or(first);
    (module != "lib" && module != "tests").then(|| module.to_string())
}

/// Where a file's unit-test module starts: the first `#[cfg(test)]` at
/// column 0 that introduces an inline `mod NAME {` (later attributes and
/// blank lines may sit between). A `#[cfg(test)]` on a declaration such as
/// `mod fault;` is not a test module: scanning continues past it.
fn test_module_start(code: &str) -> usize {
    let mut offset = 0;
    let lines: Vec<&str> = code.split_inclusive('\n').collect();
    for (k, line) in lines.iter().enumerate() {
        if line.trim_end() == "#[cfg(test)]" {
            let item = lines[k + 1..].iter().map(|l| l.trim()).find(|l| !l.is_empty() && !l.starts_with("#["));
            let words: Vec<&str> = item.unwrap_or("").split_whitespace().collect();
            let inline_mod = match words.as_slice() {
                ["mod", _, "{", ..] => true,
                [vis, "mod", _, "{", ..] => vis.starts_with("pub"),
                _ => false,
            };
            if inline_mod {
                return offset;
            }
        }
        offset += line.len();
    }
    code.len()
}

/// The 1-based lines of `allow(...)` / `expect(...)` lists that name
/// `unsafe_code` (`#![allow(unsafe_code)]`, `#[allow(dead_code, unsafe_code)]`).
fn unsafe_allows(code: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    for key in ["allow(", "expect("] {
        for (at, _) in code.match_indices(key) {
            if at > 0 && is_ident(code.as_bytes()[at - 1] as char) {
                continue;
            }
            let args = &code[at + key.len()..];
            let args = &args[..args.find(')').unwrap_or(args.len())];
            if args.split(|c: char| !is_ident(c)).any(|w| w == "unsafe_code") {
                lines.push(line_of(code, at));
            }
        }
    }
    lines.sort();
    lines
}

/// The 1-based lines of a `mod.rs` (already blanked) that are neither a
/// `mod NAME;` nor a `use ...;` line nor an attribute (rule d).
fn mod_rs_code_lines(code: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut in_use = false;
    for (i, line) in code.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        if in_use {
            in_use = !l.ends_with(';');
            continue;
        }
        let item = l.strip_prefix("pub(crate) ").or_else(|| l.strip_prefix("pub ")).unwrap_or(l);
        if l.starts_with("#[") || l.starts_with("#![") {
            continue;
        }
        if item.starts_with("mod ") && item.ends_with(';') {
            continue;
        }
        if item.starts_with("use ") {
            in_use = !item.ends_with(';');
            continue;
        }
        lines.push(i + 1);
    }
    lines
}

/// Every violation of rules (a) to (d) in `files` (paths relative to
/// the crate root, `src/...`, with their text), given docs/ARCHITECTURE.md's
/// text. Empty when the tree is layered.
fn check(files: &[(String, String)], architecture: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(layers) = fenced_block(architecture, "layers") else {
        return vec!["docs/ARCHITECTURE.md has no ```layers block".to_string()];
    };
    let Some(unsafe_modules) = fenced_block(architecture, "unsafe-modules") else {
        return vec!["docs/ARCHITECTURE.md has no ```unsafe-modules block".to_string()];
    };
    // Index in the list: 0 is the top.
    let rank = |m: &str| layers.iter().position(|l| l == m);
    let lib_rs = files.iter().find(|(p, _)| p == "src/lib.rs").map(|(_, t)| t.as_str()).unwrap_or("");
    let reexported = reexports(lib_rs);
    let modules: BTreeSet<String> = files.iter().filter_map(|(p, _)| module_of(p)).collect();

    // Every module in src/ must have a place in the list.
    let mut unplaced = BTreeSet::new();
    for (path, _) in files {
        if let Some(m) = module_of(path) {
            if rank(&m).is_none() && unplaced.insert(m.clone()) {
                problems.push(format!(
                    "{path}:1: module {m} is not in the layer list (docs/ARCHITECTURE.md, ```layers): place it"
                ));
            }
        }
    }

    for (path, text) in files {
        let code = blank_comments_and_literals(text);

        // (b) allow(unsafe_code) only in the listed files.
        let listed =
            unsafe_modules.iter().any(|u| if u.ends_with('/') { path.starts_with(u.as_str()) } else { path == u });
        if !listed {
            for line in unsafe_allows(&code) {
                problems.push(format!(
                    "{path}:{line}: allows unsafe_code, but is not in the unsafe modules (docs/ARCHITECTURE.md, ```unsafe-modules)"
                ));
            }
        }

        // (d) a mod.rs holds only mod and use lines.
        if path.ends_with("/mod.rs") {
            for line in mod_rs_code_lines(&code) {
                problems.push(format!(
                    "{path}:{line}: a mod.rs holds only `mod` and `use` lines; move this into a file of its own"
                ));
            }
        }

        let imports = crate_imports(&code);

        // (a) the C layer names no engine module.
        if path.starts_with("src/ffi/") {
            let mut seen = BTreeSet::new();
            for import in &imports {
                if ENGINE_MODULES.contains(&import.name.as_str()) && seen.insert((import.line, &import.name)) {
                    problems.push(format!(
                        "{path}:{}: the C layer names engine module crate::{}; go through the Rust API",
                        import.line, import.name
                    ));
                }
            }
        }

        // (c) imports point down the layer list.
        let Some(own) = module_of(path) else { continue };
        let Some(own_rank) = rank(&own) else { continue }; // reported above
        let test_start = test_module_start(&code);
        let mut seen = BTreeSet::new();
        for import in imports.iter().filter(|i| i.offset < test_start) {
            let name = import.name.as_str();
            let target = if modules.contains(name) || rank(name).is_some() {
                name
            } else if let Some(m) = reexported.get(name) {
                m.as_str()
            } else {
                problems.push(format!(
                    "{path}:{}: crate::{name} is neither a module in src/ nor re-exported by a `use` in src/lib.rs",
                    import.line
                ));
                continue;
            };
            if target == own || target == "tests" || !seen.insert((import.line, target.to_string())) {
                continue; // own module; test-only code; or said already
            }
            match rank(target) {
                Some(r) if r < own_rank => {
                    problems.push(format!("{path}:{}: module {own} imports {target}, which sits above it", import.line))
                }
                Some(_) => {}
                None if modules.contains(target) => {} // unplaced: reported above
                None => problems.push(format!(
                    "{path}:{}: module {own} imports {target}, which is not in the layer list",
                    import.line
                )),
            }
        }
    }
    problems
}

/// Every `*.rs` file under `dir`, as (path relative to `root`, text), sorted.
fn read_tree(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).expect("readable src/").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_tree(root, &p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let rel = p.strip_prefix(root).expect("under the root").to_string_lossy().replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&p).expect("readable source")));
        }
    }
}

#[test]
fn source_tree_is_layered() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    read_tree(root, &root.join("src"), &mut files);
    assert!(files.iter().any(|(p, _)| p == "src/lib.rs"), "src/lib.rs not found");
    let architecture = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).expect("docs/ARCHITECTURE.md");
    let problems = check(&files, &architecture);
    let mut msg = format!("{} layering violations (rules: docs/ARCHITECTURE.md, \"Layering\"):\n", problems.len());
    for p in &problems {
        let _ = writeln!(msg, "{p}");
    }
    // Then the upward edges, counted: what a restructure has to remove.
    let mut edges: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &problems {
        if let Some(edge) = p.split_once(": module ").and_then(|(_, e)| e.strip_suffix(", which sits above it")) {
            *edges.entry(edge).or_default() += 1;
        }
    }
    for (edge, n) in edges {
        let _ = writeln!(msg, "  upward: {edge} ({n} line{})", if n == 1 { "" } else { "s" });
    }
    assert!(problems.is_empty(), "{msg}");
}

// ---- the checker on small trees ----

const DOC: &str = "\
# arch

## Layering (checked by tests/layering.rs)

```layers
ffi
db
txn
tree
alloc
storage
error
```

```unsafe-modules
src/storage/mmap.rs
src/ffi/
```
";

const LIB: &str = "\
mod db;
pub mod ffi;
pub use db::{Database, Stats};
pub use tree::page::{self, MAX_KEY as MaxKey};
pub use error::{
    Error,
    Result,
};
";

fn tree(files: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = files.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect();
    v.push(("src/lib.rs".to_string(), LIB.to_string()));
    // Every module of DOC exists, so each test sees only its own files' problems.
    for m in ["ffi/mod", "db", "txn/mod", "tree/mod", "alloc/mod", "storage/mod", "error"] {
        if !v.iter().any(|(p, _)| p == &format!("src/{m}.rs")) {
            v.push((format!("src/{m}.rs"), String::new()));
        }
    }
    v
}

fn problems(files: &[(&str, &str)]) -> Vec<String> {
    check(&tree(files), DOC)
}

#[test]
fn checker_ffi_must_not_name_engine_modules() {
    let bad =
        "use crate::tree::page;\nuse crate::{error::Error, storage::{mmap, file}};\nfn f() { crate::alloc::x(); }\n";
    assert_eq!(
        problems(&[("src/ffi/db.rs", bad)]),
        [
            "src/ffi/db.rs:1: the C layer names engine module crate::tree; go through the Rust API",
            "src/ffi/db.rs:2: the C layer names engine module crate::storage; go through the Rust API",
            "src/ffi/db.rs:3: the C layer names engine module crate::alloc; go through the Rust API",
        ]
    );
    let clean = "//! Not crate::tree: the ffi reaches pages through crate::Database.\n\
                 use crate::{Database, error::Error};\nuse crate::ffi::args;\nconst S: &str = \"crate::tree\";\n";
    assert_eq!(problems(&[("src/ffi/db.rs", clean)]), Vec::<String>::new());
}

#[test]
fn checker_unsafe_code_only_in_listed_files() {
    let allow = "#![allow(unsafe_code)]\nfn f() {}\n";
    let allow_later = "#![allow(non_camel_case_types, unsafe_code)]\n#[expect(unsafe_code)]\nfn f() {}\n";
    assert_eq!(
        problems(&[("src/db.rs", allow), ("src/storage/file.rs", allow_later)]),
        [
            "src/db.rs:1: allows unsafe_code, but is not in the unsafe modules (docs/ARCHITECTURE.md, ```unsafe-modules)",
            "src/storage/file.rs:1: allows unsafe_code, but is not in the unsafe modules (docs/ARCHITECTURE.md, ```unsafe-modules)",
            "src/storage/file.rs:2: allows unsafe_code, but is not in the unsafe modules (docs/ARCHITECTURE.md, ```unsafe-modules)",
        ]
    );
    let prose = "//! This file needs no #![allow(unsafe_code)].\nfn f() {}\n";
    let clean =
        [("src/storage/mmap.rs", allow), ("src/ffi/args.rs", allow), ("src/ffi/x/y.rs", allow), ("src/db.rs", prose)];
    assert_eq!(problems(&clean), Vec::<String>::new());
}

#[test]
fn checker_imports_point_down() {
    let txn = "\
use crate::db::Inner; // txn -> db: up
use crate::{error::Error, tree, Database};
use crate::{
    storage::{mmap::{Map}, file},
    ffi::args,
};
fn f() -> $crate::db::X { crate::txn::y(); super::read::z(); crate::Stats }

#[cfg(test)]
mod tests {
    use crate::db::Database; // test module: ignored
}
";
    assert_eq!(
        problems(&[("src/txn/write.rs", txn)]),
        [
            "src/txn/write.rs:1: module txn imports db, which sits above it",
            "src/txn/write.rs:2: module txn imports db, which sits above it",
            "src/txn/write.rs:5: module txn imports ffi, which sits above it",
            "src/txn/write.rs:7: module txn imports db, which sits above it",
        ]
    );
    let clean = "\
//! Commits through crate::db::Database (prose, not an import).
use crate::{error::{Error, Result}, tree::page, storage};
use crate::MaxKey;
pub(crate) fn f(s: &str) -> Result<()> { let _ = \"crate::db\"; crate::txn::g(); Ok(()) }
#[cfg(test)]
pub mod fault;
";
    assert_eq!(problems(&[("src/txn/read.rs", clean)]), Vec::<String>::new());
    let below_test_decl = "#[cfg(test)]\nmod fault;\nuse crate::db::X;\n";
    assert_eq!(
        problems(&[("src/tree/mod.rs", below_test_decl)]),
        ["src/tree/mod.rs:3: module tree imports db, which sits above it"]
    );
}

#[test]
fn checker_every_module_is_placed() {
    let files = [
        ("src/wal/mod.rs", "use crate::error::Error;\n"),
        ("src/wal/log.rs", ""),
        ("src/tests/mod.rs", "use crate::db;\n"),
    ];
    assert_eq!(
        problems(&files),
        ["src/wal/mod.rs:1: module wal is not in the layer list (docs/ARCHITECTURE.md, ```layers): place it"]
    );
    let unknown = "use crate::Nowhere;\n";
    assert_eq!(
        problems(&[("src/db.rs", unknown)]),
        ["src/db.rs:1: crate::Nowhere is neither a module in src/ nor re-exported by a `use` in src/lib.rs"]
    );
}

#[test]
fn checker_parses_its_inputs() {
    assert_eq!(fenced_block(DOC, "layers").unwrap(), ["ffi", "db", "txn", "tree", "alloc", "storage", "error"]);
    assert_eq!(fenced_block(DOC, "nothing"), None);
    let map = reexports(LIB);
    let get = |n: &str| map.get(n).map(String::as_str);
    assert_eq!(
        (get("Database"), get("Stats"), get("MaxKey"), get("Error"), get("Result")),
        (Some("db"), Some("db"), Some("tree"), Some("error"), Some("error"))
    );
    assert_eq!(get("MAX_KEY"), None);
    let src = "a /* x /* y */ crate::b */ c 'x' '\"' b'\\'' br#\"crate::q\"# d<'a> // crate::e\nf";
    let blanked = blank_comments_and_literals(src);
    assert!(!blanked.contains("crate::"), "{blanked}");
    assert_eq!(blanked.len(), src.len(), "offsets kept");
    assert!(blanked.contains(" c ") && blanked.contains("d<'a>") && blanked.ends_with("\nf"), "{blanked:?}");
    let names: Vec<String> = crate_imports("use crate::{a::{b, c}, D as E, *, self};\n$crate::f!(); crate::g")
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["a", "D", "g"]);
    let after_string = blank_comments_and_literals("let u = \"http://x\"; crate::db::Y // crate::tree");
    let names: Vec<String> = crate_imports(&after_string).into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["db"], "a // inside a string does not start a comment");
    assert_eq!(module_of("src/env/x.rs").as_deref(), Some("env"));
    assert_eq!((module_of("src/lib.rs"), module_of("src/tests/a.rs")), (None, None));
}

#[test]
fn checker_mod_rs_holds_only_mod_and_use_lines() {
    let clean = "//! doc\n\nmod a;\n#[cfg(test)]\nmod b;\n\npub(crate) use a::{\n    X,\n    Y,\n};\npub use b::Z;\n";
    assert!(mod_rs_code_lines(&blank_comments_and_literals(clean)).is_empty());
    let code = "mod a;\npub use a::X;\n\npub struct S;\nfn f() {}\n";
    assert_eq!(mod_rs_code_lines(&blank_comments_and_literals(code)), vec![4, 5]);
    let files = vec![
        ("src/lib.rs".to_string(), "mod tree;\n".to_string()),
        ("src/tree/mod.rs".to_string(), "mod page;\npub const N: u32 = 1;\n".to_string()),
        ("src/tree/page.rs".to_string(), String::new()),
    ];
    let problems = check(&files, DOC);
    assert!(problems.iter().any(|p| p.starts_with("src/tree/mod.rs:2: a mod.rs holds only")), "{problems:?}");
}
