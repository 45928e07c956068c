//! `features`: the OCI features document (runtime-spec `features.md`), seccomp section filled
//! with what libcontainer's libseccomp backend accepts.

use anyhow::Result;
use libcontainer::syscall::linux::MountOption;
use serde_json::json;

const HOOKS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

const NAMESPACES: [&str; 8] = [
    "cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time",
];

const SECCOMP_ACTIONS: [&str; 9] = [
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];

const SECCOMP_OPERATORS: [&str; 7] = [
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];

/// Every architecture libseccomp 2.5 knows; libcontainer maps each one.
const SECCOMP_ARCHS: [&str; 20] = [
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PARISC",
    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_NATIVE",
];

const SECCOMP_FLAGS: [&str; 4] = [
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

pub fn document() -> serde_json::Value {
    let capabilities: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": super::OCI_VERSION,
        "hooks": HOOKS,
        "mountOptions": MountOption::known_options(),
        "linux": {
            "namespaces": NAMESPACES,
            "capabilities": capabilities,
            "cgroup": {"v1": true, "v2": true, "systemd": true, "systemdUser": false, "rdma": false},
            "seccomp": {
                "enabled": true,
                "actions": SECCOMP_ACTIONS,
                "operators": SECCOMP_OPERATORS,
                "archs": SECCOMP_ARCHS,
                "knownFlags": SECCOMP_FLAGS,
                "supportedFlags": SECCOMP_FLAGS,
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": false}},
        },
        "annotations": {
            "org.opencontainers.runc.version": env!("CARGO_PKG_VERSION"),
            "io.github.seccomp.libseccomp.version": "2.5",
            "run.rune.version": env!("CARGO_PKG_VERSION"),
            // The Rune backends this host runs containers on, the first being what `auto`
            // picks (seccomp only until containers run on vsmode).
            "run.rune.backends": crate::shim::select::available()
                .iter()
                .map(|b| b.name())
                .collect::<Vec<_>>()
                .join(","),
        },
    })
}

pub fn features() -> Result<()> {
    println!("{}", serde_json::to_string_pretty(&document())?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use oci_spec::runtime::Features;

    #[test]
    fn document_parses_as_oci_features() {
        let parsed: Features = serde_json::from_value(super::document()).unwrap();
        let seccomp = parsed.linux().as_ref().unwrap().seccomp().as_ref().unwrap();
        assert_eq!(seccomp.enabled(), &Some(true));
        assert!(seccomp.archs().as_ref().unwrap().len() > 10);
    }
}
