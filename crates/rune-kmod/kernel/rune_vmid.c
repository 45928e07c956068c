// SPDX-License-Identifier: GPL-2.0
/*
 * VMIDs with generations, as KVM does: a VM keeps its VMID for as long as
 * the generation it was given in is current. When the VMIDs run out, the
 * generation moves on, every hart leaves the guest and flushes all
 * G-stage translations, and every VM takes a fresh VMID on its next entry.
 * VMID 0 is never handed out; with no VMID bits every VM shares it and
 * each entry flushes (rune_vcpu.c).
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/smp.h>

#include "rune.h"

static unsigned int max_vmid_bits = 16;
module_param(max_vmid_bits, uint, 0444);
MODULE_PARM_DESC(max_vmid_bits, "use at most this many VMID bits (tests force rollovers with it)");

static DEFINE_MUTEX(rune_vmid_mutex);
static unsigned long rune_vmid_generation = 1;
static unsigned long rune_vmid_next;
static unsigned int rune_vmid_bits;

void rune_vmid_init(void)
{
	rune_vmid_bits = min(rune_hart.vmid_bits, max_vmid_bits);
}

bool rune_vmid_stale(const struct rune_vm *vm)
{
	return READ_ONCE(vm->vmid.generation) != READ_ONCE(rune_vmid_generation);
}

/* No VMIDs to tell VMs apart: every entry flushes what the last one left. */
bool rune_vmid_shared(void)
{
	return !rune_vmid_bits;
}

/* Runs on every hart, in interrupt context: what the old generation cached goes. */
static void rune_vmid_flush_local(void *unused)
{
	rune_hfence_gvma_all();
}

/* Called with preemption on, before interrupts go off for an entry. */
void rune_vmid_update(struct rune_vm *vm)
{
	if (!rune_vmid_stale(vm))
		return;
	mutex_lock(&rune_vmid_mutex);
	if (!rune_vmid_stale(vm))
		goto out;
	if (!rune_vmid_bits) {
		vm->vmid.id = 0;
		goto take;
	}
	if (++rune_vmid_next >= (1UL << rune_vmid_bits)) {
		/*
		 * Rollover. The new generation is published before the
		 * IPIs, so a hart that already checked its VM's generation
		 * with interrupts off leaves the guest at the IPI and sees
		 * the new one on its next entry.
		 */
		WRITE_ONCE(rune_vmid_generation, rune_vmid_generation + 1);
		rune_vmid_next = 1;
		on_each_cpu(rune_vmid_flush_local, NULL, 1);
	}
	vm->vmid.id = rune_vmid_next;
take:
	/* the id before the generation that makes it usable */
	smp_wmb();
	WRITE_ONCE(vm->vmid.generation, rune_vmid_generation);
out:
	mutex_unlock(&rune_vmid_mutex);
}
