//! `iamctl simulate FILE...`: one JSON line per case file, on standard output.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};

/// Decides every file; a file that cannot be read or decided gets an `error` line and the
/// others still run. Only a failure to write the output is an error of the command.
pub(crate) fn run(files: &[PathBuf]) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for file in files {
        let line = decide(file);
        if writeln!(out, "{line}").is_err() {
            return ExitCode::from(74);
        }
    }
    if out.flush().is_err() {
        return ExitCode::from(74);
    }
    ExitCode::SUCCESS
}

fn decide(file: &PathBuf) -> Value {
    let name = file.to_string_lossy();
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => return json!({ "file": name, "error": format!("cannot read file: {e}") }),
    };
    match iam_policy::simulate::simulate(&text) {
        Ok(outcome) => json!({
            "file": name,
            "decision": outcome.decision.as_str(),
            "explanation": outcome.explanation,
        }),
        Err(error) => json!({ "file": name, "error": error }),
    }
}
