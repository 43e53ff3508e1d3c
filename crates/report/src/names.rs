//! Names for the codes the report shows: districts, wards and LSOAs by the names the release
//! itself publishes beside their codes (`area_name`), and category-like codes by a label
//! spelled from the code. Nothing is looked up elsewhere: a report must not name an area
//! from a source the release does not stand behind, so a code without a published name is
//! shown as the code alone.

use std::collections::BTreeMap;

use crate::html::{Html, esc};
use crate::table::Table;

/// Area codes and their published names.
#[derive(Debug, Clone, Default)]
pub struct Names {
    areas: BTreeMap<String, String>,
}

impl Names {
    /// The names in every table that publishes `area_name` beside `area_code`.
    pub fn from_tables<'a>(tables: impl IntoIterator<Item = &'a Table>) -> Names {
        let mut areas = BTreeMap::new();
        for table in tables {
            if !(table.has("area_code") && table.has("area_name")) {
                continue;
            }
            for row in table.rows() {
                let (code, name) = (row.text("area_code"), row.text("area_name").trim());
                if !name.is_empty() && code != table.total() {
                    areas
                        .entry(code.to_string())
                        .or_insert_with(|| name.to_string());
                }
            }
        }
        Names { areas }
    }

    /// The published name of an area code, if the release has one.
    pub fn area(&self, code: &str) -> Option<&str> {
        self.areas.get(code).map(String::as_str)
    }

    /// HTML for an area: its name with the code beside it, or the code alone.
    pub fn area_html(&self, code: &str) -> Html {
        match self.area(code) {
            Some(name) => Html::markup(format!("{} {}", esc(name), Html::code(code))),
            None => Html::code(code),
        }
    }

    /// Plain text for an area: `Name (CODE)`, or the code alone.
    pub fn area_text(&self, code: &str) -> String {
        match self.area(code) {
            Some(name) => format!("{name} ({code})"),
            None => code.to_string(),
        }
    }
}

/// A label for a snake_case code (`violence_with_injury` → `Violence with injury`): the
/// categories, places and methods are defined by these codes in svna's definitions, which
/// hold no other wording, so the label is the code spelled out, never a guess at a name.
pub fn code_label(code: &str) -> String {
    let text = code.replace('_', " ");
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_spelled_out_not_renamed() {
        assert_eq!(code_label("violence_with_injury"), "Violence with injury");
        assert_eq!(code_label("homicide"), "Homicide");
        assert_eq!(code_label(""), "");
    }

    #[test]
    fn an_unnamed_code_is_shown_alone_and_names_are_escaped() {
        let mut names = Names::default();
        names
            .areas
            .insert("E07000136".into(), "Boston & <Skegness>".into());
        assert_eq!(
            names.area_html("E07000136").as_str(),
            "Boston &amp; &lt;Skegness&gt; <code>E07000136</code>"
        );
        assert_eq!(
            names.area_html("E07000999").as_str(),
            "<code>E07000999</code>"
        );
        assert_eq!(
            names.area_text("E07000136"),
            "Boston & <Skegness> (E07000136)"
        );
    }
}
