#!/usr/bin/env bash
# Fetch the third-party Luau libraries the emulator runs (ProfileStore, ProfileService) into the
# git-ignored cache `.cache/luau-libs/` at the repository root. They are never committed.
# Idempotent: does nothing when both files are present with the pinned hashes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${ECONOMY_LUAU_LIBS:-$ROOT/.cache/luau-libs}"

# package spec | unpack dir | source file inside the package | pinned sha256 of that file
LIBS=(
  "@rbxts/profile-store@1.0.3|profile-store|package/src/init.luau|5f395468ac1b9bce650ee6ec035ec480d6b3c1d87391e158c6f3de2eeef68d21"
  "@rbxts/profileservice@1.4.2|profileservice|package/src/init.lua|4cccb85df1e301e2727804e52eb1c4aef4aa8128512e7a4b6de251bee75ea785"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$DEST"
for spec in "${LIBS[@]}"; do
  IFS='|' read -r pkg dir file want <<<"$spec"
  target="$DEST/$dir/$file"
  if [[ -f "$target" && "$(sha "$target")" == "$want" ]]; then
    continue
  fi
  command -v npm >/dev/null || { echo "fetch-luau-libs: npm is required to fetch $pkg" >&2; exit 1; }
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
  tarball="$(ls "$tmp"/*.tgz)"
  rm -rf "${DEST:?}/$dir"
  mkdir -p "$DEST/$dir"
  tar -xzf "$tarball" -C "$DEST/$dir"
  got="$(sha "$target")"
  if [[ "$got" != "$want" ]]; then
    rm -rf "${DEST:?}/$dir"
    echo "fetch-luau-libs: sha256 mismatch for $pkg $file: expected $want, got $got" >&2
    exit 1
  fi
  rm -rf "$tmp"
  trap - EXIT
  echo "fetch-luau-libs: fetched $pkg into $DEST/$dir"
done
