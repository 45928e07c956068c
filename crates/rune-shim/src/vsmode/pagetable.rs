//! The program's memory on the hart: a VS-stage page table (as wide as the host's own, since
//! the kernel may hand out addresses anywhere in it) that maps the program's pages at identity
//! with the U bit (the G-stage maps guest physical = host virtual), over this very address
//! space. The shim's own pages get no U entry, so code in VU-mode cannot reach them; the page
//! table itself lives in host memory the program cannot map. The only unsafe code of the
//! memory is here: raw access to page-table pages, the anonymous mappings, and copies to and
//! from program pages the record says are the program's.
#![allow(unsafe_code)]

use std::io;

use super::load::Space;
use super::memory::ProgramMemory;
use super::pages::{PAGE, Pages, pages};
use super::sys;
use super::vsatp::{Mode, vsatp};

const V: u64 = 1 << 0;
const R: u64 = 1 << 1;
const W: u64 = 1 << 2;
const X: u64 = 1 << 3;
const U: u64 = 1 << 4;
const A: u64 = 1 << 6;
const D: u64 = 1 << 7;

/// Anonymous, zeroed, read-write host memory.
pub fn anonymous(len: u64, hint: u64, fixed: bool) -> io::Result<u64> {
    let flags =
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | if fixed { libc::MAP_FIXED_NOREPLACE } else { 0 };
    // SAFETY: an anonymous mapping; with MAP_FIXED_NOREPLACE the kernel refuses to replace
    // anything already mapped, so no existing memory of this process changes.
    let p = unsafe {
        libc::mmap(
            hint as *mut libc::c_void,
            len as usize,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    if fixed && p as u64 != hint {
        // An old kernel that took the flag for a hint: give it back.
        // SAFETY: the mapping was just made, and nothing refers to it.
        unsafe { libc::munmap(p, len as usize) };
        return Err(io::Error::from_raw_os_error(libc::EEXIST));
    }
    Ok(p as u64)
}

/// The PTE bits a `PROT_*` set gives; 0 for `PROT_NONE`.
fn leaf_bits(prot: i32) -> u64 {
    let mut bits = 0;
    if prot & libc::PROT_READ != 0 {
        bits |= R;
    }
    if prot & libc::PROT_WRITE != 0 {
        bits |= R | W | D;
    }
    if prot & libc::PROT_EXEC != 0 {
        bits |= X;
    }
    if bits == 0 { 0 } else { bits | V | U | A }
}

#[derive(Debug)]
pub struct Memory {
    root: u64,
    mode: Mode,
    pages: Pages,
    /// Memory the loader mapped for the program and may still fill (before it is given).
    staged: Vec<(u64, u64)>,
}

impl Memory {
    /// An empty table of `mode`.
    pub fn new(mode: Mode) -> io::Result<Self> {
        Ok(Memory {
            root: anonymous(PAGE, 0, false)?,
            mode,
            pages: Pages::default(),
            staged: Vec::new(),
        })
    }

    /// vsatp for this table (ASID 0).
    pub fn vsatp(&self) -> u64 {
        vsatp(self.mode, self.root)
    }

    fn slot(&self, va: u64, create: bool) -> io::Result<Option<u64>> {
        let mut table = self.root;
        for level in (1..self.mode.levels).rev() {
            let slot = table + ((va >> (12 + 9 * level)) & 0x1ff) * 8;
            // SAFETY: `slot` is inside a page-table page this structure allocated.
            let pte = unsafe { std::ptr::read_volatile(slot as *const u64) };
            table = if pte & V != 0 {
                (pte >> 10) * PAGE
            } else if create {
                let next = anonymous(PAGE, 0, false)?;
                // SAFETY: as above; the new table is zeroed before it becomes reachable.
                unsafe { std::ptr::write_volatile(slot as *mut u64, ((next / PAGE) << 10) | V) };
                next
            } else {
                return Ok(None);
            };
        }
        Ok(Some(table + ((va >> 12) & 0x1ff) * 8))
    }

    fn set(&self, va: u64, bits: u64) -> io::Result<()> {
        let create = bits != 0;
        if let Some(slot) = self.slot(va, create)? {
            let pte = if create {
                ((va / PAGE) << 10) | bits
            } else {
                0
            };
            // SAFETY: `slot` is a leaf slot of a page-table page this structure allocated.
            unsafe { std::ptr::write_volatile(slot as *mut u64, pte) };
        }
        Ok(())
    }

    /// Maps a VS-only page (no U bit) for the shim's own code and data in VS-mode.
    pub fn map_shim(&self, va: u64, exec: bool) -> io::Result<()> {
        self.set(va & !(PAGE - 1), V | R | A | if exec { X } else { W | D })
    }

    /// Records [addr, addr + len) as the program's, with `prot`, in the record and the table
    /// (the host mapping is the caller's: a forwarded mmap, mprotect or the loader's).
    pub fn record(&mut self, addr: u64, len: u64, prot: i32) -> io::Result<()> {
        let bits = leaf_bits(prot);
        for page in pages(addr, len) {
            self.set(page, bits)?;
        }
        self.pages.give(addr, len, prot);
        Ok(())
    }

    /// Forgets [addr, addr + len) in the record and the table.
    pub fn forget(&mut self, addr: u64, len: u64) -> io::Result<()> {
        for page in pages(addr, len) {
            self.set(page, 0)?;
        }
        self.pages.take(addr, len);
        Ok(())
    }

    fn staged(&self, addr: u64, len: u64) -> bool {
        addr.checked_add(len)
            .is_some_and(|end| self.staged.iter().any(|&(lo, hi)| addr >= lo && end <= hi))
    }
}

impl ProgramMemory for Memory {
    fn pages(&self) -> &Pages {
        &self.pages
    }

    fn read(&self, addr: u64, out: &mut [u8]) -> bool {
        if out.is_empty() || !self.pages.readable(addr, out.len() as u64, false) {
            return false;
        }
        // SAFETY: every byte lies in a readable page of the program in this address space.
        // Another writer (a MAP_SHARED peer) may change it while it is copied: the copy is
        // what the shim decides on, never the original.
        unsafe {
            std::ptr::copy_nonoverlapping(addr as *const u8, out.as_mut_ptr(), out.len());
        }
        true
    }

    fn write(&self, addr: u64, bytes: &[u8]) -> bool {
        if bytes.is_empty() || !self.pages.readable(addr, bytes.len() as u64, true) {
            return false;
        }
        // SAFETY: as in `read`, with pages the program may write.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), addr as *mut u8, bytes.len()) };
        true
    }
}

impl Space for Memory {
    fn map_fixed(&mut self, addr: u64, len: u64) -> io::Result<()> {
        anonymous(len, addr, true)?;
        self.staged.push((addr, addr + len));
        Ok(())
    }

    fn map_anywhere(&mut self, len: u64) -> io::Result<u64> {
        let addr = anonymous(len, 0, false)?;
        self.staged.push((addr, addr + len));
        Ok(addr)
    }

    fn unmap(&mut self, addr: u64, len: u64) {
        if self.staged(addr, len) {
            sys::syscall(libc::SYS_munmap as u64, [addr, len, 0, 0, 0, 0]);
            self.staged.retain(|&(lo, _)| lo != addr);
        }
    }

    fn fill(&mut self, addr: u64, bytes: &[u8]) -> io::Result<()> {
        if !self.staged(addr, bytes.len() as u64) {
            return Err(io::Error::from_raw_os_error(libc::EFAULT));
        }
        // SAFETY: [addr, addr + len) lies in memory this structure mapped read-write for the
        // program and has not handed over yet, so nothing else refers to it.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), addr as *mut u8, bytes.len()) };
        Ok(())
    }

    fn give(&mut self, addr: u64, len: u64, prot: i32) -> io::Result<()> {
        if !self.staged(addr, len) {
            return Err(io::Error::from_raw_os_error(libc::EFAULT));
        }
        let r = sys::syscall(libc::SYS_mprotect as u64, [addr, len, prot as u64, 0, 0, 0]);
        if r < 0 {
            return Err(io::Error::from_raw_os_error(-r as i32));
        }
        if prot & libc::PROT_EXEC != 0 {
            // riscv_flush_icache: the hart fetches what was just stored.
            sys::syscall(259, [addr, addr + len, 0, 0, 0, 0]);
        }
        self.record(addr, len, prot)
    }

    fn lend(&mut self, addr: u64, len: u64, prot: i32) -> io::Result<()> {
        let bits = leaf_bits(prot);
        for page in pages(addr, len) {
            self.set(page, bits)?;
        }
        Ok(())
    }

    fn done(&mut self) {
        self.staged.clear();
    }
}

/// Reads or writes a u64 of the VS-only trap frame.
pub fn frame_word(frame: u64, index: usize) -> u64 {
    assert!(index < 512);
    // SAFETY: `frame` is the page the runtime allocated for the trap frame, `index` within it.
    unsafe { std::ptr::read_volatile((frame as *const u64).add(index)) }
}

pub fn set_frame_word(frame: u64, index: usize, value: u64) {
    assert!(index < 512);
    // SAFETY: as in `frame_word`.
    unsafe { std::ptr::write_volatile((frame as *mut u64).add(index), value) }
}

/// The VS-only trap frame as registers (x1..x31, pc and the trap's CSRs).
#[derive(Debug, Clone, Copy)]
pub struct RawFrame(pub u64);

impl super::signal::Regs for RawFrame {
    fn get(&self, i: usize) -> u64 {
        frame_word(self.0, i)
    }
    fn set(&mut self, i: usize, v: u64) {
        set_frame_word(self.0, i, v)
    }
}

/// Copies `bytes` to `addr`, which `anonymous` mapped for the shim's own VS-mode data.
pub fn fill_shim(addr: u64, len: u64, at: u64, bytes: &[u8]) {
    assert!(at + bytes.len() as u64 <= len);
    // SAFETY: [addr, addr + len) is a mapping of the shim's own the caller made read-write
    // with `anonymous`; the write stays inside it.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), (addr + at) as *mut u8, bytes.len()) }
}
