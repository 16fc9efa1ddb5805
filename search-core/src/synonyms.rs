//! Synonym and abbreviation dictionary supplied by the caller.
//!
//! One group of equivalent phrases per line, members separated by `=`:
//! `швп = шарико-винтовая пара = ball screw`. A query containing any member also matches the
//! others. Lines starting with `#` are comments.

use crate::analysis::analyze;
use std::collections::HashMap;

/// Groups of equivalent phrases, looked up by normalised word sequence.
#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    /// Each group's members, each with its lookup key (computed once, not per query).
    groups: Vec<Vec<(String, String)>>,
    by_key: HashMap<String, Vec<usize>>,
}

/// Lookup key: the analysed (stemmed, folded) terms, so `switches` finds `switch` and
/// `концевики` finds `концевик`.
fn key_of(words: &[&str]) -> String {
    words
        .iter()
        .flat_map(|w| analyze(w).into_iter().map(|(_, _, t)| t))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Synonyms {
    /// Parses the dictionary text; returns the 1-based line number of a malformed line.
    pub fn parse(text: &str) -> Result<Synonyms, usize> {
        let mut s = Synonyms::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let members: Vec<String> = line
                .split('=')
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect();
            if members.len() < 2 {
                return Err(i + 1);
            }
            s.add_group(members);
        }
        Ok(s)
    }

    /// Adds one group of equivalent phrases.
    pub fn add_group(&mut self, members: Vec<String>) {
        let idx = self.groups.len();
        let mut group = Vec::with_capacity(members.len());
        for m in members {
            let key = key_of(&[m.as_str()]);
            if !key.is_empty() {
                self.by_key.entry(key.clone()).or_default().push(idx);
            }
            group.push((m, key));
        }
        self.groups.push(group);
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The other members of every group the word sequence belongs to.
    pub fn expansions(&self, words: &[&str]) -> Vec<&str> {
        let key = key_of(words);
        let mut out = Vec::new();
        if let Some(groups) = self.by_key.get(&key) {
            for &g in groups {
                for (m, m_key) in &self.groups[g] {
                    if *m_key != key && !out.contains(&m.as_str()) {
                        out.push(m.as_str());
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_expand_both_ways_and_ignore_case_and_punctuation() {
        let s = Synonyms::parse("# comment\nШВП = шарико-винтовая пара = ball screw\n").unwrap();
        assert_eq!(
            s.expansions(&["швп"]),
            vec!["шарико-винтовая пара", "ball screw"]
        );
        assert_eq!(
            s.expansions(&["Шарико", "винтовая", "пара"]),
            vec!["ШВП", "ball screw"]
        );
        assert!(s.expansions(&["пара"]).is_empty());
        let s = Synonyms::parse("limit switch = концевой выключатель").unwrap();
        assert_eq!(
            s.expansions(&["limit", "switches"]),
            vec!["концевой выключатель"]
        );
    }

    #[test]
    fn malformed_line_is_reported_with_its_number() {
        assert_eq!(Synonyms::parse("a = b\nlonely\n").unwrap_err(), 2);
    }
}
