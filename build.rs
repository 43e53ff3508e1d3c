//! Builds the project files (pipelines, SQL, definitions) into the binary, so that an
//! installed `svna` runs the standard pipeline anywhere; a project directory's own copies
//! (`svna init` writes them) override these.

use std::fmt::Write as _;
use std::path::Path;

const DIRS: &[(&str, &str)] = &[
    ("pipelines", "toml"),
    ("sql", "sql"),
    ("definitions", "csv"),
];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = String::from("/// Project files built into the binary: (relative path, text).\n");
    out.push_str("pub static BUILTIN_FILES: &[(&str, &str)] = &[\n");
    for (dir, ext) in DIRS {
        println!("cargo:rerun-if-changed={dir}");
        let mut names: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("reading {dir}: {e}"))
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(&format!(".{ext}")))
            .collect();
        names.sort();
        for name in names {
            let full = root.join(dir).join(&name);
            println!("cargo:rerun-if-changed={}", full.display());
            writeln!(
                out,
                "    ({:?}, include_str!({:?})),",
                format!("{dir}/{name}"),
                full.display().to_string()
            )
            .expect("write to string");
        }
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("builtin_files.rs");
    std::fs::write(dest, out).expect("write builtin_files.rs");
}
