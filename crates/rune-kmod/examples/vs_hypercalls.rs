//! A guest test in Rust (riscv64, static, run by `hack/riscv/test`): drives `/dev/rune` through
//! this crate's mirror of the ABI, so a size or offset that drifted from the C header makes the
//! kernel refuse the ioctl or hand back nonsense. It queries the hart, runs a guest loop of
//! hypercalls that the process answers, and checks that a jump to an unmapped address comes back
//! as a fault exit.

#[cfg(target_arch = "riscv64")]
mod guest {
    use rune_kmod::*;
    use std::io::Error;

    // a0 = n: n hypercalls (a7 = 1, a0 = i), each answered with 2 * i, summed; then the exit
    // request with the sum. Only registers: the guest touches no data.
    std::arch::global_asm!(
        ".globl rune_rust_guest",
        "rune_rust_guest:",
        "  mv s1, a0",
        "  li s2, 0",
        "  li s3, 0",
        "1: bge s2, s1, 2f",
        "  mv a0, s2",
        "  li a7, 1",
        "  ecall",
        "  add s3, s3, a0",
        "  addi s2, s2, 1",
        "  j 1b",
        "2: mv a0, s3",
        "  li a7, 0x52756e65",
        "  ecall",
        "  j 2b",
    );

    unsafe extern "C" {
        fn rune_rust_guest();
    }

    const A0: usize = 10;
    const A7: usize = 17;

    fn ioctl<T>(fd: i32, request: u32, arg: *mut T) -> std::io::Result<i32> {
        // SAFETY: every request used here takes a pointer to the structure the mirror defines
        // for it (or none), which lives for the whole call.
        let ret = unsafe { libc::ioctl(fd, request as _, arg) };
        if ret < 0 {
            Err(Error::last_os_error())
        } else {
            Ok(ret)
        }
    }

    pub fn run() -> Result<(), String> {
        // SAFETY: a C string literal; the descriptor is owned by this function until exit.
        let dev = unsafe { libc::open(c"/dev/rune".as_ptr(), libc::O_RDWR) };
        if dev < 0 {
            return Err(format!("open /dev/rune: {}", Error::last_os_error()));
        }
        let mut info = RuneInfo::default();
        ioctl(dev, RUNE_IOC_QUERY, &mut info).map_err(|e| format!("query: {e}"))?;
        if info.abi_version != RUNE_ABI_VERSION || info.flags & RUNE_INFO_H == 0 {
            return Err(format!("unexpected hart: {info:?}"));
        }
        let vcpu = ioctl(dev, RUNE_IOC_CREATE, std::ptr::null_mut::<u8>())
            .map_err(|e| format!("create: {e}"))?;

        let n: u64 = 1000;
        let mut st = RuneVcpuState::default();
        st.regs.pc = rune_rust_guest as *const () as u64;
        st.regs.mode = RUNE_MODE_VS;
        st.regs.set(A0, n);
        let mut served = 0;
        loop {
            ioctl(vcpu, RUNE_IOC_ENTER, &mut st).map_err(|e| format!("enter: {e}"))?;
            match st.exit.reason {
                RUNE_EXIT_HYPERCALL if st.regs.get(A7) == 1 => {
                    st.regs.set(A0, 2 * st.regs.get(A0));
                    served += 1;
                }
                RUNE_EXIT_SIGNAL => {}
                RUNE_EXIT_EXIT => break,
                _ => return Err(format!("unexpected exit: {:?}", st.exit)),
            }
        }
        if served != n || st.regs.get(A0) != n * (n - 1) {
            return Err(format!("{served} hypercalls, sum {}", st.regs.get(A0)));
        }

        st.regs.pc = 0x3f_0000_0000;
        ioctl(vcpu, RUNE_IOC_ENTER, &mut st).map_err(|e| format!("enter: {e}"))?;
        if st.exit.reason != RUNE_EXIT_FAULT || st.exit.scause != 20 || st.exit.gpa != st.regs.pc {
            return Err(format!(
                "expected an instruction guest-page fault: {:?}",
                st.exit
            ));
        }
        println!(
            "rust: {n} hypercalls, {} entries, then a fault exit",
            st.stats.entries
        );
        Ok(())
    }
}

#[cfg(target_arch = "riscv64")]
fn main() -> std::process::ExitCode {
    match guest::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vs_hypercalls: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_arch = "riscv64"))]
fn main() {
    eprintln!("vs_hypercalls runs on riscv64 with /dev/rune (hack/riscv/test builds and runs it)");
    std::process::exit(2);
}
