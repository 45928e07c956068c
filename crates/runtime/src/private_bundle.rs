//! libcontainer reads `config.json` from the bundle it is given. When the spec must change
//! before libcontainer sees it, rune-run gives it a private copy (in `ROOT/.rune/ID`, apart
//! from the state directories that `list` reads, kept until `delete`, because `exec` reads the
//! container's spec again) and
//! remembers the client's bundle for `state`, `list` and everything else that shows or reads
//! it. Two reasons:
//!
//! - libcontainer 0.7 compiles `SCMP_CMP_MASKED_EQ` with `value` and `valueTwo` swapped
//!   (runc, libseccomp-golang and the runtime spec: `(arg & value) == valueTwo`), which turns
//!   docker's `clone` rule (namespace flags only with `CAP_SYS_ADMIN`) into "always allow":
//!   found by comparing the filters' verdicts with runc's over every call number. The copy
//!   swaps the two back, so the filter libcontainer builds means what the profile says.
//! - Rune borrows capabilities to install its own filter (`shim::grant`).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use libcontainer::container::Container;
use oci_spec::runtime::{LinuxSeccompArgBuilder, LinuxSeccompOperator, Spec};

/// Where the state directory records the client's bundle.
const CLIENT_BUNDLE: &str = "rune-client-bundle";

/// The directory of the state root that holds rune-run's own files, not containers.
pub const RESERVED: &str = ".rune";

pub fn dir(root: &Path, id: &str) -> PathBuf {
    root.join(RESERVED).join(id)
}

/// Swaps `value` and `valueTwo` of every `SCMP_CMP_MASKED_EQ` argument (see above); whether
/// there was one.
pub fn fix_masked_eq(spec: &mut Spec) -> bool {
    let mut changed = false;
    let Some(seccomp) = spec
        .linux_mut()
        .as_mut()
        .and_then(|l| l.seccomp_mut().as_mut())
    else {
        return false;
    };
    let Some(mut rules) = seccomp.syscalls().clone() else {
        return false;
    };
    for rule in &mut rules {
        let Some(mut args) = rule.args().clone() else {
            continue;
        };
        for arg in &mut args {
            if arg.op() == LinuxSeccompOperator::ScmpCmpMaskedEq
                && let Ok(swapped) = LinuxSeccompArgBuilder::default()
                    .index(arg.index())
                    .value(arg.value_two().unwrap_or(0))
                    .value_two(arg.value())
                    .op(arg.op())
                    .build()
            {
                *arg = swapped;
                changed = true;
            }
        }
        rule.set_args(Some(args));
    }
    seccomp.set_syscalls(Some(rules));
    changed
}

/// Writes the copy (root and relative bind sources made absolute against the client's
/// bundle) and returns its directory.
pub fn write(root: &Path, id: &str, spec: &Spec, bundle: &Path) -> Result<PathBuf> {
    let dir = dir(root, id);
    let written = write_in(&dir, spec, bundle);
    if written.is_err() {
        remove(root, id);
    }
    written.map(|()| dir)
}

fn write_in(dir: &Path, spec: &Spec, bundle: &Path) -> Result<()> {
    // A concurrent `remove` may take the empty parent away between the two steps.
    let mut made = fs::create_dir_all(dir);
    if made.is_err() {
        made = fs::create_dir_all(dir);
    }
    made.with_context(|| format!("create {}", dir.display()))?;
    let mut spec = spec.clone();
    if let Some(r) = spec.root_mut().as_mut()
        && r.path().is_relative()
    {
        r.set_path(bundle.join(r.path()));
    }
    if let Some(mounts) = spec.mounts_mut().as_mut() {
        for m in mounts.iter_mut() {
            if let Some(src) = m.source().clone()
                && src.is_relative()
                && m.typ().as_deref() == Some("bind")
            {
                m.set_source(Some(bundle.join(src)));
            }
        }
    }
    spec.save(dir.join("config.json"))
        .with_context(|| format!("write {}/config.json", dir.display()))
}

pub fn record_client_bundle(state_dir: &Path, bundle: &Path) -> Result<()> {
    fs::write(
        state_dir.join(CLIENT_BUNDLE),
        bundle.as_os_str().as_encoded_bytes(),
    )
    .context("record the client's bundle")
}

/// The container's state as hooks must see it: with the bundle the client gave.
pub fn client_state(container: &Container) -> libcontainer::container::State {
    let mut state = container.state.clone();
    state.bundle = client_bundle(container);
    state
}

/// The bundle the client gave, whichever libcontainer read.
pub fn client_bundle(container: &Container) -> PathBuf {
    fs::read(container.root.join(CLIENT_BUNDLE))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .map(PathBuf::from)
        .unwrap_or_else(|| container.bundle().clone())
}

/// Removes the copy, and the reserved directory once it holds no other.
pub fn remove(root: &Path, id: &str) {
    let _ = fs::remove_dir_all(dir(root, id));
    let _ = fs::remove_dir(root.join(RESERVED));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_eq_means_what_runc_means() {
        let mut spec: Spec = serde_json::from_str(
            r#"{"ociVersion": "1.0.2", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO",
                "syscalls": [{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                  "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]}]}}}"#,
        )
        .unwrap();
        assert!(fix_masked_eq(&mut spec));
        let arg = &spec
            .linux()
            .as_ref()
            .unwrap()
            .seccomp()
            .as_ref()
            .unwrap()
            .syscalls()
            .as_ref()
            .unwrap()[0]
            .args()
            .as_ref()
            .unwrap()[0];
        // libcontainer builds MaskedEqual(valueTwo) against value: mask 0x7e020000, datum 0.
        assert_eq!((arg.value(), arg.value_two()), (0, Some(2_114_060_288)));
    }
}
