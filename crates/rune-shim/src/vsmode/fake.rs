//! A fake program memory for the tests: sparse pages of bytes, the program's record, and the
//! shim's own pages (mapped, not the program's), so that a test can tell whether anything was
//! written where the program has no business.

use std::collections::{BTreeMap, BTreeSet};

use std::io;

use super::load::Space;
use super::memory::ProgramMemory;
use super::pages::{PAGE, Pages, page_of, pages};

#[derive(Debug, Default)]
pub struct FakeMemory {
    pub record: Pages,
    bytes: std::cell::RefCell<BTreeMap<u64, Vec<u8>>>,
    /// Ranges mapped at all (the program's, the shim's, staged ones).
    mapped: Vec<(u64, u64)>,
    shim: BTreeSet<u64>,
    staged: Vec<(u64, u64)>,
    lent: BTreeMap<u64, i32>,
    next_anywhere: u64,
    /// Every write that reached a page of the shim (must stay empty).
    pub shim_writes: std::cell::RefCell<Vec<u64>>,
    /// Every range the loader filled.
    pub fills: Vec<(u64, u64)>,
}

/// The most a fake mapping takes (the host's memory, as far as the tests go).
const MAP_MAX: u64 = 256 << 20;

impl FakeMemory {
    pub fn new() -> Self {
        FakeMemory {
            next_anywhere: 0x7f00_0000_0000,
            ..Default::default()
        }
    }

    /// Maps [addr, addr + len) as the program's, zeroed.
    pub fn give(&mut self, addr: u64, len: u64, prot: i32) {
        self.mapped.push((addr, addr + len));
        self.record.give(addr, len, prot);
    }

    /// Maps [addr, addr + len) as the shim's.
    pub fn shim(&mut self, addr: u64, len: u64) {
        self.mapped.push((addr, addr + len));
        for p in pages(addr, len) {
            self.shim.insert(p);
        }
    }

    /// Writes bytes to a program page whatever its protection (as the program itself may).
    pub fn fill_program(&self, addr: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let a = addr + i as u64;
            assert!(
                self.record.owns(page_of(a), PAGE),
                "{a:#x} is not the program's"
            );
            self.poke(a, *b);
        }
    }

    fn poke(&self, addr: u64, b: u8) {
        if self.shim.contains(&page_of(addr)) {
            self.shim_writes.borrow_mut().push(addr);
        }
        let mut bytes = self.bytes.borrow_mut();
        let page = bytes
            .entry(page_of(addr))
            .or_insert_with(|| vec![0; PAGE as usize]);
        page[(addr % PAGE) as usize] = b;
    }

    pub fn peek(&self, addr: u64) -> u8 {
        self.bytes
            .borrow()
            .get(&page_of(addr))
            .map_or(0, |p| p[(addr % PAGE) as usize])
    }

    /// Bytes of a shim page.
    pub fn shim_bytes(&self, addr: u64, len: u64) -> Vec<u8> {
        (addr..addr + len).map(|a| self.peek(a)).collect()
    }

    pub fn lent(&self, addr: u64) -> Option<i32> {
        self.lent.get(&page_of(addr)).copied()
    }

    fn staged(&self, addr: u64, len: u64) -> bool {
        addr.checked_add(len)
            .is_some_and(|end| self.staged.iter().any(|&(lo, hi)| addr >= lo && end <= hi))
    }
}

impl ProgramMemory for FakeMemory {
    fn pages(&self) -> &Pages {
        &self.record
    }

    fn read(&self, addr: u64, out: &mut [u8]) -> bool {
        if out.is_empty() || !self.record.readable(addr, out.len() as u64, false) {
            return false;
        }
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.peek(addr + i as u64);
        }
        true
    }

    fn write(&self, addr: u64, bytes: &[u8]) -> bool {
        if bytes.is_empty() || !self.record.readable(addr, bytes.len() as u64, true) {
            return false;
        }
        for (i, b) in bytes.iter().enumerate() {
            self.poke(addr + i as u64, *b);
        }
        true
    }
}

impl Space for FakeMemory {
    fn map_fixed(&mut self, addr: u64, len: u64) -> io::Result<()> {
        if len == 0 || addr % PAGE != 0 || len % PAGE != 0 || addr.checked_add(len).is_none() {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        if len > MAP_MAX {
            return Err(io::Error::from_raw_os_error(libc::ENOMEM));
        }
        let end = addr + len;
        if self.mapped.iter().any(|&(lo, hi)| addr < hi && lo < end) {
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        self.mapped.push((addr, end));
        self.staged.push((addr, end));
        Ok(())
    }

    fn map_anywhere(&mut self, len: u64) -> io::Result<u64> {
        let addr = self.next_anywhere;
        self.next_anywhere += len.div_ceil(PAGE) * PAGE + PAGE;
        self.map_fixed(addr, len.div_ceil(PAGE) * PAGE)?;
        Ok(addr)
    }

    fn unmap(&mut self, addr: u64, len: u64) {
        if self.staged(addr, len) {
            for p in pages(addr, len) {
                self.bytes.borrow_mut().remove(&p);
            }
            self.mapped.retain(|&(lo, _)| lo != addr);
            self.record.take(addr, len);
            self.staged.retain(|&(lo, _)| lo != addr);
        }
    }

    fn fill(&mut self, addr: u64, bytes: &[u8]) -> io::Result<()> {
        if !self.staged(addr, bytes.len() as u64) {
            return Err(io::Error::from_raw_os_error(libc::EFAULT));
        }
        self.fills.push((addr, addr + bytes.len() as u64));
        for (i, b) in bytes.iter().enumerate() {
            self.poke(addr + i as u64, *b);
        }
        Ok(())
    }

    fn give(&mut self, addr: u64, len: u64, prot: i32) -> io::Result<()> {
        if !self.staged(addr, len) {
            return Err(io::Error::from_raw_os_error(libc::EFAULT));
        }
        self.record.give(addr, len, prot);
        Ok(())
    }

    fn lend(&mut self, addr: u64, len: u64, prot: i32) -> io::Result<()> {
        for p in pages(addr, len) {
            self.lent.insert(p, prot);
        }
        Ok(())
    }

    fn done(&mut self) {
        self.staged.clear();
    }
}
