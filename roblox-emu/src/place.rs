//! A place's source tree: Scripts and ModuleScripts mounted below the DataModel, read from a
//! Rojo-style directory (`default.project.json` with `$path` nodes, or service-named folders).
//!
//! File rules (Rojo's): `*.server.luau` → Script, `*.client.luau` → skipped (client),
//! other `*.luau`/`*.lua` → ModuleScript, a folder with `init.luau` / `init.server.luau` becomes
//! that script with the folder's other files as children.

use std::path::Path;

use crate::error::EmuError;

/// One instance of the tree.
#[derive(Clone, Debug)]
pub struct PlaceItem {
    /// Names from the DataModel down, e.g. `["ServerScriptService", "Main"]`.
    pub path: Vec<String>,
    /// `Script`, `ModuleScript` or `Folder`.
    pub class: String,
    /// Source text for scripts.
    pub source: Option<String>,
}

/// A place: what every server of the universe runs.
#[derive(Clone, Debug, Default)]
pub struct Place {
    /// Instances in mount order (parents first).
    pub items: Vec<PlaceItem>,
}

const SERVICES: &[&str] = &[
    "ServerScriptService",
    "ServerStorage",
    "ReplicatedStorage",
    "Workspace",
];

fn src_err(path: &Path, reason: impl Into<String>) -> EmuError {
    EmuError::Source {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

impl Place {
    /// An empty place.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a Script at `path` (dot-separated below the DataModel).
    pub fn script(&mut self, path: &str, source: impl Into<String>) -> &mut Self {
        self.add(path, "Script", Some(source.into()))
    }

    /// Adds a ModuleScript at `path`.
    pub fn module(&mut self, path: &str, source: impl Into<String>) -> &mut Self {
        self.add(path, "ModuleScript", Some(source.into()))
    }

    /// Adds a Folder at `path`.
    pub fn folder(&mut self, path: &str) -> &mut Self {
        self.add(path, "Folder", None)
    }

    fn add(&mut self, path: &str, class: &str, source: Option<String>) -> &mut Self {
        self.items.push(PlaceItem {
            path: path.split('.').map(str::to_owned).collect(),
            class: class.to_owned(),
            source,
        });
        self
    }

    /// Mounts a third-party library as `ServerStorage.Packages.<Name>`.
    pub fn library(
        &mut self,
        lib: crate::libs::Library,
        dir: Option<&Path>,
    ) -> Result<&mut Self, EmuError> {
        let source = crate::libs::load(lib, dir)?;
        Ok(self.module(
            &format!("ServerStorage.Packages.{}", lib.module_name()),
            source,
        ))
    }

    /// Loads a Rojo-style project directory.
    pub fn from_dir(root: &Path) -> Result<Self, EmuError> {
        let mut place = Place::new();
        let project = root.join("default.project.json");
        if project.is_file() {
            let text =
                std::fs::read_to_string(&project).map_err(|e| src_err(&project, e.to_string()))?;
            let json: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| src_err(&project, format!("invalid JSON: {e}")))?;
            let tree = json
                .get("tree")
                .ok_or_else(|| src_err(&project, "no \"tree\" node"))?;
            place.walk_project(root, tree, &mut Vec::new())?;
        } else {
            for service in SERVICES {
                let dir = root.join(service);
                if dir.is_dir() {
                    place.load_dir(&dir, &[(*service).to_owned()])?;
                }
            }
        }
        Ok(place)
    }

    fn walk_project(
        &mut self,
        root: &Path,
        node: &serde_json::Value,
        path: &mut Vec<String>,
    ) -> Result<(), EmuError> {
        // `"$path": "dir"` or Rojo 7.4's `"$path": {"optional": "dir"}` (skipped when absent).
        let (path_value, optional) = match node.get("$path") {
            Some(serde_json::Value::String(p)) => (Some(p.as_str()), false),
            Some(serde_json::Value::Object(o)) => {
                (o.get("optional").and_then(serde_json::Value::as_str), true)
            }
            _ => (None, false),
        };
        if let Some(p) = path_value {
            let full = root.join(p);
            if optional && !full.exists() {
                return self.walk_children(root, node, path);
            }
            if path.is_empty() {
                return Err(src_err(
                    &full,
                    "a $path on the DataModel root is not supported",
                ));
            }
            if full.is_dir() {
                self.load_dir(&full, path)?;
            } else {
                self.load_file(
                    &full,
                    &path[..path.len() - 1],
                    path.last().map(String::as_str),
                )?;
            }
        }
        self.walk_children(root, node, path)
    }

    fn walk_children(
        &mut self,
        root: &Path,
        node: &serde_json::Value,
        path: &mut Vec<String>,
    ) -> Result<(), EmuError> {
        if let Some(obj) = node.as_object() {
            for (name, child) in obj {
                if name.starts_with('$') || !child.is_object() {
                    continue;
                }
                path.push(name.clone());
                self.walk_project(root, child, path)?;
                path.pop();
            }
        }
        Ok(())
    }

    fn load_dir(&mut self, dir: &Path, path: &[String]) -> Result<(), EmuError> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| src_err(dir, e.to_string()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        // An init script turns the folder itself into that script.
        for init in [
            "init.server.luau",
            "init.server.lua",
            "init.luau",
            "init.lua",
        ] {
            let f = dir.join(init);
            if f.is_file() && path.len() > 1 {
                let source = std::fs::read_to_string(&f).map_err(|e| src_err(&f, e.to_string()))?;
                let class = if init.contains(".server.") {
                    "Script"
                } else {
                    "ModuleScript"
                };
                self.items.push(PlaceItem {
                    path: path.to_vec(),
                    class: class.to_owned(),
                    source: Some(source),
                });
                break;
            }
        }
        if path.len() > 1 && !self.items.iter().any(|i| i.path == path) {
            self.items.push(PlaceItem {
                path: path.to_vec(),
                class: "Folder".to_owned(),
                source: None,
            });
        }
        for entry in entries {
            let name = entry
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if name.starts_with("init.") {
                continue;
            }
            if entry.is_dir() {
                let mut child = path.to_vec();
                child.push(name);
                self.load_dir(&entry, &child)?;
            } else {
                self.load_file(&entry, path, None)?;
            }
        }
        Ok(())
    }

    fn load_file(
        &mut self,
        file: &Path,
        parent: &[String],
        rename: Option<&str>,
    ) -> Result<(), EmuError> {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let (stem, class) = if let Some(s) = name
            .strip_suffix(".server.luau")
            .or_else(|| name.strip_suffix(".server.lua"))
        {
            (s, "Script")
        } else if name.ends_with(".client.luau") || name.ends_with(".client.lua") {
            return Ok(());
        } else if let Some(s) = name
            .strip_suffix(".luau")
            .or_else(|| name.strip_suffix(".lua"))
        {
            (s, "ModuleScript")
        } else {
            return Ok(());
        };
        let source = std::fs::read_to_string(file).map_err(|e| src_err(file, e.to_string()))?;
        let mut path = parent.to_vec();
        path.push(rename.unwrap_or(stem).to_owned());
        self.items.push(PlaceItem {
            path,
            class: class.to_owned(),
            source: Some(source),
        });
        Ok(())
    }
}
