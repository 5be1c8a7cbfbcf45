// Generates the gRPC code from proto/ with protox, a pure-Rust protobuf compiler, so a
// fresh machine builds with cargo alone (no system protoc).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/chorus/plugin/v1/types.proto",
        "proto/chorus/plugin/v1/hooks.proto",
        "proto/chorus/plugin/v1/api.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
