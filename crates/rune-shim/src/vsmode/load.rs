//! The loader: what `execve` would do for a static executable, done by the shim so that the
//! program's pages are known (and given the U bit) from the start. A position-independent
//! program goes at a random base; the stack and the heap at random places, as the kernel's
//! own loader would put them.

use std::io::Read as _;

use super::VsError;
use super::elf::{self, ET_DYN, PF_R, PF_W, PF_X};
use super::memory::{self, Memory, PAGE};

const STACK: u64 = 8 << 20;

#[derive(Debug)]
pub struct Loaded {
    pub entry: u64,
    pub sp: u64,
    pub brk: u64,
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // Without randomness the layout is merely predictable, as with ASLR off.
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    u64::from_le_bytes(b)
}

fn page_up(v: u64) -> u64 {
    v.div_ceil(PAGE) * PAGE
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

fn map_image(mem: &mut Memory, path: &str) -> Result<Image, VsError> {
    let bytes = std::fs::read(path).map_err(|e| VsError::Io(path.to_owned(), e))?;
    let exe = elf::parse(&bytes).map_err(|e| VsError::Elf(path.to_owned(), e))?;
    let lo = exe.segments.iter().map(|s| s.vaddr).min().unwrap_or(0) & !(PAGE - 1);
    let hi = page_up(
        exe.segments
            .iter()
            .map(|s| s.vaddr + s.memsz)
            .max()
            .unwrap_or(0),
    );
    let load_err = |e| VsError::Io(format!("{path}: mapping its segments"), e);
    // A position-independent image goes at a random base between 4 GiB and 256 GiB, like a
    // PIE under the kernel's ASLR; a few tries in case the place is taken.
    let mut tries = 0;
    let base = loop {
        let base = if exe.kind == ET_DYN {
            (1 << 32) + (random_u64() % (252 << 30)) / PAGE * PAGE
        } else {
            0
        };
        match memory::anonymous(hi - lo, base + lo, true) {
            Ok(_) => break base,
            Err(e) if exe.kind != ET_DYN || tries == 8 => return Err(load_err(e)),
            Err(_) => tries += 1,
        }
    };
    for s in &exe.segments {
        let file = bytes
            .get(s.offset as usize..(s.offset + s.filesz) as usize)
            .ok_or(VsError::Elf(path.to_owned(), elf::ElfError::Truncated))?;
        memory::fill(base + s.vaddr, file);
    }
    // Each page gets the union of the segments on it; the gaps between them get nothing.
    let mut page = lo;
    while page < hi {
        let prot = exe
            .segments
            .iter()
            .filter(|s| s.vaddr < page + PAGE && s.vaddr + s.memsz > page)
            .fold(0, |p, s| p | prot_of(s.flags));
        memory::protect(base + page, PAGE, prot).map_err(load_err)?;
        mem.give(base + page, PAGE, prot).map_err(load_err)?;
        page += PAGE;
    }
    Ok(Image {
        base,
        exe,
        end: base + hi,
    })
}

/// Loads `path` (and its interpreter) and builds the initial stack with `argv`, `envp` and
/// the auxiliary vector.
pub fn load(
    mem: &mut Memory,
    path: &str,
    argv: &[String],
    envp: &[String],
) -> Result<Loaded, VsError> {
    let program = map_image(mem, path)?;
    let interp = match &program.exe.interp {
        Some(ld) => {
            let image = map_image(mem, ld)?;
            if image.exe.interp.is_some() {
                return Err(VsError::Elf(ld.clone(), elf::ElfError::NestedInterpreter));
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

    let stack = memory::anonymous(STACK, 0, false)
        .map_err(|e| VsError::Io("the program's stack".into(), e))?;
    mem.give(stack, STACK, libc::PROT_READ | libc::PROT_WRITE)
        .map_err(|e| VsError::Io("the program's stack".into(), e))?;
    let mut aux = vec![
        (libc::AT_PHDR, phdr),
        (libc::AT_PHENT, 56),
        (libc::AT_PHNUM, u64::from(program.exe.phnum)),
        (libc::AT_PAGESZ, PAGE),
        (libc::AT_BASE, interp.as_ref().map_or(0, |i| i.base)),
        (libc::AT_FLAGS, 0),
        (libc::AT_ENTRY, entry),
        (libc::AT_HWCAP, hwcap()),
        (libc::AT_CLKTCK, 100),
        (libc::AT_UID, u64::from(nix::unistd::getuid().as_raw())),
        (libc::AT_EUID, u64::from(nix::unistd::geteuid().as_raw())),
        (libc::AT_GID, u64::from(nix::unistd::getgid().as_raw())),
        (libc::AT_EGID, u64::from(nix::unistd::getegid().as_raw())),
        (libc::AT_SECURE, 0),
    ];
    if let Some(vdso) = lend_vdso(mem).map_err(|e| VsError::Io("the vDSO".into(), e))? {
        aux.push((libc::AT_SYSINFO_EHDR, vdso));
    }
    let sp = initial_stack(stack + STACK, argv, envp, &aux);
    // The heap starts a random number of pages past the program, as arch_randomize_brk does.
    let brk = program.end + (random_u64() % (1 << 13)) * PAGE;
    Ok(Loaded {
        entry: interp.map_or(entry, |i| i.base + i.exe.entry),
        sp,
        brk,
    })
}

/// The process's own vDSO, lent to the program: its text readable and executable, its data
/// pages readable (the module maps them for loads), so clock_gettime runs in VU-mode without
/// an exit. Returns its address for AT_SYSINFO_EHDR, as the kernel's loader would.
fn lend_vdso(mem: &Memory) -> std::io::Result<Option<u64>> {
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let range = |name: &str| {
        maps.lines().find(|l| l.ends_with(name)).and_then(|l| {
            let (lo, hi) = l.split_whitespace().next()?.split_once('-')?;
            Some((
                u64::from_str_radix(lo, 16).ok()?,
                u64::from_str_radix(hi, 16).ok()?,
            ))
        })
    };
    let (Some(text), Some(data)) = (range("[vdso]"), range("[vvar]")) else {
        return Ok(None);
    };
    mem.lend(text.0, text.1 - text.0, libc::PROT_READ | libc::PROT_EXEC)?;
    mem.lend(data.0, data.1 - data.0, libc::PROT_READ)?;
    Ok(Some(text.0))
}

fn hwcap() -> u64 {
    std::fs::read("/proc/self/auxv")
        .ok()
        .and_then(|a| {
            a.chunks_exact(16).find_map(|kv| {
                let k = u64::from_le_bytes(kv[..8].try_into().expect("8 bytes"));
                (k == libc::AT_HWCAP).then(|| u64::from_le_bytes(kv[8..].try_into().expect("8")))
            })
        })
        .unwrap_or(0)
}

fn push(at: &mut u64, bytes: &[u8]) -> u64 {
    *at -= bytes.len() as u64;
    memory::fill(*at, bytes);
    *at
}

fn push_str(at: &mut u64, s: &str) -> u64 {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    push(at, &b)
}

/// Writes strings, AT_RANDOM bytes, auxv, envp, argv and argc below `top`; returns sp.
fn initial_stack(top: u64, argv: &[String], envp: &[String], aux: &[(u64, u64)]) -> u64 {
    let mut at = top;
    let argv_at: Vec<u64> = argv.iter().map(|s| push_str(&mut at, s)).collect();
    let envp_at: Vec<u64> = envp.iter().map(|s| push_str(&mut at, s)).collect();
    let execfn = argv_at.first().copied().unwrap_or(0);
    let mut random = [0u8; 16];
    random[..8].copy_from_slice(&random_u64().to_le_bytes());
    random[8..].copy_from_slice(&random_u64().to_le_bytes());
    let random = push(&mut at, &random);

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
    let sp = (at - words.len() as u64 * 8) & !15;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    memory::fill(sp, &bytes);
    sp
}
