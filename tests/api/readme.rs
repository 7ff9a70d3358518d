//! The README's settings table lists exactly the settings `liveroom serve --help` knows.

use std::collections::BTreeSet;
use std::process::Command;

/// The `LIVEROOM_*` names of `[env: NAME=…]` in `liveroom serve --help`.
fn settings_of_the_binary() -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_liveroom"))
        .args(["serve", "--help"])
        .output()
        .expect("liveroom serve --help");
    assert!(out.status.success(), "liveroom serve --help failed");
    let help = String::from_utf8(out.stdout).expect("utf-8 help");
    help.split("[env: ")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect::<String>()
        })
        .collect()
}

/// The `LIVEROOM_*` names in the first column of the table under the README's "## Settings".
fn settings_of_the_readme() -> BTreeSet<String> {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("\n## Settings\n")
        .nth(1)
        .expect("README.md has a \"## Settings\" section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let mut names = BTreeSet::new();
    for row in section.lines().filter(|l| l.starts_with('|')) {
        let first = row.split('|').nth(1).unwrap_or_default();
        let mut rest = first;
        while let Some(at) = rest.find("LIVEROOM_") {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            names.insert(name);
        }
    }
    names
}

#[test]
fn the_readme_settings_table_matches_serve_help() {
    let binary = settings_of_the_binary();
    let readme = settings_of_the_readme();
    assert!(binary.len() > 30, "too few settings in --help: {binary:?}");
    let missing: Vec<_> = binary.difference(&readme).collect();
    let unknown: Vec<_> = readme.difference(&binary).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "README.md's settings table differs from `liveroom serve --help`: \
         missing from the README {missing:?}, not a setting {unknown:?}"
    );
}
