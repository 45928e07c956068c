//! A classic-BPF interpreter for seccomp filters, to compare what two filters decide over
//! every system call number without making the calls.

/// One instruction, as `struct sock_filter`.
#[derive(Debug, Clone, Copy)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// Parses one line of `dump_filters` output.
pub fn parse(hex: &str) -> Vec<Insn> {
    hex.as_bytes()
        .chunks(16)
        .map(|c| {
            let s = std::str::from_utf8(c).expect("hex");
            Insn {
                code: u16::from_str_radix(&s[0..4], 16).unwrap(),
                jt: u8::from_str_radix(&s[4..6], 16).unwrap(),
                jf: u8::from_str_radix(&s[6..8], 16).unwrap(),
                k: u32::from_str_radix(&s[8..16], 16).unwrap(),
            }
        })
        .collect()
}

/// `struct seccomp_data` as the filter reads it.
#[derive(Debug, Clone, Copy)]
pub struct Data {
    pub nr: i32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

impl Data {
    fn word(&self, off: u32) -> u32 {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(&self.nr.to_ne_bytes());
        bytes.extend_from_slice(&self.arch.to_ne_bytes());
        bytes.extend_from_slice(&self.ip.to_ne_bytes());
        for a in self.args {
            bytes.extend_from_slice(&a.to_ne_bytes());
        }
        let o = off as usize;
        u32::from_ne_bytes(bytes[o..o + 4].try_into().expect("aligned load"))
    }
}

/// Runs `prog` on `data` and returns the filter's return value (action | data).
pub fn run(prog: &[Insn], data: &Data) -> u32 {
    let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
    let mut pc = 0usize;
    loop {
        let i = prog[pc];
        pc += 1;
        let src = if i.code & 0x08 != 0 { x } else { i.k };
        match i.code & 0x07 {
            // LD
            0x00 => match i.code & 0xe0 {
                0x20 => a = data.word(i.k),
                0x60 => a = mem[i.k as usize],
                0x00 => a = i.k,
                other => panic!("unsupported LD mode {other:#x}"),
            },
            // LDX
            0x01 => match i.code & 0xe0 {
                0x60 => x = mem[i.k as usize],
                0x00 => x = i.k,
                other => panic!("unsupported LDX mode {other:#x}"),
            },
            0x02 => mem[i.k as usize] = a,
            0x03 => mem[i.k as usize] = x,
            // ALU
            0x04 => {
                a = match i.code & 0xf0 {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x20 => a.wrapping_mul(src),
                    0x40 => a | src,
                    0x50 => a & src,
                    0x60 => a << src,
                    0x70 => a >> src,
                    0x80 => a.wrapping_neg(),
                    other => panic!("unsupported ALU op {other:#x}"),
                }
            }
            // JMP
            0x05 => {
                let op = i.code & 0xf0;
                if op == 0x00 {
                    pc += i.k as usize;
                    continue;
                }
                let taken = match op {
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    0x40 => a & src != 0,
                    other => panic!("unsupported JMP op {other:#x}"),
                };
                pc += if taken { i.jt } else { i.jf } as usize;
            }
            // RET
            0x06 => return if i.code & 0x18 == 0x10 { a } else { i.k },
            // MISC: TAX, TXA
            0x07 => {
                if i.code & 0xf8 == 0x00 {
                    x = a;
                } else {
                    a = x;
                }
            }
            _ => unreachable!(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tiny_filter() {
        // ld [0]; jeq #39, allow, errno; ret ERRNO(1); ret ALLOW
        let prog = [
            Insn {
                code: 0x20,
                jt: 0,
                jf: 0,
                k: 0,
            },
            Insn {
                code: 0x15,
                jt: 1,
                jf: 0,
                k: 39,
            },
            Insn {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: 0x0005_0001,
            },
            Insn {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: 0x7fff_0000,
            },
        ];
        let d = |nr| Data {
            nr,
            arch: 0xc000_003e,
            ip: 0,
            args: [0; 6],
        };
        assert_eq!(run(&prog, &d(39)), 0x7fff_0000);
        assert_eq!(run(&prog, &d(40)), 0x0005_0001);
    }
}
