//! The bridge's settings module (`ServerStorage.EconomyBridgeSecrets`) for one emulated run: the
//! settings table of `bridge/README.md`, written as a `--!strict` ModuleScript.

/// The settings of one run. Fields left `None` are left out, so the bridge uses its defaults.
#[derive(Clone)]
pub struct Settings {
    /// `apiUrl`: the audit API's base URL, written as given.
    pub api_url: String,
    /// `auditKeyId`: the game servers' write key id.
    pub audit_key_id: String,
    /// `auditSecret`: its secret, hex.
    pub audit_secret_hex: String,
    /// `commandKeys`: `(key id, secret hex)` of every command-signing key, in this order.
    pub command_keys: Vec<(String, String)>,
    /// `library`: `ProfileStore` or `ProfileService`.
    pub library: String,
    /// `dataStoreName`.
    pub data_store_name: Option<String>,
    /// `keyPrefix`.
    pub key_prefix: Option<String>,
    /// `commandTopic`.
    pub command_topic: Option<String>,
    /// `logLevel`.
    pub log_level: Option<String>,
}

impl std::fmt::Debug for Settings {
    // Secrets never reach a log or a panic message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("api_url", &self.api_url)
            .field("audit_key_id", &self.audit_key_id)
            .field("library", &self.library)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// The ModuleScript source returning the settings table.
    pub fn luau_module(&self) -> String {
        let mut fields = vec![
            ("apiUrl", luau_string(&self.api_url)),
            ("auditKeyId", luau_string(&self.audit_key_id)),
            ("auditSecret", luau_string(&self.audit_secret_hex)),
            ("commandKeys", self.command_keys_table()),
            ("library", luau_string(&self.library)),
        ];
        let optional = [
            ("dataStoreName", &self.data_store_name),
            ("keyPrefix", &self.key_prefix),
            ("commandTopic", &self.command_topic),
            ("logLevel", &self.log_level),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                fields.push((name, luau_string(value)));
            }
        }
        let mut out = String::from(
            "--!strict\n\
             -- Generated for one emulated run only (never a developer's settings file).\n\
             return {\n",
        );
        for (name, value) in fields {
            out.push_str(&format!("\t{name} = {value},\n"));
        }
        out.push_str("}\n");
        out
    }

    fn command_keys_table(&self) -> String {
        let entries: Vec<String> = self
            .command_keys
            .iter()
            .map(|(id, secret)| format!("[{}] = {}", luau_string(id), luau_string(secret)))
            .collect();
        format!("{{ {} }}", entries.join(", "))
    }
}

/// Text as a double-quoted Luau string literal (the values are hex, names and URLs, but a data
/// directory or address must never break out of the literal).
pub fn luau_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            // Three digits: a shorter decimal escape would swallow a digit that follows it.
            c if (c as u32) < 0x20 => out.push_str(&format!("\\{:03}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            api_url: "http://127.0.0.1:9".into(),
            audit_key_id: "game".into(),
            audit_secret_hex: "ab".repeat(32),
            command_keys: vec![
                ("k1".into(), "cd".repeat(32)),
                ("k2".into(), "ef".repeat(32)),
            ],
            library: "ProfileService".into(),
            data_store_name: None,
            key_prefix: Some("wallet_".into()),
            command_topic: None,
            log_level: Some("debug".into()),
        }
    }

    #[test]
    fn the_module_is_a_strict_table_of_the_given_fields_only() {
        let module = settings().luau_module();
        assert!(module.starts_with("--!strict\n"), "{module}");
        assert!(module.ends_with("}\n"), "{module}");
        for line in [
            "\tapiUrl = \"http://127.0.0.1:9\",\n",
            "\tauditKeyId = \"game\",\n",
            &format!("\tauditSecret = \"{}\",\n", "ab".repeat(32)),
            &format!(
                "\tcommandKeys = {{ [\"k1\"] = \"{}\", [\"k2\"] = \"{}\" }},\n",
                "cd".repeat(32),
                "ef".repeat(32)
            ),
            "\tlibrary = \"ProfileService\",\n",
            "\tkeyPrefix = \"wallet_\",\n",
            "\tlogLevel = \"debug\",\n",
        ] {
            assert!(module.contains(line), "{line:?} missing from {module}");
        }
        assert!(!module.contains("dataStoreName") && !module.contains("commandTopic"));
    }

    #[test]
    fn secrets_are_not_in_debug_output() {
        let s = settings();
        let shown = format!("{s:?}");
        assert!(!shown.contains(&s.audit_secret_hex) && !shown.contains(&"cd".repeat(32)));
    }

    #[test]
    fn luau_strings_cannot_be_broken_out_of() {
        assert_eq!(luau_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(luau_string("\u{1}2"), "\"\\0012\"");
    }
}
