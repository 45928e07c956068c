//! Signals for the program. A handler the program installs is its own code and must run in
//! VU-mode, so the kernel never gets it: the shim keeps the program's actions, has the
//! process catch those signals into a pending set (`sys::catch`), and delivers each one the
//! way the kernel's `setup_rt_frame` does: a `struct rt_sigframe` (siginfo, then a ucontext
//! with the registers, the FP state, the signal mask and the alternate stack) on the
//! program's stack or alternate stack, the handler entered with a0 = signal, a1 = &siginfo,
//! a2 = &ucontext and `ra` at a `rt_sigreturn` trampoline, which undoes it. Default actions
//! and ignored signals stay with the kernel: they act on the whole process, the program's.

use rune_kmod::RuneVcpuState;

use super::memory::ProgramMemory;

/// The trap frame's word holding the program counter (x1..x31 are words 1..31).
pub const F_PC: usize = 32;

const SIGINFO: u64 = 128;
/// Offsets in the riscv64 `struct ucontext` (asm/ucontext.h): the stack, the mask (padded
/// to 128 bytes) and the 16-byte aligned mcontext (pc, x1..x31, then the FP state).
const UC_STACK: u64 = 16;
const UC_SIGMASK: u64 = 40;
const UC_MCONTEXT: u64 = 176;
const MC_FP: u64 = 256;
const MC_FCSR: u64 = MC_FP + 256;
/// `sc_extdesc.hdr`: the first extension header, at the end of the FP union; the vector
/// state (header, `struct __riscv_v_ext_state`, then the registers) follows it, then an END
/// header, as the kernel lays it out (arch/riscv/kernel/signal.c).
const MC_EXT: u64 = MC_FP + 520;
const RISCV_V_MAGIC: u32 = 0x5346_5457;
const V_STATE: u64 = 48;
const UCONTEXT: u64 = 960;
const FRAME: u64 = SIGINFO + UCONTEXT;

const SA_ONSTACK: u64 = 0x0800_0000;
const SA_RESTART: u64 = 0x1000_0000;
const SA_NODEFER: u64 = 0x4000_0000;
const SA_RESETHAND: u64 = 0x8000_0000;
const SS_ONSTACK: u64 = 1;
const SS_DISABLE: u64 = 2;
const SS_AUTODISARM: u64 = 1 << 31;
const MINSIGSTKSZ: u64 = 2048;

/// `li a7, 139` (rt_sigreturn); `ecall`: the kernel's vDSO trampoline, which unwinders know.
const TRAMPOLINE: [u32; 2] = [0x08b0_0893, 0x0000_0073];

/// Signals a fault raises: the shim serves those from the trap, never from the kernel
/// (catching them in the process would swallow a fault of the shim itself).
const SYNCHRONOUS: [i32; 6] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGTRAP,
    libc::SIGSYS,
];

/// The program's registers as the trap saved them: x1..x31, then the pc at `F_PC`.
pub trait Regs {
    fn get(&self, i: usize) -> u64;
    fn set(&mut self, i: usize, v: u64);
}

impl<const N: usize> Regs for [u64; N] {
    fn get(&self, i: usize) -> u64 {
        self[i]
    }
    fn set(&mut self, i: usize, v: u64) {
        self[i] = v;
    }
}

/// The kernel's `struct sigaction` on riscv64: handler, flags, mask (no restorer).
pub type KernelSigaction = [u64; 3];

/// What the signal machinery asks of the process: its thread's mask, the set of signals it
/// caught for the program, and its own dispositions (`sys::Kernel` on the hart; a fake in
/// the tests).
pub trait SignalHost {
    fn mask(&self) -> u64;
    fn set_mask(&self, mask: u64);
    /// Takes the lowest caught, undelivered signal and its siginfo.
    fn take_pending(&self) -> Option<(i32, [u64; 16])>;
    /// Makes a taken signal pending again in the caught set.
    fn repend(&self, sig: i32, info: &[u64; 16]);
    /// Hands a taken signal back to the kernel as pending.
    fn requeue(&self, sig: i32, info: &[u64; 16]);
    /// Sets (with `new`) and returns the process's own disposition of `sig`.
    fn sigaction(&self, sig: i32, new: Option<KernelSigaction>) -> Result<KernelSigaction, i32>;
    /// Makes the process catch `sig` into the pending set.
    fn catch(&self, sig: i32) -> Result<(), i32>;
}

/// The program must die by this signal's default action (what the kernel's force_sigsegv
/// does when a frame cannot be written or read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dies(pub i32);

/// What a signal works on: the program's memory, its trap frame (x1..x31, pc), the rest of
/// its state (FP, vector CSRs) and its vector registers, and the process's signal state.
pub struct Context<'a> {
    pub mem: &'a dyn ProgramMemory,
    pub regs: &'a mut dyn Regs,
    pub st: &'a mut RuneVcpuState,
    pub vregs: &'a mut [u8],
    pub host: &'a dyn SignalHost,
}

#[derive(Debug, Clone, Copy)]
struct Action {
    handler: u64,
    flags: u64,
    mask: u64,
}

/// A call a signal interrupted: where its `ecall` is, its first argument, and whether
/// SA_RESTART may restart it.
#[derive(Debug, Clone, Copy)]
pub struct Interrupted {
    pub a0: u64,
    pub restartable: bool,
}

#[derive(Debug)]
pub struct Signals {
    /// The program's handlers, and for the synchronous signals every disposition it set
    /// (those never reach the process's own: they are served from the trap).
    actions: [Option<Action>; 64],
    /// sigaltstack: (base, size, SS_AUTODISARM).
    altstack: Option<(u64, u64, bool)>,
    trampoline: u64,
}

fn bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

fn valid(sig: u64) -> Option<i32> {
    (1..=64).contains(&sig).then_some(sig as i32)
}

fn words(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
}

fn word_at(bytes: &[u8], at: u64) -> u64 {
    words(&bytes[at as usize..]).next().unwrap_or(0)
}

fn put(bytes: &mut [u8], at: u64, value: u64) {
    bytes[at as usize..at as usize + 8].copy_from_slice(&value.to_le_bytes());
}

fn put32(bytes: &mut [u8], at: u64, value: u32) {
    bytes[at as usize..at as usize + 4].copy_from_slice(&value.to_le_bytes());
}

fn word32_at(bytes: &[u8], at: u64) -> u32 {
    u32::from_le_bytes(
        bytes[at as usize..at as usize + 4]
            .try_into()
            .expect("4 bytes"),
    )
}

/// A caught action: a handler, not SIG_DFL (0) or SIG_IGN (1).
fn caught(action: Option<Action>) -> Option<Action> {
    action.filter(|a| a.handler > 1)
}

impl Signals {
    /// Maps the trampoline page (the program's, read and execute).
    pub fn new(mem: &mut impl super::load::Space) -> std::io::Result<Self> {
        let page = mem.map_anywhere(super::pages::PAGE)?;
        let code: Vec<u8> = TRAMPOLINE.iter().flat_map(|i| i.to_le_bytes()).collect();
        mem.fill(page, &code)?;
        mem.give(page, super::pages::PAGE, libc::PROT_READ | libc::PROT_EXEC)?;
        mem.done();
        Ok(Signals {
            actions: [None; 64],
            altstack: None,
            trampoline: page,
        })
    }

    /// rt_sigaction(sig, act, oldact, sigsetsize), for the program.
    pub fn sigaction(
        &mut self,
        mem: &dyn ProgramMemory,
        host: &dyn SignalHost,
        a: [u64; 6],
    ) -> i64 {
        let Some(sig) = valid(a[0]).filter(|_| a[3] == 8) else {
            return -i64::from(libc::EINVAL);
        };
        if a[1] != 0 && (sig == libc::SIGKILL || sig == libc::SIGSTOP) {
            return -i64::from(libc::EINVAL);
        }
        let new = match a[1] {
            0 => None,
            p => match mem.read_bytes(p, 24) {
                Some(b) => Some([word_at(&b, 0), word_at(&b, 8), word_at(&b, 16)]),
                None => return -i64::from(libc::EFAULT),
            },
        };
        let synchronous = SYNCHRONOUS.contains(&sig);
        if a[2] != 0 {
            let old = match self.actions[sig as usize - 1] {
                Some(act) => [act.handler, act.flags, act.mask],
                None if synchronous => [0; 3],
                None => match host.sigaction(sig, None) {
                    Ok(old) => old,
                    Err(e) => return -i64::from(e),
                },
            };
            let bytes: Vec<u8> = old.iter().flat_map(|w| w.to_le_bytes()).collect();
            if !mem.write(a[2], &bytes) {
                return -i64::from(libc::EFAULT);
            }
        }
        let Some([handler, flags, mask]) = new else {
            return 0;
        };
        let action = Action {
            handler,
            flags,
            mask,
        };
        if synchronous {
            self.actions[sig as usize - 1] = Some(action);
            return 0;
        }
        if handler <= 1 {
            // SIG_DFL, SIG_IGN: the kernel's, exactly as the program asked.
            self.actions[sig as usize - 1] = None;
            return host
                .sigaction(sig, Some([handler, flags, mask]))
                .map_or_else(|e| -i64::from(e), |_| 0);
        }
        if let Err(e) = host.catch(sig) {
            return -i64::from(e);
        }
        self.actions[sig as usize - 1] = Some(action);
        0
    }

    /// The alternate stack as a `stack_t` (ss_sp, ss_flags, ss_size) for a program at `sp`.
    fn stack_t(&self, sp: u64) -> (u64, u64, u64) {
        match self.altstack {
            Some((base, size, auto)) => (
                base,
                if self.on_altstack(sp) { SS_ONSTACK } else { 0 }
                    | if auto { SS_AUTODISARM } else { 0 },
                size,
            ),
            None => (0, SS_DISABLE, 0),
        }
    }

    fn on_altstack(&self, sp: u64) -> bool {
        self.altstack
            .is_some_and(|(base, size, _)| sp > base && sp <= base + size)
    }

    /// sigaltstack(ss, old_ss), for the program whose stack pointer is `sp`.
    pub fn sigaltstack(&mut self, mem: &dyn ProgramMemory, new: u64, old: u64, sp: u64) -> i64 {
        let new = match new {
            0 => None,
            p => match mem.read_bytes(p, 24) {
                Some(b) => Some((
                    word_at(&b, 0),
                    word_at(&b, 8) & 0xffff_ffff,
                    word_at(&b, 16),
                )),
                None => return -i64::from(libc::EFAULT),
            },
        };
        if old != 0 {
            let (base, flags, size) = self.stack_t(sp);
            let bytes: Vec<u8> = [base, flags, size]
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect();
            if !mem.write(old, &bytes) {
                return -i64::from(libc::EFAULT);
            }
        }
        match new {
            None => 0,
            Some(_) if self.on_altstack(sp) => -i64::from(libc::EPERM),
            Some((_, flags, _)) if flags & !SS_AUTODISARM == SS_DISABLE => {
                self.altstack = None;
                0
            }
            Some((_, flags, _)) if flags & !SS_AUTODISARM & !SS_ONSTACK != 0 => {
                -i64::from(libc::EINVAL)
            }
            Some((_, _, size)) if size < MINSIGSTKSZ => -i64::from(libc::ENOMEM),
            Some((base, flags, size)) => {
                self.altstack = Some((base, size, flags & SS_AUTODISARM != 0));
                0
            }
        }
    }

    /// Delivers what is pending and unblocked, innermost last, as the kernel does on the way
    /// back to user mode; `during` is the mask a call that waited with its own mask used
    /// (rt_sigsuspend, ppoll, epoll_pwait), `interrupted` the call a signal cut short.
    pub fn deliver_pending(
        &mut self,
        cx: &mut Context<'_>,
        mut during: Option<u64>,
        mut interrupted: Option<Interrupted>,
    ) -> Result<(), Dies> {
        // Blocked only by the mask a call waited with: pending again once this is done (the
        // kernel delivers those when that mask goes away).
        let mut later = Vec::new();
        while let Some((sig, info)) = cx.host.take_pending() {
            let real = cx.host.mask();
            let blocked = during.unwrap_or(real);
            match caught(self.actions[sig as usize - 1]) {
                Some(action) if blocked & bit(sig) == 0 => {
                    let restart = interrupted
                        .take()
                        .filter(|i| i.restartable && action.flags & SA_RESTART != 0);
                    if let Err(dies) = self.setup_frame(cx, sig, &info, action, blocked, restart) {
                        for (sig, info) in later {
                            cx.host.repend(sig, &info);
                        }
                        return Err(dies);
                    }
                    during = None;
                }
                Some(_) if real & bit(sig) == 0 => later.push((sig, info)),
                // Blocked for good, or no longer caught: the kernel's again.
                _ => cx.host.requeue(sig, &info),
            }
        }
        for (sig, info) in later {
            cx.host.repend(sig, &info);
        }
        Ok(())
    }

    /// A fault of the program (`sig` with `code` at `addr`): delivered to its handler if it
    /// has one and does not block the signal; false when the default action must follow.
    pub fn fault(
        &mut self,
        cx: &mut Context<'_>,
        sig: i32,
        code: i32,
        addr: u64,
    ) -> Result<bool, Dies> {
        let blocked = cx.host.mask();
        let Some(action) =
            caught(self.actions[sig as usize - 1]).filter(|_| blocked & bit(sig) == 0)
        else {
            return Ok(false);
        };
        let mut info = [0u64; 16];
        info[0] = sig as u64;
        info[1] = code as u32 as u64;
        info[2] = addr;
        self.setup_frame(cx, sig, &info, action, blocked, None)?;
        Ok(true)
    }

    fn setup_frame(
        &mut self,
        cx: &mut Context<'_>,
        sig: i32,
        info: &[u64; 16],
        action: Action,
        blocked: u64,
        restart: Option<Interrupted>,
    ) -> Result<(), Dies> {
        let saved_mask = cx.host.mask();
        let sp = cx.regs.get(2);
        let vsize = cx.vregs.len() as u64;
        let ext = if vsize > 0 { 8 + V_STATE + vsize } else { 0 };
        let size = FRAME + ext;
        let use_alt = action.flags & SA_ONSTACK != 0 && !self.on_altstack(sp);
        let at = match self.altstack {
            Some((base, len, _)) if use_alt => {
                let at = (base + len).wrapping_sub(size) & !15;
                if at < base {
                    // The frame does not fit the alternate stack: the kernel's force_sigsegv.
                    return Err(Dies(libc::SIGSEGV));
                }
                at
            }
            _ => sp.wrapping_sub(size) & !15,
        };

        let mut f = vec![0u8; size as usize];
        for (i, w) in info.iter().enumerate() {
            put(&mut f, 8 * i as u64, *w);
        }
        let uc = SIGINFO;
        let (ss_base, ss_flags, ss_size) = self.stack_t(sp);
        put(&mut f, uc + UC_STACK, ss_base);
        put(&mut f, uc + UC_STACK + 8, ss_flags);
        put(&mut f, uc + UC_STACK + 16, ss_size);
        put(&mut f, uc + UC_SIGMASK, saved_mask);
        let mc = uc + UC_MCONTEXT;
        let (pc, a0) = match restart {
            Some(i) => (cx.regs.get(F_PC).wrapping_sub(4), i.a0),
            None => (cx.regs.get(F_PC), cx.regs.get(10)),
        };
        put(&mut f, mc, pc);
        for x in 1..32 {
            put(&mut f, mc + 8 * x as u64, cx.regs.get(x));
        }
        put(&mut f, mc + 8 * 10, a0);
        for (i, v) in cx.st.fp.f.iter().enumerate() {
            put(&mut f, mc + MC_FP + 8 * i as u64, *v);
        }
        put32(&mut f, mc + MC_FCSR, cx.st.fp.fcsr as u32);
        if vsize > 0 {
            let v = &cx.st.vector;
            let hdr = mc + MC_EXT;
            put32(&mut f, hdr, RISCV_V_MAGIC);
            put32(&mut f, hdr + 4, ext as u32);
            let state = hdr + 8;
            for (i, w) in [
                v.vstart,
                v.vl,
                v.vtype,
                v.vcsr,
                vsize / 32,
                at + state + V_STATE,
            ]
            .iter()
            .enumerate()
            {
                put(&mut f, state + 8 * i as u64, *w);
            }
            let data = (state + V_STATE) as usize;
            f[data..data + vsize as usize].copy_from_slice(cx.vregs);
            // The END header after it is zeros already.
        }
        if !cx.mem.write(at, &f) {
            // No room for the frame: what the kernel's force_sigsegv does.
            return Err(Dies(libc::SIGSEGV));
        }
        if use_alt && let Some((_, _, true)) = self.altstack {
            self.altstack = None;
        }

        cx.regs.set(1, self.trampoline);
        cx.regs.set(2, at);
        cx.regs.set(10, sig as u64);
        cx.regs.set(11, at);
        cx.regs.set(12, at + uc);
        cx.regs.set(F_PC, action.handler);
        let defer = if action.flags & SA_NODEFER != 0 {
            0
        } else {
            bit(sig)
        };
        cx.host.set_mask(blocked | action.mask | defer);
        if action.flags & SA_RESETHAND != 0 {
            self.actions[sig as usize - 1] = None;
            if !SYNCHRONOUS.contains(&sig) {
                let _ = cx.host.sigaction(sig, Some([0, 0, 0]));
            }
        }
        Ok(())
    }

    /// rt_sigreturn: the registers, FP state, mask and alternate stack of the frame at the
    /// program's stack pointer. A frame the program cannot read ends it, as in the kernel.
    pub fn sigreturn(&mut self, cx: &mut Context<'_>) -> Result<(), Dies> {
        let at = cx.regs.get(2);
        let Some(f) = cx.mem.read_bytes(at, FRAME) else {
            return Err(Dies(libc::SIGSEGV));
        };
        let mc = SIGINFO + UC_MCONTEXT;
        let vsize = cx.vregs.len() as u64;
        if vsize > 0 && word32_at(&f, mc + MC_EXT) == RISCV_V_MAGIC {
            // As __restore_v_state: the CSRs from the state, the registers from its datap.
            let Some(state) = cx.mem.read_bytes(at + mc + MC_EXT + 8, V_STATE) else {
                return Err(Dies(libc::SIGSEGV));
            };
            let Some(data) = cx.mem.read_bytes(word_at(&state, 40), vsize) else {
                return Err(Dies(libc::SIGSEGV));
            };
            let v = &mut cx.st.vector;
            (v.vstart, v.vl, v.vtype, v.vcsr) = (
                word_at(&state, 0),
                word_at(&state, 8),
                word_at(&state, 16),
                word_at(&state, 24),
            );
            cx.vregs.copy_from_slice(&data);
        }
        cx.regs.set(F_PC, word_at(&f, mc));
        for x in 1..32 {
            cx.regs.set(x, word_at(&f, mc + 8 * x as u64));
        }
        for (i, v) in cx.st.fp.f.iter_mut().enumerate() {
            *v = word_at(&f, mc + MC_FP + 8 * i as u64);
        }
        cx.st.fp.fcsr = u64::from(word32_at(&f, mc + MC_FCSR));
        cx.host.set_mask(word_at(&f, SIGINFO + UC_SIGMASK));
        let ss = SIGINFO + UC_STACK;
        let (base, flags, size) = (
            word_at(&f, ss),
            word_at(&f, ss + 8) & 0xffff_ffff,
            word_at(&f, ss + 16),
        );
        // As restore_altstack: nothing changes while on the alternate stack, errors are
        // ignored.
        if self.on_altstack(cx.regs.get(2)) {
        } else if flags & SS_DISABLE != 0 {
            self.altstack = None;
        } else if size >= MINSIGSTKSZ {
            self.altstack = Some((base, size, flags & SS_AUTODISARM != 0));
        }
        Ok(())
    }
}

/// Calls the kernel never restarts after a handler, SA_RESTART or not (signal(7)).
pub fn restartable(name: &str) -> bool {
    !matches!(
        name,
        "epoll_pwait"
            | "epoll_pwait2"
            | "ppoll"
            | "pselect6"
            | "rt_sigsuspend"
            | "rt_sigtimedwait"
            | "nanosleep"
            | "clock_nanosleep"
            | "io_getevents"
            | "io_pgetevents"
            | "semtimedop"
            | "msgrcv"
            | "msgsnd"
    )
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use super::super::fake::FakeMemory;
    use super::super::pages::PAGE;
    use super::*;

    /// The process's signal state, faked: a mask, a caught set, dispositions.
    #[derive(Default)]
    struct FakeHost {
        mask: Cell<u64>,
        pending: RefCell<Vec<(i32, [u64; 16])>>,
        requeued: RefCell<Vec<i32>>,
        caught: RefCell<Vec<i32>>,
    }

    impl SignalHost for FakeHost {
        fn mask(&self) -> u64 {
            self.mask.get()
        }
        fn set_mask(&self, m: u64) {
            self.mask.set(m)
        }
        fn take_pending(&self) -> Option<(i32, [u64; 16])> {
            let mut p = self.pending.borrow_mut();
            (!p.is_empty()).then(|| p.remove(0))
        }
        fn repend(&self, sig: i32, info: &[u64; 16]) {
            self.pending.borrow_mut().push((sig, *info))
        }
        fn requeue(&self, sig: i32, _: &[u64; 16]) {
            self.requeued.borrow_mut().push(sig)
        }
        fn sigaction(&self, _: i32, _: Option<KernelSigaction>) -> Result<KernelSigaction, i32> {
            Ok([0; 3])
        }
        fn catch(&self, sig: i32) -> Result<(), i32> {
            self.caught.borrow_mut().push(sig);
            Ok(())
        }
    }

    const RW: i32 = libc::PROT_READ | libc::PROT_WRITE;
    const STACK: u64 = 0x40_0000;
    const ACT: u64 = 0x10_0000;
    const HANDLER: u64 = 0x2_0000;

    /// A program with a stack, a page for its sigaction structs, and a shim page right below
    /// its stack.
    fn program() -> (FakeMemory, Signals) {
        let mut m = FakeMemory::new();
        m.shim(STACK - PAGE, PAGE);
        m.give(STACK, 4 * PAGE, RW);
        m.give(ACT, PAGE, RW);
        let s = Signals::new(&mut m).unwrap();
        (m, s)
    }

    fn install(s: &mut Signals, m: &FakeMemory, host: &FakeHost, sig: i32, flags: u64) {
        let act: Vec<u8> = [HANDLER, flags, 0]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert!(m.write(ACT, &act));
        assert_eq!(s.sigaction(m, host, [sig as u64, ACT, 0, 8, 0, 0]), 0);
    }

    fn regs(sp: u64, pc: u64) -> [u64; 40] {
        let mut r = [0u64; 40];
        for (x, v) in r.iter_mut().enumerate().take(32).skip(1) {
            *v = 0x1000 + x as u64;
        }
        r[2] = sp;
        r[F_PC] = pc;
        r
    }

    #[test]
    fn a_fault_runs_the_handler_and_sigreturn_undoes_the_frame() {
        let (m, mut s) = program();
        let host = FakeHost::default();
        install(&mut s, &m, &host, libc::SIGILL, 0);
        assert!(
            host.caught.borrow().is_empty(),
            "synchronous: never the process's"
        );
        let mut r = regs(STACK + 4 * PAGE - 64, 0x1_0040);
        let before = r;
        let mut st = RuneVcpuState::default();
        st.fp.f[3] = 0xdead;
        let mut vregs = [];
        let mut cx = Context {
            mem: &m,
            regs: &mut r,
            st: &mut st,
            vregs: &mut vregs,
            host: &host,
        };
        assert_eq!(s.fault(&mut cx, libc::SIGILL, 1, 0x1_0040), Ok(true));
        let at = cx.regs.get(2);
        assert_eq!(at % 16, 0);
        assert!(at + FRAME <= before[2]);
        assert_eq!(cx.regs.get(F_PC), HANDLER);
        assert_eq!(cx.regs.get(10), libc::SIGILL as u64);
        assert_eq!(cx.regs.get(11), at, "a1 = &siginfo");
        assert_eq!(cx.regs.get(12), at + SIGINFO, "a2 = &ucontext");
        assert_eq!(cx.regs.get(1), s.trampoline);
        // siginfo: signo, code, addr
        assert_eq!(m.read_u64(at), Some(libc::SIGILL as u64));
        assert_eq!(m.read_u64(at + 8), Some(1));
        assert_eq!(m.read_u64(at + 16), Some(0x1_0040));
        // the saved pc and registers in the mcontext
        assert_eq!(m.read_u64(at + SIGINFO + UC_MCONTEXT), Some(0x1_0040));
        assert_eq!(m.read_u64(at + SIGINFO + UC_MCONTEXT + 8 * 5), Some(0x1005));
        assert_ne!(host.mask() & bit(libc::SIGILL), 0, "blocked in its handler");
        cx.st.fp.f[3] = 0;
        s.sigreturn(&mut cx).unwrap();
        assert_eq!(&r[..33], &before[..33]);
        assert_eq!(st.fp.f[3], 0xdead);
        assert_eq!(host.mask(), 0);
        assert!(m.shim_writes.borrow().is_empty());
    }

    #[test]
    fn a_frame_that_would_land_on_the_shim_kills_instead() {
        let (m, mut s) = program();
        let host = FakeHost::default();
        install(&mut s, &m, &host, libc::SIGSEGV, 0);
        // the stack pointer at the bottom of the program's stack: the frame would go below it
        let mut r = regs(STACK + 256, 0x1_0000);
        let mut st = RuneVcpuState::default();
        let mut vregs = [];
        let mut cx = Context {
            mem: &m,
            regs: &mut r,
            st: &mut st,
            vregs: &mut vregs,
            host: &host,
        };
        assert_eq!(
            s.fault(&mut cx, libc::SIGSEGV, 1, 0),
            Err(Dies(libc::SIGSEGV))
        );
        assert!(m.shim_writes.borrow().is_empty());
        assert_eq!(m.shim_bytes(STACK - PAGE, PAGE), vec![0; PAGE as usize]);
    }

    #[test]
    fn sigreturn_from_memory_that_is_not_the_programs_kills() {
        let (m, mut s) = program();
        let host = FakeHost::default();
        let mut r = regs(STACK - PAGE, 0);
        let mut st = RuneVcpuState::default();
        let mut vregs = [];
        let mut cx = Context {
            mem: &m,
            regs: &mut r,
            st: &mut st,
            vregs: &mut vregs,
            host: &host,
        };
        assert_eq!(s.sigreturn(&mut cx), Err(Dies(libc::SIGSEGV)));
        assert_eq!(r[F_PC], 0, "nothing restored");
    }

    #[test]
    fn an_asynchronous_signal_is_caught_then_delivered_or_handed_back() {
        let (m, mut s) = program();
        let host = FakeHost::default();
        install(&mut s, &m, &host, libc::SIGUSR1, SA_RESTART);
        assert_eq!(*host.caught.borrow(), [libc::SIGUSR1]);
        let mut info = [0u64; 16];
        info[0] = libc::SIGUSR1 as u64;
        host.pending.borrow_mut().push((libc::SIGUSR1, info));
        // SIGUSR2 has no handler of the program's: back to the kernel
        host.pending.borrow_mut().push((libc::SIGUSR2, [0; 16]));
        let mut r = regs(STACK + 4 * PAGE, 0x1_0104);
        let mut st = RuneVcpuState::default();
        let mut vregs = [];
        let mut cx = Context {
            mem: &m,
            regs: &mut r,
            st: &mut st,
            vregs: &mut vregs,
            host: &host,
        };
        let interrupted = Interrupted {
            a0: 7,
            restartable: true,
        };
        s.deliver_pending(&mut cx, None, Some(interrupted)).unwrap();
        assert_eq!(cx.regs.get(F_PC), HANDLER);
        let at = cx.regs.get(2);
        // SA_RESTART: the saved pc is the ecall again, with the call's first argument
        assert_eq!(m.read_u64(at + SIGINFO + UC_MCONTEXT), Some(0x1_0100));
        assert_eq!(m.read_u64(at + SIGINFO + UC_MCONTEXT + 8 * 10), Some(7));
        assert_eq!(*host.requeued.borrow(), [libc::SIGUSR2]);
    }

    #[test]
    fn sigaction_refuses_what_the_kernel_refuses() {
        let (m, mut s) = program();
        let host = FakeHost::default();
        assert_eq!(
            s.sigaction(&m, &host, [libc::SIGKILL as u64, ACT, 0, 8, 0, 0]),
            -i64::from(libc::EINVAL)
        );
        assert_eq!(
            s.sigaction(&m, &host, [libc::SIGUSR1 as u64, ACT, 0, 4, 0, 0]),
            -i64::from(libc::EINVAL)
        );
        // an act in the shim's memory
        assert_eq!(
            s.sigaction(&m, &host, [libc::SIGUSR1 as u64, STACK - PAGE, 0, 8, 0, 0]),
            -i64::from(libc::EFAULT)
        );
    }
}
