/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The path map: child inode -> (parent inode, name), first name seen wins. */
#include "view/view_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pm_add(struct path_map *m, uint32_t child, uint32_t parent, const char *name, size_t len)
{
	if (len > 255)
		return -EUCLEAN; /* ext4 names are at most 255 bytes */
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct path_entry *e = realloc(m->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		m->e = e;
		m->cap = cap;
	}
	if (m->names_len + len > m->names_cap) {
		size_t cap = m->names_cap ? m->names_cap * 2 : 4096;
		char *s;

		while (cap < m->names_len + len)
			cap *= 2;
		if (cap > UINT32_MAX)
			return -ENOMEM;
		s = realloc(m->names, cap);
		if (!s)
			return -ENOMEM;
		m->names = s;
		m->names_cap = cap;
	}
	memcpy(m->names + m->names_len, name, len);
	m->e[m->n++] = (struct path_entry){ .child = child, .parent = parent,
					    .name_off = (uint32_t)m->names_len,
					    .name_len = (uint32_t)len };
	m->names_len += len;
	return 0;
}

static int pm_cmp(const void *pa, const void *pb)
{
	const struct path_entry *a = pa, *b = pb;

	if (a->child != b->child)
		return a->child < b->child ? -1 : 1;
	/* Names are appended in the order they are found: keep that order. */
	return a->name_off < b->name_off ? -1 : a->name_off > b->name_off;
}

void pm_finish(struct path_map *m)
{
	size_t out = 0;

	if (!m->n)
		return;
	qsort(m->e, m->n, sizeof(*m->e), pm_cmp);
	for (size_t i = 0; i < m->n; i++)
		if (!out || m->e[out - 1].child != m->e[i].child)
			m->e[out++] = m->e[i];
	m->n = out;
}

const struct path_entry *pm_find(const struct path_map *m, uint32_t child)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->e[mid].child < child)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->n && m->e[lo].child == child ? &m->e[lo] : NULL;
}

void pm_free(struct path_map *m)
{
	free(m->e);
	free(m->names);
	memset(m, 0, sizeof(*m));
}
