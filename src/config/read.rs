//! Reads the config's TOML so that `config check` reports every bad key, not only the first.
//!
//! serde stops at its first error. So each error found is recorded with its dotted key and
//! line, the key it points at is taken out of the parsed document, and the rest is read
//! again, until it reads or nothing more can be taken out. A table that lacks a required key
//! is taken out whole: serde names one missing key at a time, so a table missing two shows
//! the second once the first is added.

use std::collections::HashMap;
use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue, ValueDeserializer};

use super::{Problem, without_values};

/// More than this many problems are not worth reading on.
const MOST: usize = 100;

/// The key of a problem whose place serde did not give.
const SOMEWHERE: &str = "config";

/// Why a config could not be read.
#[derive(Debug)]
pub enum Unreadable {
    /// Not TOML: the place and the message, e.g. ` at line 3, column 1: expected …`.
    Syntax(String),
    /// TOML, but keys that are unknown or values of the wrong kind: every one of them.
    Problems(Vec<Problem>),
}

/// One step down the document: a table's key or an array's element.
#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// Deserializes `text` into `T`, or says what is wrong with it, each problem under its key.
pub fn read<T: DeserializeOwned>(text: &str) -> Result<T, Unreadable> {
    match read_rest(text)? {
        (Some(value), problems) if problems.is_empty() => Ok(value),
        (_, problems) => Err(Unreadable::Problems(problems)),
    }
}

/// Like [`read`], but with the problems also what the rest of the document reads as, once the
/// keys in error are taken out (`None` when not even that reads), so that `config check` can
/// go on to check it too. Only a syntax error is an `Err`.
pub fn read_rest<T: DeserializeOwned>(text: &str) -> Result<(Option<T>, Vec<Problem>), Unreadable> {
    let root = DeTable::parse(text)
        .map_err(|e| Unreadable::Syntax(format!("{}: {}", place(text, e.span()), message(&e))))?;
    let (span, table) = (root.span(), root.into_inner());
    let mut root = Spanned::new(span, DeValue::Table(table));
    // Array elements by where they start, so a key keeps its index after an element before it
    // was taken out.
    let mut indexes = HashMap::new();
    index_elements(root.get_ref(), &mut indexes);
    let mut problems = Vec::new();
    let mut taken: Vec<String> = Vec::new();
    loop {
        let error = match T::deserialize(ValueDeserializer::from(root.clone())) {
            Ok(value) => return Ok((Some(value), in_file_order(problems))),
            Err(error) => error,
        };
        let path = error
            .span()
            .map(|span| innermost(root.get_ref(), &span))
            .unwrap_or_default();
        let key = dotted(&path, root.get_ref(), &indexes);
        // A key taken out for its own error is now missing: not a second problem.
        let consequence =
            missing_field(&error).is_some_and(|field| taken.contains(&join(&key, field)));
        if !consequence {
            let shown = if key.is_empty() { SOMEWHERE } else { &key };
            let problem = match place(text, error.span()).strip_prefix(" at ") {
                Some(at) => Problem::new(shown, format!("{} ({at})", message(&error))),
                None => Problem::new(shown, message(&error)),
            };
            problems.push((error.span().map_or(usize::MAX, |s| s.start), problem));
        }
        if problems.len() >= MOST {
            let mut problems = in_file_order(problems);
            problems.push(Problem::new(
                SOMEWHERE,
                format!("stopped after {MOST} problems: mend these and check again"),
            ));
            return Ok((None, problems));
        }
        if path.is_empty() {
            return Ok((None, in_file_order(problems)));
        }
        take_out(root.get_mut(), &path);
        taken.push(key);
    }
}

fn in_file_order(mut problems: Vec<(usize, Problem)>) -> Vec<Problem> {
    problems.sort_by_key(|(at, _)| *at);
    problems.into_iter().map(|(_, problem)| problem).collect()
}

/// serde's message without the value it quotes (it may be a pasted secret).
fn message(error: &toml::de::Error) -> String {
    without_values(error.message().trim_end())
}

/// ` at line L, column C` of a span's start, or nothing without a span.
fn place(text: &str, span: Option<Range<usize>>) -> String {
    match span.and_then(|span| text.get(..span.start)) {
        Some(before) => {
            let line = before.matches('\n').count() + 1;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let column = before[line_start..].chars().count() + 1;
            format!(" at line {line}, column {column}")
        }
        None => String::new(),
    }
}

/// `kind` of "missing field `kind`".
fn missing_field(error: &toml::de::Error) -> Option<&str> {
    error
        .message()
        .strip_prefix("missing field `")?
        .split('`')
        .next()
}

fn join(key: &str, field: &str) -> String {
    if key.is_empty() {
        field.to_string()
    } else {
        format!("{key}.{field}")
    }
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// The path to the deepest key or element whose text holds `span`. Every node is searched: a
/// `[table]` header's span does not hold the keys under it.
fn innermost(root: &DeValue, span: &Range<usize>) -> Vec<Step> {
    let mut best = Vec::new();
    search(root, span, &mut Vec::new(), &mut best);
    best
}

fn search(node: &DeValue, span: &Range<usize>, path: &mut Vec<Step>, best: &mut Vec<Step>) {
    // (the step, the key's text for a table's entry, the value)
    type Child<'a, 'i> = (Step, Option<Range<usize>>, &'a Spanned<DeValue<'i>>);
    let children: Vec<Child> = match node {
        DeValue::Table(table) => table
            .iter()
            .map(|(k, v)| (Step::Key(k.get_ref().to_string()), Some(k.span()), v))
            .collect(),
        DeValue::Array(array) => array
            .iter()
            .enumerate()
            .map(|(i, v)| (Step::Index(i), None, v))
            .collect(),
        _ => return,
    };
    for (step, key_span, value) in children {
        path.push(step);
        let on_key = key_span.is_some_and(|k| contains(&k, span));
        if (on_key || contains(&value.span(), span)) && path.len() > best.len() {
            *best = path.iter().map(Step::clone).collect();
        }
        if !on_key {
            search(value.get_ref(), span, path, best);
        }
        path.pop();
    }
}

/// `integrations.crm.url` or `sinks[2].secret`, with each element's index in the file.
fn dotted(path: &[Step], mut node: &DeValue, indexes: &HashMap<usize, usize>) -> String {
    let mut key = String::new();
    for step in path {
        let next = match (step, node) {
            (Step::Key(name), DeValue::Table(table)) => {
                key = join(&key, name);
                table.get(name.as_str())
            }
            (Step::Index(i), DeValue::Array(array)) => {
                let element = array.get(*i);
                let original = element.and_then(|e| indexes.get(&e.span().start));
                key.push_str(&format!("[{}]", original.unwrap_or(i)));
                element
            }
            _ => None,
        };
        match next {
            Some(value) => node = value.get_ref(),
            None => break,
        }
    }
    key
}

fn index_elements(node: &DeValue, indexes: &mut HashMap<usize, usize>) {
    match node {
        DeValue::Table(table) => table
            .values()
            .for_each(|v| index_elements(v.get_ref(), indexes)),
        DeValue::Array(array) => {
            for (i, element) in array.iter().enumerate() {
                indexes.insert(element.span().start, i);
                index_elements(element.get_ref(), indexes);
            }
        }
        _ => {}
    }
}

/// Removes the key or element at the end of `path`.
fn take_out(node: &mut DeValue, path: &[Step]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = node;
    for step in parents {
        let next = match (step, node) {
            (Step::Key(name), DeValue::Table(table)) => table.get_mut(name.as_str()),
            (Step::Index(i), DeValue::Array(array)) => array.get_mut(*i),
            _ => None,
        };
        match next {
            Some(value) => node = value.get_mut(),
            None => return,
        }
    }
    match (last, node) {
        (Step::Key(name), DeValue::Table(table)) => {
            table.remove(name.as_str());
        }
        (Step::Index(i), DeValue::Array(array)) => {
            let kept: DeArray = std::mem::replace(array, DeArray::new())
                .into_iter()
                .enumerate()
                .filter(|(j, _)| j != i)
                .map(|(_, element)| element)
                .collect();
            *array = kept;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn problems(text: &str) -> Vec<String> {
        match read::<Config>(text) {
            Err(Unreadable::Problems(problems)) => problems.iter().map(|p| p.to_string()).collect(),
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn every_bad_key_is_reported_with_its_key_and_line_in_file_order() {
        let text = "[server]\nbogus = 1\nbind = \"127.0.0.1:9\"\nalso_bogus = \"x\"\n\
                    [integrations.p]\nkind = \"gmail\"\naccount = \"a\"\ninterval = \"5 parsecs\"\n\
                    [integrations.z]\nkind = \"ghp_secretish\"\n\
                    [[rules]]\nname = \"r\"\n[[rules]]\nnot_a_key = true\n";
        let found = problems(text);
        assert_eq!(found.len(), 7, "{found:#?}");
        assert!(found[0].starts_with("server.bogus: unknown field `bogus`"));
        assert!(found[0].ends_with("(line 2, column 1)"), "{}", found[0]);
        assert!(found[1].starts_with("server.also_bogus: unknown field"));
        assert_eq!(
            found[2],
            "integrations.p.interval: invalid value: string, expected a duration (line 8, column 12)"
        );
        // The unknown kind, and not also "missing field `kind`" once it is taken out.
        assert!(found[3].starts_with("integrations.z.kind: unknown variant,"));
        assert!(!found.iter().any(|p| p.contains("ghp_secretish")));
        assert!(found[4].starts_with("rules[0]: missing field `integration` (line 11"));
        // The second rule keeps its index after the first one is taken out.
        assert!(found[5].starts_with("rules[1]: missing field `integration` (line 13"));
        assert!(found[6].starts_with("rules[1].not_a_key: unknown field"));
    }

    #[test]
    fn reading_stops_after_a_hundred_problems_and_says_so() {
        let keys: String = (0..120).map(|i| format!("bogus{i:03} = 1\n")).collect();
        let found = problems(&format!("[server]\n{keys}"));
        assert_eq!(found.len(), MOST + 1);
        assert_eq!(
            found.last().unwrap(),
            "config: stopped after 100 problems: mend these and check again"
        );
    }

    #[test]
    fn a_syntax_error_is_one_error_with_its_place() {
        match read::<Config>("[server\nbind = 1\n") {
            Err(Unreadable::Syntax(message)) => {
                assert!(message.starts_with(" at line 1, column"), "{message}")
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn a_good_config_reads() {
        assert!(read::<Config>("[server]\nbind = \"127.0.0.1:9\"\n").is_ok());
    }
}
