// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/rune: the device through which a process enters RISC-V VS-mode.
 *
 * This first part probes the hart (hypervisor extension, G-stage modes,
 * VMID width) and answers RUNE_IOC_QUERY; everything that needs the H
 * extension fails with -ENODEV on a hart without it.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/uaccess.h>
#include <asm/csr.h>
#include <asm/hwcap.h>
#if __has_include("asm/cpufeature.h")
#include <asm/cpufeature.h>	/* riscv_isa_extension_available() since 6.4 */
#endif

#include "../include/uapi/linux/rune.h"

#ifndef HGATP_VMID
#define HGATP_VMID HGATP_VMID_MASK	/* before 6.4 */
#endif

static struct rune_info rune_hart;

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

static long rune_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case RUNE_IOC_QUERY:
		if (copy_to_user((void __user *)arg, &rune_hart, sizeof(rune_hart)))
			return -EFAULT;
		return 0;
	default:
		return (rune_hart.flags & RUNE_INFO_H) ? -ENOTTY : -ENODEV;
	}
}

static const struct file_operations rune_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = rune_ioctl,
};

static struct miscdevice rune_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "rune",
	.fops = &rune_fops,
	.mode = 0666,
};

static int __init rune_init(void)
{
	rune_hart.abi_version = RUNE_ABI_VERSION;
	if (riscv_isa_extension_available(NULL, h)) {
		rune_hart.flags |= RUNE_INFO_H;
		rune_probe_gstage();
	}
	pr_info("rune: abi %u, H %s, G-stage modes %#x, VMID bits %u\n",
		rune_hart.abi_version,
		(rune_hart.flags & RUNE_INFO_H) ? "present" : "absent",
		rune_hart.gstage_modes, rune_hart.vmid_bits);
	return misc_register(&rune_dev);
}

static void __exit rune_exit(void)
{
	misc_deregister(&rune_dev);
}

module_init(rune_init);
module_exit(rune_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Run a process in RISC-V VS-mode (Rune)");
