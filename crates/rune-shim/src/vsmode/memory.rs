//! The program's memory as the VS-stage sees it: a page table (as wide as the host's own,
//! since the kernel may hand out addresses anywhere in it) that maps the program's
//! pages at identity with the U bit (the G-stage maps guest physical = host virtual), and the
//! record of which pages are the program's. The shim's own pages get no U entry, so code in
//! VU-mode cannot reach them; the page table itself lives in host memory the program cannot
//! map. The only unsafe code is the raw access to page-table pages and the anonymous mappings.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::io;

pub const PAGE: u64 = 4096;

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
        return Err(io::Error::from_raw_os_error(libc::EEXIST));
    }
    Ok(p as u64)
}

/// Copies `bytes` to `addr`, which `anonymous` mapped writable for the loader.
pub fn fill(addr: u64, bytes: &[u8]) {
    // SAFETY: the loader maps [addr, addr + len) read-write before it fills it, and nothing
    // else refers to that memory yet.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), addr as *mut u8, bytes.len()) }
}

pub fn protect(addr: u64, len: u64, prot: i32) -> io::Result<()> {
    // SAFETY: only ever called on the program's own pages (the caller checks with `owns`).
    if unsafe { libc::mprotect(addr as *mut libc::c_void, len as usize, prot) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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

/// The host's paging mode, from /proc/cpuinfo: (vsatp.MODE, levels).
fn host_mode() -> (u64, usize) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    match cpuinfo.lines().find_map(|l| {
        l.strip_prefix("mmu")
            .map(|v| v.trim_start_matches([' ', '\t', ':']))
    }) {
        Some("sv39") => (8, 3),
        Some("sv48") => (9, 4),
        _ => (10, 5),
    }
}

#[derive(Debug)]
pub struct Memory {
    root: u64,
    mode: u64,
    levels: usize,
    /// The program's pages and their `PROT_*`.
    pages: BTreeMap<u64, i32>,
}

impl Memory {
    pub fn new() -> io::Result<Self> {
        let (mode, levels) = host_mode();
        Ok(Memory {
            root: anonymous(PAGE, 0, false)?,
            mode,
            levels,
            pages: BTreeMap::new(),
        })
    }

    /// vsatp for this table (ASID 0).
    pub fn vsatp(&self) -> u64 {
        (self.mode << 60) | (self.root / PAGE)
    }

    fn slot(&self, va: u64, create: bool) -> io::Result<Option<u64>> {
        let mut table = self.root;
        for level in (1..self.levels).rev() {
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

    /// Records [addr, addr + len) as the program's, with `prot`.
    pub fn give(&mut self, addr: u64, len: u64, prot: i32) -> io::Result<()> {
        let bits = leaf_bits(prot);
        for page in (addr..addr + len).step_by(PAGE as usize) {
            self.set(page, bits)?;
            self.pages.insert(page, prot);
        }
        Ok(())
    }

    /// Lets the program use [addr, addr + len) with `prot` without making it its own: it
    /// cannot unmap, remap or protect those pages, nor name them in a call (the vDSO, which
    /// the shim's own C library uses too).
    pub fn lend(&self, addr: u64, len: u64, prot: i32) -> io::Result<()> {
        let bits = leaf_bits(prot);
        for page in (addr..addr + len).step_by(PAGE as usize) {
            self.set(page, bits)?;
        }
        Ok(())
    }

    pub fn take(&mut self, addr: u64, len: u64) -> io::Result<()> {
        for page in (addr..addr + len).step_by(PAGE as usize) {
            self.set(page, 0)?;
            self.pages.remove(&page);
        }
        Ok(())
    }

    /// The `PROT_*` of the program's page at `addr` (0 if it is not the program's).
    pub fn prot(&self, addr: u64) -> i32 {
        self.pages.get(&(addr & !(PAGE - 1))).copied().unwrap_or(0)
    }

    /// Whether every page of [addr, addr + len) is the program's.
    pub fn owns(&self, addr: u64, len: u64) -> bool {
        addr % PAGE == 0
            && len > 0
            && addr.checked_add(len).is_some()
            && (addr..addr + len)
                .step_by(PAGE as usize)
                .all(|p| self.pages.contains_key(&p))
    }

    /// Whether the program may read (or write) [addr, addr + len).
    pub fn readable(&self, addr: u64, len: u64, write: bool) -> bool {
        let Some(end) = addr.checked_add(len) else {
            return false;
        };
        (addr & !(PAGE - 1)..end).step_by(PAGE as usize).all(|p| {
            self.pages.get(&p).is_some_and(|prot| {
                prot & libc::PROT_READ != 0 && (!write || prot & libc::PROT_WRITE != 0)
            })
        })
    }
}

/// A u64 of the program, if it may read it.
pub fn read_u64(mem: &Memory, addr: u64) -> Option<u64> {
    if addr % 8 != 0 || !mem.readable(addr, 8, false) {
        return None;
    }
    // SAFETY: an aligned word in a readable page of the program, in this address space.
    Some(unsafe { std::ptr::read_volatile(addr as *const u64) })
}

/// A NUL-terminated string of the program, copied out (at most `max` bytes), if all of it
/// lies in pages the program may read.
pub fn read_cstr(mem: &Memory, addr: u64, max: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < max {
        if !mem.readable(at, 1, false) {
            return None;
        }
        // SAFETY: the program may read this byte: it is in a page of its own that is mapped
        // readable, in this very address space.
        let b = unsafe { std::ptr::read_volatile(at as *const u8) };
        if b == 0 {
            return Some(out);
        }
        out.push(b);
        at += 1;
    }
    None
}

/// `len` bytes of the program, copied out, if it may read all of them.
pub fn read_bytes(mem: &Memory, addr: u64, len: u64) -> Option<Vec<u8>> {
    if len == 0 || !mem.readable(addr, len, false) {
        return None;
    }
    let mut out = vec![0u8; len as usize];
    // SAFETY: every byte lies in a readable page of the program in this address space; the
    // program does not run while the shim copies (it has no second thread).
    unsafe { std::ptr::copy_nonoverlapping(addr as *const u8, out.as_mut_ptr(), out.len()) };
    Some(out)
}

/// Copies `bytes` into the program's memory at `addr`, if it may write all of it there.
pub fn write_bytes(mem: &Memory, addr: u64, bytes: &[u8]) -> bool {
    if bytes.is_empty() || !mem.readable(addr, bytes.len() as u64, true) {
        return false;
    }
    // SAFETY: as in `read_bytes`, with pages the program may write.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), addr as *mut u8, bytes.len()) };
    true
}

/// Reads or writes a u64 of the VS-only trap frame.
pub fn frame_word(frame: u64, index: usize) -> u64 {
    // SAFETY: `frame` is the page the runtime allocated for the trap frame.
    unsafe { std::ptr::read_volatile((frame as *const u64).add(index)) }
}

pub fn set_frame_word(frame: u64, index: usize, value: u64) {
    // SAFETY: as in `frame_word`.
    unsafe { std::ptr::write_volatile((frame as *mut u64).add(index), value) }
}
