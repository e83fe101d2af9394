//! The third-party Luau libraries (ProfileStore, ProfileService): fetched on first run by the
//! repository's own script (`npm pack` of the pinned versions, sha256-checked), never committed.

use std::path::{Path, PathBuf};
use std::process::Command;

use roblox_emu::Library;

/// Why the libraries are not available.
#[derive(Debug, thiserror::Error)]
pub enum LibsError {
    /// The fetch script could not be started.
    #[error("cannot run {script}: {reason}")]
    Spawn {
        /// The script's path.
        script: String,
        /// Why.
        reason: String,
    },
    /// The fetch script failed (no npm, no network, hash mismatch: it says which on stderr).
    #[error("{script} failed ({status}); run it by hand to see why")]
    Failed {
        /// The script's path.
        script: String,
        /// Its exit status.
        status: String,
    },
    /// The script succeeded but a library is still missing.
    #[error("{library} is still missing at {path} after fetching")]
    StillMissing {
        /// Which library.
        library: &'static str,
        /// Where it was expected.
        path: String,
    },
}

/// The repository root (the sandbox crate lives one level below it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Libraries not present in `dir`.
pub fn missing(dir: &Path) -> Vec<Library> {
    [Library::ProfileStore, Library::ProfileService]
        .into_iter()
        .filter(|lib| !dir.join(lib.relative_path()).is_file())
        .collect()
}

/// Makes sure both libraries are in `dir` (the emulator's default cache when `None`), running
/// `tools/fetch-luau-libs.sh` when one is missing. Returns whether a fetch happened.
pub fn ensure(dir: Option<&Path>) -> Result<bool, LibsError> {
    let dir = dir.map_or_else(roblox_emu::libs::default_dir, Path::to_path_buf);
    if missing(&dir).is_empty() {
        return Ok(false);
    }
    let script = repo_root().join("tools/fetch-luau-libs.sh");
    let shown = script.display().to_string();
    let status = Command::new("bash")
        .arg(&script)
        .env("ECONOMY_LUAU_LIBS", &dir)
        .status()
        .map_err(|e| LibsError::Spawn {
            script: shown.clone(),
            reason: e.to_string(),
        })?;
    if !status.success() {
        return Err(LibsError::Failed {
            script: shown,
            status: status.to_string(),
        });
    }
    if let Some(lib) = missing(&dir).first() {
        return Err(LibsError::StillMissing {
            library: lib.module_name(),
            path: dir.join(lib.relative_path()).display().to_string(),
        });
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_directory_misses_both_libraries() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            missing(dir.path()),
            vec![Library::ProfileStore, Library::ProfileService]
        );
    }

    #[test]
    fn the_fetch_script_is_where_the_sandbox_runs_it() {
        assert!(repo_root().join("tools/fetch-luau-libs.sh").is_file());
    }
}
