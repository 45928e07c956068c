// SPDX-License-Identifier: GPL-2.0
/*
 * The G-stage: an identity map of the process (guest physical address =
 * host virtual address), filled one page at a time on guest-page faults
 * from the pages the process itself has, with the permissions of the VMA.
 *
 * No page is pinned: an interval notifier over the whole user address
 * space zaps what the kernel changes (munmap, mprotect, mremap, fork's
 * write protection, migration, reclaim) before it changes it, and a fault
 * that raced with such a change retries (mmu_interval_read_begin/retry).
 */
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <asm/sbi.h>

#include "rune.h"

#define RUNE_PTE_V	BIT(0)
#define RUNE_PTE_R	BIT(1)
#define RUNE_PTE_W	BIT(2)
#define RUNE_PTE_X	BIT(3)
#define RUNE_PTE_U	BIT(4)
#define RUNE_PTE_A	BIT(6)
#define RUNE_PTE_D	BIT(7)
#define RUNE_PTE_LEAF	(RUNE_PTE_R | RUNE_PTE_W | RUNE_PTE_X)
#define RUNE_PTE_PFN_SHIFT 10

/* The root of an x4 mode has four times the entries (two more bits). */
#define RUNE_ROOT_ORDER	2
#define RUNE_LEVEL_BITS	9
#define RUNE_ROOT_BITS	(RUNE_LEVEL_BITS + 2)

/* Flushing a range larger than this flushes the whole VMID instead. */
#define RUNE_FLUSH_PAGES 64

#define RUNE_MAX_LEVELS 5

static unsigned int rune_index(const struct rune_vm *vm, unsigned int level,
			       unsigned long gpa)
{
	unsigned int bits = level == vm->levels - 1 ? RUNE_ROOT_BITS : RUNE_LEVEL_BITS;

	return (gpa >> (PAGE_SHIFT + RUNE_LEVEL_BITS * level)) & ((1UL << bits) - 1);
}

static unsigned long *rune_pte_table(unsigned long pte)
{
	return phys_to_virt(PFN_PHYS(pte >> RUNE_PTE_PFN_SHIFT));
}

static unsigned long rune_pte(unsigned long pfn, unsigned long prot)
{
	return (pfn << RUNE_PTE_PFN_SHIFT) | prot;
}

/* The G-stage width that covers the user address space with the fewest levels. */
static int rune_pick_mode(struct rune_vm *vm)
{
	static const struct {
		unsigned int mode, levels, gpa_bits;
	} modes[] = {
		{ RUNE_GSTAGE_SV39X4, 3, 41 },
		{ RUNE_GSTAGE_SV48X4, 4, 50 },
		{ RUNE_GSTAGE_SV57X4, 5, 59 },
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		if (!(rune_hart.gstage_modes & BIT(modes[i].mode)))
			continue;
		if (BIT_ULL(modes[i].gpa_bits) < TASK_SIZE)
			continue;
		vm->hgatp_mode = modes[i].mode;
		vm->levels = modes[i].levels;
		return 0;
	}
	return -ENODEV;
}

static void rune_flush(struct rune_vm *vm, unsigned long start, unsigned long end)
{
	unsigned long size = end - start;

	if (cpumask_empty(&vm->ran_on))
		return;
	if (size > RUNE_FLUSH_PAGES * PAGE_SIZE)
		start = size = 0;	/* SBI: the whole VMID */
	sbi_remote_hfence_gvma_vmid(&vm->ran_on, start, size,
				    READ_ONCE(vm->vmid.id));
}

/* Clears the leaves of [start, end) below table; true if any was valid. */
static bool rune_zap(struct rune_vm *vm, unsigned long *table, unsigned int level,
		     unsigned long base, unsigned long start, unsigned long end)
{
	unsigned int bits = level == vm->levels - 1 ? RUNE_ROOT_BITS : RUNE_LEVEL_BITS;
	unsigned long span = 1UL << (PAGE_SHIFT + RUNE_LEVEL_BITS * level);
	unsigned long i, first, last, pte;
	bool zapped = false;

	first = start > base ? (start - base) / span : 0;
	last = min((end - base + span - 1) / span, 1UL << bits);
	for (i = first; i < last; i++) {
		pte = READ_ONCE(table[i]);
		if (!(pte & RUNE_PTE_V))
			continue;
		if (pte & RUNE_PTE_LEAF) {
			WRITE_ONCE(table[i], 0);
			zapped = true;
		} else {
			zapped |= rune_zap(vm, rune_pte_table(pte), level - 1,
					   base + i * span, start, end);
		}
	}
	return zapped;
}

static void rune_free_tables(struct rune_vm *vm, unsigned long *table, unsigned int level)
{
	unsigned int bits = level == vm->levels - 1 ? RUNE_ROOT_BITS : RUNE_LEVEL_BITS;
	unsigned long i, pte;

	for (i = 0; level && i < (1UL << bits); i++) {
		pte = table[i];
		if ((pte & RUNE_PTE_V) && !(pte & RUNE_PTE_LEAF))
			rune_free_tables(vm, rune_pte_table(pte), level - 1);
	}
	if (level == vm->levels - 1)
		free_pages((unsigned long)table, RUNE_ROOT_ORDER);
	else
		free_page((unsigned long)table);
}

static bool rune_invalidate(struct mmu_interval_notifier *notifier,
			    const struct mmu_notifier_range *range,
			    unsigned long cur_seq)
{
	struct rune_vm *vm = container_of(notifier, struct rune_vm, notifier);
	/* exit_mmap's range ends at ULONG_MAX */
	unsigned long end = min(range->end, TASK_SIZE);
	bool zapped;

	/* A spinlock: this may run where sleeping is not allowed. */
	spin_lock(&vm->lock);
	mmu_interval_set_seq(notifier, cur_seq);
	zapped = rune_zap(vm, vm->root, vm->levels - 1, 0, range->start, end);
	spin_unlock(&vm->lock);
	/* before the pages change hands */
	if (zapped)
		rune_flush(vm, range->start, end);
	return true;
}

static const struct mmu_interval_notifier_ops rune_notifier_ops = {
	.invalidate = rune_invalidate,
};

int rune_vm_init(struct rune_vm *vm)
{
	int ret;

	ret = rune_pick_mode(vm);
	if (ret)
		return ret;
	spin_lock_init(&vm->lock);
	vm->root = (unsigned long *)__get_free_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO,
						     RUNE_ROOT_ORDER);
	if (!vm->root)
		return -ENOMEM;
	vm->mm = current->mm;
	ret = mmu_interval_notifier_insert(&vm->notifier, vm->mm, 0, TASK_SIZE,
					   &rune_notifier_ops);
	if (ret) {
		free_pages((unsigned long)vm->root, RUNE_ROOT_ORDER);
		return ret;
	}
	return 0;
}

void rune_vm_destroy(struct rune_vm *vm)
{
	/* waits for an invalidation in progress; no context runs any more */
	mmu_interval_notifier_remove(&vm->notifier);
	/*
	 * Stale translations of this VMID may stay in the harts; the VMID
	 * is not handed out again before a rollover flushes them.
	 */
	rune_free_tables(vm, vm->root, vm->levels - 1);
}

/*
 * The slot of the leaf for gpa, with the missing tables taken from cache
 * (one per level below the root, allocated before the lock).
 */
static unsigned long *rune_walk(struct rune_vm *vm, unsigned long gpa, void **cache)
{
	unsigned long *table = vm->root;
	unsigned int level;
	unsigned long *slot;

	for (level = vm->levels - 1; level > 0; level--) {
		slot = &table[rune_index(vm, level, gpa)];
		if (!(READ_ONCE(*slot) & RUNE_PTE_V)) {
			/* tables are zeroed before the hart can see them */
			smp_wmb();
			WRITE_ONCE(*slot, rune_pte(virt_to_pfn(*cache), RUNE_PTE_V));
			*cache++ = NULL;
		}
		table = rune_pte_table(READ_ONCE(*slot));
	}
	return &table[rune_index(vm, 0, gpa)];
}

/*
 * What the VMA allows for this access: 0 when it does not allow it. A
 * write is granted only to a write fault, so a page is writable in the
 * G-stage only once the kernel has made it writable (and dirty) for the
 * process: copy-on-write is broken by get_user_pages, not bypassed.
 */
static unsigned long rune_prot(struct vm_area_struct *vma, unsigned long scause)
{
	unsigned long prot = RUNE_PTE_V | RUNE_PTE_U | RUNE_PTE_A;

	if (vma->vm_flags & VM_READ)
		prot |= RUNE_PTE_R;
	if (vma->vm_flags & VM_EXEC)
		prot |= RUNE_PTE_X;
	switch (scause) {
	case EXC_INST_GUEST_PAGE_FAULT:
		return (prot & RUNE_PTE_X) ? prot : 0;
	case EXC_LOAD_GUEST_PAGE_FAULT:
		return (prot & RUNE_PTE_R) ? prot : 0;
	case EXC_STORE_GUEST_PAGE_FAULT:
		if (!(vma->vm_flags & VM_WRITE))
			return 0;
		return prot | RUNE_PTE_R | RUNE_PTE_W | RUNE_PTE_D;
	}
	return 0;
}

/*
 * The vDSO's data pages ([vvar], just below the vDSO's text) are a PFN map,
 * which get_user_pages refuses. They are kernel pages the process may only
 * read: mapped read-only for loads, they let the vDSO's clock run in the
 * guest without an exit.
 */
static bool rune_is_vvar(struct vm_area_struct *vma)
{
	const char *name;

	if (!(vma->vm_flags & VM_PFNMAP) || !(vma->vm_flags & VM_READ) ||
	    (vma->vm_flags & (VM_WRITE | VM_MAYWRITE | VM_EXEC)) ||
	    vma->vm_end != (unsigned long)vma->vm_mm->context.vdso)
		return false;
	name = (vma->vm_ops && vma->vm_ops->name) ? vma->vm_ops->name(vma) : NULL;
	return name && !strcmp(name, "[vvar]");
}

static int rune_follow_pfn(struct vm_area_struct *vma, unsigned long addr,
			   unsigned long *pfn)
{
#ifdef RUNE_HAVE_FOLLOW_PFNMAP
	struct follow_pfnmap_args args = { .vma = vma, .address = addr };
	int ret = follow_pfnmap_start(&args);

	if (ret)
		return ret;
	*pfn = args.pfn;
	follow_pfnmap_end(&args);
	return 0;
#else
	spinlock_t *ptl;
	pte_t *ptep;
#ifdef RUNE_FOLLOW_PTE_VMA
	int ret = follow_pte(vma, addr, &ptep, &ptl);
#else
	int ret = follow_pte(vma->vm_mm, addr, &ptep, &ptl);
#endif

	if (ret)
		return ret;
	*pfn = pte_pfn(ptep_get(ptep));
	pte_unmap_unlock(ptep, ptl);
	return 0;
#endif
}

/* Called with the mmap lock held for read. */
static int rune_vvar_pfn(struct vm_area_struct *vma, unsigned long addr,
			 unsigned long scause, unsigned long *pfn)
{
	int ret;

	if (scause != EXC_LOAD_GUEST_PAGE_FAULT)
		return -EFAULT;
	if (!rune_follow_pfn(vma, addr, pfn))
		return 0;
	/* not touched by the process yet: fault it in as its own read would */
	ret = fixup_user_fault(vma->vm_mm, addr, 0, NULL);
	if (ret)
		return ret;
	return rune_follow_pfn(vma, addr, pfn);
}

/*
 * Maps the page of the process at gpa for the access scause failed on.
 * 0: mapped; -EFAULT: the process may not make that access there (the
 * guest gets a fault exit); -EINTR: a fatal signal interrupted the fault.
 */
int rune_vm_fault(struct rune_vm *vm, unsigned long gpa, unsigned long scause)
{
	unsigned long addr = gpa & PAGE_MASK, prot, seq, pfn, *slot;
	void *cache[RUNE_MAX_LEVELS] = {};
	struct vm_area_struct *vma;
	struct page *page;
	unsigned int i;
	long got;
	int ret = 0;

	if (gpa >= TASK_SIZE)
		return -EFAULT;
	for (i = 0; i < vm->levels - 1; i++) {
		cache[i] = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!cache[i]) {
			ret = -ENOMEM;
			goto out;
		}
	}
retry:
	seq = mmu_interval_read_begin(&vm->notifier);
	page = NULL;
	mmap_read_lock(vm->mm);
	vma = vma_lookup(vm->mm, addr);
	if (vma && rune_is_vvar(vma)) {
		ret = rune_vvar_pfn(vma, addr, scause, &pfn);
		mmap_read_unlock(vm->mm);
		if (ret) {
			ret = -EFAULT;
			goto out;
		}
		prot = RUNE_PTE_V | RUNE_PTE_U | RUNE_PTE_A | RUNE_PTE_R;
		goto map;
	}
	prot = vma ? rune_prot(vma, scause) : 0;
	mmap_read_unlock(vm->mm);
	if (!prot) {
		ret = -EFAULT;
		goto out;
	}
	/*
	 * A VMA that changes from here on goes through the notifier, which
	 * moves the sequence on: the retry below catches it.
	 */
	got = get_user_pages_unlocked(addr, 1, &page,
				      (prot & RUNE_PTE_W) ? FOLL_WRITE : 0);
	if (got != 1) {
		ret = fatal_signal_pending(current) ? -EINTR : -EFAULT;
		goto out;
	}
	if (prot & RUNE_PTE_W)
		set_page_dirty_lock(page);
	pfn = page_to_pfn(page);
map:
	spin_lock(&vm->lock);
	if (mmu_interval_read_retry(&vm->notifier, seq)) {
		spin_unlock(&vm->lock);
		if (page)
			put_page(page);
		goto retry;
	}
	slot = rune_walk(vm, addr, cache);
	WRITE_ONCE(*slot, rune_pte(pfn, prot));
	spin_unlock(&vm->lock);
	if (page)
		put_page(page);
out:
	for (i = 0; i < ARRAY_SIZE(cache); i++)
		free_page((unsigned long)cache[i]);
	return ret;
}

static void rune_kick(void *unused)
{
	/* the IPI itself makes a hart in the guest exit */
}

int rune_vm_fence_vvma(struct rune_vm *vm)
{
	atomic_long_inc(&vm->vvma_generation);
	/* contexts running now exit and fence on their next entry */
	on_each_cpu_mask(&vm->ran_on, rune_kick, NULL, 1);
	return 0;
}
