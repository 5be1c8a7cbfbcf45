#!/usr/bin/env bash
# Builds the demo plugin and packs it as a bundle the server installs:
#   plugins/demo/bundle.sh [--release]   ->   target/plugins/com.chorus.demo-0.1.0.tar.gz
# The bundle holds plugin.json and server/dist/plugin-linux-amd64, plus server/dist/plugin
# (the manifest's fallback executable) so it also runs on other Unix hosts it was built on.
set -euo pipefail
cd "$(dirname "$0")"
profile=debug
cargo_flags=()
if [ "${1:-}" = "--release" ]; then profile=release; cargo_flags=(--release); fi

cargo build -p demo "${cargo_flags[@]}"
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

mkdir -p server/dist
cp "$target_dir/$profile/demo" server/dist/plugin
cp "$target_dir/$profile/demo" server/dist/plugin-linux-amd64

mkdir -p "$target_dir/plugins"
bundle="$target_dir/plugins/com.chorus.demo-0.1.0.tar.gz"
tar -czf "$bundle" --transform 's,^,com.chorus.demo/,' plugin.json server/dist/plugin server/dist/plugin-linux-amd64
echo "$bundle"
