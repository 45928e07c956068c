/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/rune: run a process in RISC-V VS-mode, Dune-style.
 *
 * Opening /dev/rune binds the file to the caller's address space: guest
 * physical addresses are the process's virtual addresses (an identity
 * G-stage map, filled on demand). RUNE_IOC_CREATE makes a VS context for
 * the calling thread and returns its file; RUNE_IOC_ENTER on that file runs
 * the thread in VS-mode from the given state until something needs the
 * process (a VS ecall, a pending signal, a fault the module cannot resolve,
 * an exit request) and returns the whole state with the reason.
 *
 * The ABI is versioned: RUNE_IOC_QUERY reports RUNE_ABI_VERSION, and a
 * change to any structure below changes it.
 */
#ifndef _UAPI_LINUX_RUNE_H
#define _UAPI_LINUX_RUNE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define RUNE_ABI_VERSION 3

/* rune_info.flags */
#define RUNE_INFO_H (1U << 0)	/* the hart has the hypervisor extension */

/* rune_info.gstage_modes: bit N set when hgatp.MODE = N is accepted */
#define RUNE_GSTAGE_SV39X4 8
#define RUNE_GSTAGE_SV48X4 9
#define RUNE_GSTAGE_SV57X4 10

struct rune_info {
	__u32 abi_version;
	__u32 flags;
	__u32 gstage_modes;
	__u32 vmid_bits;
	__u32 vlenb;		/* bytes per vector register, 0 without V */
	__u32 reserved;
};

/* rune_regs.mode: the virtual privilege the context runs in */
#define RUNE_MODE_VU 0
#define RUNE_MODE_VS 1

struct rune_regs {
	__u64 pc;
	__u64 x[31];		/* x[n - 1] holds register xn */
	__u64 mode;
};

struct rune_fp {
	__u64 f[32];
	__u64 fcsr;
};

/*
 * The vector unit: 32 * vlenb bytes of registers at user address 'regs'
 * (read on entry, written on return). regs = 0 leaves V off in the guest.
 */
struct rune_vector {
	__u64 vstart;
	__u64 vl;
	__u64 vtype;
	__u64 vcsr;
	__u64 regs;
};

/* The supervisor CSRs the guest owns while it runs. */
struct rune_vs_csrs {
	__u64 vsstatus;
	__u64 vsie;
	__u64 vstvec;
	__u64 vsscratch;
	__u64 vsepc;
	__u64 vscause;
	__u64 vstval;
	__u64 vsip;
	__u64 vsatp;
	__u64 scounteren;
	__u64 senvcfg;
};

/* rune_exit.reason */
#define RUNE_EXIT_HYPERCALL 1	/* a VS ecall; pc is past it */
#define RUNE_EXIT_SIGNAL 2	/* a signal is pending for the thread */
#define RUNE_EXIT_FAULT 3	/* a trap the module does not resolve */
#define RUNE_EXIT_EXIT 4	/* the guest asked to leave: a0 is its code */

/* a7 of the VS ecall that asks to leave VS-mode (RUNE_EXIT_EXIT) */
#define RUNE_HCALL_EXIT 0x52756e65

struct rune_exit {
	__u32 reason;
	__u32 reserved;
	__u64 scause;		/* RUNE_EXIT_FAULT: the trap as the hart saw it */
	__u64 stval;
	__u64 htval;
	__u64 htinst;
	__u64 gpa;		/* guest-page faults: the address (= host VA) */
};

/* Counters of the context since it was created (out only). */
struct rune_stats {
	__u64 entries;		/* sret into the guest */
	__u64 interrupts;	/* exits for host interrupts */
	__u64 gstage_faults;	/* G-stage faults resolved by mapping a page */
};

struct rune_vcpu_state {
	struct rune_regs regs;
	struct rune_fp fp;
	struct rune_vector vector;
	struct rune_vs_csrs csrs;
	struct rune_exit exit;
	struct rune_stats stats;
};

#define RUNE_IOC_MAGIC 0xb5
/* on /dev/rune */
#define RUNE_IOC_QUERY _IOR(RUNE_IOC_MAGIC, 0, struct rune_info)
#define RUNE_IOC_CREATE _IO(RUNE_IOC_MAGIC, 1)
#define RUNE_IOC_FENCE_VVMA _IO(RUNE_IOC_MAGIC, 3)
/* on a context's file */
#define RUNE_IOC_ENTER _IOWR(RUNE_IOC_MAGIC, 2, struct rune_vcpu_state)
/*
 * The address of a __u64 of the caller (0: none), read by every
 * RUNE_IOC_ENTER inside the ioctl, after the last moment the caller's own
 * signal handlers could run: while it is nonzero, the guest is entered with
 * the VS software interrupt pending (vsip.SSIP). A runtime whose handlers
 * note signals in that word thus stops its guest for every one of them,
 * with no window between its last look and the entry.
 */
#define RUNE_IOC_SET_KICK _IOW(RUNE_IOC_MAGIC, 4, __u64)

#endif /* _UAPI_LINUX_RUNE_H */
