//! The place every emulated game server runs: the repository's Rojo project (`roblox/`: the
//! bridge's modules and its boot script), this run's settings module and ProfileStore.

use std::path::{Path, PathBuf};

use roblox::{Library, Place};

use crate::luau_libs::repo_root;

/// Why the place cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    /// The bridge's Rojo project is not in the checkout.
    #[error("the Luau bridge is missing: {0} not found")]
    BridgeMissing(String),
    /// The project or a library could not be loaded.
    #[error(transparent)]
    Load(#[from] roblox::EmuError),
}

/// The bridge's Rojo project directory.
pub fn project_dir() -> PathBuf {
    repo_root().join("roblox")
}

/// Whether the bridge's Rojo project and boot script are present.
pub fn bridge_present() -> bool {
    let dir = project_dir();
    dir.join("default.project.json").is_file()
        && dir.join("boot/EconomyBridgeBoot.server.luau").is_file()
}

/// The bridge place with `secrets_module` as `ServerStorage.EconomyBridgeSecrets` and `library`
/// as `ServerStorage.Packages.<Name>` (from `libs_dir`, else the default cache).
pub fn bridge_place(
    secrets_module: String,
    library: Library,
    libs_dir: Option<&Path>,
) -> Result<Place, PlaceError> {
    let dir = project_dir();
    if !bridge_present() {
        return Err(PlaceError::BridgeMissing(
            dir.join("default.project.json").display().to_string(),
        ));
    }
    let mut place = Place::from_dir(&dir)?;
    // A developer's own settings file or packages (optional Rojo paths) must not mix with this
    // run's: the sandbox supplies both.
    place.items.retain(|item| {
        let p: Vec<&str> = item.path.iter().map(String::as_str).collect();
        !matches!(
            p.as_slice(),
            ["ServerStorage", "EconomyBridgeSecrets", ..] | ["ServerStorage", "Packages", ..]
        )
    });
    place.module("ServerStorage.EconomyBridgeSecrets", secrets_module);
    place.library(library, libs_dir)?;
    Ok(place)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_place_mounts_boot_script_settings_and_library_once() {
        if !bridge_present() {
            panic!("the bridge's Rojo project is missing from roblox/");
        }
        let place = bridge_place("return {}".into(), Library::ProfileStore, None).unwrap();
        let count = |path: &[&str]| {
            place
                .items
                .iter()
                .filter(|i| i.path.iter().map(String::as_str).eq(path.iter().copied()))
                .count()
        };
        assert_eq!(count(&["ServerScriptService", "EconomyBridgeBoot"]), 1);
        assert_eq!(count(&["ServerStorage", "EconomyBridgeSecrets"]), 1);
        assert_eq!(count(&["ServerStorage", "Packages", "ProfileStore"]), 1);
        assert_eq!(count(&["ServerStorage", "EconomyBridge", "Bridge"]), 1);
    }
}
