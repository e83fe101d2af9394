"""Reads `cargo build --message-format=json` on stdin and fails when any dependency (anything not
in this workspace) was compiled rather than reused: used after the test build to prove that the
README's run command (`cargo run -p sandbox`) needs no rebuild of the dependency tree."""

import json
import sys

rebuilt = set()
artifacts = 0
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except json.JSONDecodeError:
        continue
    if msg.get("reason") != "compiler-artifact":
        continue
    artifacts += 1
    if msg.get("fresh"):
        continue
    if msg["package_id"].startswith("path+"):
        continue  # a workspace crate: rebuilding those is expected
    rebuilt.add(msg["package_id"].split("#")[-1])
if artifacts == 0:
    sys.exit("cargo built nothing: the build failed before compiling (see its errors above)")
if rebuilt:
    sys.exit(
        "these dependencies were rebuilt (their features differ from the test build's): "
        + ", ".join(sorted(rebuilt))
    )
print("every dependency reused")
