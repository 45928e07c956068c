//! The program's memory as the shim reads and writes it: a trait with the real implementation
//! on riscv64 (`pagetable.rs`, the VS-stage table over this very address space) and a
//! Vec-backed fake for the tests (`fake.rs`). Every access is checked against the record of
//! the program's pages by the implementation itself, so no caller can reach the shim's memory
//! through it.

use super::pages::Pages;

pub use super::pages::PAGE;

/// Memory of the program, at program addresses.
pub trait ProgramMemory {
    /// Which pages are the program's.
    fn pages(&self) -> &Pages;

    /// Copies `out.len()` bytes at `addr` out; false (and nothing copied) unless the program
    /// may read every one of them.
    fn read(&self, addr: u64, out: &mut [u8]) -> bool;

    /// Copies `bytes` to `addr`; false (and nothing written) unless the program may write every
    /// byte there.
    fn write(&self, addr: u64, bytes: &[u8]) -> bool;

    fn prot(&self, addr: u64) -> i32 {
        self.pages().prot(addr)
    }

    fn owns(&self, addr: u64, len: u64) -> bool {
        self.pages().owns(addr, len)
    }

    fn readable(&self, addr: u64, len: u64, write: bool) -> bool {
        self.pages().readable(addr, len, write)
    }

    /// An aligned u64 of the program, if it may read it.
    fn read_u64(&self, addr: u64) -> Option<u64> {
        let mut b = [0u8; 8];
        (addr % 8 == 0 && self.read(addr, &mut b)).then(|| u64::from_le_bytes(b))
    }

    /// `len` bytes of the program, copied out, if it may read all of them.
    fn read_bytes(&self, addr: u64, len: u64) -> Option<Vec<u8>> {
        if len == 0 || !self.readable(addr, len, false) {
            return None;
        }
        let mut out = vec![0u8; usize::try_from(len).ok()?];
        self.read(addr, &mut out).then_some(out)
    }

    /// A NUL-terminated string of the program, copied out without its NUL (at most `max`
    /// bytes), if all of it lies in pages the program may read.
    fn read_cstr(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = addr;
        while out.len() < max {
            // A page at a time: the string ends somewhere on it, or goes on to the next.
            let room = usize::try_from(PAGE - at % PAGE).ok()?.min(max - out.len());
            let mut chunk = vec![0u8; room];
            if !self.read(at, &mut chunk) {
                // Not all of the rest of the page: byte by byte up to where it stops.
                let mut b = [0u8];
                if !self.read(at, &mut b) {
                    return None;
                }
                if b[0] == 0 {
                    return Some(out);
                }
                out.push(b[0]);
                at = at.checked_add(1)?;
                continue;
            }
            if let Some(nul) = chunk.iter().position(|&c| c == 0) {
                out.extend_from_slice(&chunk[..nul]);
                return Some(out);
            }
            out.extend_from_slice(&chunk);
            at = at.checked_add(room as u64)?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake::FakeMemory;
    use super::*;

    const RW: i32 = libc::PROT_READ | libc::PROT_WRITE;

    #[test]
    fn reads_and_writes_stay_on_program_pages() {
        let mut m = FakeMemory::new();
        m.give(0x10000, PAGE, RW);
        m.shim(0x11000, PAGE);
        assert!(m.write(0x10ff8, &[1; 8]));
        assert!(
            !m.write(0x10ffc, &[2; 8]),
            "a write that runs into a shim page"
        );
        assert_eq!(m.shim_bytes(0x11000, 4), [0; 4]);
        assert_eq!(m.read_u64(0x10ff8), Some(0x0101_0101_0101_0101));
        assert_eq!(m.read_u64(0x10ffc), None, "unaligned");
        assert_eq!(m.read_bytes(0x10ff8, 16), None);
    }

    #[test]
    fn a_string_ends_at_its_nul_or_not_at_all() {
        let mut m = FakeMemory::new();
        m.give(0x10000, 2 * PAGE, RW);
        m.shim(0x12000, PAGE);
        assert!(m.write(0x10ffe, b"/etc/passwd\0"));
        assert_eq!(
            m.read_cstr(0x10ffe, 4096).as_deref(),
            Some(&b"/etc/passwd"[..])
        );
        // a string that runs to the end of the program's pages, into the shim's
        m.fill_program(0x11ff0, &[b'a'; 16]);
        assert_eq!(m.read_cstr(0x11ff0, 4096), None);
        assert_eq!(m.read_cstr(0x10ffe, 4), None, "longer than max");
    }
}
