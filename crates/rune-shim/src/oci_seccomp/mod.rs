//! The container's OCI seccomp profile (`linux.seccomp` of config.json), as the handler needs
//! it: a call the shim answers itself (an emulation, a rewrite, a call served in-process by
//! the VS-mode backend) never reaches the kernel's filter, so the handler evaluates the
//! profile on the original call first and a call the profile refuses stays refused. The
//! profile is compiled with libseccomp, exactly as the filter the kernel runs, and the BPF is
//! evaluated here (`bpf.rs`).

mod bpf;
mod compile;

use std::path::Path;

pub use compile::CompileError;

/// What the profile does with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OciVerdict {
    Allow,
    Errno(i32),
    /// KILL_PROCESS, KILL_THREAD, and TRAP (SIGSYS).
    Kill,
    /// TRACE without a tracer, or NOTIFY without a listener the shim could ask.
    Enosys,
}

#[derive(Debug)]
pub struct OciProfile {
    prog: Vec<libc::sock_filter>,
    /// Calls the profile allows whatever their arguments (for answers fixed in advance).
    always_allowed: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: not an OCI seccomp profile: {1}")]
    Parse(String, serde_json::Error),
    #[error("{0}: {1}")]
    Compile(String, CompileError),
}

/// The audit architecture of this build, as `seccomp_data.arch` carries it.
const fn native_audit_arch() -> u32 {
    if cfg!(target_arch = "x86_64") {
        0xc000_003e
    } else if cfg!(target_arch = "aarch64") {
        0xc000_00b7
    } else {
        0xc000_00f3 // riscv64
    }
}

impl OciProfile {
    /// Reads the profile from `path`: an OCI config.json (its `linux.seccomp`) or the
    /// `linux.seccomp` object by itself.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let name = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| ProfileError::Read(name.clone(), e))?;
        Self::parse(&name, &text)
    }

    pub fn parse(name: &str, text: &str) -> Result<Self, ProfileError> {
        let parse = |e| ProfileError::Parse(name.to_owned(), e);
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(parse)?;
        if let Some(seccomp) = value.pointer_mut("/linux/seccomp") {
            value = seccomp.take();
        }
        let profile: oci_spec::runtime::LinuxSeccomp =
            serde_json::from_value(value).map_err(parse)?;
        let prog =
            compile::compile(&profile).map_err(|e| ProfileError::Compile(name.to_owned(), e))?;
        Ok(OciProfile {
            prog,
            always_allowed: compile::always_allowed(&profile),
        })
    }

    /// The BPF program the kernel runs for this profile.
    pub fn program(&self) -> &[libc::sock_filter] {
        &self.prog
    }

    /// The profile's verdict on system call `nr` with `args`, made at `ip`.
    pub fn verdict(&self, nr: i32, args: [u64; 6], ip: u64) -> OciVerdict {
        let ret = bpf::run(&self.prog, nr, native_audit_arch(), ip, args);
        match ret & libc::SECCOMP_RET_ACTION_FULL {
            libc::SECCOMP_RET_ALLOW | libc::SECCOMP_RET_LOG => OciVerdict::Allow,
            // The kernel caps the errno at MAX_ERRNO.
            libc::SECCOMP_RET_ERRNO => {
                OciVerdict::Errno((ret & libc::SECCOMP_RET_DATA).min(4095) as i32)
            }
            libc::SECCOMP_RET_TRACE | libc::SECCOMP_RET_USER_NOTIF => OciVerdict::Enosys,
            _ => OciVerdict::Kill,
        }
    }

    /// Whether the profile allows `name` whatever its arguments.
    pub fn always_allows(&self, name: &str) -> bool {
        self.always_allowed.iter().any(|n| n == name)
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;
    use crate::seccomp::sys;
    use std::os::fd::AsRawFd as _;

    /// Default errno 99 (no probe below fails with it on its own); conditions on one
    /// argument, on both halves of a 64-bit argument, a masked comparison, two conditions on
    /// one argument (either holds), and a kill.
    const PROFILE: &str = r#"{"linux": {"seccomp": {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 99,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64", "SCMP_ARCH_RISCV64"],
        "syscalls": [
          {"names": ["getpid", "write", "exit", "exit_group", "no_such_call"], "action": "SCMP_ACT_ALLOW"},
          {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
           "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
          {"names": ["umask"], "action": "SCMP_ACT_ALLOW",
           "args": [{"index": 0, "value": 448, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
          {"names": ["dup"], "action": "SCMP_ACT_ALLOW",
           "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                    {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
          {"names": ["lseek"], "action": "SCMP_ACT_ALLOW",
           "args": [{"index": 1, "value": 4294967296, "op": "SCMP_CMP_GT"}]},
          {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
          {"names": ["sync"], "action": "SCMP_ACT_KILL_PROCESS"}
        ]}}}"#;

    fn probes() -> Vec<(&'static str, [u64; 6])> {
        vec![
            ("getpid", [0; 6]),
            ("personality", [0xffff_ffff, 0, 0, 0, 0, 0]),
            ("personality", [0x0004_0000, 0, 0, 0, 0, 0]),
            ("umask", [0o022, 0, 0, 0, 0, 0]),
            ("umask", [0o722, 0, 0, 0, 0, 0]),
            ("dup", [0, 0, 0, 0, 0, 0]),
            ("dup", [1, 0, 0, 0, 0, 0]),
            ("dup", [2, 0, 0, 0, 0, 0]),
            ("lseek", [0, 0x2_0000_0000, 0, 0, 0, 0]),
            ("lseek", [0, 0x1_0000_0000, 0, 0, 0, 0]),
            ("lseek", [0, 5, 0, 0, 0, 0]),
            ("getppid", [0; 6]),
            ("getuid", [0; 6]),
        ]
    }

    fn nr(name: &str) -> i32 {
        crate::syscalls::Arch::native()
            .and_then(|a| a.number(name))
            .map(|n| n as i32)
            .expect("a call of this architecture")
    }

    #[test]
    fn the_verdicts_are_the_kernels() {
        let profile = OciProfile::parse("test.json", PROFILE).expect("profile");
        let probes = probes();
        let (rd, wr) = nix::unistd::pipe().expect("pipe");
        let numbers: Vec<i32> = probes.iter().map(|(n, _)| nr(n)).collect();
        let sync = nr("sync");
        match sys::fork().expect("fork") {
            None => {
                // The child: only raw system calls from here on (no allocation after fork).
                let mut out = [0i64; 16];
                let _ = nix::sys::prctl::set_no_new_privs();
                if sys::install_plain(profile.program()).is_err() {
                    sys::exit_child(2);
                }
                for (i, (n, (_, a))) in numbers.iter().zip(&probes).enumerate() {
                    // SAFETY: each probe is a harmless call on plain integers.
                    let r = unsafe {
                        libc::syscall(*n as libc::c_long, a[0], a[1], a[2], a[3], a[4], a[5])
                    };
                    out[i] = if r == -1 {
                        -i64::from(nix::errno::Errno::last_raw())
                    } else {
                        0
                    };
                }
                let bytes: Vec<u8> = out.iter().flat_map(|v| v.to_le_bytes()).collect();
                let _ = nix::unistd::write(&wr, &bytes);
                // SAFETY: sync takes no arguments; the profile kills the process here.
                unsafe { libc::syscall(sync as libc::c_long) };
                sys::exit_child(3);
            }
            Some(child) => {
                drop(wr);
                let mut bytes = [0u8; 128];
                let mut got = 0;
                while got < bytes.len() {
                    match nix::unistd::read(rd.as_raw_fd(), &mut bytes[got..]) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got += n,
                    }
                }
                let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child), None)
                    .expect("waitpid");
                assert_eq!(
                    status,
                    nix::sys::wait::WaitStatus::Signaled(
                        nix::unistd::Pid::from_raw(child),
                        nix::sys::signal::Signal::SIGSYS,
                        false
                    ),
                    "sync: the kernel kills the child"
                );
                assert_eq!(got, 128, "the child reported every probe");
                for (i, (name, args)) in probes.iter().enumerate() {
                    let kernel = i64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().unwrap());
                    let ours = profile.verdict(nr(name), *args, 0);
                    let expected = match kernel {
                        -99 => OciVerdict::Errno(99),
                        -13 => OciVerdict::Errno(13),
                        _ => OciVerdict::Allow,
                    };
                    assert_eq!(ours, expected, "{name}{args:x?}: the kernel said {kernel}");
                }
                assert_eq!(profile.verdict(sync, [0; 6], 0), OciVerdict::Kill);
            }
        }
    }

    #[test]
    fn answers_fixed_in_advance_only_for_calls_allowed_unconditionally() {
        let profile = OciProfile::parse("test.json", PROFILE).expect("profile");
        assert!(profile.always_allows("getpid"));
        for name in ["personality", "umask", "getppid", "getuid", "sync"] {
            assert!(!profile.always_allows(name), "{name}");
        }
    }

    #[test]
    fn bad_profiles_are_named() {
        let err = OciProfile::parse("p.json", r#"{"defaultAction": "SCMP_ACT_NOPE"}"#)
            .expect_err("an unknown action");
        assert!(
            err.to_string()
                .starts_with("p.json: not an OCI seccomp profile"),
            "{err}"
        );
        let err = OciProfile::parse(
            "p.json",
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
                "action": "SCMP_ACT_ERRNO", "args": [{"index": 7, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#,
        )
        .expect_err("an argument index out of range");
        assert_eq!(
            err.to_string(),
            "p.json: syscalls[0]: argument index 7 is out of range (0-5)"
        );
    }
}
