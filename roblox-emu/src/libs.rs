//! The third-party Luau libraries (ProfileStore 1.0.3, ProfileService 1.4.2), read at run time
//! from the cache that `tools/fetch-luau-libs.sh` fills. They are never committed.

use std::path::{Path, PathBuf};

use crate::error::EmuError;

/// A library the emulator can mount into a place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Library {
    /// ProfileStore 1.0.3 (`@rbxts/profile-store`).
    ProfileStore,
    /// ProfileService 1.4.2 (`@rbxts/profileservice`).
    ProfileService,
}

impl Library {
    /// The name the `roblox-emu` command line takes (`--library profile-store`).
    pub fn cli_name(self) -> &'static str {
        match self {
            Library::ProfileStore => "profile-store",
            Library::ProfileService => "profile-service",
        }
    }

    /// Module name in the place (`ServerStorage.Packages.<name>`).
    pub fn module_name(self) -> &'static str {
        match self {
            Library::ProfileStore => "ProfileStore",
            Library::ProfileService => "ProfileService",
        }
    }

    /// Path of the source below the cache directory.
    pub fn relative_path(self) -> &'static str {
        match self {
            Library::ProfileStore => "profile-store/package/src/init.luau",
            Library::ProfileService => "profileservice/package/src/init.lua",
        }
    }
}

/// The cache directory: `$ECONOMY_LUAU_LIBS`, else `<repo>/.cache/luau-libs`.
pub fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ECONOMY_LUAU_LIBS") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/luau-libs")
}

/// Reads a library's source from `dir` (or the default directory).
pub fn load(lib: Library, dir: Option<&Path>) -> Result<String, EmuError> {
    let dir = dir.map_or_else(default_dir, Path::to_path_buf);
    let path = dir.join(lib.relative_path());
    std::fs::read_to_string(&path).map_err(|_| EmuError::MissingLibrary {
        library: lib.module_name().to_owned(),
        path: path.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_names_the_fetch_script() {
        let err = load(
            Library::ProfileStore,
            Some(Path::new("/nonexistent/luau-libs")),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("tools/fetch-luau-libs.sh"), "{text}");
        assert!(text.contains("ProfileStore"), "{text}");
    }
}
