// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/rune: the device through which a process enters RISC-V VS-mode.
 *
 * The module probes the hart (hypervisor extension, G-stage modes, VMID
 * width) and answers RUNE_IOC_QUERY; an open binds the file to the
 * caller's address space (rune_vm.c) and RUNE_IOC_CREATE makes a VS
 * context for the calling thread (rune_vcpu.c). Everything that needs the
 * H extension fails with -ENODEV on a hart without it.
 */
#include <linux/fs.h>
#include <linux/kallsyms.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>

#include "rune.h"

struct rune_info rune_hart;

/*
 * Set once kvm.ko has been loaded: KVM hands out VMIDs of its own, so
 * from then on every entry and exit flushes the VMID it runs under.
 */
bool rune_kvm_seen;

/*
 * Which hgatp modes the hart accepts and how many VMID bits it keeps: write
 * and read back, as KVM does. Runs with preemption off and leaves hgatp 0.
 */
static void rune_probe_gstage(void)
{
	unsigned long mode, vmid;

	preempt_disable();
	for (mode = RUNE_GSTAGE_SV39X4; mode <= RUNE_GSTAGE_SV57X4; mode++) {
		csr_write(CSR_HGATP, mode << HGATP_MODE_SHIFT);
		if ((csr_read(CSR_HGATP) >> HGATP_MODE_SHIFT) == mode)
			rune_hart.gstage_modes |= 1U << mode;
	}
	csr_write(CSR_HGATP, HGATP_VMID);
	vmid = (csr_read(CSR_HGATP) & HGATP_VMID) >> HGATP_VMID_SHIFT;
	rune_hart.vmid_bits = fls_long(vmid);
	csr_write(CSR_HGATP, 0);
	preempt_enable();
}

static int rune_open(struct inode *inode, struct file *file)
{
	struct rune_vm *vm;
	int ret;

	/* misc_open left the miscdevice there */
	file->private_data = NULL;
	if (!(rune_hart.flags & RUNE_INFO_H) || !current->mm)
		return 0;	/* query only */
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	ret = rune_vm_init(vm);
	if (ret) {
		kfree(vm);
		return ret;
	}
	file->private_data = vm;
	return 0;
}

static int rune_release(struct inode *inode, struct file *file)
{
	struct rune_vm *vm = file->private_data;

	if (vm) {
		rune_vm_destroy(vm);
		kfree(vm);
	}
	return 0;
}

static long rune_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct rune_vm *vm = file->private_data;

	if (cmd == RUNE_IOC_QUERY)
		return copy_to_user((void __user *)arg, &rune_hart, sizeof(rune_hart)) ?
		       -EFAULT : 0;
	if (!(rune_hart.flags & RUNE_INFO_H))
		return -ENODEV;
	if (!vm)
		return -EBADFD;
	/* after fork the file is the parent's address space, not the caller's */
	if (current->mm != vm->mm)
		return -EACCES;
	switch (cmd) {
	case RUNE_IOC_CREATE:
		return rune_vcpu_create(vm, file);
	case RUNE_IOC_FENCE_VVMA:
		return rune_vm_fence_vvma(vm);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations rune_fops = {
	.owner = THIS_MODULE,
	.open = rune_open,
	.release = rune_release,
	.unlocked_ioctl = rune_ioctl,
};

static struct miscdevice rune_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "rune",
	.fops = &rune_fops,
	.mode = 0666,
};

static void rune_flush_all_local(void *unused)
{
	rune_hfence_gvma_all();
}

static void rune_note_kvm(void)
{
	if (READ_ONCE(rune_kvm_seen))
		return;
	WRITE_ONCE(rune_kvm_seen, true);
	/*
	 * Guests running now leave at the IPI and flush on their way out;
	 * what earlier ones left behind goes with this flush.
	 */
	on_each_cpu(rune_flush_all_local, NULL, 1);
	pr_info("rune: kvm is loaded: VMIDs are flushed around every entry\n");
}

static int rune_module_event(struct notifier_block *nb, unsigned long action, void *data)
{
	struct module *mod = data;

	if (action == MODULE_STATE_COMING && !strcmp(mod->name, "kvm"))
		rune_note_kvm();
	return NOTIFY_DONE;
}

static struct notifier_block rune_module_nb = {
	.notifier_call = rune_module_event,
};

/* kvm.ko loaded before us: one of its GPL exports resolves. */
static void rune_find_kvm(void)
{
	void *sym = __symbol_get("kvm_vcpu_kick");

	if (sym) {
		__symbol_put("kvm_vcpu_kick");
		rune_note_kvm();
	}
}

static int __init rune_init(void)
{
	int ret;

	rune_hart.abi_version = RUNE_ABI_VERSION;
	if (riscv_isa_extension_available(NULL, h)) {
		rune_hart.flags |= RUNE_INFO_H;
		rune_probe_gstage();
	}
#ifdef CONFIG_RISCV_ISA_V
	if (has_vector())
		rune_hart.vlenb = riscv_v_vsize / 32;
#endif
	rune_vmid_init();
	pr_info("rune: abi %u, H %s, G-stage modes %#x, VMID bits %u, vlenb %u\n",
		rune_hart.abi_version,
		(rune_hart.flags & RUNE_INFO_H) ? "present" : "absent",
		rune_hart.gstage_modes, rune_hart.vmid_bits, rune_hart.vlenb);
	ret = register_module_notifier(&rune_module_nb);
	if (ret)
		return ret;
	if (rune_hart.flags & RUNE_INFO_H)
		rune_find_kvm();
	ret = misc_register(&rune_dev);
	if (ret)
		unregister_module_notifier(&rune_module_nb);
	return ret;
}

static void __exit rune_exit(void)
{
	misc_deregister(&rune_dev);
	unregister_module_notifier(&rune_module_nb);
}

module_init(rune_init);
module_exit(rune_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Run a process in RISC-V VS-mode (Rune)");
