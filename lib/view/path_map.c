/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The path map: child inode -> its names (parent inode, name), oldest first.
 *
 * - Entries live in one array, reused through a free list; a child's names
 *   are chained oldest to youngest through `next`.
 * - A hash table with linear probing holds, per child, the index of its
 *   oldest name: 4 bytes a slot, at most 3/4 full, Fibonacci hashing (inode
 *   numbers are dense), backward-shift deletion so there are no tombstones.
 * - Name bytes are packed in one arena; an unlinked name leaves a hole, and
 *   the arena is compacted once holes are half of it.
 *
 * About 20 bytes an entry, 5 to 11 a child, plus the name bytes.  Every
 * allocation is made before the first change, so -ENOMEM leaves the map as
 * it was.
 */
#include "view/view_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PM_NAME_MAX 255
/* Holes in the name arena are left alone below this many bytes. */
#define PM_COMPACT_MIN 65536

static size_t pm_home(const struct path_map *m, uint32_t child)
{
	return (size_t)((child * 0x9E3779B97F4A7C15ull) >> (64 - m->slot_bits));
}

/* The slot holding child, or the empty slot where it would go. */
static size_t pm_slot(const struct path_map *m, uint32_t child)
{
	size_t i = pm_home(m, child);

	while (m->slot[i] && m->e[m->slot[i] - 1].child != child)
		i = (i + 1) & (m->nslots - 1);
	return i;
}

/* Makes room in the table for one more child: 0 or -ENOMEM. */
static int pm_reserve_slot(struct path_map *m)
{
	size_t n = m->nslots ? m->nslots * 2 : 64;
	uint32_t *old = m->slot;
	size_t old_n = m->nslots;

	if ((m->children + 1) * 4 <= m->nslots * 3)
		return 0;
	m->slot = calloc(n, sizeof(*m->slot));
	if (!m->slot) {
		m->slot = old;
		return -ENOMEM;
	}
	m->nslots = n;
	m->slot_bits = old_n ? m->slot_bits + 1 : 6;
	for (size_t i = 0; i < old_n; i++)
		if (old[i])
			m->slot[pm_slot(m, m->e[old[i] - 1].child)] = old[i];
	free(old);
	return 0;
}

/* Empties slot i, shifting back the entries that probed past it. */
static void pm_slot_clear(struct path_map *m, size_t i)
{
	size_t mask = m->nslots - 1;

	for (size_t j = (i + 1) & mask; m->slot[j]; j = (j + 1) & mask) {
		size_t home = pm_home(m, m->e[m->slot[j] - 1].child);

		/* Entry j may move to i if i lies on its probe path [home, j). */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slot[i] = m->slot[j];
			i = j;
		}
	}
	m->slot[i] = 0;
}

/* Makes room for one more entry: 0 or -ENOMEM. */
static int pm_reserve_entry(struct path_map *m)
{
	size_t cap = m->e_cap ? m->e_cap * 2 : 256;
	struct path_entry *e;

	if (m->free_e || m->ne < m->e_cap)
		return 0;
	if (m->ne >= UINT32_MAX - 1)
		return -ENOMEM; /* indexes + 1 must fit in 32 bits */
	if (cap > UINT32_MAX - 1)
		cap = UINT32_MAX - 1;
	e = realloc(m->e, cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	m->e = e;
	m->e_cap = cap;
	return 0;
}

/* Makes room for len more name bytes: 0 or -ENOMEM. */
static int pm_reserve_name(struct path_map *m, size_t len)
{
	size_t cap = m->names_cap ? m->names_cap * 2 : 4096;
	char *s;

	if (m->names_len + len <= m->names_cap)
		return 0;
	while (cap < m->names_len + len)
		cap *= 2;
	if (cap > UINT32_MAX)
		cap = UINT32_MAX; /* name_off is 32 bits */
	if (m->names_len + len > cap)
		return -ENOMEM;
	s = realloc(m->names, cap);
	if (!s)
		return -ENOMEM;
	m->names = s;
	m->names_cap = cap;
	return 0;
}

static bool pm_same(const struct path_map *m, const struct path_entry *e, uint32_t parent,
		    const char *name, size_t len)
{
	return e->parent == parent && e->name_len == len && !memcmp(m->names + e->name_off, name, len);
}

/* A new entry for the name; its slot was reserved. */
static uint32_t pm_new_entry(struct path_map *m, uint32_t child, uint32_t parent,
			     const char *name, size_t len)
{
	uint32_t idx = m->free_e ? m->free_e - 1 : (uint32_t)m->ne++;
	struct path_entry *e = &m->e[idx];

	if (m->free_e)
		m->free_e = e->next;
	memcpy(m->names + m->names_len, name, len);
	*e = (struct path_entry){ .child = child, .parent = parent, .name_len = (uint32_t)len,
				  .name_off = (uint32_t)m->names_len };
	m->names_len += len;
	m->count++;
	return idx + 1;
}

int pm_link(struct path_map *m, uint32_t child, uint32_t parent, const char *name, size_t len)
{
	uint32_t *tail;
	size_t i;

	if (!len || len > PM_NAME_MAX || !name)
		return -EINVAL;
	if (pm_reserve_slot(m))
		return -ENOMEM;
	i = pm_slot(m, child);
	for (tail = &m->slot[i]; *tail; tail = &m->e[*tail - 1].next)
		if (pm_same(m, &m->e[*tail - 1], parent, name, len))
			return 0;
	/* Reserving entries moves them: find the tail again afterwards. */
	if (pm_reserve_entry(m) || pm_reserve_name(m, len))
		return -ENOMEM;
	if (!m->slot[i])
		m->children++;
	for (tail = &m->slot[i]; *tail; tail = &m->e[*tail - 1].next)
		;
	*tail = pm_new_entry(m, child, parent, name, len);
	return 0;
}

int pm_add(struct path_map *m, uint32_t child, uint32_t parent, const char *name, size_t len)
{
	if (len > PM_NAME_MAX)
		return -EUCLEAN; /* ext4 names are at most 255 bytes */
	return pm_link(m, child, parent, name, len);
}

void pm_finish(struct path_map *m)
{
	(void)m;
}

/* Packs the live names into a new arena; on -ENOMEM the holes stay. */
static void pm_compact(struct path_map *m)
{
	size_t live = m->names_len - m->names_dead, at = 0;
	char *s;

	if (m->names_dead < PM_COMPACT_MIN || m->names_dead < live)
		return;
	s = malloc(live ? live : 1);
	if (!s)
		return;
	for (size_t i = 0; i < m->ne; i++) {
		struct path_entry *e = &m->e[i];

		if (!e->name_len)
			continue;
		memcpy(s + at, m->names + e->name_off, e->name_len);
		e->name_off = (uint32_t)at;
		at += e->name_len;
	}
	free(m->names);
	m->names = s;
	m->names_len = m->names_cap = live;
	m->names_dead = 0;
}

/* Unchains entry *link (a slot or a `next`) and frees it. */
static void pm_drop(struct path_map *m, uint32_t *link, size_t slot)
{
	uint32_t idx = *link - 1;
	struct path_entry *e = &m->e[idx];

	*link = e->next;
	if (!m->slot[slot]) {
		m->children--;
		pm_slot_clear(m, slot);
	}
	m->names_dead += e->name_len;
	e->name_len = 0;
	e->next = m->free_e;
	m->free_e = idx + 1;
	m->count--;
}

int pm_unlink(struct path_map *m, uint32_t child, uint32_t parent, const char *name, size_t len)
{
	size_t i;

	if (!m->nslots || !name)
		return -ENOENT;
	i = pm_slot(m, child);
	for (uint32_t *link = &m->slot[i]; *link; link = &m->e[*link - 1].next)
		if (pm_same(m, &m->e[*link - 1], parent, name, len)) {
			pm_drop(m, link, i);
			pm_compact(m);
			return 0;
		}
	return -ENOENT;
}

const struct path_entry *pm_find(const struct path_map *m, uint32_t child)
{
	size_t i;

	if (!m->nslots)
		return NULL;
	i = pm_slot(m, child);
	return m->slot[i] ? &m->e[m->slot[i] - 1] : NULL;
}

const char *pm_name(const struct path_map *m, const struct path_entry *e)
{
	return m->names + e->name_off;
}

size_t pm_count(const struct path_map *m)
{
	return m->count;
}

size_t pm_mem(const struct path_map *m)
{
	return m->e_cap * sizeof(*m->e) + m->nslots * sizeof(*m->slot) + m->names_cap;
}

void pm_free(struct path_map *m)
{
	free(m->e);
	free(m->slot);
	free(m->names);
	memset(m, 0, sizeof(*m));
}
