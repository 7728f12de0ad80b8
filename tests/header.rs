//! The committed include/thunder.h must be exactly what build.rs generates
//! (`make header`, i.e. THUNDER_BLESS=1, rewrites it), and every function in
//! it must be documented: a doc block, `@param` for each parameter, and
//! `@return` unless it returns void.

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/thunder.h"));

fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("include/thunder.h")
}

#[test]
fn committed_header_matches_generated() {
    if std::env::var("THUNDER_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(committed_path(), GENERATED).expect("write include/thunder.h");
        return;
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    if committed != GENERATED {
        let line = committed.lines().zip(GENERATED.lines()).position(|(a, b)| a != b).unwrap_or(0) + 1;
        panic!("include/thunder.h is out of date (first difference near line {line}); run `make header` and commit it");
    }
}

/// (doc block, prototype) for every function declared in the header:
/// top-level code (outside comments and braces) that calls `thunder_*(`.
fn functions(header: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (mut doc, mut proto) = (String::new(), String::new());
    let (mut in_comment, mut is_doc, mut depth) = (false, false, 0i32);
    for line in header.lines() {
        let t = line.trim();
        if !in_comment && t.starts_with("/*") {
            in_comment = true;
            is_doc = t.starts_with("/**");
            if is_doc {
                doc.clear();
            }
        }
        if in_comment {
            if is_doc {
                doc.push_str(t);
                doc.push('\n');
            }
            in_comment = !t.ends_with("*/");
            continue;
        }
        if !t.contains("extern \"C\"") {
            depth += t.matches('{').count() as i32 - t.matches('}').count() as i32;
        }
        let named = t.contains(" thunder_") || t.contains("*thunder_");
        let starts = depth == 0 && named && !t.starts_with('#') && !t.starts_with("typedef");
        if proto.is_empty() && starts && t.contains('(') {
            proto.push_str(t);
        } else if !proto.is_empty() {
            proto.push(' ');
            proto.push_str(t);
        }
        if proto.ends_with(");") {
            out.push((std::mem::take(&mut doc), std::mem::take(&mut proto)));
        }
    }
    out
}

fn params(proto: &str) -> Vec<String> {
    let inner = &proto[proto.find('(').unwrap() + 1..proto.rfind(')').unwrap()];
    if inner.trim() == "void" {
        return Vec::new();
    }
    inner.split(',').map(|p| p.trim().rsplit([' ', '*']).next().unwrap().to_string()).collect()
}

#[test]
fn every_function_is_documented() {
    let fns = functions(GENERATED);
    assert!(fns.len() >= 50, "expected the whole API, parsed {} functions", fns.len());
    let mut problems = Vec::new();
    for (doc, proto) in &fns {
        let name = proto.split('(').next().unwrap().rsplit([' ', '*']).next().unwrap();
        if doc.is_empty() {
            problems.push(format!("{name}: no doc comment"));
            continue;
        }
        if !proto.starts_with("void ") && !doc.contains("@return") {
            problems.push(format!("{name}: no @return"));
        }
        for p in params(proto) {
            if !doc.contains(&format!("@param {p} ")) {
                problems.push(format!("{name}: parameter `{p}` undocumented"));
            }
        }
        let takes_pointer = proto[proto.find('(').unwrap()..].contains('*');
        if takes_pointer && !doc.contains("# Safety") {
            problems.push(format!("{name}: takes pointers but has no Safety section"));
        }
    }
    assert!(problems.is_empty(), "undocumented header functions:\n{}", problems.join("\n"));
}

#[test]
fn header_opens_with_caveats_and_version_macros() {
    let head: String = GENERATED.lines().take(60).collect::<Vec<_>>().join("\n");
    assert!(head.contains("Caveats"));
    let v = env!("CARGO_PKG_VERSION");
    assert!(GENERATED.contains(&format!("#define THUNDER_VERSION_STRING \"{v}\"")));
}
