//! The `iamd` binary's command line, run as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn iamd(env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iamd"));
    command.arg("--dump-config");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

#[test]
fn dump_config_names_the_iamd_variables_it_ignores() {
    let out = iamd(&[("IAMD_LISTN", "127.0.0.1:9")]);
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("IAMD_LISTN") && stderr.contains("not a configuration variable"),
        "{stderr}"
    );
    assert!(String::from_utf8(out.stdout).unwrap().contains("listen ="));
}

#[test]
fn a_log_filter_that_does_not_parse_stops_the_start_naming_iamd_log() {
    let out = iamd(&[("IAMD_LOG", "iamd=loud")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("IAMD_LOG") && stderr.contains("iamd=loud"),
        "{stderr}"
    );
    let fine = iamd(&[("IAMD_LOG", "iamd=debug,warn")]);
    assert!(fine.status.success());
}
