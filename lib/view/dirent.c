/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Directory blocks as lists of names (directory.rst).  A linear walk of the
 * ext4_dir_entry_2 records covers every block of a directory: an htree root
 * hides its index inside the rec_len of "..", interior nodes are one empty
 * record spanning the block, and the metadata_csum tail is an empty record of
 * 12 bytes.  A record that fails a length check ends the block (counted).
 */
#include "view/track_int.h"
#include "util/bytes.h"
#include "util/grow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int dent_push(struct dent_list *l, const struct dent *d)
{
	struct dent *e = grow(l->e, &l->cap, l->n, sizeof(*e), 64);

	if (!e)
		return -ENOMEM;
	l->e = e;
	l->e[l->n++] = *d;
	return 0;
}

static bool dot_or_dotdot(const uint8_t *name, unsigned len)
{
	return (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
}

/* e2fsck's rule: no NUL and no '/' in a name. */
static bool legal_name(const uint8_t *name, unsigned len)
{
	return !memchr(name, '\0', len) && !memchr(name, '/', len);
}

int dent_parse(struct track *t, const uint8_t *blk, uint32_t parent, struct dent_list *out)
{
	uint32_t bs = t->bs;

	for (uint32_t pos = 0; pos + 8 <= bs;) {
		const uint8_t *r = blk + pos;
		uint32_t ino = get_le32(r);
		uint32_t rec = get_le16(r + 4);
		unsigned len = r[6];

		if (rec == 0 || (rec == 65535 && bs == 65536))
			rec = bs - pos; /* 64 KiB blocks encode a whole block so */
		if (rec < 8 || rec % 4 || rec > bs - pos || 8u + len > rec) {
			t->st.malformed++;
			return 0;
		}
		if (ino && len && !dot_or_dotdot(r + 8, len)) {
			struct dent d = { .parent = parent, .ino = ino, .len = (uint8_t)len,
					  .ftype = r[7] };
			int rc;

			if (ino > t->inodes_count || !legal_name(r + 8, len)) {
				t->st.malformed++;
			} else {
				memcpy(d.name, r + 8, len);
				rc = dent_push(out, &d);
				if (rc)
					return rc;
			}
		}
		pos += rec;
	}
	return 0;
}

int dent_cmp(const struct dent *a, const struct dent *b)
{
	if (a->parent != b->parent)
		return a->parent < b->parent ? -1 : 1;
	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->name, b->name, a->len);
}

static int dent_qcmp(const void *a, const void *b)
{
	return dent_cmp(a, b);
}

void dent_sort(struct dent_list *l)
{
	if (l->n > 1)
		qsort(l->e, l->n, sizeof(*l->e), dent_qcmp);
}

void dent_free(struct dent_list *l)
{
	free(l->e);
	*l = (struct dent_list){ 0 };
}
