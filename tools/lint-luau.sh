#!/usr/bin/env bash
# Lints and format-checks the repository's own Luau — the bridge (bridge/: modules, boot script,
# settings template; not a developer's secrets/ nor Wally's downloads), the doctor's canary script
# (bot/src/doctor) and the emulator's engine surface and scenario harness (roblox-emu/engine,
# roblox-emu/harness) — with selene (selene.toml;
# std roblox-emu/roblox-emu.yml = the emulated surface) and StyLua (stylua.toml). Fails on any
# finding.
# CI installs the tools with: cargo install --locked selene; cargo install --locked stylua --features luau
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

for tool in selene stylua; do
  if ! command -v "$tool" >/dev/null; then
    echo "lint-luau: $tool is not installed (cargo install --locked selene; cargo install --locked stylua --features luau)" >&2
    exit 1
  fi
done

mapfile -t files < <(find bridge/EconomyBridge bridge/boot bridge/templates bot/src/doctor roblox-emu/engine roblox-emu/harness -name '*.luau' ! -name '*.d.luau' 2>/dev/null | sort)
if [[ ${#files[@]} -eq 0 ]]; then
  echo "lint-luau: no Luau files found" >&2
  exit 1
fi
# selene's parser recurses deeply: a debug build (what .ci/run installs, for build time) needs
# more than the default 2 MiB thread stack.
export RUST_MIN_STACK="${RUST_MIN_STACK:-268435456}"
selene --config selene.toml "${files[@]}"
stylua --config-path stylua.toml --check "${files[@]}"
echo "lint-luau: ${#files[@]} files clean"
