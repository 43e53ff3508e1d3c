//! Helpers shared by the end-to-end tests.

pub mod attack;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `svna` binary to its end and returns what it printed and how it exited.
pub fn svna(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_svna"))
        .args(args)
        .output()
        .expect("svna runs")
}

/// Runs `svna` to its end; fails the test with its output unless it exits 0. Returns stdout.
pub fn svna_ok(args: &[&str]) -> String {
    let output = svna(args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "svna {} exited {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        args.join(" "),
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Every file under `dir`, at any depth.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path))
        } else {
            files.push(path)
        }
    }
    files
}

/// A CSV file's rows as column -> value maps.
pub fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}
