//! The record of which pages are the program's and with which `PROT_*`: what every check of a
//! program address asks, on the trap path and in the loader. Plain data, so that the checks
//! are the same in the shim and in the tests that run on any host.

use std::collections::BTreeMap;

pub const PAGE: u64 = 4096;

/// The page `addr` lies in.
pub const fn page_of(addr: u64) -> u64 {
    addr & !(PAGE - 1)
}

/// `v` rounded up to a whole page; `None` past the end of the address space.
pub fn page_up(v: u64) -> Option<u64> {
    v.checked_add(PAGE - 1).map(page_of)
}

#[derive(Debug, Default, Clone)]
pub struct Pages {
    prot: BTreeMap<u64, i32>,
}

impl Pages {
    /// Records [addr, addr + len) as the program's, with `prot`.
    pub fn give(&mut self, addr: u64, len: u64, prot: i32) {
        for page in pages(addr, len) {
            self.prot.insert(page, prot);
        }
    }

    /// Forgets [addr, addr + len).
    pub fn take(&mut self, addr: u64, len: u64) {
        for page in pages(addr, len) {
            self.prot.remove(&page);
        }
    }

    /// The `PROT_*` of the program's page at `addr` (0 if it is not the program's).
    pub fn prot(&self, addr: u64) -> i32 {
        self.prot.get(&page_of(addr)).copied().unwrap_or(0)
    }

    /// Whether every page of [addr, addr + len) is the program's (a page-aligned range).
    pub fn owns(&self, addr: u64, len: u64) -> bool {
        addr % PAGE == 0
            && len > 0
            && addr.checked_add(len).is_some()
            && pages(addr, len).all(|p| self.prot.contains_key(&p))
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.prot.is_empty()
    }

    /// Whether the program may read (or write) every byte of [addr, addr + len).
    pub fn readable(&self, addr: u64, len: u64, write: bool) -> bool {
        if addr.checked_add(len).is_none() {
            return false;
        }
        pages(addr, len).all(|p| {
            self.prot.get(&p).is_some_and(|prot| {
                prot & libc::PROT_READ != 0 && (!write || prot & libc::PROT_WRITE != 0)
            })
        })
    }
}

/// The pages [addr, addr + len) touches (none for an empty or overflowing range).
pub fn pages(addr: u64, len: u64) -> impl Iterator<Item = u64> {
    let end = if len == 0 {
        page_of(addr)
    } else {
        addr.checked_add(len)
            .map_or(page_of(addr), |e| page_up(e).unwrap_or(!(PAGE - 1)))
    };
    (page_of(addr)..end).step_by(PAGE as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RW: i32 = libc::PROT_READ | libc::PROT_WRITE;

    #[test]
    fn a_range_is_readable_only_if_every_page_is() {
        let mut p = Pages::default();
        p.give(0x10000, 2 * PAGE, RW);
        assert!(p.readable(0x10000, 2 * PAGE, true));
        assert!(p.readable(0x10ff8, 16, true));
        // one byte into the next page
        assert!(!p.readable(0x11ff8, 9, false));
        assert!(!p.readable(u64::MAX - 4, 8, false));
        p.give(0x11000, PAGE, libc::PROT_READ);
        assert!(p.readable(0x10000, 2 * PAGE, false));
        assert!(!p.readable(0x10000, 2 * PAGE, true));
    }

    #[test]
    fn owns_wants_whole_pages() {
        let mut p = Pages::default();
        p.give(0x10000, PAGE, 0);
        assert!(p.owns(0x10000, PAGE));
        assert!(!p.owns(0x10001, 1));
        assert!(!p.owns(0x10000, 2 * PAGE));
        assert!(
            !p.readable(0x10000, 1, false),
            "PROT_NONE is owned, not readable"
        );
        p.take(0x10000, PAGE);
        assert!(!p.owns(0x10000, PAGE));
    }
}
