//! Unit tests of the rule set itself.

use super::*;

#[test]
fn every_rule_compiles() {
    let set = ruleset();
    assert!(set.errors.is_empty(), "rules that do not compile:\n{}", set.errors.join("\n"));
}

#[test]
fn rule_names_are_unique() {
    let names = rule_names();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len());
}
