//! Where rewrites may apply, and which rules run: `--rules-only`, `--exclude-rules`,
//! `--modules GLOB`, and the approximation sites the error budget ([`super::budget`]) admits.
//!
//! A *place* is the module path of the e-class a rule's left-hand side matched (the module of
//! the graph node it came from, or of the node a rule rewrote). `--modules` restricts every
//! rule, exact and approximate, to places whose module path matches the glob (`globset`
//! syntax: `layer4.*`, `{layer3,layer4}.*`, `*.relu`; `*` also crosses dots). An approximation
//! *site* is an approximate rule and a module prefix: with sites given, an approximate rule
//! applies only at places equal to or under one of its sites' prefixes.

use super::analysis::Home;
use super::spelling::Spelling;
use super::RuleSet;
use globset::{Glob, GlobMatcher};
use std::collections::BTreeSet;

/// An approximate rule and the module prefix where it may apply (`""`: everywhere).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Site {
    pub rule: String,
    pub module: String,
}

impl Site {
    /// Whether `module` is this site's module or under it.
    pub fn covers(&self, module: &str) -> bool {
        self.module.is_empty()
            || module == self.module
            || module
                .strip_prefix(self.module.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
    }
}

/// Restrictions on where rules apply.
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// `--modules`: the glob as given and its matcher.
    modules: Option<(String, GlobMatcher)>,
    /// Approximate rules apply only at these sites (all places when `None`).
    sites: Option<BTreeSet<Site>>,
}

impl Places {
    /// Rules apply where the module path matches `glob` (`--modules`); a bad glob is an error
    /// in `spelling`'s option names.
    pub fn with_modules(glob: &str, spelling: Spelling) -> Result<Places, String> {
        let matcher = Glob::new(glob)
            .map_err(|e| {
                format!(
                    "{} is not a glob ({}): give a module path pattern such as 'layer4.*' or '{{layer3,layer4}}.*'",
                    spelling.text("modules", glob),
                    e.kind()
                )
            })?
            .compile_matcher();
        Ok(Places {
            modules: Some((glob.to_string(), matcher)),
            sites: None,
        })
    }

    /// The same restrictions, with approximate rules limited to `sites`.
    pub fn at_sites(&self, sites: BTreeSet<Site>) -> Places {
        Places {
            modules: self.modules.clone(),
            sites: Some(sites),
        }
    }

    /// The `--modules` glob, if any.
    pub fn modules_glob(&self) -> Option<&str> {
        self.modules.as_ref().map(|(g, _)| g.as_str())
    }

    /// Whether `module` is inside `--modules` (always without it).
    pub fn module_allowed(&self, module: &str) -> bool {
        self.modules
            .as_ref()
            .is_none_or(|(_, m)| m.is_match(module))
    }

    /// Whether rule `rule` (approximate or not) may rewrite an e-class of `home`.
    pub fn allows(&self, rule: &str, approximate: bool, home: Option<Home>) -> bool {
        let module = home.map_or("", |h| h.module.as_str());
        if !self.module_allowed(module) {
            return false;
        }
        match (&self.sites, approximate) {
            (Some(sites), true) => sites.iter().any(|s| s.rule == rule && s.covers(module)),
            _ => true,
        }
    }
}

/// The rules a user named, checked: unknown names are an error (in `spelling`'s option names)
/// with the closest known names. A name selects the rule of that name and its expansions
/// (`NAME/op` of a `for` rule, `NAME~rev` of a `both` rule).
pub fn select(
    rules: &RuleSet,
    only: &[String],
    exclude: &[String],
    spelling: Spelling,
) -> Result<RuleSet, String> {
    let selects = |name: &str, rule: &str| {
        rule == name
            || rule
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('/') || rest == "~rev")
    };
    for (option, names) in [("rules-only", only), ("exclude-rules", exclude)] {
        for name in names {
            if !rules.rules.iter().any(|r| selects(name, &r.name)) {
                return Err(unknown_rule(rules, &spelling.name(option), name));
            }
        }
    }
    let keep: Vec<&str> = rules
        .rules
        .iter()
        .map(|r| r.name.as_str())
        .filter(|r| only.is_empty() || only.iter().any(|n| selects(n, r)))
        .filter(|r| !exclude.iter().any(|n| selects(n, r)))
        .collect();
    Ok(rules.subset(&keep))
}

/// The error for a rule name that no loaded rule has, with the closest names.
fn unknown_rule(rules: &RuleSet, option: &str, name: &str) -> String {
    let mut scored: Vec<(f64, &str)> = rules
        .rules
        .iter()
        .filter(|r| !r.name.ends_with("~rev"))
        .map(|r| (strsim::jaro_winkler(name, &r.name), r.name.as_str()))
        .filter(|(s, _)| *s >= 0.85)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let close: Vec<&str> = scored.iter().take(3).map(|(_, n)| *n).collect();
    let hint = if close.is_empty() {
        String::new()
    } else {
        format!("did you mean {}? ", close.join(", "))
    };
    format!("{option}: no rule is named '{name}'; {hint}`hawkeye rules` lists them all")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_cover_their_module_and_below() {
        let s = Site {
            rule: "r".into(),
            module: "layer1.0".into(),
        };
        assert!(s.covers("layer1.0"));
        assert!(s.covers("layer1.0.relu"));
        assert!(!s.covers("layer1.01"));
        assert!(!s.covers("layer1"));
        let all = Site {
            rule: "r".into(),
            module: String::new(),
        };
        assert!(all.covers("anything"));
    }

    #[test]
    fn selection_names_unknown_rules() {
        let rules = RuleSet::builtin().unwrap();
        let only = select(&rules, &["relu-to-square".into()], &[], Spelling::Cli).unwrap();
        assert_eq!(
            only.rules
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ["relu-to-square"]
        );
        let without = select(&rules, &[], &["relu-to-square".into()], Spelling::Cli).unwrap();
        assert_eq!(without.rules.len(), rules.rules.len() - 1);
        assert_eq!(
            select(&rules, &["relu-to-sqare".into()], &[], Spelling::Cli)
                .err()
                .unwrap(),
            "--rules-only: no rule is named 'relu-to-sqare'; did you mean relu-to-square, relu-to-quad, relu-to-identity? `hawkeye rules` lists them all"
        );
        assert_eq!(
            select(&rules, &[], &["relu-to-sqare".into()], Spelling::Python)
                .err()
                .unwrap(),
            "exclude_rules: no rule is named 'relu-to-sqare'; did you mean relu-to-square, relu-to-quad, relu-to-identity? `hawkeye rules` lists them all"
        );
        assert_eq!(
            Places::with_modules("layer[", Spelling::Python).unwrap_err(),
            "modules='layer[' is not a glob (unclosed character class; missing ']'): give a module path pattern such as 'layer4.*' or '{layer3,layer4}.*'"
        );
        let p = Places::with_modules("layer4.*", Spelling::Cli).unwrap();
        assert!(p.module_allowed("layer4.1.relu") && !p.module_allowed("layer3.1.relu"));
    }
}
