/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Block I/O events: one JSON object per completed task, with the SHA-256 of
 * the data bytes it transferred.  Data is hashed as it streams past; a task whose
 * data arrives out of offset order gets no hash ("unordered": true) rather
 * than a wrong one. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include "events.h"
#include "json.h"

struct task_hash {
	EVP_MD_CTX *md;
	uint64_t next[2];  /* next expected offset per direction */
	bool unordered;
};

int ev_start(storm_io *io)
{
	struct task_hash *h = calloc(1, sizeof *h);
	if (!h)
		return -ENOMEM;
	h->md = EVP_MD_CTX_new();
	if (!h->md || !EVP_DigestInit_ex(h->md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(h->md);
		free(h);
		return -ENOMEM;
	}
	storm_io_set_user(io, h);
	return 0;
}

void ev_data(storm_io *io, storm_dir d, uint64_t off, const uint8_t *data, size_t len)
{
	struct task_hash *h = storm_io_user(io);
	if (!h || h->unordered)
		return;
	if (off != h->next[d]) {
		h->unordered = true;
		return;
	}
	h->next[d] += len;
	EVP_DigestUpdate(h->md, data, len);
}

static const char *end_name(storm_io_end e)
{
	switch (e) {
	case STORM_END_ABORTED: return "aborted";
	case STORM_END_REJECTED: return "rejected";
	case STORM_END_LOST: return "lost";
	default: return "status";
	}
}

static void put_hash(json_line *j, struct task_hash *h)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	static const char digits[] = "0123456789abcdef";
	if (!EVP_DigestFinal_ex(h->md, md, &n))
		return;
	for (unsigned i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * n] = '\0';
	jl_str(j, "sha256", hex);
}

static void put_status(json_line *j, storm_io *io)
{
	storm_io_end e = storm_io_end_reason(io);
	if (e != STORM_END_STATUS) {
		jl_str(j, "end", end_name(e));
		return;
	}
	jl_u64(j, "status", storm_io_status(io));
	if (storm_io_response(io))
		jl_u64(j, "response", storm_io_response(io));
	size_t slen;
	const uint8_t *sense = storm_io_sense(io, &slen);
	storm_sense sd;
	if (sense && storm_sense_decode(sense, slen, &sd) == 0) {
		jl_u64(j, "sense_key", sd.key);
		jl_u64(j, "asc", sd.asc);
		jl_u64(j, "ascq", sd.ascq);
	}
	if (storm_io_residual(io))
		jl_i64(j, "residual", storm_io_residual(io));
}

static void put_event(const char *flow, double ts, storm_io *io, uint64_t lba, uint32_t blocks,
		      struct task_hash *h, bool with_data)
{
	json_line j;
	jl_begin(&j);
	jl_str(&j, "flow", flow);
	jl_double(&j, "ts", ts);
	jl_u64(&j, "itt", storm_io_itt(io));
	jl_u64(&j, "lun", storm_io_lun(io));
	jl_str(&j, "op", storm_io_op_name(storm_io_operation(io)));
	jl_u64(&j, "cdb_op", storm_io_cdb_opcode(io));
	jl_u64(&j, "lba", lba);
	jl_u64(&j, "blocks", blocks);
	jl_u64(&j, "block_size", storm_io_block_size(io));
	put_status(&j, io);
	jl_u64(&j, "bytes", with_data ? storm_io_bytes(io) : 0);
	if (storm_io_lost(io))
		jl_u64(&j, "lost", storm_io_lost(io));
	if (with_data && h && storm_io_bytes(io) > 0) {
		if (h->unordered)
			jl_bool(&j, "unordered", true);
		else
			put_hash(&j, h);
	}
	jl_end(&j);
}

/* UNMAP moves no block data: each range is its own event, without bytes. */
static void put_unmap(const char *flow, double ts, storm_io *io)
{
	unsigned n = storm_io_unmap_count(io);
	for (unsigned i = 0; i < n; i++) {
		uint64_t lba;
		uint32_t blocks;
		if (storm_io_unmap_range(io, i, &lba, &blocks) == 0)
			put_event(flow, ts, io, lba, blocks, NULL, false);
	}
	if (n == 0)
		put_event(flow, ts, io, 0, 0, NULL, false);
}

void ev_done(const char *flow, double ts, storm_io *io)
{
	struct task_hash *h = storm_io_user(io);
	if (storm_io_operation(io) == STORM_IO_UNMAP)
		put_unmap(flow, ts, io);
	else
		put_event(flow, ts, io, storm_io_lba(io), storm_io_blocks(io), h, true);
	if (h) {
		EVP_MD_CTX_free(h->md);
		free(h);
		storm_io_set_user(io, NULL);
	}
}
