//! Runs every case of `tests/corpus/` through the simulator and compares the decision with
//! the case's `expect` (`allowed`, `explicitDeny`, `implicitDeny` or `error`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use serde_json::Value;

fn corpus_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

#[test]
fn every_corpus_case_decides_as_expected() {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 200,
        "the corpus has only {} cases",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable case");
        let case: Value = serde_json::from_str(&text).expect("case is JSON");
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        assert_eq!(
            case["name"],
            stem,
            "{}: `name` must equal the file name",
            file.display()
        );
        assert!(
            case["source"].as_str().is_some_and(|s| !s.is_empty()),
            "{}: every case cites the AWS rule it checks in `source`",
            file.display()
        );
        let expect = case["expect"].as_str().expect("`expect` is a string");
        let got = match iam_policy::simulate::simulate(&text) {
            Ok(outcome) => outcome.decision.as_str().to_owned(),
            Err(error) => format!("error ({error})"),
        };
        let matched = if expect == "error" {
            got.starts_with("error")
        } else {
            got == expect
        };
        if !matched {
            failures.push(format!("{stem}: expected {expect}, got {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
