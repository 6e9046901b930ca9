//! Looker's `fields` query parameter: which keys of a response to send.
//!
//! ```text
//! fields    := item ("," item)*
//! item      := name [ "(" fields ")" ]
//! name      := [A-Za-z0-9_]+ | "*"
//! ```
//!
//! White space is allowed around names, commas and parentheses (Looker's
//! examples write `fields="id, sessions"`). `*` selects every key at its
//! level; `name(sub,sub)` selects keys inside an object-valued field (for a
//! session only `can` has any). Names that are not fields are ignored, as
//! they select nothing. An empty or blank parameter selects everything, as
//! if it were absent. Anything else (an empty item, an unbalanced
//! parenthesis, a character outside the grammar) is malformed.

use std::collections::BTreeMap;

/// The longest `fields` value accepted, in bytes.
pub const MAX_FIELDS_LEN: usize = 2048;

/// How deeply `name(...)` may nest.
pub const MAX_DEPTH: usize = 8;

/// Which keys of an object to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Every key, each in full.
    All,
    /// These keys, each with what to send of its value.
    Only(BTreeMap<String, Selection>),
}

impl Selection {
    /// What to send of the value of `key`, or `None` to leave it out.
    pub fn field(&self, key: &str) -> Option<&Selection> {
        match self {
            Selection::All => Some(&Selection::All),
            Selection::Only(keys) => keys.get(key).or_else(|| keys.get("*")),
        }
    }

    /// Whether to send `key`.
    pub fn includes(&self, key: &str) -> bool {
        self.field(key).is_some()
    }
}

/// Why a `fields` value is malformed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldsError {
    #[error("fields is longer than {MAX_FIELDS_LEN} bytes")]
    TooLong,
    #[error("fields nests parentheses more than {MAX_DEPTH} deep")]
    TooDeep,
    #[error("fields: expected a field name at character {0}")]
    ExpectedName(usize),
    #[error("fields: unexpected {found:?} at character {at}")]
    Unexpected { found: char, at: usize },
    #[error("fields: missing ')' for the '(' at character {0}")]
    Unclosed(usize),
}

/// Parses a `fields` value (`None` or blank: everything).
pub fn parse(fields: Option<&str>) -> Result<Selection, FieldsError> {
    let Some(text) = fields else {
        return Ok(Selection::All);
    };
    if text.len() > MAX_FIELDS_LEN {
        return Err(FieldsError::TooLong);
    }
    if text.trim().is_empty() {
        return Ok(Selection::All);
    }
    let mut parser = Parser {
        chars: text.chars().collect(),
        at: 0,
    };
    let selection = parser.list(0)?;
    parser.skip_space();
    match parser.peek() {
        None => Ok(selection),
        Some(found) => Err(FieldsError::Unexpected {
            found,
            at: parser.at + 1,
        }),
    }
}

struct Parser {
    chars: Vec<char>,
    /// Index of the next character.
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// `item ("," item)*`, stopping before a `)` or the end.
    fn list(&mut self, depth: usize) -> Result<Selection, FieldsError> {
        let mut keys = BTreeMap::new();
        loop {
            let (name, selection) = self.item(depth)?;
            merge(&mut keys, name, selection);
            self.skip_space();
            match self.peek() {
                Some(',') => self.at += 1,
                _ => return Ok(Selection::Only(keys)),
            }
        }
    }

    /// `name [ "(" list ")" ]`
    fn item(&mut self, depth: usize) -> Result<(String, Selection), FieldsError> {
        self.skip_space();
        let start = self.at;
        if self.peek() == Some('*') {
            self.at += 1;
        } else {
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                self.at += 1;
            }
        }
        if self.at == start {
            return Err(match self.peek() {
                None | Some(',') | Some(')') => FieldsError::ExpectedName(self.at + 1),
                Some(found) => FieldsError::Unexpected {
                    found,
                    at: self.at + 1,
                },
            });
        }
        let name: String = self.chars[start..self.at].iter().collect();
        self.skip_space();
        if self.peek() != Some('(') {
            return Ok((name, Selection::All));
        }
        let open = self.at;
        if depth >= MAX_DEPTH {
            return Err(FieldsError::TooDeep);
        }
        self.at += 1;
        let inner = self.list(depth + 1)?;
        self.skip_space();
        if self.peek() != Some(')') {
            return Err(match self.peek() {
                None => FieldsError::Unclosed(open + 1),
                Some(found) => FieldsError::Unexpected {
                    found,
                    at: self.at + 1,
                },
            });
        }
        self.at += 1;
        Ok((name, inner))
    }
}

/// Adds `name` to a selection; a name given twice gets the union.
fn merge(keys: &mut BTreeMap<String, Selection>, name: String, selection: Selection) {
    let merged = match (keys.remove(&name), selection) {
        (None, selection) => selection,
        (Some(Selection::All), _) | (_, Selection::All) => Selection::All,
        (Some(Selection::Only(mut old)), Selection::Only(new)) => {
            for (key, value) in new {
                merge(&mut old, key, value);
            }
            Selection::Only(old)
        }
    };
    keys.insert(name, merged);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn only(keys: &[(&str, Selection)]) -> Selection {
        Selection::Only(
            keys.iter()
                .map(|(key, selection)| (key.to_string(), selection.clone()))
                .collect(),
        )
    }

    #[test]
    fn absent_or_blank_is_everything() {
        assert_eq!(parse(None), Ok(Selection::All));
        assert_eq!(parse(Some("")), Ok(Selection::All));
        assert_eq!(parse(Some("  \t")), Ok(Selection::All));
    }

    #[test]
    fn lists_with_spaces_nesting_and_wildcards() {
        assert_eq!(
            parse(Some("id,can")),
            Ok(only(&[("id", Selection::All), ("can", Selection::All)]))
        );
        assert_eq!(
            parse(Some(" id , created_at ")),
            Ok(only(&[
                ("id", Selection::All),
                ("created_at", Selection::All)
            ]))
        );
        let nested = parse(Some("name,id,looks(id,title),dashboards (id, title)")).unwrap();
        assert_eq!(
            nested.field("looks"),
            Some(&only(&[("id", Selection::All), ("title", Selection::All)]))
        );
        assert!(nested.includes("dashboards") && nested.includes("name"));
        assert!(!nested.includes("url"));
        let all = parse(Some("*")).unwrap();
        assert!(all.includes("anything"));
        let projects = parse(Some("projects(*),hostname")).unwrap();
        assert!(projects.field("projects").unwrap().includes("git_username"));
        assert_eq!(
            parse(Some("can(show),can(delete),id,id(x)")).unwrap(),
            only(&[
                (
                    "can",
                    only(&[("show", Selection::All), ("delete", Selection::All)])
                ),
                ("id", Selection::All),
            ])
        );
    }

    #[test]
    fn malformed_lists_are_refused() {
        for (text, error) in [
            ("id,", FieldsError::ExpectedName(4)),
            (",id", FieldsError::ExpectedName(1)),
            ("id,,can", FieldsError::ExpectedName(4)),
            ("can(", FieldsError::ExpectedName(5)),
            ("can(show", FieldsError::Unclosed(4)),
            ("can()", FieldsError::ExpectedName(5)),
            ("id)", FieldsError::Unexpected { found: ')', at: 3 }),
            ("id can", FieldsError::Unexpected { found: 'c', at: 4 }),
            ("id;drop", FieldsError::Unexpected { found: ';', at: 3 }),
            ("i-d", FieldsError::Unexpected { found: '-', at: 2 }),
            ("ïd", FieldsError::Unexpected { found: 'ï', at: 1 }),
            ("can(show)x", FieldsError::Unexpected { found: 'x', at: 10 }),
        ] {
            assert_eq!(parse(Some(text)), Err(error), "{text:?}");
        }
        let deep = format!(
            "{}x{}",
            "a(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(parse(Some(&deep)), Err(FieldsError::TooDeep));
        let shallow = format!("{}x{}", "a(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(Some(&shallow)).is_ok());
        let long = vec!["id"; MAX_FIELDS_LEN].join(",");
        assert_eq!(parse(Some(&long)), Err(FieldsError::TooLong));
    }
}
