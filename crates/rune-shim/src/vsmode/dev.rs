//! `/dev/rune`: the address space's file and the calling thread's VS context.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use rune_kmod::{
    RUNE_ABI_VERSION, RUNE_INFO_H, RUNE_IOC_CREATE, RUNE_IOC_ENTER, RUNE_IOC_QUERY,
    RUNE_IOC_SET_KICK, RuneInfo, RuneVcpuState,
};

#[derive(Debug)]
pub struct Device {
    file: File,
    info: RuneInfo,
}

impl Device {
    /// Opens `/dev/rune`; fails unless the module's query answers, with the ABI this shim
    /// speaks and the H extension on the hart (the node existing says neither).
    pub fn open() -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/rune")?;
        let mut info = RuneInfo::default();
        // SAFETY: RUNE_IOC_QUERY writes one `RuneInfo`, which the mirror lays out as C does.
        if unsafe { libc::ioctl(file.as_raw_fd(), RUNE_IOC_QUERY as _, &mut info) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if info.abi_version != RUNE_ABI_VERSION {
            return Err(io::Error::from_raw_os_error(libc::EPROTO));
        }
        if info.flags & RUNE_INFO_H == 0 {
            return Err(io::Error::from_raw_os_error(libc::ENODEV));
        }
        let file = super::sys::reserve_fd(file)?;
        Ok(Device { file, info })
    }

    /// The hart's vector register length in bytes (0 without V).
    pub fn vlenb(&self) -> u64 {
        u64::from(self.info.vlenb)
    }

    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.file.as_raw_fd()
    }

    /// The calling thread's VS context, stopped at every entry while a signal caught for
    /// the program is pending (the word at `kick`).
    pub fn context(&self, kick: u64) -> io::Result<Vcpu> {
        let vcpu = self.create()?;
        vcpu.set_kick(kick)?;
        Ok(vcpu)
    }

    fn create(&self) -> io::Result<Vcpu> {
        // SAFETY: RUNE_IOC_CREATE takes no argument and returns a new descriptor we own.
        let fd = unsafe { libc::ioctl(self.file.as_raw_fd(), RUNE_IOC_CREATE as _) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned to us and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Vcpu(super::sys::reserve_fd(fd)?))
    }
}

#[derive(Debug)]
pub struct Vcpu(OwnedFd);

impl Vcpu {
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }

    /// Has every entry raise the VS software interrupt while the u64 at `addr` is nonzero.
    fn set_kick(&self, addr: u64) -> io::Result<()> {
        // SAFETY: RUNE_IOC_SET_KICK reads one u64 (the address); the kernel later reads the
        // word there, which lives as long as the process (a static).
        if unsafe { libc::ioctl(self.0.as_raw_fd(), RUNE_IOC_SET_KICK as _, &addr) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Runs the context from `state` until an exit; `state` comes back updated.
    pub fn enter(&self, state: &mut RuneVcpuState) -> io::Result<()> {
        // SAFETY: RUNE_IOC_ENTER reads and writes one `RuneVcpuState` and the vector
        // register file `state.vector.regs` points at (32 * vlenb bytes, `Runtime` owns it).
        if unsafe { libc::ioctl(self.0.as_raw_fd(), RUNE_IOC_ENTER as _, state) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}
