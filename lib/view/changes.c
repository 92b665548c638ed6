/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The inodes a transaction changed: an array in the order they were found,
 * and an open-addressing index by inode number (one commit can change
 * thousands of inodes; every lookup stays O(1)).
 */
#include "view/track_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t slot_of(uint32_t ino, size_t mask)
{
	return (size_t)(ino * 2654435761u) & mask; /* Knuth's multiplicative hash */
}

/* Rebuilds the index with room for twice the changes. */
static int index_grow(struct txn *tx)
{
	size_t cap = tx->idx_cap ? tx->idx_cap * 2 : 256;

	while (cap < tx->chcap * 2)
		cap *= 2;
	uint32_t *idx = calloc(cap, sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < tx->nch; i++) {
		size_t s = slot_of(tx->ch[i].ino, cap - 1);

		while (idx[s])
			s = (s + 1) & (cap - 1);
		idx[s] = (uint32_t)i + 1;
	}
	free(tx->idx);
	tx->idx = idx;
	tx->idx_cap = cap;
	return 0;
}

struct ino_change *tx_change(struct txn *tx, uint32_t ino)
{
	if (!tx->idx_cap)
		return NULL;
	for (size_t s = slot_of(ino, tx->idx_cap - 1); tx->idx[s]; s = (s + 1) & (tx->idx_cap - 1))
		if (tx->ch[tx->idx[s] - 1].ino == ino)
			return &tx->ch[tx->idx[s] - 1];
	return NULL;
}

struct ino_change *tx_change_add(struct txn *tx, uint32_t ino)
{
	struct ino_change *c = tx_change(tx, ino);

	if (c)
		return c;
	if (tx->nch == tx->chcap) {
		size_t cap = tx->chcap ? tx->chcap * 2 : 64;
		struct ino_change *n = realloc(tx->ch, cap * sizeof(*n));

		if (!n)
			return NULL;
		tx->ch = n;
		tx->chcap = cap;
	}
	if ((tx->nch + 1) * 2 > tx->idx_cap && index_grow(tx))
		return NULL;
	c = &tx->ch[tx->nch];
	memset(c, 0, sizeof(*c));
	c->ino = ino;
	size_t s = slot_of(ino, tx->idx_cap - 1);

	while (tx->idx[s])
		s = (s + 1) & (tx->idx_cap - 1);
	tx->idx[s] = (uint32_t)++tx->nch;
	return c;
}

void tx_changes_reset(struct txn *tx)
{
	if (tx->idx_cap)
		memset(tx->idx, 0, tx->idx_cap * sizeof(*tx->idx));
	tx->nch = 0;
}
