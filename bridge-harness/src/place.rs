//! The place every emulated game server of the bridge runs: the repository's Rojo project
//! (`bridge/`: the bridge's modules and its boot script), one run's settings module and a session
//! library.

use std::path::{Path, PathBuf};

use roblox_emu::{EmuError, Library, Place};

/// Why the place cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    /// The bridge's Rojo project is not in the checkout.
    #[error("the Luau bridge is missing: {0} not found")]
    BridgeMissing(String),
    /// The project or a library could not be loaded.
    #[error(transparent)]
    Load(#[from] EmuError),
}

/// The bridge's Rojo project directory (`bridge/` at the repository root).
pub fn project_dir() -> PathBuf {
    // This crate lives one level below the repository root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
        .join("bridge")
}

/// The folder of the bridge's ModuleScripts (`ServerStorage.EconomyBridge`).
pub fn modules_dir() -> PathBuf {
    project_dir().join("EconomyBridge")
}

/// Whether the bridge's Rojo project and boot script are present.
pub fn bridge_present() -> bool {
    let dir = project_dir();
    dir.join("default.project.json").is_file()
        && dir.join("boot/EconomyBridgeBoot.server.luau").is_file()
}

/// The Rojo project as Rojo builds it, with whatever optional paths exist in the checkout.
pub fn project() -> Result<Place, PlaceError> {
    let dir = project_dir();
    if !bridge_present() {
        return Err(PlaceError::BridgeMissing(
            dir.join("default.project.json").display().to_string(),
        ));
    }
    Ok(Place::from_dir(&dir)?)
}

/// The bridge place with `settings_module` as `ServerStorage.EconomyBridgeSecrets` and `library`
/// as `ServerStorage.Packages.<Name>` (from `libs_dir`, else the default cache).
pub fn bridge_place(
    settings_module: String,
    library: Library,
    libs_dir: Option<&Path>,
) -> Result<Place, PlaceError> {
    let mut place = project()?;
    // A developer's own settings file or packages (optional Rojo paths) must not mix with this
    // run's: the caller supplies both.
    place.items.retain(|item| {
        let p: Vec<&str> = item.path.iter().map(String::as_str).collect();
        !matches!(
            p.as_slice(),
            ["ServerStorage", "EconomyBridgeSecrets", ..] | ["ServerStorage", "Packages", ..]
        )
    });
    place.module("ServerStorage.EconomyBridgeSecrets", settings_module);
    place.library(library, libs_dir)?;
    Ok(place)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_place_mounts_boot_script_settings_and_library_once() {
        if !bridge_present() {
            panic!("the bridge's Rojo project is missing from bridge/");
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

    #[test]
    fn the_modules_folder_holds_the_bridge_entry_module() {
        assert!(modules_dir().join("Bridge.luau").is_file());
    }
}
