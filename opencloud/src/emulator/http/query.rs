//! Query strings matched by name in any letter case: the v1 reference spells `allScopes`, while
//! clients in the wild send `AllScopes`, so the emulator accepts both (an assumption: Roblox does not
//! document case handling).

/// Decoded query pairs.
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a raw query string.
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        Self(
            raw.map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        )
    }

    /// The first value of `name`, any letter case.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A boolean (`true`/`false`, any case); `Err` for anything else.
    pub(crate) fn flag(&self, name: &str) -> Result<bool, ()> {
        match self.get(name) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_any_case_and_values_decode() {
        let q = Query::parse(Some("AllScopes=TRUE&entryKey=a%20b&datastorename=x"));
        assert_eq!(q.get("allScopes"), Some("TRUE"));
        assert_eq!(q.flag("allScopes"), Ok(true));
        assert_eq!(q.get("entryKey"), Some("a b"));
        assert_eq!(q.get("datastoreName"), Some("x"));
        assert_eq!(q.get("missing"), None);
        assert_eq!(
            Query::parse(Some("exclusiveCreate=yes")).flag("exclusiveCreate"),
            Err(())
        );
    }
}
