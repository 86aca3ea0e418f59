//! Compiles `proto/` with protox (pure Rust: a fresh machine needs no `protoc`) and
//! generates the tonic clients and servers into `OUT_DIR`, plus the encoded file descriptor
//! set that gRPC reflection serves.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        "iam/v1/types.proto",
        "iam/v1/iam.proto",
        "iam/v1/authorization.proto",
        "iam/v1/sts.proto",
        "iam/v1/cluster.proto",
        "iam/v1/audit.proto",
        "iam/internal/raft.proto",
    ];
    let paths: Vec<PathBuf> = files.iter().map(|f| root.join(f)).collect();
    for path in &paths {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let fds = protox::compile(&paths, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("iam_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .generate_default_stubs(true)
        .compile_fds(fds)?;
    Ok(())
}
