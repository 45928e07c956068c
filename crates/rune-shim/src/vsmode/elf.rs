//! The ELF64 headers the loader needs, parsed from bytes and validated field by field (no
//! unsafe, no dependency): the file is the program's, so nothing in it is trusted. What passes
//! describes segments that lie inside the file, inside the user half of the address space,
//! apart from each other, with the entry point in an executable one.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    #[error("not a 64-bit little-endian RISC-V ELF executable ({field})")]
    NotRiscv64 { field: &'static str },
    #[error("truncated: {field} lies past the end of the file")]
    Truncated { field: &'static str },
    #[error("e_phentsize is {0}, not 56")]
    PhentSize(u16),
    #[error("e_phnum is {0}: none, or a table larger than 64 KiB")]
    PhNum(u16),
    #[error("program header {index}: p_filesz {filesz:#x} exceeds p_memsz {memsz:#x}")]
    FileszOverMemsz {
        index: usize,
        filesz: u64,
        memsz: u64,
    },
    #[error("program header {index}: p_offset + p_filesz lies outside the file")]
    OffsetOutsideFile { index: usize },
    #[error("program header {index}: p_vaddr + p_memsz overflows or leaves the user address space")]
    VaddrOutOfRange { index: usize },
    #[error("program header {index}: p_align {align:#x} is not a power of two")]
    Align { index: usize, align: u64 },
    #[error("program header {index}: p_vaddr and p_offset differ modulo the page size or p_align")]
    Misaligned { index: usize },
    #[error("program headers {first} and {second}: PT_LOAD segments overlap or are out of order")]
    Overlap { first: usize, second: usize },
    #[error("no loadable segment")]
    NoSegments,
    #[error("e_entry {0:#x} is not inside an executable segment")]
    Entry(u64),
    #[error("PT_INTERP: {0}")]
    Interp(&'static str),
    #[error("the interpreter (PT_INTERP) has an interpreter of its own")]
    NestedInterpreter,
    #[error("the segments span {0:#x} bytes, more than 4 GiB")]
    TooLarge(u64),
    #[error("the image's range {0:#x?} is already mapped (the shim's own memory)")]
    Occupied(Range<u64>),
}

pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;
const EM_RISCV: u16 = 243;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;
const PHENT: u16 = 56;
/// The largest program header table the kernel reads (binfmt_elf's load_elf_phdrs).
const PH_TABLE_MAX: usize = 65536;
/// The top of the user half of the widest address space (Sv57); a narrower hart refuses the
/// mapping itself.
pub const USER_TOP: u64 = 1 << 56;
const PAGE: u64 = 4096;
/// The longest interpreter path the kernel takes.
const INTERP_MAX: u64 = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub offset: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub flags: u32,
}

impl Segment {
    /// [vaddr, vaddr + memsz): validated not to overflow.
    pub fn range(&self) -> Range<u64> {
        self.vaddr..self.vaddr + self.memsz
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elf {
    pub kind: u16,
    pub entry: u64,
    pub phoff: u64,
    pub phnum: u16,
    /// The PT_LOAD segments, in ascending and disjoint address order.
    pub segments: Vec<Segment>,
    /// PT_INTERP: the dynamic loader's path.
    pub interp: Option<String>,
}

fn bytes_at<'a>(
    b: &'a [u8],
    at: usize,
    n: usize,
    field: &'static str,
) -> Result<&'a [u8], ElfError> {
    at.checked_add(n)
        .and_then(|end| b.get(at..end))
        .ok_or(ElfError::Truncated { field })
}

fn u16_at(b: &[u8], at: usize, field: &'static str) -> Result<u16, ElfError> {
    let s = bytes_at(b, at, 2, field)?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize, field: &'static str) -> Result<u32, ElfError> {
    let s = bytes_at(b, at, 4, field)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize, field: &'static str) -> Result<u64, ElfError> {
    let s = bytes_at(b, at, 8, field)?;
    let mut w = [0u8; 8];
    w.copy_from_slice(s);
    Ok(u64::from_le_bytes(w))
}

pub fn parse(b: &[u8]) -> Result<Elf, ElfError> {
    let not = |field| ElfError::NotRiscv64 { field };
    if b.len() < 64 {
        return Err(ElfError::Truncated {
            field: "the ELF header",
        });
    }
    if &b[..4] != b"\x7fELF" {
        return Err(not("e_ident magic"));
    }
    if b[4] != 2 {
        return Err(not("EI_CLASS"));
    }
    if b[5] != 1 {
        return Err(not("EI_DATA"));
    }
    let kind = u16_at(b, 16, "e_type")?;
    if kind != ET_EXEC && kind != ET_DYN {
        return Err(not("e_type"));
    }
    if u16_at(b, 18, "e_machine")? != EM_RISCV {
        return Err(not("e_machine"));
    }
    let entry = u64_at(b, 24, "e_entry")?;
    let phoff = u64_at(b, 32, "e_phoff")?;
    let phentsize = u16_at(b, 54, "e_phentsize")?;
    let phnum = u16_at(b, 56, "e_phnum")?;
    if phentsize != PHENT {
        return Err(ElfError::PhentSize(phentsize));
    }
    let table = usize::from(phnum) * usize::from(PHENT);
    if phnum == 0 || table > PH_TABLE_MAX {
        return Err(ElfError::PhNum(phnum));
    }
    let phoff_at = usize::try_from(phoff).map_err(|_| ElfError::Truncated { field: "e_phoff" })?;
    let headers = bytes_at(
        b,
        phoff_at,
        table,
        "the program header table (e_phoff, e_phnum)",
    )?;

    let mut segments: Vec<(usize, Segment)> = Vec::new();
    let mut interp = None;
    for (index, h) in headers.chunks_exact(usize::from(PHENT)).enumerate() {
        let p_type = u32_at(h, 0, "p_type")?;
        let flags = u32_at(h, 4, "p_flags")?;
        let offset = u64_at(h, 8, "p_offset")?;
        let vaddr = u64_at(h, 16, "p_vaddr")?;
        let filesz = u64_at(h, 32, "p_filesz")?;
        let memsz = u64_at(h, 40, "p_memsz")?;
        let align = u64_at(h, 48, "p_align")?;
        let in_file = offset
            .checked_add(filesz)
            .is_some_and(|end| end <= b.len() as u64);
        match p_type {
            PT_INTERP => {
                if interp.is_some() {
                    return Err(ElfError::Interp("more than one"));
                }
                if !in_file {
                    return Err(ElfError::OffsetOutsideFile { index });
                }
                if !(2..=INTERP_MAX).contains(&filesz) {
                    return Err(ElfError::Interp("p_filesz is not the length of a path"));
                }
                // Both checked against the file's length just above.
                let raw = &b[offset as usize..(offset + filesz) as usize];
                let (last, path) = raw.split_last().ok_or(ElfError::Interp("empty"))?;
                if *last != 0 || path.contains(&0) || path[0] != b'/' {
                    return Err(ElfError::Interp("not one absolute, NUL-terminated path"));
                }
                let path = std::str::from_utf8(path).map_err(|_| ElfError::Interp("not UTF-8"))?;
                interp = Some(path.to_owned());
            }
            PT_LOAD => {
                if filesz > memsz {
                    return Err(ElfError::FileszOverMemsz {
                        index,
                        filesz,
                        memsz,
                    });
                }
                if !in_file {
                    return Err(ElfError::OffsetOutsideFile { index });
                }
                if memsz == 0 || vaddr.checked_add(memsz).is_none_or(|end| end > USER_TOP) {
                    return Err(ElfError::VaddrOutOfRange { index });
                }
                if align > 1 && !align.is_power_of_two() {
                    return Err(ElfError::Align { index, align });
                }
                let modulus = align.max(PAGE);
                if align > 1 && vaddr % modulus != offset % modulus || vaddr % PAGE != offset % PAGE
                {
                    return Err(ElfError::Misaligned { index });
                }
                let seg = Segment {
                    vaddr,
                    offset,
                    filesz,
                    memsz,
                    flags,
                };
                // Ascending, as the ELF specification requires, and disjoint.
                if let Some((prev, last)) = segments.last()
                    && last.range().end > vaddr
                {
                    return Err(ElfError::Overlap {
                        first: *prev,
                        second: index,
                    });
                }
                segments.push((index, seg));
            }
            _ => {}
        }
    }
    if segments.is_empty() {
        return Err(ElfError::NoSegments);
    }
    let segments: Vec<Segment> = segments.into_iter().map(|(_, s)| s).collect();
    if !segments
        .iter()
        .any(|s| s.flags & PF_X != 0 && s.range().contains(&entry))
    {
        return Err(ElfError::Entry(entry));
    }
    Ok(Elf {
        kind,
        entry,
        phoff,
        phnum,
        segments,
        interp,
    })
}

#[cfg(test)]
mod tests {
    use super::super::load::tests::elf_file;
    use super::*;

    const RX: u32 = PF_R | PF_X;
    const RW: u32 = PF_R | PF_W;

    fn ok_file() -> Vec<u8> {
        elf_file(
            ET_EXEC,
            0x1_0100,
            &[
                (0x1_0000, 0, 0x1800, 0x1800, RX),
                (0x1_2000, 0x2000, 0x100, 0x3000, RW),
            ],
            0x2100,
        )
    }

    /// Program header `i`'s field at `off` set to `v`.
    fn with(mut b: Vec<u8>, i: usize, off: usize, v: u64) -> Vec<u8> {
        let at = 64 + 56 * i + off;
        b[at..at + 8].copy_from_slice(&v.to_le_bytes());
        b
    }

    #[test]
    fn parses_a_static_executable() {
        let elf = parse(&ok_file()).unwrap();
        assert_eq!(elf.entry, 0x1_0100);
        assert_eq!(
            elf.segments[0],
            Segment {
                vaddr: 0x1_0000,
                offset: 0,
                filesz: 0x1800,
                memsz: 0x1800,
                flags: RX
            }
        );
    }

    #[test]
    fn every_field_is_checked_and_named() {
        assert_eq!(
            parse(&with(ok_file(), 1, 32, 0x4000)),
            Err(ElfError::FileszOverMemsz {
                index: 1,
                filesz: 0x4000,
                memsz: 0x3000
            })
        );
        assert_eq!(
            parse(&with(with(ok_file(), 1, 32, 0x2000), 1, 40, 0x3000)),
            Err(ElfError::OffsetOutsideFile { index: 1 })
        );
        assert_eq!(
            parse(&with(ok_file(), 1, 8, u64::MAX - 0x10)),
            Err(ElfError::OffsetOutsideFile { index: 1 })
        );
        let wrap = with(with(ok_file(), 1, 16, u64::MAX - 0xfff), 1, 8, 0x1000);
        assert_eq!(parse(&wrap), Err(ElfError::VaddrOutOfRange { index: 1 }));
        assert_eq!(
            parse(&with(ok_file(), 1, 48, 0x3000)),
            Err(ElfError::Align {
                index: 1,
                align: 0x3000
            })
        );
        assert_eq!(
            parse(&with(ok_file(), 1, 16, 0x1_2800)),
            Err(ElfError::Misaligned { index: 1 })
        );
        // the second segment moved onto the first
        let over = with(with(ok_file(), 1, 16, 0x1_1000), 1, 8, 0x1000);
        assert_eq!(
            parse(&over),
            Err(ElfError::Overlap {
                first: 0,
                second: 1
            })
        );
        let mut entry = ok_file();
        entry[24..32].copy_from_slice(&0x1_2000u64.to_le_bytes());
        assert_eq!(
            parse(&entry),
            Err(ElfError::Entry(0x1_2000)),
            "entry in the data segment"
        );
        let mut phnum = ok_file();
        phnum[56..58].copy_from_slice(&0u16.to_le_bytes());
        assert_eq!(parse(&phnum), Err(ElfError::PhNum(0)));
        phnum[56..58].copy_from_slice(&1200u16.to_le_bytes());
        assert_eq!(parse(&phnum), Err(ElfError::PhNum(1200)));
        let mut phent = ok_file();
        phent[54..56].copy_from_slice(&32u16.to_le_bytes());
        assert_eq!(parse(&phent), Err(ElfError::PhentSize(32)));
        let mut phoff = ok_file();
        phoff[32..40].copy_from_slice(&(u64::MAX - 8).to_le_bytes());
        assert!(matches!(parse(&phoff), Err(ElfError::Truncated { .. })));
        let mut machine = ok_file();
        machine[18..20].copy_from_slice(&62u16.to_le_bytes());
        assert_eq!(
            parse(&machine),
            Err(ElfError::NotRiscv64 { field: "e_machine" })
        );
        assert!(matches!(
            parse(&ok_file()[..100]),
            Err(ElfError::Truncated { .. })
        ));
    }

    #[test]
    fn reads_and_checks_the_interpreter() {
        let interp = |path: &[u8]| {
            let mut b = elf_file(
                ET_DYN,
                0x100,
                &[(0, 0, 0x1000, 0x1000, RX), (0, 0, 0, 0, 0)],
                0x1000,
            );
            // header 1 becomes PT_INTERP at 0x800
            let at = 64 + 56;
            b[at..at + 4].copy_from_slice(&PT_INTERP.to_le_bytes());
            b = with(b, 1, 8, 0x800);
            b = with(b, 1, 32, path.len() as u64);
            b[0x800..0x800 + path.len()].copy_from_slice(path);
            parse(&b).map(|e| e.interp)
        };
        assert_eq!(interp(b"/lib/ld.so\0"), Ok(Some("/lib/ld.so".into())));
        assert!(
            matches!(interp(b"/lib/ld.so"), Err(ElfError::Interp(_))),
            "no NUL"
        );
        assert!(matches!(interp(b"/lib\0/x\0"), Err(ElfError::Interp(_))));
        assert!(matches!(interp(b"ld.so\0"), Err(ElfError::Interp(_))));
    }
}
