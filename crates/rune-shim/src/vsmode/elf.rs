//! The ELF64 headers the loader needs, parsed from bytes (no unsafe, no dependency).

#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    #[error("not a 64-bit little-endian RISC-V ELF executable")]
    NotRiscv64,
    #[error("truncated ELF header or program headers")]
    Truncated,
    #[error("the interpreter (PT_INTERP) has an interpreter of its own")]
    NestedInterpreter,
    #[error("no loadable segment")]
    NoSegments,
}

pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;
const EM_RISCV: u16 = 243;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub offset: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub flags: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elf {
    pub kind: u16,
    pub entry: u64,
    pub phoff: u64,
    pub phnum: u16,
    pub segments: Vec<Segment>,
    /// PT_INTERP: the dynamic loader's path.
    pub interp: Option<String>,
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, ElfError> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or(ElfError::Truncated)
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, ElfError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes(s.try_into().expect("4 bytes")))
        .ok_or(ElfError::Truncated)
}

fn u64_at(b: &[u8], at: usize) -> Result<u64, ElfError> {
    b.get(at..at + 8)
        .map(|s| u64::from_le_bytes(s.try_into().expect("8 bytes")))
        .ok_or(ElfError::Truncated)
}

pub fn parse(b: &[u8]) -> Result<Elf, ElfError> {
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
        return Err(ElfError::NotRiscv64);
    }
    let kind = u16_at(b, 16)?;
    if u16_at(b, 18)? != EM_RISCV || (kind != ET_EXEC && kind != ET_DYN) {
        return Err(ElfError::NotRiscv64);
    }
    let entry = u64_at(b, 24)?;
    let phoff = u64_at(b, 32)?;
    let phentsize = usize::from(u16_at(b, 54)?);
    let phnum = u16_at(b, 56)?;
    let mut segments = Vec::new();
    let mut interp = None;
    for i in 0..usize::from(phnum) {
        let at = usize::try_from(phoff).map_err(|_| ElfError::Truncated)? + i * phentsize;
        match u32_at(b, at)? {
            PT_INTERP => {
                let (off, len) = (u64_at(b, at + 8)? as usize, u64_at(b, at + 32)? as usize);
                let raw = b
                    .get(off..off.saturating_add(len))
                    .ok_or(ElfError::Truncated)?;
                let path = raw.split(|&c| c == 0).next().unwrap_or_default();
                interp = Some(String::from_utf8_lossy(path).into_owned());
            }
            PT_LOAD => segments.push(Segment {
                flags: u32_at(b, at + 4)?,
                offset: u64_at(b, at + 8)?,
                vaddr: u64_at(b, at + 16)?,
                filesz: u64_at(b, at + 32)?,
                memsz: u64_at(b, at + 40)?,
            }),
            _ => {}
        }
    }
    if segments.is_empty() {
        return Err(ElfError::NoSegments);
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
    use super::*;

    fn header(kind: u16, machine: u16) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 56];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[16..18].copy_from_slice(&kind.to_le_bytes());
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b[24..32].copy_from_slice(&0x10078u64.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&1u16.to_le_bytes());
        b[64..68].copy_from_slice(&PT_LOAD.to_le_bytes());
        b[68..72].copy_from_slice(&(PF_R | PF_X).to_le_bytes());
        b[80..88].copy_from_slice(&0x10000u64.to_le_bytes());
        b[96..104].copy_from_slice(&0x200u64.to_le_bytes());
        b[104..112].copy_from_slice(&0x300u64.to_le_bytes());
        b
    }

    #[test]
    fn parses_a_static_executable() {
        let elf = parse(&header(ET_EXEC, EM_RISCV)).unwrap();
        assert_eq!(elf.entry, 0x10078);
        assert_eq!(
            elf.segments,
            vec![Segment {
                vaddr: 0x10000,
                offset: 0,
                filesz: 0x200,
                memsz: 0x300,
                flags: PF_R | PF_X
            }]
        );
    }

    #[test]
    fn reads_the_interpreter() {
        let mut b = header(ET_DYN, EM_RISCV);
        b[56..58].copy_from_slice(&2u16.to_le_bytes());
        b.extend(vec![0u8; 56]);
        b[120..124].copy_from_slice(&PT_INTERP.to_le_bytes());
        b[128..136].copy_from_slice(&200u64.to_le_bytes());
        b[152..160].copy_from_slice(&12u64.to_le_bytes());
        b.resize(200, 0);
        b.extend(b"/lib/ld.so\0\0");
        assert_eq!(parse(&b).unwrap().interp.as_deref(), Some("/lib/ld.so"));
    }

    #[test]
    fn refuses_other_machines_and_truncation() {
        assert!(matches!(
            parse(&header(ET_EXEC, 62)),
            Err(ElfError::NotRiscv64)
        ));
        assert!(matches!(
            parse(&header(ET_EXEC, EM_RISCV)[..100]),
            Err(ElfError::Truncated)
        ));
    }
}
