// SPDX-License-Identifier: GPL-2.0
/*
 * A VS context: one thread of the process running in VS-mode.
 *
 * RUNE_IOC_ENTER loads the state it is given and runs the thread in the
 * guest until an exit the process must see. Host interrupts, preemption
 * and G-stage faults are handled here and the guest re-entered. Nothing of
 * the guest stays in the hart between two entries: the H CSRs, the VS
 * CSRs, FP and vector registers are swapped in with interrupts off just
 * before sret and swapped out right after the trap, so preemption,
 * migration and a loaded kvm.ko see the hart as they left it.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>

#include "rune.h"

static_assert(offsetof(struct rune_hw, gx) == RUNE_HW_GX);
static_assert(offsetof(struct rune_hw, host) == RUNE_HW_HOST);
static_assert(offsetof(struct rune_hw, guest_sstatus) == RUNE_HW_GUEST_SSTATUS);
static_assert(offsetof(struct rune_hw, guest_hstatus) == RUNE_HW_GUEST_HSTATUS);
static_assert(offsetof(struct rune_hw, guest_pc) == RUNE_HW_GUEST_PC);
static_assert(offsetof(struct rune_hw, host_sstatus) == RUNE_HW_HOST_SSTATUS);
static_assert(offsetof(struct rune_hw, host_hstatus) == RUNE_HW_HOST_HSTATUS);
static_assert(offsetof(struct rune_hw, host_stvec) == RUNE_HW_HOST_STVEC);
static_assert(offsetof(struct rune_hw, host_sscratch) == RUNE_HW_HOST_SSCRATCH);
static_assert(sizeof(struct rune_hw) == RUNE_HW_SIZE);
static_assert(offsetof(struct rune_fp, fcsr) == RUNE_FP_FCSR);

#ifndef SR_VS
#define SR_VS 0			/* before 6.5: no vector support */
#define SR_VS_DIRTY 0
#endif
#ifndef CSR_SENVCFG
#define CSR_SENVCFG 0x10a
#endif
#ifndef CSR_HENVCFG
#define CSR_HENVCFG 0x60a
#endif
#ifndef ENVCFG_CBZE
#define ENVCFG_CBZE BIT(7)
#define ENVCFG_CBCFE BIT(6)
#define ENVCFG_CBIE (3UL << 4)
#endif

/*
 * VU ecalls and VS-stage page faults go to the guest's own handler (as
 * KVM delegates them); a VS ecall stays with the host and is the hypercall.
 */
#define RUNE_HEDELEG (BIT(EXC_INST_MISALIGNED) | BIT(EXC_BREAKPOINT) | \
		      BIT(EXC_SYSCALL) | BIT(EXC_INST_PAGE_FAULT) | \
		      BIT(EXC_LOAD_PAGE_FAULT) | BIT(EXC_STORE_PAGE_FAULT))
#define RUNE_HIDELEG (BIT(IRQ_VS_SOFT) | BIT(IRQ_VS_TIMER) | BIT(IRQ_VS_EXT))
/* rdtime in VS and VU without an exit (the guest's scounteren gates VU) */
#define RUNE_HCOUNTEREN BIT(1)

/* What the hart held before an entry, put back after it. */
struct rune_host_csrs {
	unsigned long hedeleg, hideleg, hcounteren, henvcfg, hgatp, htimedelta, hvip;
	unsigned long vsstatus, vsie, vstvec, vsscratch, vsepc, vscause, vstval, vsatp;
	unsigned long scounteren, senvcfg;
};

static void rune_fence_local(struct rune_vcpu *vcpu, unsigned long vmid, int cpu)
{
	struct rune_vm *vm = vcpu->vm;
	long vvma = atomic_long_read(&vm->vvma_generation);

	if (READ_ONCE(rune_kvm_seen) || rune_vmid_shared()) {
		/* the VMID may carry someone else's translations */
		rune_hfence_gvma(0, vmid);
		rune_hfence_vvma_all();
	} else if (vcpu->last_cpu != cpu || vcpu->vvma_seen != vvma) {
		/* the guest's own translations from another hart or before a fence */
		rune_hfence_vvma_all();
	}
	if (vcpu->fence_gpa) {
		/* the hart may hold the invalid entry the fault came from */
		rune_hfence_gvma(vcpu->fence_gpa >> 2, vmid);
		vcpu->fence_gpa = 0;
	}
	vcpu->last_cpu = cpu;
	vcpu->vvma_seen = vvma;
}

static void rune_load_vector(struct rune_vcpu *vcpu)
{
#ifdef CONFIG_RISCV_ISA_V
	if (vcpu->vector) {
		__riscv_v_vstate_save(&vcpu->host_v, vcpu->host_v.datap);
		__riscv_v_vstate_restore(&vcpu->guest_v, vcpu->guest_v.datap);
	}
#endif
}

static void rune_put_vector(struct rune_vcpu *vcpu)
{
#ifdef CONFIG_RISCV_ISA_V
	if (vcpu->vector) {
		__riscv_v_vstate_save(&vcpu->guest_v, vcpu->guest_v.datap);
		__riscv_v_vstate_restore(&vcpu->host_v, vcpu->host_v.datap);
	}
#endif
}

/* One entry into the guest and back; interrupts off. */
static void rune_world_switch(struct rune_vcpu *vcpu)
{
	struct rune_vs_csrs *g = &vcpu->state.csrs;
	struct rune_vm *vm = vcpu->vm;
	unsigned long vmid = READ_ONCE(vm->vmid.id);
	unsigned long sstatus = csr_read(CSR_SSTATUS);
	unsigned long hgatp, henvcfg;
	struct rune_host_csrs h;
	int cpu = smp_processor_id();

	hgatp = (vm->hgatp_mode << HGATP_MODE_SHIFT) |
		((vmid << HGATP_VMID_SHIFT) & HGATP_VMID) |
		(virt_to_pfn(vm->root) & HGATP_PPN);
	/* VU gets the cache-block operations the host gives its own U-mode */
	henvcfg = csr_read(CSR_SENVCFG) & (ENVCFG_CBZE | ENVCFG_CBCFE | ENVCFG_CBIE);

	if (!cpumask_test_cpu(cpu, &vm->ran_on)) {
		cpumask_set_cpu(cpu, &vm->ran_on);
		/* the notifier's flush sees this hart before it walks the table */
		smp_mb();
	}

	h.hedeleg = csr_swap(CSR_HEDELEG, RUNE_HEDELEG);
	h.hideleg = csr_swap(CSR_HIDELEG, RUNE_HIDELEG);
	h.hcounteren = csr_swap(CSR_HCOUNTEREN, RUNE_HCOUNTEREN);
	h.henvcfg = csr_swap(CSR_HENVCFG, henvcfg);
	h.htimedelta = csr_swap(CSR_HTIMEDELTA, 0);
	h.hvip = csr_swap(CSR_HVIP, 0);
	csr_write(CSR_VSIP, g->vsip);
	h.vsstatus = csr_swap(CSR_VSSTATUS, g->vsstatus);
	h.vsie = csr_swap(CSR_VSIE, g->vsie);
	h.vstvec = csr_swap(CSR_VSTVEC, g->vstvec);
	h.vsscratch = csr_swap(CSR_VSSCRATCH, g->vsscratch);
	h.vsepc = csr_swap(CSR_VSEPC, g->vsepc);
	h.vscause = csr_swap(CSR_VSCAUSE, g->vscause);
	h.vstval = csr_swap(CSR_VSTVAL, g->vstval);
	h.vsatp = csr_swap(CSR_VSATP, g->vsatp);
	h.scounteren = csr_swap(CSR_SCOUNTEREN, g->scounteren);
	h.senvcfg = csr_swap(CSR_SENVCFG, g->senvcfg);
	h.hgatp = csr_swap(CSR_HGATP, hgatp);
	rune_fence_local(vcpu, vmid, cpu);

	csr_set(CSR_SSTATUS, SR_FS);
	rune_fp_save(&vcpu->host_fp);
	rune_fp_restore(&vcpu->state.fp);
	rune_load_vector(vcpu);

	vcpu->hw.guest_sstatus = (sstatus & ~(SR_SPP | SR_SIE | SR_FS | SR_VS)) |
				 SR_SPIE | SR_FS_DIRTY |
				 (vcpu->vector ? SR_VS_DIRTY : 0) |
				 (vcpu->state.regs.mode == RUNE_MODE_VS ? SR_SPP : 0);
	vcpu->hw.guest_hstatus = (csr_read(CSR_HSTATUS) & HSTATUS_VSXL) |
				 HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_VTW;
	vcpu->stats.entries++;
	rune_switch(&vcpu->hw);

	vcpu->scause = csr_read(CSR_SCAUSE);
	vcpu->stval = csr_read(CSR_STVAL);
	vcpu->htval = csr_read(CSR_HTVAL);
	vcpu->htinst = csr_read(CSR_HTINST);
	vcpu->state.regs.mode = (vcpu->hw.guest_sstatus & SR_SPP) ? RUNE_MODE_VS : RUNE_MODE_VU;

	rune_put_vector(vcpu);
	csr_set(CSR_SSTATUS, SR_FS);
	rune_fp_save(&vcpu->state.fp);
	rune_fp_restore(&vcpu->host_fp);
	csr_write(CSR_SSTATUS, sstatus);

	if (READ_ONCE(rune_kvm_seen) || rune_vmid_shared()) {
		/* leave nothing under a VMID someone else may use */
		rune_hfence_vvma_all();
		rune_hfence_gvma(0, vmid);
	}
	csr_write(CSR_HGATP, h.hgatp);
	g->senvcfg = csr_swap(CSR_SENVCFG, h.senvcfg);
	g->scounteren = csr_swap(CSR_SCOUNTEREN, h.scounteren);
	g->vsatp = csr_swap(CSR_VSATP, h.vsatp);
	g->vstval = csr_swap(CSR_VSTVAL, h.vstval);
	g->vscause = csr_swap(CSR_VSCAUSE, h.vscause);
	g->vsepc = csr_swap(CSR_VSEPC, h.vsepc);
	g->vsscratch = csr_swap(CSR_VSSCRATCH, h.vsscratch);
	g->vstvec = csr_swap(CSR_VSTVEC, h.vstvec);
	g->vsie = csr_swap(CSR_VSIE, h.vsie);
	g->vsstatus = csr_swap(CSR_VSSTATUS, h.vsstatus);
	g->vsip = csr_read(CSR_VSIP);
	csr_write(CSR_HVIP, h.hvip);
	csr_write(CSR_HTIMEDELTA, h.htimedelta);
	csr_write(CSR_HENVCFG, h.henvcfg);
	csr_write(CSR_HCOUNTEREN, h.hcounteren);
	csr_write(CSR_HIDELEG, h.hideleg);
	csr_write(CSR_HEDELEG, h.hedeleg);
}

static void rune_exit_with(struct rune_vcpu *vcpu, u32 reason)
{
	struct rune_exit *exit = &vcpu->state.exit;

	memset(exit, 0, sizeof(*exit));
	exit->reason = reason;
	if (reason != RUNE_EXIT_FAULT)
		return;
	exit->scause = vcpu->scause;
	exit->stval = vcpu->stval;
	exit->htval = vcpu->htval;
	exit->htinst = vcpu->htinst;
	exit->gpa = (vcpu->htval << 2) | (vcpu->stval & 3);
}

/*
 * A guest-page fault taken by the VS-stage walk itself (reading a page-table
 * entry, or writing its A/D bits) is reported with the cause of the access
 * that needed the walk, and htinst holds a pseudoinstruction saying which:
 * the G-stage must grant what the walk does, not what the guest did.
 */
static unsigned long rune_fault_access(unsigned long scause, unsigned long htinst)
{
	/* 0x2000, 0x3000: 32/64-bit read; 0x2020, 0x3020: write */
	if ((htinst & ~0x1020UL) == 0x2000)
		return (htinst & 0x20) ? EXC_STORE_GUEST_PAGE_FAULT : EXC_LOAD_GUEST_PAGE_FAULT;
	return scause;
}

/* 1: enter again; 0: return to the process; < 0: an error. */
static int rune_handle_exit(struct rune_vcpu *vcpu)
{
	unsigned long gpa;
	int ret;

	if (vcpu->scause & CAUSE_IRQ_FLAG) {
		/* taken by the kernel when interrupts came back on */
		vcpu->stats.interrupts++;
		return 1;
	}
	switch (vcpu->scause) {
	case EXC_SUPERVISOR_SYSCALL:
		vcpu->hw.guest_pc += 4;
		rune_exit_with(vcpu, vcpu->hw.gx[17] == RUNE_HCALL_EXIT ?
			       RUNE_EXIT_EXIT : RUNE_EXIT_HYPERCALL);
		return 0;
	case EXC_INST_GUEST_PAGE_FAULT:
	case EXC_LOAD_GUEST_PAGE_FAULT:
	case EXC_STORE_GUEST_PAGE_FAULT:
		gpa = (vcpu->htval << 2) | (vcpu->stval & 3);
		ret = rune_vm_fault(vcpu->vm, gpa,
				    rune_fault_access(vcpu->scause, vcpu->htinst));
		if (ret == -EFAULT)
			break;
		if (ret == -EINTR)
			return 1;	/* the signal check ends the run */
		if (ret)
			return ret;
		vcpu->fence_gpa = gpa & PAGE_MASK;
		vcpu->stats.gstage_faults++;
		return 1;
	}
	rune_exit_with(vcpu, RUNE_EXIT_FAULT);
	return 0;
}

static int rune_vcpu_run(struct rune_vcpu *vcpu)
{
	struct rune_vm *vm = vcpu->vm;
	int ret;

	for (;;) {
		if (signal_pending(current)) {
			rune_exit_with(vcpu, RUNE_EXIT_SIGNAL);
			return 0;
		}
		cond_resched();
		rune_vmid_update(vm);
		if (vcpu->kick) {
			u64 ring;

			if (get_user(ring, vcpu->kick))
				return -EFAULT;
			if (ring)
				vcpu->state.csrs.vsip |= BIT(IRQ_S_SOFT);
		}

		preempt_disable();
		local_irq_disable();
		/*
		 * With interrupts off, a signal or a reschedule from now on
		 * arrives as an interrupt, which ends the guest at once.
		 */
		if (signal_pending(current) || need_resched() || rune_vmid_stale(vm)) {
			local_irq_enable();
			preempt_enable();
			continue;
		}
		rune_world_switch(vcpu);
		local_irq_enable();
		preempt_enable();

		ret = rune_handle_exit(vcpu);
		if (ret <= 0)
			return ret;
	}
}

/* The process's view of the state in, the switch frame out. */
static int rune_vcpu_load(struct rune_vcpu *vcpu, void __user *arg)
{
	struct rune_vcpu_state *st = &vcpu->state;
	int i;

	if (copy_from_user(st, arg, sizeof(*st)))
		return -EFAULT;
	if (st->regs.mode != RUNE_MODE_VU && st->regs.mode != RUNE_MODE_VS)
		return -EINVAL;
	vcpu->hw.guest_pc = st->regs.pc;
	for (i = 1; i < 32; i++)
		vcpu->hw.gx[i] = st->regs.x[i - 1];
	vcpu->vector = st->vector.regs != 0;
	if (!vcpu->vector)
		return 0;
#ifdef CONFIG_RISCV_ISA_V
	if (!has_vector())
		return -EOPNOTSUPP;
	vcpu->guest_v.vstart = st->vector.vstart;
	vcpu->guest_v.vl = st->vector.vl;
	vcpu->guest_v.vtype = st->vector.vtype;
	vcpu->guest_v.vcsr = st->vector.vcsr;
	if (copy_from_user(vcpu->guest_v.datap, u64_to_user_ptr(st->vector.regs),
			   riscv_v_vsize))
		return -EFAULT;
	return 0;
#else
	return -EOPNOTSUPP;
#endif
}

static int rune_vcpu_store(struct rune_vcpu *vcpu, void __user *arg)
{
	struct rune_vcpu_state *st = &vcpu->state;
	int i;

	st->regs.pc = vcpu->hw.guest_pc;
	for (i = 1; i < 32; i++)
		st->regs.x[i - 1] = vcpu->hw.gx[i];
	st->stats = vcpu->stats;
#ifdef CONFIG_RISCV_ISA_V
	if (vcpu->vector) {
		st->vector.vstart = vcpu->guest_v.vstart;
		st->vector.vl = vcpu->guest_v.vl;
		st->vector.vtype = vcpu->guest_v.vtype;
		st->vector.vcsr = vcpu->guest_v.vcsr;
		if (copy_to_user(u64_to_user_ptr(st->vector.regs), vcpu->guest_v.datap,
				 riscv_v_vsize))
			return -EFAULT;
	}
#endif
	return copy_to_user(arg, st, sizeof(*st)) ? -EFAULT : 0;
}

static long rune_vcpu_enter(struct rune_vcpu *vcpu, void __user *arg)
{
	int ret;

	/* a context belongs to the thread that created it, in its address space */
	if (task_pid(current) != vcpu->owner)
		return -EPERM;
	if (current->mm != vcpu->vm->mm)
		return -EACCES;
	if (!mutex_trylock(&vcpu->run_lock))
		return -EBUSY;
	ret = rune_vcpu_load(vcpu, arg);
	if (!ret)
		ret = rune_vcpu_run(vcpu);
	if (!ret)
		ret = rune_vcpu_store(vcpu, arg);
	mutex_unlock(&vcpu->run_lock);
	return ret;
}

static int rune_vcpu_set_kick(struct rune_vcpu *vcpu, void __user *arg)
{
	u64 addr;

	if (task_pid(current) != vcpu->owner)
		return -EPERM;
	if (copy_from_user(&addr, arg, sizeof(addr)))
		return -EFAULT;
	if (addr % sizeof(u64) || addr >= TASK_SIZE)
		return -EINVAL;
	vcpu->kick = u64_to_user_ptr(addr);
	return 0;
}

static long rune_vcpu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct rune_vcpu *vcpu = file->private_data;

	switch (cmd) {
	case RUNE_IOC_ENTER:
		return rune_vcpu_enter(vcpu, (void __user *)arg);
	case RUNE_IOC_SET_KICK:
		return rune_vcpu_set_kick(vcpu, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static void rune_vcpu_free(struct rune_vcpu *vcpu)
{
#ifdef CONFIG_RISCV_ISA_V
	kfree(vcpu->guest_v.datap);
	kfree(vcpu->host_v.datap);
#endif
	put_pid(vcpu->owner);
	kfree(vcpu);
}

static int rune_vcpu_release(struct inode *inode, struct file *file)
{
	struct rune_vcpu *vcpu = file->private_data;

	fput(vcpu->vm_file);
	rune_vcpu_free(vcpu);
	return 0;
}

static const struct file_operations rune_vcpu_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = rune_vcpu_ioctl,
	.release = rune_vcpu_release,
};

int rune_vcpu_create(struct rune_vm *vm, struct file *vm_file)
{
	struct rune_vcpu *vcpu;
	int fd;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->owner = get_pid(task_pid(current));
	mutex_init(&vcpu->run_lock);
	vcpu->last_cpu = -1;
#ifdef CONFIG_RISCV_ISA_V
	if (has_vector()) {
		vcpu->guest_v.datap = kzalloc(riscv_v_vsize, GFP_KERNEL_ACCOUNT);
		vcpu->host_v.datap = kzalloc(riscv_v_vsize, GFP_KERNEL_ACCOUNT);
		if (!vcpu->guest_v.datap || !vcpu->host_v.datap) {
			rune_vcpu_free(vcpu);
			return -ENOMEM;
		}
	}
#endif
	vcpu->vm = vm;
	vcpu->vm_file = get_file(vm_file);
	fd = anon_inode_getfd("rune-vcpu", &rune_vcpu_fops, vcpu, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fput(vm_file);
		rune_vcpu_free(vcpu);
	}
	return fd;
}
