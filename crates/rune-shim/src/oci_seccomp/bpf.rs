//! A classic BPF interpreter for seccomp programs: what the kernel's filter would return for
//! one call. It accepts what the kernel's seccomp_check_filter accepts (loads from
//! `seccomp_data`, the scratch memory, ALU and jumps with K or X, returns); anything else, or
//! a jump or load out of range, returns KILL_PROCESS, the strictest answer.

const BPF_LD: u16 = 0x00;
const BPF_LDX: u16 = 0x01;
const BPF_ST: u16 = 0x02;
const BPF_STX: u16 = 0x03;
const BPF_ALU: u16 = 0x04;
const BPF_JMP: u16 = 0x05;
const BPF_RET: u16 = 0x06;
const BPF_MISC: u16 = 0x07;

const BPF_W: u16 = 0x00;
const BPF_IMM: u16 = 0x00;
const BPF_ABS: u16 = 0x20;
const BPF_MEM: u16 = 0x60;
const BPF_LEN: u16 = 0x80;
const BPF_K: u16 = 0x00;
const BPF_X: u16 = 0x08;
const BPF_A: u16 = 0x10;

const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;
/// sizeof(struct seccomp_data)
const DATA_LEN: u32 = 64;

/// `struct seccomp_data` as 32-bit words: nr, arch, ip (lo, hi), args (lo, hi each).
fn data_word(nr: i32, arch: u32, ip: u64, args: &[u64; 6], off: u32) -> Option<u32> {
    if off % 4 != 0 || off >= DATA_LEN {
        return None;
    }
    let half = |v: u64, hi: bool| if hi { (v >> 32) as u32 } else { v as u32 };
    Some(match off {
        0 => nr as u32,
        4 => arch,
        8 | 12 => half(ip, off == 12),
        _ => {
            let i = ((off - 16) / 8) as usize;
            half(args[i], (off - 16) % 8 == 4)
        }
    })
}

fn alu(op: u16, a: u32, v: u32) -> Option<u32> {
    Some(match op {
        0x00 => a.wrapping_add(v),
        0x10 => a.wrapping_sub(v),
        0x20 => a.wrapping_mul(v),
        0x30 => a.checked_div(v)?,
        0x40 => a | v,
        0x50 => a & v,
        // The classic checker refuses constant shifts of 32 or more; the kernel masks X.
        0x60 => a << (v & 31),
        0x70 => a >> (v & 31),
        0x80 => a.wrapping_neg(),
        0x90 => a.checked_rem(v)?,
        0xa0 => a ^ v,
        _ => return None,
    })
}

pub fn run(prog: &[libc::sock_filter], nr: i32, arch: u32, ip: u64, args: [u64; 6]) -> u32 {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    // Every jump goes forward, so a program runs at most its length in steps.
    for _ in 0..=prog.len() {
        let Some(ins) = prog.get(pc) else {
            return KILL;
        };
        let (code, k) = (ins.code, ins.k);
        pc += 1;
        match code & 0x07 {
            BPF_LD | BPF_LDX => {
                // A: from seccomp_data too; X: immediates, scratch memory and the length.
                let abs = code & 0x07 == BPF_LD && code & 0x18 == BPF_W;
                let v = match code & 0xe0 {
                    BPF_ABS if abs => data_word(nr, arch, ip, &args, k),
                    BPF_IMM => Some(k),
                    BPF_MEM => mem.get(k as usize).copied(),
                    BPF_LEN => Some(DATA_LEN),
                    _ => None,
                };
                let Some(v) = v else {
                    return KILL;
                };
                if code & 0x07 == BPF_LD {
                    a = v;
                } else {
                    x = v;
                }
            }
            BPF_ST | BPF_STX => {
                let v = if code & 0x07 == BPF_ST { a } else { x };
                match mem.get_mut(k as usize) {
                    Some(slot) => *slot = v,
                    None => return KILL,
                }
            }
            BPF_ALU => {
                if code & BPF_X == 0 && matches!(code & 0xf0, 0x60 | 0x70) && k >= 32 {
                    return KILL;
                }
                let v = if code & BPF_X != 0 { x } else { k };
                match alu(code & 0xf0, a, v) {
                    Some(r) => a = r,
                    None => return KILL,
                }
            }
            BPF_JMP => {
                let v = if code & BPF_X != 0 { x } else { k };
                let taken = match code & 0xf0 {
                    0x00 => {
                        // JA
                        pc = pc.saturating_add(k as usize);
                        continue;
                    }
                    0x10 => a == v,
                    0x20 => a > v,
                    0x30 => a >= v,
                    0x40 => a & v != 0,
                    _ => return KILL,
                };
                pc += usize::from(if taken { ins.jt } else { ins.jf });
            }
            BPF_RET => {
                return match code & 0x18 {
                    BPF_K => k,
                    BPF_A => a,
                    _ => KILL,
                };
            }
            BPF_MISC => {
                if code & 0xf8 == 0 {
                    x = a; // TAX
                } else {
                    a = x; // TXA
                }
            }
            _ => return KILL,
        }
    }
    KILL
}
