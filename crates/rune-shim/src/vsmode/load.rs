//! The loader: what `execve` would do for a static executable, done by the shim so that the
//! program's pages are known (and given the U bit) from the start. A position-independent
//! program goes at a random base; the stack and the heap at random places, as the kernel's
//! own loader would put them. It works on a `Space` (the real one maps this process's memory;
//! the tests' is a fake), so its decisions are tested on any host.

use std::io;

use super::VsError;
use super::elf::{self, ET_DYN, PF_R, PF_W, PF_X};
use super::memory::ProgramMemory;
use super::pages::{PAGE, page_of, page_up};

const STACK: u64 = 8 << 20;

/// Where the loader puts the program: memory it maps, fills and then hands over.
pub trait Space: ProgramMemory {
    /// Maps [addr, addr + len) (whole pages) zeroed and writable for the loader, failing
    /// rather than replacing anything already mapped.
    fn map_fixed(&mut self, addr: u64, len: u64) -> io::Result<()>;
    /// Maps `len` bytes zeroed and writable for the loader wherever there is room.
    fn map_anywhere(&mut self, len: u64) -> io::Result<u64>;
    /// Undoes a `map_fixed` or `map_anywhere` of exactly that range.
    fn unmap(&mut self, addr: u64, len: u64);
    /// Writes into memory the loader mapped (and only there).
    fn fill(&mut self, addr: u64, bytes: &[u8]) -> io::Result<()>;
    /// Makes mapped memory the program's, with `prot`.
    fn give(&mut self, addr: u64, len: u64, prot: i32) -> io::Result<()>;
    /// Lets the program use [addr, addr + len) with `prot` without making it its own: it
    /// cannot unmap, remap or protect those pages, nor name them in a call (the vDSO, which
    /// the shim's own C library uses too).
    fn lend(&mut self, addr: u64, len: u64, prot: i32) -> io::Result<()>;
    /// The loader is done: nothing more is filled.
    fn done(&mut self);
}

/// What the loader needs of the host: randomness, the files, and what the kernel would put in
/// the auxiliary vector.
pub struct Host<'a> {
    pub random: &'a mut dyn FnMut() -> u64,
    pub read: &'a mut dyn FnMut(&str) -> io::Result<Vec<u8>>,
    pub hwcap: u64,
    /// The process's vDSO text and data ([lo, hi) each), lent to the program.
    pub vdso: Option<((u64, u64), (u64, u64))>,
    /// uid, euid, gid, egid.
    pub ids: [u64; 4],
}

impl std::fmt::Debug for Host<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("hwcap", &self.hwcap).finish()
    }
}

#[derive(Debug)]
pub struct Loaded {
    pub entry: u64,
    pub sp: u64,
    pub brk: u64,
}

fn prot_of(flags: u32) -> i32 {
    let mut prot = 0;
    if flags & PF_R != 0 {
        prot |= libc::PROT_READ;
    }
    if flags & PF_W != 0 {
        prot |= libc::PROT_WRITE;
    }
    if flags & PF_X != 0 {
        prot |= libc::PROT_EXEC;
    }
    prot
}

/// One ELF image mapped at `base` (0 for ET_EXEC): its pages are the program's.
struct Image {
    base: u64,
    exe: elf::Elf,
    /// One past its last page.
    end: u64,
}

fn elf_err(path: &str, e: elf::ElfError) -> VsError {
    VsError::Elf(path.to_owned(), e)
}

/// The largest span of pages an image may cover.
const IMAGE_MAX: u64 = 1 << 32;
/// Where a position-independent image goes: a random page-aligned base in [4 GiB, 256 GiB)
/// with all of the image below 256 GiB (inside even an Sv39 user half), like a PIE under the
/// kernel's ASLR.
const DYN_BASE: std::ops::Range<u64> = 1 << 32..256 << 30;

fn map_image(mem: &mut impl Space, host: &mut Host<'_>, path: &str) -> Result<Image, VsError> {
    let bytes = (host.read)(path).map_err(|e| VsError::Io(path.to_owned(), e))?;
    let exe = elf::parse(&bytes).map_err(|e| elf_err(path, e))?;
    // parse() leaves the segments ascending, disjoint, and below USER_TOP.
    let lo = page_of(exe.segments[0].vaddr);
    let end = exe
        .segments
        .iter()
        .map(|s| s.range().end)
        .max()
        .unwrap_or(lo);
    let hi = page_up(end).unwrap_or(elf::USER_TOP);
    // A position-independent image's addresses are offsets from its base: all below 4 GiB.
    if hi - lo > IMAGE_MAX || (exe.kind == ET_DYN && hi > IMAGE_MAX) {
        return Err(elf_err(path, elf::ElfError::TooLarge(hi - lo)));
    }
    let load_err = |e| VsError::Io(format!("{path}: mapping its segments"), e);
    let mut tries = 0;
    let base = loop {
        let base = if exe.kind == ET_DYN {
            let room = DYN_BASE.end - DYN_BASE.start - hi;
            DYN_BASE.start + page_of((host.random)() % room)
        } else {
            0
        };
        match mem.map_fixed(base + lo, hi - lo) {
            Ok(()) => break base,
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) && exe.kind != ET_DYN => {
                return Err(elf_err(path, elf::ElfError::Occupied(lo..hi)));
            }
            Err(e) if exe.kind != ET_DYN || tries == 8 => return Err(load_err(e)),
            Err(_) => tries += 1,
        }
    };
    let placed = place(mem, &exe, &bytes, base, lo, hi).map_err(|e| {
        // Nothing half-loaded stays behind.
        mem.unmap(base + lo, hi - lo);
        match e {
            Placing::Elf(e) => elf_err(path, e),
            Placing::Io(e) => load_err(e),
        }
    });
    placed?;
    Ok(Image {
        base,
        exe,
        end: base + hi,
    })
}

enum Placing {
    Elf(elf::ElfError),
    Io(io::Error),
}

/// Copies the segments' file bytes into the image mapped at `base` and gives its pages.
fn place(
    mem: &mut impl Space,
    exe: &elf::Elf,
    bytes: &[u8],
    base: u64,
    lo: u64,
    hi: u64,
) -> Result<(), Placing> {
    for s in &exe.segments {
        let file = usize::try_from(s.offset)
            .ok()
            .zip(usize::try_from(s.offset.saturating_add(s.filesz)).ok())
            .and_then(|(from, to)| bytes.get(from..to))
            .ok_or(Placing::Elf(elf::ElfError::Truncated { field: "p_offset" }))?;
        mem.fill(base + s.vaddr, file).map_err(Placing::Io)?;
    }
    // Each page gets the union of the segments on it; the gaps between them get nothing.
    let mut page = lo;
    while page < hi {
        let prot = exe
            .segments
            .iter()
            .filter(|s| s.vaddr < page + PAGE && s.vaddr + s.memsz > page)
            .fold(0, |p, s| p | prot_of(s.flags));
        mem.give(base + page, PAGE, prot).map_err(Placing::Io)?;
        page += PAGE;
    }
    Ok(())
}

/// Loads `path` (and its interpreter) and builds the initial stack with `argv`, `envp` and
/// the auxiliary vector.
pub fn load(
    mem: &mut impl Space,
    host: &mut Host<'_>,
    path: &str,
    argv: &[String],
    envp: &[String],
) -> Result<Loaded, VsError> {
    let program = map_image(mem, host, path)?;
    let interp = match &program.exe.interp {
        Some(ld) => {
            let image = map_image(mem, host, ld)?;
            if image.exe.interp.is_some() {
                return Err(elf_err(ld, elf::ElfError::NestedInterpreter));
            }
            Some(image)
        }
        None => None,
    };
    let phdr = program
        .exe
        .segments
        .iter()
        .find(|s| s.offset == 0)
        .map_or(0, |s| program.base + s.vaddr + program.exe.phoff);
    let entry = program.base + program.exe.entry;

    let stack_err = |e| VsError::Io("the program's stack".into(), e);
    let stack = mem.map_anywhere(STACK).map_err(stack_err)?;
    let [uid, euid, gid, egid] = host.ids;
    let mut aux = vec![
        (libc::AT_PHDR, phdr),
        (libc::AT_PHENT, 56),
        (libc::AT_PHNUM, u64::from(program.exe.phnum)),
        (libc::AT_PAGESZ, PAGE),
        (libc::AT_BASE, interp.as_ref().map_or(0, |i| i.base)),
        (libc::AT_FLAGS, 0),
        (libc::AT_ENTRY, entry),
        (libc::AT_HWCAP, host.hwcap),
        (libc::AT_CLKTCK, 100),
        (libc::AT_UID, uid),
        (libc::AT_EUID, euid),
        (libc::AT_GID, gid),
        (libc::AT_EGID, egid),
        (libc::AT_SECURE, 0),
    ];
    if let Some((text, data)) = host.vdso {
        let vdso_err = |e| VsError::Io("the vDSO".into(), e);
        mem.lend(text.0, text.1 - text.0, libc::PROT_READ | libc::PROT_EXEC)
            .map_err(vdso_err)?;
        mem.lend(data.0, data.1 - data.0, libc::PROT_READ)
            .map_err(vdso_err)?;
        aux.push((libc::AT_SYSINFO_EHDR, text.0));
    }
    let random = [(host.random)(), (host.random)()];
    let sp = initial_stack(mem, stack + STACK, argv, envp, &aux, random).map_err(stack_err)?;
    mem.give(stack, STACK, libc::PROT_READ | libc::PROT_WRITE)
        .map_err(stack_err)?;
    mem.done();
    // The heap starts a random number of pages past the program, as arch_randomize_brk does.
    let brk = program.end + ((host.random)() % (1 << 13)) * PAGE;
    Ok(Loaded {
        entry: interp.map_or(entry, |i| i.base + i.exe.entry),
        sp,
        brk,
    })
}

/// The process's own vDSO and vvar ranges, from /proc/self/maps.
pub fn vdso() -> Option<((u64, u64), (u64, u64))> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let range = |name: &str| {
        maps.lines().find(|l| l.ends_with(name)).and_then(|l| {
            let (lo, hi) = l.split_whitespace().next()?.split_once('-')?;
            Some((
                u64::from_str_radix(lo, 16).ok()?,
                u64::from_str_radix(hi, 16).ok()?,
            ))
        })
    };
    Some((range("[vdso]")?, range("[vvar]")?))
}

/// The process's own AT_HWCAP.
pub fn hwcap() -> u64 {
    std::fs::read("/proc/self/auxv")
        .ok()
        .and_then(|a| {
            a.chunks_exact(16).find_map(|kv| {
                let k = u64::from_le_bytes(kv[..8].try_into().ok()?);
                if k == libc::AT_HWCAP {
                    Some(u64::from_le_bytes(kv[8..].try_into().ok()?))
                } else {
                    None
                }
            })
        })
        .unwrap_or(0)
}

/// Randomness from the kernel; without it the layout is merely predictable, as with ASLR off.
pub fn random_u64() -> u64 {
    use std::io::Read as _;
    let mut b = [0u8; 8];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    u64::from_le_bytes(b)
}

/// Writes strings, AT_RANDOM bytes, auxv, envp, argv and argc below `top`; returns sp.
fn initial_stack<M: Space>(
    mem: &mut M,
    top: u64,
    argv: &[String],
    envp: &[String],
    aux: &[(u64, u64)],
    random: [u64; 2],
) -> io::Result<u64> {
    let mut at = top;
    let mut push = |mem: &mut M, bytes: &[u8]| -> io::Result<u64> {
        at -= bytes.len() as u64;
        mem.fill(at, bytes)?;
        Ok(at)
    };
    let with_nul = |s: &str| [s.as_bytes(), &[0]].concat();
    let mut argv_at = Vec::new();
    for s in argv {
        argv_at.push(push(mem, &with_nul(s))?);
    }
    let mut envp_at = Vec::new();
    for s in envp {
        envp_at.push(push(mem, &with_nul(s))?);
    }
    let execfn = argv_at.first().copied().unwrap_or(0);
    let mut bytes16 = [0u8; 16];
    bytes16[..8].copy_from_slice(&random[0].to_le_bytes());
    bytes16[8..].copy_from_slice(&random[1].to_le_bytes());
    let random = push(mem, &bytes16)?;

    let mut words: Vec<u64> = vec![argv.len() as u64];
    words.extend(&argv_at);
    words.push(0);
    words.extend(&envp_at);
    words.push(0);
    for (k, v) in aux {
        words.extend([*k, *v]);
    }
    words.extend([
        libc::AT_RANDOM,
        random,
        libc::AT_EXECFN,
        execfn,
        libc::AT_NULL,
        0,
    ]);
    let sp = (random - words.len() as u64 * 8) & !15;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    mem.fill(sp, &bytes)?;
    Ok(sp)
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::fake::FakeMemory;
    use super::*;

    /// A segment for `elf_file`: (vaddr, offset, filesz, memsz, flags).
    pub type Seg = (u64, u64, u64, u64, u32);

    /// An ELF64 RISC-V file with these PT_LOAD headers at 64, its bytes a counting pattern.
    pub fn elf_file(kind: u16, entry: u64, segs: &[Seg], len: usize) -> Vec<u8> {
        let mut b: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        b[..64].fill(0);
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[6] = 1;
        b[16..18].copy_from_slice(&kind.to_le_bytes());
        b[18..20].copy_from_slice(&243u16.to_le_bytes());
        b[20..24].copy_from_slice(&1u32.to_le_bytes());
        b[24..32].copy_from_slice(&entry.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[52..54].copy_from_slice(&64u16.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&(segs.len() as u16).to_le_bytes());
        for (i, &(vaddr, offset, filesz, memsz, flags)) in segs.iter().enumerate() {
            let at = 64 + 56 * i;
            b[at..at + 56].fill(0);
            b[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
            b[at + 4..at + 8].copy_from_slice(&flags.to_le_bytes());
            b[at + 8..at + 16].copy_from_slice(&offset.to_le_bytes());
            b[at + 16..at + 24].copy_from_slice(&vaddr.to_le_bytes());
            b[at + 24..at + 32].copy_from_slice(&vaddr.to_le_bytes());
            b[at + 32..at + 40].copy_from_slice(&filesz.to_le_bytes());
            b[at + 40..at + 48].copy_from_slice(&memsz.to_le_bytes());
            b[at + 48..at + 56].copy_from_slice(&PAGE.to_le_bytes());
        }
        b
    }

    pub fn load_bytes(mem: &mut FakeMemory, file: Vec<u8>, seed: u64) -> Result<Loaded, VsError> {
        let mut state = seed;
        let mut random = move || {
            // xorshift: deterministic for the test
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut read = move |_: &str| Ok(file.clone());
        let mut host = Host {
            random: &mut random,
            read: &mut read,
            hwcap: 0,
            vdso: Some((
                (0x3f_f000_0000, 0x3f_f000_2000),
                (0x3f_f000_2000, 0x3f_f000_3000),
            )),
            ids: [0; 4],
        };
        load(
            mem,
            &mut host,
            "/prog",
            &["prog".into(), "a".into()],
            &["X=1".into()],
        )
    }

    const RX: u32 = PF_R | PF_X;
    const RW: u32 = PF_R | PF_W;

    #[test]
    fn a_static_program_gets_its_segments_its_bytes_and_a_stack() {
        let mut m = FakeMemory::new();
        let file = elf_file(
            elf::ET_EXEC,
            0x1_0100,
            &[
                (0x1_0000, 0, 0x1800, 0x1800, RX),
                (0x1_2000, 0x2000, 0x100, 0x3000, RW),
            ],
            0x2100,
        );
        let loaded = load_bytes(&mut m, file.clone(), 1).unwrap();
        assert_eq!(loaded.entry, 0x1_0100);
        assert_eq!(m.prot(0x1_0000), libc::PROT_READ | libc::PROT_EXEC);
        assert_eq!(m.prot(0x1_1000), libc::PROT_READ | libc::PROT_EXEC);
        assert_eq!(m.prot(0x1_2000), libc::PROT_READ | libc::PROT_WRITE);
        assert_eq!(m.prot(0x1_4000), libc::PROT_READ | libc::PROT_WRITE);
        assert_eq!(m.prot(0x1_5000), 0, "past the last segment");
        // file bytes, then zeros (the bss)
        assert_eq!(m.peek(0x1_0100), file[0x100]);
        assert_eq!(m.peek(0x1_2000 + 0xff), file[0x20ff]);
        assert_eq!(m.peek(0x1_2000 + 0x100), 0);
        // argc, argv[0] = "prog"
        assert_eq!(m.read_u64(loaded.sp), Some(2));
        let argv0 = m.read_u64(loaded.sp + 8).unwrap();
        assert_eq!(m.read_cstr(argv0, 16).as_deref(), Some(&b"prog"[..]));
        assert!(loaded.brk >= 0x1_5000);
        // the vDSO is lent, not given: the program cannot name it in a call
        assert_eq!(
            m.lent(0x3f_f000_1000),
            Some(libc::PROT_READ | libc::PROT_EXEC)
        );
        assert_eq!(m.lent(0x3f_f000_2000), Some(libc::PROT_READ));
        assert_eq!(m.prot(0x3f_f000_1000), 0);
    }

    #[test]
    fn a_pie_goes_at_a_random_base_in_its_range() {
        let file = elf_file(elf::ET_DYN, 0x100, &[(0, 0, 0x1000, 0x1000, RX)], 0x1000);
        let mut bases = std::collections::BTreeSet::new();
        for seed in 1..20 {
            let mut m = FakeMemory::new();
            let loaded = load_bytes(&mut m, file.clone(), seed).unwrap();
            let base = loaded.entry - 0x100;
            assert!((1 << 32..256 << 30).contains(&base), "{base:#x}");
            assert_eq!(base % PAGE, 0);
            bases.insert(base);
        }
        assert!(bases.len() > 15, "random bases: {bases:x?}");
    }

    #[test]
    fn a_program_over_the_shim_is_refused_and_the_shim_untouched() {
        let mut m = FakeMemory::new();
        m.shim(0x1_1000, PAGE);
        let file = elf_file(
            elf::ET_EXEC,
            0x1_0000,
            &[(0x1_0000, 0, 0x2000, 0x2000, RW)],
            0x2000,
        );
        assert!(load_bytes(&mut m, file, 1).is_err());
        assert_eq!(m.shim_bytes(0x1_1000, PAGE), vec![0; PAGE as usize]);
        assert!(m.shim_writes.borrow().is_empty());
    }

    /// Hostile headers: a valid two-segment program with fields of its headers replaced by
    /// values chosen to break arithmetic, then loaded against a fake memory holding shim
    /// pages where a mutated segment may land.
    mod hostile {
        use proptest::prelude::*;

        use super::*;

        const SHIMS: [(u64, u64); 3] = [
            (0x40_0000, 0x1000),
            (0x1_1000_0000, 0x10_0000),
            (0x3_0000_0000, 0x1000),
        ];

        static OUTCOMES: std::sync::Mutex<(u32, u32)> = std::sync::Mutex::new((0, 0));

        fn interesting() -> impl Strategy<Value = u64> {
            prop_oneof![
                Just(0u64),
                Just(1),
                Just(0xfff),
                Just(0x1000),
                Just(0x2000),
                Just(0x40_0000),
                Just(0x1_1000_0000),
                Just(1 << 32),
                Just(1 << 56),
                Just(u64::MAX),
                Just(u64::MAX - 0xfff),
                0u64..0x10_0000,
                // near the valid file's own addresses, sizes and offsets
                (0x1_0000u64..0x1_6000).prop_map(|v| v & !0xff),
                (0u64..0x3000).prop_map(|v| v & !0xff),
                any::<u64>(),
            ]
        }

        /// (header byte offset of a u64, u16 or u32 field, value)
        fn mutation() -> impl Strategy<Value = (usize, u64)> {
            let fields = prop_oneof![
                // e_entry, e_phoff, e_phentsize, e_phnum
                Just(24usize),
                Just(32),
                Just(54),
                Just(56),
                // p_type, p_flags, p_offset, p_vaddr, p_filesz, p_memsz, p_align of both
                (0usize..2).prop_flat_map(|i| {
                    prop_oneof![
                        Just(0usize),
                        Just(4),
                        Just(8),
                        Just(16),
                        Just(32),
                        Just(40),
                        Just(48)
                    ]
                    .prop_map(move |f| 64 + 56 * i + f)
                }),
            ];
            (fields, interesting())
        }

        fn mutate(mut b: Vec<u8>, muts: &[(usize, u64)]) -> Vec<u8> {
            for &(at, v) in muts {
                let n = match at {
                    54 | 56 => 2,
                    a if a >= 64 && (a - 64) % 56 < 8 => 4,
                    _ => 8,
                };
                b[at..at + n].copy_from_slice(&v.to_le_bytes()[..n]);
            }
            b
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

            #[test]
            fn never_a_panic_never_a_write_outside_the_accepted_segments(
                kind in prop_oneof![Just(elf::ET_EXEC), Just(elf::ET_DYN)],
                muts in proptest::collection::vec(mutation(), 1..5),
                seed in 1u64..,
            ) {
                let file = elf_file(
                    kind,
                    0x1_0100,
                    &[(0x1_0000, 0, 0x1800, 0x1800, RX), (0x1_2000, 0x2000, 0x100, 0x3000, RW)],
                    0x2100,
                );
                let file = mutate(file, &muts);
                let mut m = FakeMemory::new();
                for (at, len) in SHIMS {
                    m.shim(at, len);
                }
                let loaded = load_bytes(&mut m, file.clone(), seed);
                prop_assert!(m.shim_writes.borrow().is_empty());
                if std::env::var_os("RUNE_FUZZ_STATS").is_some() {
                    eprintln!("outcomes (loaded, refused): {:?}", OUTCOMES.lock().unwrap());
                }
                match loaded {
                    Ok(l) => {
                        let exe = elf::parse(&file).expect("loaded, so it parses");
                        let base = l.entry - exe.entry;
                        if exe.kind == elf::ET_DYN {
                            prop_assert!(DYN_BASE.contains(&base));
                            let end = exe.segments.iter().map(|s| s.range().end).max().unwrap();
                            prop_assert!(base + end <= DYN_BASE.end);
                        } else {
                            prop_assert_eq!(base, 0);
                        }
                        for &(lo, hi) in &m.fills {
                            let in_segment = exe.segments.iter().any(|s| {
                                lo >= base + s.vaddr && hi <= base + s.vaddr + s.filesz
                            });
                            let on_stack = lo >= 0x7f00_0000_0000;
                            prop_assert!(in_segment || on_stack, "fill {lo:#x}..{hi:#x}");
                        }
                        OUTCOMES.lock().unwrap().0 += 1;
                        // the pages given are exactly the segments' pages
                        for s in &exe.segments {
                            prop_assert!(m.record.owns(page_of(base + s.vaddr), PAGE));
                        }
                    }
                    Err(e) => {
                        // nothing half-loaded left to the program
                        prop_assert!(m.record.is_empty(), "{e}: pages left behind");
                        OUTCOMES.lock().unwrap().1 += 1;
                    }
                }
            }
        }
    }
}
