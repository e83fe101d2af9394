#!/usr/bin/env bash
# Builds the bridge's place with the real Rojo from bridge/default.project.json and checks that
# it holds what a studio installs, where the bridge looks for it: every bridge/EconomyBridge/*.luau
# as a ModuleScript in ServerStorage.EconomyBridge with the file's exact source, the boot Script
# in ServerScriptService, and, once a studio adds them, the settings module at
# ServerStorage.EconomyBridgeSecrets and the library at ServerStorage.Packages.<Name> (Wally's
# ServerPackages/). Run by .ci/run; needs `rojo` (7.1 or newer) on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v rojo >/dev/null || { echo "rojo is missing (cargo install --locked rojo)" >&2; exit 1; }

OUT=target/rojo
rm -rf "$OUT" && mkdir -p "$OUT"

# 1. The project as committed: the optional settings module and packages are absent.
rojo build bridge/default.project.json -o "$OUT/bare.rbxlx"

# 2. The project as a studio has it after `wally install` and filling in the settings: a copy
#    of bridge/ with a settings module and a ServerPackages/ProfileStore stand-in.
cp -r bridge "$OUT/studio"
mkdir -p "$OUT/studio/secrets" "$OUT/studio/ServerPackages"
printf 'return {}\n' >"$OUT/studio/secrets/EconomyBridgeSecrets.luau"
printf 'return {}\n' >"$OUT/studio/ServerPackages/ProfileStore.luau"
rojo build "$OUT/studio/default.project.json" -o "$OUT/studio.rbxlx"

python3 - "$OUT/bare.rbxlx" "$OUT/studio.rbxlx" <<'PY'
import pathlib
import sys
import xml.etree.ElementTree as ET

bridge = pathlib.Path("bridge")
problems = []


def tree(path):
    """{ "Parent.Child": (class, source or None) } for every instance of a built place."""
    out = {}

    def walk(node, prefix):
        for item in node.findall("Item"):
            props = item.find("Properties")
            name = next(p.text for p in props if p.get("name") == "Name")
            source = next((p.text or "" for p in props if p.get("name") == "Source"), None)
            full = f"{prefix}.{name}" if prefix else name
            out[full] = (item.get("class"), source)
            walk(item, full)

    walk(ET.parse(path).getroot(), "")
    return out


def expect(places, path, cls, source=None):
    got = places.get(path)
    if got is None:
        problems.append(f"{path} is missing")
    elif got[0] != cls:
        problems.append(f"{path} is a {got[0]}, expected a {cls}")
    elif source is not None and got[1] != source:
        problems.append(f"{path}'s source differs from its file")


bare, studio = tree(sys.argv[1]), tree(sys.argv[2])
modules = sorted(bridge.glob("EconomyBridge/*.luau"))
if not modules:
    problems.append("no bridge/EconomyBridge/*.luau found")
for places in (bare, studio):
    expect(places, "ServerStorage.EconomyBridge", "Folder")
    for m in modules:
        expect(places, f"ServerStorage.EconomyBridge.{m.stem}", "ModuleScript", m.read_text())
    boot = bridge / "boot/EconomyBridgeBoot.server.luau"
    expect(places, "ServerScriptService.EconomyBridgeBoot", "Script", boot.read_text())
    extra = [
        p
        for p in places
        if p.startswith("ServerStorage.EconomyBridge.")
        and p.split(".")[-1] not in {m.stem for m in modules}
    ]
    if extra:
        problems.append(f"unexpected instances in ServerStorage.EconomyBridge: {extra}")
for optional in ("ServerStorage.EconomyBridgeSecrets", "ServerStorage.Packages"):
    if optional in bare:
        problems.append(f"{optional} is in the committed project's place (it must be optional)")
expect(studio, "ServerStorage.EconomyBridgeSecrets", "ModuleScript")
expect(studio, "ServerStorage.Packages.ProfileStore", "ModuleScript")

if problems:
    print("the Rojo-built place is not what the bridge expects:")
    for p in problems:
        print(f"  - {p}")
    sys.exit(1)
print(f"Rojo place ok: {len(modules)} modules and the boot script where the bridge looks for them")
PY
