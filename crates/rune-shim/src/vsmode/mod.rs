//! The VS-mode backend (riscv64 with the H extension and `/dev/rune`): the shim loads the
//! program into its own process and runs it in VU-mode. Every `ecall` of the program traps to
//! the shim's VS-mode vector (`trap.rs`, delegated by the module: no world switch to take the
//! trap), which hands it to the process by hypercall; the process decides with the handler
//! core the seccomp backend uses (`serve.rs`) and resumes the program. The program's pages
//! carry the U bit in a VS-stage table of the shim's making (`memory.rs`); the shim's do not.

// The logic, built on every host so that its tests run there (against `fake::FakeMemory`);
// only riscv64 runs it.
#[cfg_attr(not(target_arch = "riscv64"), allow(dead_code))]
mod args;
pub mod elf;
#[cfg(test)]
mod fake;
#[cfg_attr(not(target_arch = "riscv64"), allow(dead_code))]
mod load;
#[cfg_attr(not(target_arch = "riscv64"), allow(dead_code))]
mod marshal;
#[cfg_attr(not(target_arch = "riscv64"), allow(dead_code))]
mod memory;
#[cfg_attr(not(target_arch = "riscv64"), allow(dead_code))]
mod pages;
#[cfg_attr(not(target_arch = "riscv64"), allow(dead_code))]
mod signal;
#[cfg_attr(not(target_arch = "riscv64"), allow(dead_code))]
mod vsatp;
// What touches the hart, the raw memory of this process or /dev/rune.
#[cfg(target_arch = "riscv64")]
mod dev;
#[cfg(target_arch = "riscv64")]
mod lookup;
#[cfg(target_arch = "riscv64")]
mod pagetable;
#[cfg(target_arch = "riscv64")]
mod serve;
#[cfg(target_arch = "riscv64")]
mod sys;
#[cfg(target_arch = "riscv64")]
mod trap;

use crate::events::Sink;
use crate::handler::Policies;
use crate::oci_seccomp::OciProfile;

#[derive(Debug, thiserror::Error)]
pub enum VsError {
    #[error("the vsmode backend needs riscv64 with the H extension and /dev/rune")]
    Unsupported,
    #[error("the vsmode backend needs riscv64 with the H extension and /dev/rune: {0}")]
    Unavailable(std::io::Error),
    #[error("/dev/rune: {0}")]
    Device(std::io::Error),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: {1}")]
    Elf(String, elf::ElfError),
    #[error("{0}: not found in PATH")]
    NotFound(String),
    #[error("VS-stage translation: {0}")]
    Translation(#[from] vsatp::VsatpError),
}

/// Whether this host can run the vsmode backend (for `rune-shim run`): /dev/rune opens and its
/// query reports this ABI and a hart with the H extension.
pub fn available() -> bool {
    #[cfg(target_arch = "riscv64")]
    {
        dev::Device::open().is_ok()
    }
    #[cfg(not(target_arch = "riscv64"))]
    {
        false
    }
}

/// Runs `argv` in VU-mode under `policies`; returns only if it cannot start it (the program's
/// exit is the process's exit).
#[cfg(not(target_arch = "riscv64"))]
pub fn run(
    _policies: Policies,
    _oci: Option<OciProfile>,
    _argv: &[String],
    _events: Sink,
) -> Result<i32, VsError> {
    Err(VsError::Unsupported)
}

#[cfg(target_arch = "riscv64")]
pub fn run(
    policies: Policies,
    oci: Option<OciProfile>,
    argv: &[String],
    events: Sink,
) -> Result<i32, VsError> {
    use rune_kmod::{
        RUNE_EXIT_FAULT, RUNE_EXIT_HYPERCALL, RUNE_EXIT_SIGNAL, RUNE_MODE_VS, RUNE_MODE_VU,
        RuneVcpuState,
    };
    use std::os::fd::AsRawFd as _;

    let device = dev::Device::open().map_err(VsError::Unavailable)?;
    lookup::set_device(crate::seccomp::sys::dirfd(device.raw_fd()));
    // A signal the process catches for the program stops it at its next instruction: the
    // module raises the VS software interrupt at every entry while one is pending.
    let vcpu = device
        .context(sys::pending_word())
        .map_err(VsError::Device)?;
    let setup = |e| VsError::Io("the VS-mode runtime".into(), e);
    let frame = pagetable::anonymous(memory::PAGE, 0, false).map_err(setup)?;
    let (vector, vector_end) = trap::vector_pages();
    let fast = fast_table(&policies, oci.as_ref()).map_err(setup)?;
    pagetable::set_frame_word(frame, trap::F_FAST, fast);
    // The shim's own VS-mode pages, in a table of the mode being tried.
    let table = |mode| -> std::io::Result<pagetable::Memory> {
        let mem = pagetable::Memory::new(mode)?;
        mem.map_shim(frame, false)?;
        for page in (vector..vector_end).step_by(memory::PAGE as usize) {
            mem.map_shim(page, true)?;
        }
        for page in (fast..fast + trap::FAST_CALLS * 16).step_by(memory::PAGE as usize) {
            mem.map_shim(page, false)?;
        }
        Ok(mem)
    };
    let modes = vsatp::candidates(std::env::var(vsatp::MODES_ENV).ok().as_deref())?;
    let (mode, mut mem) = vsatp::choose(&modes, |mode| {
        let mem = table(mode).map_err(setup)?;
        let kept = probe(&vcpu, &mem, vector).map_err(VsError::Device)?;
        Ok::<_, VsError>((mem.vsatp(), kept, mem))
    })??;
    let path = find_program(&argv[0])?;
    let envp: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
    let ids = [
        nix::unistd::getuid().as_raw(),
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getgid().as_raw(),
        nix::unistd::getegid().as_raw(),
    ]
    .map(u64::from);
    let mut host = load::Host {
        random: &mut load::random_u64,
        read: &mut |p| std::fs::read(p),
        hwcap: load::hwcap(),
        vdso: load::vdso(),
        ids,
    };
    let loaded = load::load(&mut mem, &mut host, &path, argv, &envp)?;

    let mut st = RuneVcpuState::default();
    st.regs.pc = loaded.entry;
    st.regs.mode = RUNE_MODE_VU;
    st.regs.set(2, loaded.sp);
    st.csrs.vstvec = vector;
    st.csrs.vsscratch = frame;
    st.csrs.vsatp = mem.vsatp();
    // FP on for the program (and the vector unit where the hart has one, as AT_HWCAP says:
    // its registers live in `Runtime::vregs` between entries); time readable in VU.
    st.csrs.vsstatus = 0x6000;
    let mut vregs = vec![0u8; 32 * device.vlenb() as usize];
    if !vregs.is_empty() {
        st.vector.regs = vregs.as_mut_ptr() as u64;
        st.csrs.vsstatus |= 0x200;
    }
    st.csrs.scounteren = 0x2;
    // The software interrupt that stops the program for a signal (never raised otherwise).
    st.csrs.vsie = serve::SSIP;
    let signals = signal::Signals::new(&mut mem).map_err(setup)?;
    // Forwarded calls are this process's own: the kernel applies the profile to them.
    nix::sys::prctl::set_no_new_privs().map_err(|e| setup(e.into()))?;
    if let Some(p) = &oci {
        crate::seccomp::sys::install_plain(p.program()).map_err(setup)?;
    }
    // The shim's descriptors at reserved high numbers, out of the way of the program's.
    let events = match events {
        Sink::File(f) => Sink::File(sys::reserve_fd(f).map_err(setup)?),
        other => other,
    };
    let mut rt = serve::Runtime {
        st,
        mem,
        frame: pagetable::RawFrame(frame),
        policies,
        oci,
        events,
        brk: (loaded.brk, loaded.brk),
        own_fds: Vec::new(),
        signals,
        resumed: false,
        vregs,
        debug: std::env::var_os("RUNE_SHIM_DEBUG").is_some(),
        device,
        vcpu,
    };
    if rt.debug {
        eprintln!("rune-shim: VS-stage mode {}", mode.name);
    }
    rt.own_fds.push(rt.vcpu.raw_fd());
    rt.own_fds.push(rt.device.raw_fd());
    if let Sink::File(f) = &rt.events {
        rt.own_fds.push(f.as_raw_fd());
    }
    loop {
        rt.vcpu.enter(&mut rt.st).map_err(VsError::Device)?;
        let st = &rt.st;
        match st.exit.reason {
            RUNE_EXIT_HYPERCALL if st.regs.get(17) == trap::HCALL_TRAP => rt.serve(),
            RUNE_EXIT_HYPERCALL if st.regs.get(17) == trap::HCALL_HANDLER_FAULT => {
                eprintln!(
                    "rune-shim: fault in the VS-mode handler (scause {:#x}, stval {:#x}, sepc {:#x})",
                    st.csrs.vscause, st.csrs.vstval, st.csrs.vsepc
                );
                sys::die_by(libc::SIGSYS);
            }
            // A signal for a handler of the program is delivered from the trap the software
            // interrupt the module raises causes (in VU-mode, never inside the vector).
            RUNE_EXIT_SIGNAL => {}
            RUNE_EXIT_FAULT if st.regs.mode == RUNE_MODE_VS => {
                // A trap inside the vector itself: the program cannot go on.
                eprintln!(
                    "rune-shim: fault in the VS-mode handler (scause {}, stval {:#x}, pc {:#x})",
                    st.exit.scause, st.exit.stval, st.regs.pc
                );
                sys::die_by(libc::SIGSYS);
            }
            // A trap of the program's that the module took instead of the vector (those
            // not delegated: illegal and virtual instructions, guest-page faults): a fault
            // of the program, for its handler like any other.
            RUNE_EXIT_FAULT => {
                let (cause, tval) = (debug_fault(st).exit.scause, st.exit.stval);
                rt.fault_exit(cause, tval);
            }
            _ => {
                eprintln!("rune-shim: unexpected exit {:?}", st.exit);
                sys::die_by(libc::SIGSYS);
            }
        }
    }
}

/// Enters VS-mode once at the probe (an `ecall` on the vector's VS-only pages) with `mem`'s
/// vsatp, and returns the vsatp the hart held at the exit.
#[cfg(target_arch = "riscv64")]
fn probe(vcpu: &dev::Vcpu, mem: &pagetable::Memory, vector: u64) -> std::io::Result<u64> {
    use rune_kmod::{RUNE_EXIT_HYPERCALL, RUNE_EXIT_SIGNAL, RUNE_MODE_VS, RuneVcpuState};

    for _ in 0..16 {
        let mut st = RuneVcpuState::default();
        st.regs.pc = trap::probe_pc();
        st.regs.mode = RUNE_MODE_VS;
        st.csrs.vstvec = vector;
        st.csrs.vsatp = mem.vsatp();
        vcpu.enter(&mut st)?;
        match st.exit.reason {
            RUNE_EXIT_HYPERCALL if st.regs.get(17) == trap::HCALL_PROBE => {
                return Ok(st.csrs.vsatp);
            }
            // a host interrupt or signal came first: again
            RUNE_EXIT_SIGNAL => continue,
            // anything else (a fault fetching the probe): the mode did not work
            _ => return Ok(0),
        }
    }
    Err(std::io::Error::from_raw_os_error(libc::EINTR))
}

/// The answers the VS-mode vector gives by itself: per call number, (1, value) when the
/// policies fix it to an emulated value or an errno and want no event for it.
#[cfg(target_arch = "riscv64")]
fn fast_table(policies: &Policies, oci: Option<&OciProfile>) -> std::io::Result<u64> {
    use crate::handler::Verdict;
    let len = trap::FAST_CALLS * 16;
    let table = pagetable::anonymous(len, 0, false)?;
    for nr in 0..trap::FAST_CALLS {
        let Some(name) = crate::syscalls::Arch::Riscv64.name(nr as i32) else {
            continue;
        };
        // The profile is evaluated per call unless it allows this one whatever its arguments.
        if oci.is_some_and(|p| !p.always_allows(name)) {
            continue;
        }
        let value = match policies.fixed_decision(name) {
            Some((d, _)) if d.log => continue,
            Some((d, _)) => match d.verdict {
                Verdict::Emulate(v) => v,
                Verdict::Deny(e) => -i64::from(e),
                _ => continue,
            },
            None => continue,
        };
        let entry: Vec<u8> = [1u64, value as u64]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        pagetable::fill_shim(table, len, nr * 16, &entry);
    }
    Ok(table)
}

#[cfg(target_arch = "riscv64")]
fn debug_fault(st: &rune_kmod::RuneVcpuState) -> &rune_kmod::RuneVcpuState {
    if std::env::var_os("RUNE_SHIM_DEBUG").is_some() {
        eprintln!(
            "rune-shim: program fault exit at pc {:#x}: {:?}",
            st.regs.pc, st.exit
        );
    }
    st
}

/// `name` as execvp would find it.
#[cfg(target_arch = "riscv64")]
fn find_program(name: &str) -> Result<String, VsError> {
    if name.contains('/') {
        return Ok(name.to_owned());
    }
    std::env::var("PATH")
        .unwrap_or_else(|_| "/usr/bin:/bin".into())
        .split(':')
        .map(|dir| format!("{dir}/{name}"))
        .find(|p| std::path::Path::new(p).is_file())
        .ok_or_else(|| VsError::NotFound(name.to_owned()))
}
