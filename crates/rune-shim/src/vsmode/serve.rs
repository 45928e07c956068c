//! The process's side of a program trap: every system call of the program arrives here with
//! its registers in the VS-only frame. Calls that would reach the shim (its memory, its
//! descriptors, `/dev/rune`, `/proc/self/mem`) are refused; memory calls are made and mirrored
//! into the VS-stage table; everything else is decided by the shared handler core and then
//! forwarded, emulated, rewritten or refused, with the same events as the seccomp backend.

use std::os::fd::{AsRawFd, IntoRawFd, RawFd};

use rune_kmod::RuneVcpuState;

use super::args;
use super::dev::{Device, Vcpu};
use super::lookup::InProcess;
use super::marshal::{self, Refusal};
use super::memory::{PAGE, ProgramMemory};
use super::pagetable::{self, Memory, RawFrame};
use super::signal::{self, Context, Interrupted, Signals};
use super::sys;
use super::trap::{F_CAUSE, F_PC, F_TVAL};
use crate::events::{Event, Sink, now};
use crate::handler::{Call, Decision, Policies, Source, Verdict};
use crate::object;
use crate::object::decide::{OpenCall, decide_open};
use crate::oci_seccomp::{OciProfile, OciVerdict};
use crate::syscalls::Arch;
use crate::syscalls::service::{self, Service};

const CAUSE_USER_ECALL: u64 = 8;
/// The VS software interrupt (vsip.SSIP) that stops the program for a signal (the module
/// raises it at entry while the pending set is not empty).
pub const CAUSE_SIGNAL_KICK: u64 = (1 << 63) | 1;
pub const SSIP: u64 = 1 << 1;
const A0: usize = 10;
const A7: usize = 17;
const PATH_MAX: usize = 4096;

#[derive(Debug)]
pub struct Runtime {
    /// The program's registers and CSRs between entries.
    pub st: RuneVcpuState,
    pub mem: Memory,
    pub frame: RawFrame,
    pub policies: Policies,
    /// The container's OCI seccomp profile: the kernel runs it on forwarded calls, the shim
    /// on the calls it answers itself.
    pub oci: Option<OciProfile>,
    pub events: Sink,
    /// The program's heap: where it starts and where it ends now.
    pub brk: (u64, u64),
    /// Descriptors of the shim the program must not touch.
    pub own_fds: Vec<RawFd>,
    pub signals: Signals,
    /// The program's vector registers between entries (`st.vector.regs` points here; empty
    /// without V).
    pub vregs: Vec<u8>,
    /// Set by a call that put the program's whole context into the frame (rt_sigreturn).
    pub resumed: bool,
    /// RUNE_SHIM_DEBUG: every call and trap on standard error.
    pub debug: bool,
    /// `/dev/rune` and this thread's VS context on it: both belong to one process (the
    /// module binds them to its mm), so a child made by `clone` opens its own.
    pub device: Device,
    pub vcpu: Vcpu,
}

/// A call's result: a value, or a negative errno.
fn errno(e: i32) -> i64 {
    -i64::from(e)
}

impl Runtime {
    fn reg(&self, n: usize) -> u64 {
        pagetable::frame_word(self.frame.0, n)
    }

    /// Serves the trap in the frame; returns only if the program goes on.
    pub fn serve(&mut self) {
        let cause = self.reg(F_CAUSE);
        if cause == CAUSE_SIGNAL_KICK {
            self.st.csrs.vsip &= !SSIP;
        } else if cause != CAUSE_USER_ECALL {
            self.fault(cause);
        } else {
            self.syscall();
        }
        if sys::any_pending() {
            self.deliver(None, None);
        }
    }

    /// A program trap the module served instead of the vector (`RUNE_EXIT_FAULT` in VU-mode):
    /// its registers come in `st`, so they go through the frame the signal machinery works
    /// on and back, and the program goes on in its handler (or dies by the signal).
    pub fn fault_exit(&mut self, cause: u64, tval: u64) {
        // A guest-page fault is an address outside the process: the program's page fault.
        let cause = match cause {
            20 => 12,
            21 => 13,
            23 => 15,
            c => c,
        };
        let frame = self.frame.0;
        for x in 1..32 {
            pagetable::set_frame_word(frame, x, self.st.regs.get(x));
        }
        pagetable::set_frame_word(frame, F_PC, self.st.regs.pc);
        pagetable::set_frame_word(frame, F_CAUSE, cause);
        pagetable::set_frame_word(frame, F_TVAL, tval);
        self.fault(cause);
        if sys::any_pending() {
            self.deliver(None, None);
        }
        for x in 1..32 {
            self.st.regs.set(x, self.reg(x));
        }
        self.st.regs.pc = self.reg(F_PC);
    }

    /// The signal machinery and what it works on.
    fn signals(&mut self) -> (&mut Signals, Context<'_>) {
        let Runtime {
            signals,
            mem,
            frame,
            st,
            vregs,
            ..
        } = self;
        let cx = Context {
            mem,
            regs: frame,
            st,
            vregs,
            host: &sys::Kernel,
        };
        (signals, cx)
    }

    fn deliver(&mut self, during: Option<u64>, interrupted: Option<Interrupted>) {
        let (signals, mut cx) = self.signals();
        if let Err(signal::Dies(sig)) = signals.deliver_pending(&mut cx, during, interrupted) {
            sys::die_by(sig);
        }
    }

    /// A page fault on a page the program does not have, or any other exception: its
    /// handler if it has one, else the kernel's default action for the signal.
    fn fault(&mut self, cause: u64) {
        let tval = self.reg(F_TVAL);
        if self.debug {
            eprintln!(
                "rune-shim: program trap: cause {cause} at pc {:#x}, tval {tval:#x}",
                self.reg(F_PC),
            );
        }
        // si_addr: the address for a page fault, the instruction for the others (as the
        // kernel's riscv trap handlers report them).
        let pc = self.reg(F_PC);
        let (sig, code, addr) = match cause {
            12 | 13 | 15 if self.mem.prot(tval) != 0 => (libc::SIGSEGV, 2, tval), // SEGV_ACCERR
            12 | 13 | 15 => (libc::SIGSEGV, 1, tval),                             // SEGV_MAPERR
            1 | 5 | 7 => (libc::SIGSEGV, 2, pc),                                  // SEGV_ACCERR
            3 => (libc::SIGTRAP, 1, pc),                                          // TRAP_BRKPT
            0 | 4 | 6 => (libc::SIGBUS, 1, pc),                                   // BUS_ADRALN
            _ => (libc::SIGILL, 1, pc),                                           // ILL_ILLOPC
        };
        let (signals, mut cx) = self.signals();
        match signals.fault(&mut cx, sig, code, addr) {
            Ok(true) => {}
            Ok(false) => sys::die_by(sig),
            Err(signal::Dies(sig)) => sys::die_by(sig),
        }
    }

    fn syscall(&mut self) {
        let nr = self.reg(A7);
        let args: [u64; 6] = std::array::from_fn(|i| self.reg(A0 + i));
        let name = i32::try_from(nr)
            .ok()
            .and_then(|n| Arch::Riscv64.name(n))
            .unwrap_or("unknown");
        // A call that waits with a mask of its own: signals are judged by that mask.
        let during = match name {
            "rt_sigsuspend" => self.mem.read_u64(args[0]),
            "ppoll" => self.mem.read_u64(args[3]),
            "epoll_pwait" => self.mem.read_u64(args[4]),
            _ => None,
        };
        let value = self.call(name, nr, args);
        if self.debug {
            eprintln!("rune-shim: {name}{args:x?} = {value}");
        }
        if std::mem::take(&mut self.resumed) {
            return;
        }
        pagetable::set_frame_word(self.frame.0, A0, value as u64);
        pagetable::set_frame_word(self.frame.0, F_PC, self.reg(F_PC) + 4);
        if value == errno(libc::EINTR) && sys::any_pending() {
            let interrupted = Interrupted {
                a0: args[0],
                restartable: signal::restartable(name),
            };
            self.deliver(during, Some(interrupted));
        }
    }

    /// The descriptor arguments, from the system-call table.
    fn touches_own_fd(&self, name: &str, args: &[u64; 6]) -> bool {
        args::names_fd(name, args, &self.own_fds)
    }

    fn call(&mut self, name: &str, nr: u64, args: [u64; 6]) -> i64 {
        // The container's profile first, on every call: the shim answers many calls itself
        // (emulations, rewrites, opens by real path, signals, refusals), and with stacked
        // filters the kernel's strictest answer would win.
        if let Some(refused) = self.oci_refuses(name, args) {
            return refused;
        }
        if self.touches_own_fd(name, &args) {
            return errno(libc::EBADF);
        }
        match service::vsmode(name) {
            Service::Shim => self.shim(name, nr, args),
            Service::Unsupported => self.refuse(name, args, libc::ENOSYS),
            // Another process's memory is fine to refuse; the shim's own is an attack.
            Service::Refused
                if name.starts_with("process_vm_")
                    && (args[0] == 0 || args[0] == u64::from(std::process::id())) =>
            {
                self.attack(name, args)
            }
            Service::Refused => self.refuse(name, args, libc::EPERM),
            Service::Open => self.open(name, args),
            // While a path is denied, the same guards as the seccomp backend's: no file by
            // handle, no new name for a denied file, no way around the path calls.
            Service::Handle if self.policies.guards_names() => self.refuse(name, args, libc::EPERM),
            Service::Names if self.policies.guards_names() => self.names(name, args),
            _ if let Some(e) = self.policies.path_guard(name, &args) => self.refuse(name, args, e),
            _ => self.decide_plain(name, args),
        }
    }

    /// The calls the shim answers itself (`Service::Shim`).
    fn shim(&mut self, name: &str, nr: u64, args: [u64; 6]) -> i64 {
        match name {
            "exit" | "exit_group" => sys::exit_group(args[0] as i32),
            "brk" => self.brk(args[0]) as i64,
            "mmap" => self.mmap(nr, args),
            "munmap" | "mprotect" | "madvise" | "mremap" => self.remap(name, nr, args),
            // Addresses the kernel would write to later belong to the shim's thread: never
            // registered, and an address outside the program is an attack.
            "set_tid_address" | "set_robust_list" | "rseq"
                if args[0] != 0 && !self.mem.readable(args[0], 4, true) =>
            {
                self.attack(name, args)
            }
            "set_tid_address" => i64::from(nix::unistd::gettid().as_raw()),
            "clone" => self.decided(name, args, |rt, c| rt.clone_process(c.args)),
            "set_robust_list" => 0,
            "rseq" => errno(libc::ENOSYS),
            // The program's handlers are its own code: kept and run by the shim (signal.rs).
            "rt_sigaction" => self.decided(name, args, |rt, c| {
                rt.signals.sigaction(&rt.mem, &sys::Kernel, c.args)
            }),
            "sigaltstack" => self.decided(name, args, |rt, c| {
                let sp = rt.reg(2);
                rt.signals.sigaltstack(&rt.mem, c.args[0], c.args[1], sp)
            }),
            "rt_sigreturn" => self.decided(name, args, |rt, _| {
                let (signals, mut cx) = rt.signals();
                if let Err(signal::Dies(sig)) = signals.sigreturn(&mut cx) {
                    sys::die_by(sig);
                }
                rt.resumed = true;
                rt.reg(A0) as i64
            }),
            // A row of the shim's column this match lacks: fail closed.
            _ => self.refuse(name, args, libc::ENOSYS),
        }
    }

    /// `clone` of a new process (as glibc's `fork`, `vfork` and `posix_spawn` make it): a
    /// real child of this process, in which the shim binds itself to `/dev/rune` again and
    /// the program goes on at the next instruction with `a0 = 0`. Its memory is a copy of
    /// the parent's, the program's and the shim's alike (the VS-stage table included, at the
    /// same addresses), its signal actions, mask and alternate stack are the parent's, and no
    /// signal is pending in it. `CLONE_VM` (vfork, posix_spawn) is served as a copy: the
    /// parent still waits (`CLONE_VFORK`) until the child execs or exits, but does not see
    /// its writes. Threads and shared tables (`CLONE_THREAD`, `CLONE_FILES`, ...): ENOSYS.
    fn clone_process(&mut self, a: [u64; 6]) -> i64 {
        const CSIGNAL: u64 = 0xff;
        let kept = CSIGNAL
            | (libc::CLONE_VFORK
                | libc::CLONE_PARENT_SETTID
                | libc::CLONE_CHILD_SETTID
                | libc::CLONE_CHILD_CLEARTID) as u64;
        let vm = libc::CLONE_VM as u64;
        let [flags, sp, ptid, _tls, ctid, _] = a;
        let vfork = flags & libc::CLONE_VFORK as u64 != 0;
        if flags & !(kept | vm) != 0 || (flags & vm != 0 && !vfork) {
            return self.refuse("clone", a, libc::ENOSYS);
        }
        // The kernel writes these (and clears the child's at its exit): program words only.
        let writes = [
            (libc::CLONE_PARENT_SETTID as u64, ptid),
            (
                (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID) as u64,
                ctid,
            ),
        ];
        for (flag, at) in writes {
            if flags & flag != 0 && !self.mem.readable(at, 4, true) {
                self.attack("clone", a);
            }
        }
        let pid = sys::clone_process(flags & kept, ptid, ctid);
        if pid != 0 {
            return pid;
        }
        if let Err(e) = self.rebind() {
            eprintln!("rune-shim: a child cannot bind to /dev/rune: {e}");
            sys::die_by(libc::SIGKILL);
        }
        sys::forget_pending();
        // A new stack for the child (posix_spawn's): its stack pointer, as the kernel sets it.
        if sp != 0 {
            pagetable::set_frame_word(self.frame.0, 2, sp);
        }
        0
    }

    /// A new child's own `/dev/rune` and VS context, in place of the parent's it inherited
    /// (the module refuses those in another process).
    fn rebind(&mut self) -> std::io::Result<()> {
        let device = Device::open()?;
        let vcpu = device.context(sys::pending_word())?;
        let inherited = [self.vcpu.raw_fd(), self.device.raw_fd()];
        self.own_fds.retain(|fd| !inherited.contains(fd));
        self.own_fds.extend([vcpu.raw_fd(), device.raw_fd()]);
        // The inherited descriptors close as they drop.
        self.vcpu = vcpu;
        self.device = device;
        Ok(())
    }

    /// A link or rename while a path is denied (`object::names`): refused when the object it
    /// names anew is denied, else made on exactly the names found.
    fn names(&mut self, name: &str, args: [u64; 6]) -> i64 {
        let call = Call::named(name, args);
        let (d, source) = self.policies.decide(&call);
        if !matches!(d.verdict, Verdict::Allow | Verdict::Log) {
            return self.act(&call, &d, source, None, |_, _| errno(libc::EPERM));
        }
        let Some(spec) = object::names::names(name, args) else {
            return self.refuse(name, args, libc::EPERM);
        };
        let (Some(old_path), Some(new_path)) = (
            self.mem.read_cstr(spec.old.1, PATH_MAX),
            self.mem.read_cstr(spec.new.1, PATH_MAX),
        ) else {
            return errno(libc::EFAULT);
        };
        let whose = object::Whose {
            pid: std::process::id(),
            tid: nix::unistd::gettid().as_raw() as u32,
            own: object::Own::DescriptorsBelow(
                self.own_fds.iter().copied().min().unwrap_or(i32::MAX),
            ),
        };
        let found = |dirfd: i32, path: &[u8], follow: bool| {
            if dirfd == -1 {
                return Err(libc::EBADF);
            }
            object::names::find(crate::seccomp::sys::dirfd(dirfd), path, follow, whose)
                .map_err(|e| e as i32)
        };
        let (old, new) = match (
            found(spec.old.0, &old_path, spec.follow),
            found(spec.new.0, &new_path, false),
        ) {
            (Ok(o), Ok(n)) => (o, n),
            (Err(e), _) | (_, Err(e)) => return errno(e),
        };
        let real = |fd: Option<std::os::fd::BorrowedFd<'_>>| {
            let fd = fd?;
            let p = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
            Some(object::kind::decided_path(
                fd,
                p.to_string_lossy().into_owned(),
            ))
        };
        let object = real(old.object());
        // With RENAME_EXCHANGE the object at the new name moves to the old one.
        let swapped = (spec.flags & libc::RENAME_EXCHANGE != 0)
            .then(|| real(new.object()))
            .flatten();
        let guarded = object
            .iter()
            .chain(swapped.iter())
            .find_map(|o| self.policies.guards(o).map(|g| (g, o.clone())));
        if let Some(((gd, gs), o)) = guarded {
            let e = match gd.verdict {
                Verdict::Deny(e) => e,
                _ => libc::EPERM,
            };
            self.event(&call, &gd, gs, Some(&o), None, Some(errno(e)), "");
            return errno(e);
        }
        let done = if name == "linkat" {
            std::fs::File::open("/proc/self/fd")
                .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
                .and_then(|dir| {
                    object::names::link(std::os::fd::AsFd::as_fd(&dir), &old, &new)
                        .map_err(|e| e as i32)
                })
        } else {
            object::names::rename(&old, &new, spec.flags).map_err(|e| e as i32)
        };
        let value = done.map_or_else(errno, |()| 0);
        self.act(&call, &d, source, object.as_deref(), |_, _| value)
    }

    fn brk(&mut self, want: u64) -> u64 {
        let (start, end) = self.brk;
        let (old_top, new_top) = (end.div_ceil(PAGE) * PAGE, want.div_ceil(PAGE) * PAGE);
        if want < start {
            return end;
        }
        if new_top > old_top {
            let grown = pagetable::anonymous(new_top - old_top, old_top, true).and_then(|_| {
                self.mem.record(
                    old_top,
                    new_top - old_top,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            });
            if grown.is_err() {
                return end;
            }
        } else if new_top < old_top {
            let _ = sys::syscall(215, [new_top, old_top - new_top, 0, 0, 0, 0]);
            let _ = self.mem.forget(new_top, old_top - new_top);
        }
        self.brk.1 = want;
        want
    }

    fn mmap(&mut self, nr: u64, mut args: [u64; 6]) -> i64 {
        let (addr, len, prot, flags) = (args[0], args[1], args[2] as i32, args[3] as i32);
        let len_up = len.div_ceil(PAGE) * PAGE;
        if flags & libc::MAP_FIXED != 0 && !self.mem.owns(addr, len_up) {
            // Over anything not the program's own: only where nothing is mapped at all.
            args[3] = ((flags & !libc::MAP_FIXED) | libc::MAP_FIXED_NOREPLACE) as u64;
        }
        let got = sys::syscall(nr, args);
        if got == errno(libc::EEXIST) && flags & libc::MAP_FIXED != 0 {
            // MAP_FIXED over memory that is not the program's.
            self.attack("mmap", args);
        }
        if got >= 0 && self.mem.record(got as u64, len_up, prot).is_err() {
            let _ = sys::syscall(215, [got as u64, len_up, 0, 0, 0, 0]);
            return errno(libc::ENOMEM);
        }
        got
    }

    fn remap(&mut self, name: &str, nr: u64, args: [u64; 6]) -> i64 {
        let (addr, len) = (args[0], args[1].div_ceil(PAGE) * PAGE);
        if !self.mem.owns(addr, len) {
            // The program reaching for memory that is not its own: an attack on the shim.
            self.attack(name, args);
        }
        match name {
            // Pages a child would not have, at addresses the copied VS-stage table still
            // maps for the program, where the child's shim may later place its own memory.
            "madvise" if args[2] == libc::MADV_DONTFORK as u64 => {
                self.refuse(name, args, libc::EINVAL)
            }
            "mremap" => {
                let (new_len, flags) = (args[2].div_ceil(PAGE) * PAGE, args[3] as i32);
                if flags & libc::MREMAP_FIXED != 0 && !self.mem.owns(args[4], new_len) {
                    return errno(libc::EPERM);
                }
                let prot = self.mem.prot(addr);
                let got = sys::syscall(nr, args);
                if got >= 0 {
                    let _ = self.mem.forget(addr, len);
                    let _ = self.mem.record(got as u64, new_len, prot);
                }
                got
            }
            _ => {
                let got = sys::syscall(nr, args);
                if got == 0 {
                    let _ = match name {
                        "munmap" => self.mem.forget(addr, len),
                        "mprotect" => self.mem.record(addr, len, args[2] as i32),
                        _ => Ok(()),
                    };
                }
                got
            }
        }
    }

    fn decide_plain(&mut self, name: &str, args: [u64; 6]) -> i64 {
        let call = Call::named(name, args);
        let (d, source) = self.policies.decide(&call);
        let mut forwarded = None;
        if matches!(
            d.verdict,
            Verdict::Allow | Verdict::Log | Verdict::Rewrite(_)
        ) {
            // The kernel will touch the memory the (possibly rewritten) call names: checked
            // here, and what it reads copied, so that nothing can change it after the check.
            let run = match &d.verdict {
                Verdict::Rewrite(c) => c,
                _ => &call,
            };
            match marshal::marshal(&self.mem, &run.name, &run.args) {
                Err(Refusal::Unknown) => return self.refuse(name, args, libc::ENOSYS),
                Err(Refusal::TooLarge) => return self.refuse(name, args, libc::EINVAL),
                Err(Refusal::NotTheProgramsMemory) => self.attack(name, args),
                Ok(m) => forwarded = Some(m),
            }
        }
        self.act(&call, &d, source, None, |_, c| {
            let args = forwarded.as_ref().map_or(c.args, |m| m.args);
            sys::syscall(
                Arch::Riscv64.number(&c.name).map_or(u64::MAX, u64::from),
                args,
            )
        })
    }

    /// A call the shim carries out itself (`run`) once the policy lets it through.
    fn decided(
        &mut self,
        name: &str,
        args: [u64; 6],
        run: impl FnOnce(&mut Self, &Call) -> i64,
    ) -> i64 {
        let call = Call::named(name, args);
        let (d, source) = self.policies.decide(&call);
        self.act(&call, &d, source, None, run)
    }

    /// Opens on the program's behalf (`lookup::InProcess` with `object::decide_open`, as the
    /// seccomp backend's helper does): neither a swapped buffer, nor a swapped symlink, nor a
    /// rewrite leading through a symlink changes what was decided.
    fn open(&mut self, name: &str, args: [u64; 6]) -> i64 {
        let Some(path) = self.mem.read_cstr(args[1], PATH_MAX) else {
            return errno(libc::EFAULT);
        };
        let (flags, mode, resolve) = if name == "openat2" {
            // struct open_how: flags, mode, resolve
            let how = |i: u64| self.mem.read_u64(args[2] + 8 * i);
            match (args[3] >= 24, how(0), how(1), how(2)) {
                (true, Some(flags), Some(mode), Some(resolve)) => {
                    (flags as i32, mode as u32, resolve)
                }
                (false, ..) => return errno(libc::EINVAL),
                _ => return errno(libc::EFAULT),
            }
        } else {
            (args[2] as i32, args[3] as u32, 0)
        };
        let c = OpenCall {
            name: name.to_owned(),
            args,
            path,
            flags,
            mode,
            resolve,
        };
        let reserved = self.own_fds.iter().copied().min().unwrap_or(i32::MAX);
        let mut finder = InProcess::new(args[0] as i32, reserved);
        let (outcome, fd) = decide_open(&self.policies, &mut finder, &c);
        if finder.attack {
            self.attack(name, args);
        }
        let Some((d, source)) = outcome.decision else {
            return errno(if outcome.errno == 0 {
                libc::EIO
            } else {
                outcome.errno
            });
        };
        let call = Call {
            name: name.to_owned(),
            args,
            paths: outcome.path.iter().cloned().collect(),
        };
        let value = match fd {
            Some(fd) => i64::from(fd.into_raw_fd()),
            None => errno(if outcome.errno == 0 {
                libc::EIO
            } else {
                outcome.errno
            }),
        };
        self.act(&call, &d, source, outcome.path.as_deref(), |_, _| value)
    }

    /// What the OCI profile does instead when it refuses the original call (with an event).
    fn oci_refuses(&mut self, name: &str, args: [u64; 6]) -> Option<i64> {
        let nr = Arch::Riscv64.number(name)? as i32;
        match self.oci.as_ref()?.verdict(nr, args, self.reg(F_PC)) {
            OciVerdict::Allow => None,
            OciVerdict::Errno(e) => Some(self.refuse_as(name, args, e, "oci-seccomp")),
            OciVerdict::Enosys => Some(self.refuse_as(name, args, libc::ENOSYS, "oci-seccomp")),
            OciVerdict::Kill => self.kill_as(name, args, "oci-seccomp"),
        }
    }

    /// The program reached for the shim: an event, and the program dies as a policy kill.
    fn attack(&mut self, name: &str, args: [u64; 6]) -> ! {
        self.kill_as(name, args, "rune")
    }

    fn kill_as(&mut self, name: &str, args: [u64; 6], rule: &str) -> ! {
        self.guard_event(name, args, Verdict::Kill, None, rule);
        sys::die_by(libc::SIGSYS)
    }

    fn refuse(&mut self, name: &str, args: [u64; 6], e: i32) -> i64 {
        self.refuse_as(name, args, e, "rune")
    }

    /// A call refused by Rune's own guards (`rule`) rather than by a policy, with an event.
    fn refuse_as(&mut self, name: &str, args: [u64; 6], e: i32, rule: &str) -> i64 {
        self.guard_event(name, args, Verdict::Deny(e), Some(errno(e)), rule);
        errno(e)
    }

    /// The event of a call a guard (`rule`) answers with `verdict`.
    fn guard_event(
        &mut self,
        name: &str,
        args: [u64; 6],
        verdict: Verdict,
        result: Option<i64>,
        rule: &str,
    ) {
        let d = Decision {
            verdict,
            rule: None,
            log: true,
        };
        self.event(
            &Call::named(name, args),
            &d,
            Source::None,
            None,
            None,
            result,
            rule,
        );
    }

    fn act(
        &mut self,
        call: &Call,
        d: &Decision,
        source: Source,
        path: Option<&str>,
        run: impl FnOnce(&mut Self, &Call) -> i64,
    ) -> i64 {
        let (outcome, rewritten) = match &d.verdict {
            Verdict::Allow | Verdict::Log => (run(self, call), None),
            Verdict::Emulate(v) => ((*v), None),
            Verdict::Deny(e) => (errno(*e), None),
            Verdict::Rewrite(c) => (run(self, c), c.paths.first().cloned()),
            Verdict::Kill => {
                self.event(call, d, source, path, None, None, "");
                sys::die_by(libc::SIGSYS);
            }
        };
        let value = outcome;
        let denied = matches!(d.verdict, Verdict::Deny(_));
        if d.log || denied {
            self.event(call, d, source, path, rewritten.as_deref(), Some(value), "");
        }
        value
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        call: &Call,
        d: &Decision,
        source: Source,
        path: Option<&str>,
        rewritten: Option<&str>,
        result: Option<i64>,
        rule_override: &str,
    ) {
        let rule = if rule_override.is_empty() {
            self.policies.rule_label(d, source)
        } else {
            rule_override.to_owned()
        };
        let event = Event {
            time: now(),
            container: "",
            pid: std::process::id(),
            tid: nix::unistd::gettid().as_raw() as u32,
            syscall: &call.name,
            args: call.args,
            path,
            path_resolved: None,
            rewritten,
            rule,
            policy: source.label(),
            action: d.verdict.action_name(),
            result,
            backend: "vsmode",
        };
        self.events.emit(&event);
    }
}
