//! The Rune policy, version 1 (ARCHITECTURE.md §3), as serde types. Unknown fields are errors:
//! a misspelt `"erno"` must not silently mean "EPERM".

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Policy {
    pub rune_version: u32,
    pub default_action: DefaultAction,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultAction {
    Allow,
    Log,
    Deny,
    Kill,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Allow,
    Log,
    Deny,
    Kill,
    Emulate,
    Rewrite,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rule {
    pub name: Option<String>,
    pub syscalls: Vec<String>,
    #[serde(rename = "match")]
    pub matches: Option<Match>,
    pub action: Action,
    pub errno: Option<String>,
    #[serde(rename = "return")]
    pub ret: Option<i64>,
    pub rewrite: Option<Rewrite>,
    #[serde(default)]
    pub log: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    pub path: Option<PathPredicate>,
    #[serde(default)]
    pub args: Vec<ArgMatch>,
}

/// Exactly one of the fields must be set; `validate` says so when it is not.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PathPredicate {
    pub exact: Option<String>,
    pub prefix: Option<String>,
    pub glob: Option<String>,
    #[serde(rename = "in")]
    pub in_list: Option<Vec<String>>,
    pub not_in: Option<Vec<String>>,
    /// The same paths as the container's file system reaches them (`policy::resolve`): where
    /// a path crosses a symlink of the image (`/var/run` → `../run`), the object it names has
    /// another real path, and a predicate holds for either form.
    #[serde(skip)]
    pub resolved: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArgMatch {
    pub index: u8,
    pub op: CmpOp,
    pub value: u64,
    pub value_two: Option<u64>,
}

/// The OCI seccomp comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum CmpOp {
    #[serde(rename = "SCMP_CMP_EQ")]
    Eq,
    #[serde(rename = "SCMP_CMP_NE")]
    Ne,
    #[serde(rename = "SCMP_CMP_LT")]
    Lt,
    #[serde(rename = "SCMP_CMP_LE")]
    Le,
    #[serde(rename = "SCMP_CMP_GT")]
    Gt,
    #[serde(rename = "SCMP_CMP_GE")]
    Ge,
    #[serde(rename = "SCMP_CMP_MASKED_EQ")]
    MaskedEq,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rewrite {
    pub path: Option<String>,
    pub path_prefix: Option<PrefixRewrite>,
    pub args: Option<BTreeMap<String, u64>>,
    pub which: Option<Which>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixRewrite {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Which {
    Old,
    New,
}
