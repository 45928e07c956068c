/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _RUNE_H
#define _RUNE_H

#include <linux/cpumask.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <asm/csr.h>
#include <asm/insn-def.h>
#include <asm/hwcap.h>
#if __has_include("asm/cpufeature.h")
#include <asm/cpufeature.h>	/* riscv_isa_extension_available() since 6.4 */
#endif
#ifdef CONFIG_RISCV_ISA_V
#include <asm/vector.h>
#endif

#include "../include/uapi/linux/rune.h"
#include "rune_hw.h"

#ifndef HGATP_VMID
#define HGATP_VMID HGATP_VMID_MASK	/* before 6.4 */
#endif

extern struct rune_info rune_hart;

/* G-stage fence of one VMID: gaddr is the GPA >> 2, 0 for all of it. */
static inline void rune_hfence_gvma(unsigned long gaddr, unsigned long vmid)
{
	register unsigned long a0 asm("a0") = gaddr;
	register unsigned long a1 asm("a1") = vmid;

	asm volatile(HFENCE_GVMA(a0, a1) : : "r" (a0), "r" (a1) : "memory");
}

/* Every G-stage translation of every VMID on this hart. */
static inline void rune_hfence_gvma_all(void)
{
	asm volatile(HFENCE_GVMA(zero, zero) : : : "memory");
}

/* Every VS-stage translation of the VMID in hgatp on this hart. */
static inline void rune_hfence_vvma_all(void)
{
	asm volatile(HFENCE_VVMA(zero, zero) : : : "memory");
}
extern bool rune_kvm_seen;

/* A VMID and the generation it belongs to; generation 0 is never current. */
struct rune_vmid {
	unsigned long generation;
	unsigned long id;
};

/*
 * One per open of /dev/rune: the address space it is bound to, mapped into
 * the G-stage at identity, and the VMID its contexts run under.
 */
struct rune_vm {
	struct mm_struct *mm;
	struct mmu_interval_notifier notifier;
	/* the G-stage table and the notifier's sequence */
	spinlock_t lock;
	unsigned long *root;
	unsigned long hgatp_mode;
	unsigned int levels;
	struct rune_vmid vmid;
	/* harts that may cache this VM's translations */
	cpumask_t ran_on;
	/* RUNE_IOC_FENCE_VVMA requests, seen by each context on entry */
	atomic_long_t vvma_generation;
};

/* One per RUNE_IOC_CREATE: the VS context of one thread. */
struct rune_vcpu {
	struct rune_vm *vm;
	struct file *vm_file;
	struct pid *owner;
	struct mutex run_lock;
	struct rune_vcpu_state state;
	struct rune_hw hw;
	struct rune_fp host_fp;
#ifdef CONFIG_RISCV_ISA_V
	struct __riscv_v_ext_state guest_v;
	struct __riscv_v_ext_state host_v;
#endif
	bool vector;
	/* RUNE_IOC_SET_KICK: nonzero there raises vsip.SSIP on entry */
	u64 __user *kick;
	int last_cpu;
	long vvma_seen;
	/* a GPA just mapped, fenced locally on the next entry */
	unsigned long fence_gpa;
	/* the trap that ended the last run in the guest */
	unsigned long scause, stval, htval, htinst;
	struct rune_stats stats;
};

/* rune_vm.c */
int rune_vm_init(struct rune_vm *vm);
void rune_vm_destroy(struct rune_vm *vm);
int rune_vm_fault(struct rune_vm *vm, unsigned long gpa, unsigned long scause);
int rune_vm_fence_vvma(struct rune_vm *vm);

/* rune_vmid.c */
void rune_vmid_init(void);
bool rune_vmid_stale(const struct rune_vm *vm);
bool rune_vmid_shared(void);
void rune_vmid_update(struct rune_vm *vm);

/* rune_vcpu.c */
int rune_vcpu_create(struct rune_vm *vm, struct file *vm_file);

#endif /* _RUNE_H */
