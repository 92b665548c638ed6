/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <storm/scsi.h>
#include <string.h>

#include "util/bytes.h"

static storm_cdb_info decode_ok(const uint8_t *cdb, size_t len)
{
	storm_cdb_info info;

	cr_assert_eq(storm_cdb_decode(cdb, len, &info), 0, "opcode %02x len %zu", cdb[0], len);
	cr_assert_eq(info.opcode, cdb[0]);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(info.reserved_[i], 0);
	return info;
}

/* A 16-byte buffer (the CDB field of a SCSI Command BHS) holding a CDB with
 * LBA and length where its layout puts them. */
static void cdb10(uint8_t *c, uint8_t op, uint32_t lba, uint16_t blocks)
{
	memset(c, 0, 16);
	c[0] = op;
	put_be32(c + 2, lba);
	put_be16(c + 7, blocks);
}

static void cdb12(uint8_t *c, uint8_t op, uint32_t lba, uint32_t blocks)
{
	memset(c, 0, 16);
	c[0] = op;
	put_be32(c + 2, lba);
	put_be32(c + 6, blocks);
}

static void cdb16(uint8_t *c, uint8_t op, uint64_t lba, uint32_t blocks)
{
	memset(c, 0, 16);
	c[0] = op;
	put_be64(c + 2, lba);
	put_be32(c + 10, blocks);
}

static void expect_blocks(const uint8_t *c, size_t len, storm_io_op op, uint64_t lba,
			  uint32_t blocks)
{
	storm_cdb_info info = decode_ok(c, len);

	cr_expect_eq(info.op, op, "opcode %02x", c[0]);
	cr_expect(info.addresses_blocks, "opcode %02x", c[0]);
	cr_expect_eq(info.lba, lba, "opcode %02x", c[0]);
	cr_expect_eq(info.blocks, blocks, "opcode %02x", c[0]);
	cr_expect_not(info.read_capacity);
	cr_expect_eq(info.param_len, 0);
}

static void expect_short_rejected(const uint8_t *c, size_t need)
{
	storm_cdb_info info;

	for (size_t len = 0; len < need; len++) {
		memset(&info, 0xa5, sizeof(info));
		cr_expect_eq(storm_cdb_decode(c, len, &info), STORM_ERR_FORMAT,
			     "opcode %02x len %zu", c[0], len);
		cr_expect_eq(info.reserved_[0], 0, "out not zeroed");
	}
}

Test(cdb, rw6)
{
	uint8_t c[6] = {STORM_SCSI_READ6, 0x12, 0x34, 0x56, 0x08, 0};

	expect_blocks(c, 6, STORM_IO_READ, 0x123456, 8);
	c[0] = STORM_SCSI_WRITE6;
	expect_blocks(c, 6, STORM_IO_WRITE, 0x123456, 8);
	expect_short_rejected(c, 6);
}

Test(cdb, rw6_lba_is_21_bits)
{
	/* The top three bits of byte 1 were the LUN in SCSI-2 (SBC-3 §5.8). */
	uint8_t c[6] = {STORM_SCSI_READ6, 0xff, 0xff, 0xff, 1, 0};

	expect_blocks(c, 6, STORM_IO_READ, 0x1fffff, 1);
	c[1] = 0xe0;
	c[2] = c[3] = 0;
	expect_blocks(c, 6, STORM_IO_READ, 0, 1);
}

Test(cdb, rw6_zero_length_is_256)
{
	uint8_t c[6] = {STORM_SCSI_WRITE6, 0, 0, 1, 0, 0};

	expect_blocks(c, 6, STORM_IO_WRITE, 1, 256);
	c[4] = 0xff;
	expect_blocks(c, 6, STORM_IO_WRITE, 1, 255);
}

Test(cdb, ten_byte_commands)
{
	static const struct {
		uint8_t op;
		storm_io_op io;
	} cases[] = {
		{STORM_SCSI_READ10, STORM_IO_READ},
		{STORM_SCSI_WRITE10, STORM_IO_WRITE},
		{STORM_SCSI_WRITE_VERIFY10, STORM_IO_WRITE},
		{STORM_SCSI_VERIFY10, STORM_IO_VERIFY},
		{STORM_SCSI_SYNC_CACHE10, STORM_IO_SYNC},
		{STORM_SCSI_WRITE_SAME10, STORM_IO_WRITE_SAME},
	};
	uint8_t c[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cdb10(c, cases[i].op, 0xfedcba98u, 0x1234);
		expect_blocks(c, 10, cases[i].io, 0xfedcba98u, 0x1234);
		expect_blocks(c, 16, cases[i].io, 0xfedcba98u, 0x1234);
		cdb10(c, cases[i].op, 0xffffffffu, 0xffff);
		expect_blocks(c, 10, cases[i].io, 0xffffffffu, 0xffff);
		/* 0 stays 0: no blocks for READ/WRITE (10), "to the end" for SYNC */
		cdb10(c, cases[i].op, 7, 0);
		expect_blocks(c, 10, cases[i].io, 7, 0);
		expect_short_rejected(c, 10);
	}
}

Test(cdb, twelve_byte_commands)
{
	static const struct {
		uint8_t op;
		storm_io_op io;
	} cases[] = {
		{STORM_SCSI_READ12, STORM_IO_READ},
		{STORM_SCSI_WRITE12, STORM_IO_WRITE},
		{STORM_SCSI_WRITE_VERIFY12, STORM_IO_WRITE},
		{STORM_SCSI_VERIFY12, STORM_IO_VERIFY},
	};
	uint8_t c[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cdb12(c, cases[i].op, 0x01020304u, 0xa0b0c0d0u);
		expect_blocks(c, 12, cases[i].io, 0x01020304u, 0xa0b0c0d0u);
		cdb12(c, cases[i].op, 0xffffffffu, 0xffffffffu);
		expect_blocks(c, 12, cases[i].io, 0xffffffffu, 0xffffffffu);
		expect_short_rejected(c, 12);
	}
}

Test(cdb, sixteen_byte_commands)
{
	static const struct {
		uint8_t op;
		storm_io_op io;
	} cases[] = {
		{STORM_SCSI_READ16, STORM_IO_READ},
		{STORM_SCSI_WRITE16, STORM_IO_WRITE},
		{STORM_SCSI_WRITE_VERIFY16, STORM_IO_WRITE},
		{STORM_SCSI_VERIFY16, STORM_IO_VERIFY},
		{STORM_SCSI_SYNC_CACHE16, STORM_IO_SYNC},
		{STORM_SCSI_WRITE_SAME16, STORM_IO_WRITE_SAME},
	};
	uint8_t c[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cdb16(c, cases[i].op, 0x0102030405060708ull, 0x11223344u);
		expect_blocks(c, 16, cases[i].io, 0x0102030405060708ull, 0x11223344u);
		cdb16(c, cases[i].op, UINT64_MAX, UINT32_MAX);
		expect_blocks(c, 16, cases[i].io, UINT64_MAX, UINT32_MAX);
		cdb16(c, cases[i].op, 0, 0);
		expect_blocks(c, 16, cases[i].io, 0, 0);
		expect_short_rejected(c, 16);
	}
}

Test(cdb, compare_and_write)
{
	uint8_t c[16];

	/* SBC-3 §5.2: NUMBER OF LOGICAL BLOCKS is the single byte 13; bytes
	 * 10-12 are reserved and must not leak into the count. */
	cdb16(c, STORM_SCSI_COMPARE_AND_WRITE, UINT64_MAX, 0xffffff01u);
	expect_blocks(c, 16, STORM_IO_COMPARE_AND_WRITE, UINT64_MAX, 1);
	c[13] = 0xff;
	expect_blocks(c, 16, STORM_IO_COMPARE_AND_WRITE, UINT64_MAX, 255);
	expect_short_rejected(c, 16);
}

Test(cdb, unmap)
{
	uint8_t c[16] = {STORM_SCSI_UNMAP, 0, 0, 0, 0, 0, 0, 0x01, 0x18, 0};
	storm_cdb_info info = decode_ok(c, 10);

	cr_expect_eq(info.op, STORM_IO_UNMAP);
	cr_expect_not(info.addresses_blocks);
	cr_expect_eq(info.param_len, 0x118);
	cr_expect_eq(info.lba, 0);
	cr_expect_eq(info.blocks, 0);
	expect_short_rejected(c, 10);
}

Test(cdb, read_capacity10)
{
	uint8_t c[16] = {STORM_SCSI_READ_CAPACITY10};
	storm_cdb_info info = decode_ok(c, 10);

	cr_expect_eq(info.op, STORM_IO_OTHER);
	cr_expect_not(info.addresses_blocks);
	cr_expect(info.read_capacity);
	expect_short_rejected(c, 10);
}

Test(cdb, read_capacity16)
{
	uint8_t c[16] = {STORM_SCSI_SERVICE_ACTION_IN16, 0x10};
	storm_cdb_info info = decode_ok(c, 16);

	cr_expect_eq(info.op, STORM_IO_OTHER);
	cr_expect_not(info.addresses_blocks);
	cr_expect(info.read_capacity);
	/* the service action is the low five bits of byte 1 */
	c[1] = 0xf0;
	info = decode_ok(c, 16);
	cr_expect(info.read_capacity);
	expect_short_rejected(c, 16);
}

Test(cdb, other_service_action_in16)
{
	/* GET LBA STATUS is service action 0x12 of the same opcode. */
	uint8_t c[16] = {STORM_SCSI_SERVICE_ACTION_IN16, 0x12};
	storm_cdb_info info = decode_ok(c, 16);

	cr_expect_eq(info.op, STORM_IO_OTHER);
	cr_expect_not(info.read_capacity);
	cr_expect_not(info.addresses_blocks);
}

Test(cdb, unknown_and_non_block_opcodes)
{
	static const uint8_t ops[] = {STORM_SCSI_TEST_UNIT_READY, STORM_SCSI_INQUIRY, 0x1a,
				      0xa0, 0xff};
	uint8_t c[16];

	for (size_t i = 0; i < sizeof(ops); i++) {
		storm_cdb_info info;

		memset(c, 0xff, sizeof(c));
		c[0] = ops[i];
		info = decode_ok(c, 6);
		cr_expect_eq(info.op, STORM_IO_OTHER, "opcode %02x", ops[i]);
		cr_expect_not(info.addresses_blocks, "opcode %02x", ops[i]);
		cr_expect_not(info.read_capacity);
		cr_expect_eq(info.lba, 0);
		cr_expect_eq(info.blocks, 0);
		info = decode_ok(c, 1);
		cr_expect_eq(info.op, STORM_IO_OTHER);
	}
}

Test(cdb, bad_arguments)
{
	storm_cdb_info info;

	cr_expect_eq(storm_cdb_decode(NULL, 0, &info), STORM_ERR_FORMAT);
	cr_expect_eq(storm_cdb_decode((const uint8_t *)"\x28", 1, NULL), -EINVAL);
}

Test(cdb, op_names)
{
	cr_expect_str_eq(storm_io_op_name(STORM_IO_OTHER), "other");
	cr_expect_str_eq(storm_io_op_name(STORM_IO_READ), "read");
	cr_expect_str_eq(storm_io_op_name(STORM_IO_WRITE), "write");
	cr_expect_str_eq(storm_io_op_name(STORM_IO_WRITE_SAME), "write_same");
	cr_expect_str_eq(storm_io_op_name(STORM_IO_UNMAP), "unmap");
	cr_expect_str_eq(storm_io_op_name(STORM_IO_COMPARE_AND_WRITE), "compare_and_write");
	cr_expect_str_eq(storm_io_op_name(STORM_IO_VERIFY), "verify");
	cr_expect_str_eq(storm_io_op_name(STORM_IO_SYNC), "sync");
	cr_expect_str_eq(storm_io_op_name(STORM_IO_OP_COUNT), "other");
	cr_expect_str_eq(storm_io_op_name((storm_io_op)-1), "other");
	cr_expect_str_eq(storm_io_op_name((storm_io_op)1000), "other");
}
