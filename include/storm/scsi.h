/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file storm/scsi.h
 * @brief Decoding of the SCSI block commands (SBC) that carry storage I/O,
 *        of their sense data, and of READ CAPACITY and UNMAP payloads.
 *
 * Pure functions on caller memory: no allocation, no state.
 */
#ifndef STORM_SCSI_H
#define STORM_SCSI_H

#include <stdbool.h>
#include <storm/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What a command does to the blocks of a logical unit. */
typedef enum storm_io_op {
	STORM_IO_OTHER = 0,       /**< addresses no blocks (INQUIRY, TEST UNIT READY, …) */
	STORM_IO_READ,            /**< READ 6/10/12/16 */
	STORM_IO_WRITE,           /**< WRITE 6/10/12/16, WRITE AND VERIFY 10/12/16 */
	STORM_IO_WRITE_SAME,      /**< WRITE SAME 10/16 */
	STORM_IO_UNMAP,           /**< UNMAP (ranges in the parameter list) */
	STORM_IO_COMPARE_AND_WRITE,
	STORM_IO_VERIFY,          /**< VERIFY 10/12/16 */
	STORM_IO_SYNC,            /**< SYNCHRONIZE CACHE 10/16 */
	STORM_IO_OP_COUNT
} storm_io_op;

/** Names an operation: "read", "write", "write_same", "unmap", … */
STORM_EXTERN const char *storm_io_op_name(storm_io_op op);

/** SCSI operation codes libstorm decodes (SBC-3). */
enum storm_scsi_opcode {
	STORM_SCSI_TEST_UNIT_READY = 0x00,
	STORM_SCSI_READ6 = 0x08,
	STORM_SCSI_WRITE6 = 0x0a,
	STORM_SCSI_INQUIRY = 0x12,
	STORM_SCSI_READ_CAPACITY10 = 0x25,
	STORM_SCSI_READ10 = 0x28,
	STORM_SCSI_WRITE10 = 0x2a,
	STORM_SCSI_WRITE_VERIFY10 = 0x2e,
	STORM_SCSI_VERIFY10 = 0x2f,
	STORM_SCSI_SYNC_CACHE10 = 0x35,
	STORM_SCSI_WRITE_SAME10 = 0x41,
	STORM_SCSI_UNMAP = 0x42,
	STORM_SCSI_READ16 = 0x88,
	STORM_SCSI_COMPARE_AND_WRITE = 0x89,
	STORM_SCSI_WRITE16 = 0x8a,
	STORM_SCSI_WRITE_VERIFY16 = 0x8e,
	STORM_SCSI_VERIFY16 = 0x8f,
	STORM_SCSI_SYNC_CACHE16 = 0x91,
	STORM_SCSI_WRITE_SAME16 = 0x93,
	STORM_SCSI_SERVICE_ACTION_IN16 = 0x9e, /**< READ CAPACITY 16 is service action 0x10 */
	STORM_SCSI_READ12 = 0xa8,
	STORM_SCSI_WRITE12 = 0xaa,
	STORM_SCSI_WRITE_VERIFY12 = 0xae,
	STORM_SCSI_VERIFY12 = 0xaf
};

/** What a CDB addresses. */
typedef struct storm_cdb_info {
	storm_io_op op;      /**< the block operation */
	uint8_t opcode;      /**< CDB byte 0 */
	bool addresses_blocks; /**< whether lba/blocks are meaningful */
	uint64_t lba;        /**< first logical block */
	uint32_t blocks;     /**< number of blocks (0 may mean 256 for READ/WRITE 6, resolved here) */
	bool read_capacity;  /**< READ CAPACITY 10 or 16: the response carries the block size */
	uint16_t param_len;  /**< UNMAP parameter list length */
	uint32_t reserved_[4]; /**< room to grow without breaking the ABI; zeroed */
} storm_cdb_info;

/**
 * Decodes a CDB.  Unknown commands decode as STORM_IO_OTHER.
 * @return 0, or STORM_ERR_FORMAT when @p len is too short for its opcode.
 */
STORM_EXTERN int storm_cdb_decode(const uint8_t *cdb, size_t len, storm_cdb_info *out);

/** Sense data reduced to what a program acts on (SPC-4 §4.5). */
typedef struct storm_sense {
	uint8_t response_code; /**< 0x70/0x71 fixed, 0x72/0x73 descriptor */
	uint8_t key;           /**< sense key (5 = ILLEGAL REQUEST, 7 = DATA PROTECT, …) */
	uint8_t asc;           /**< additional sense code */
	uint8_t ascq;          /**< additional sense code qualifier */
	uint8_t reserved_[12]; /**< room to grow without breaking the ABI; zeroed */
} storm_sense;

/**
 * Decodes sense data (fixed or descriptor format), as it follows the 2-byte
 * SenseLength in a SCSI Response data segment.
 * @return 0, or STORM_ERR_FORMAT when too short or of an unknown format.
 */
STORM_EXTERN int storm_sense_decode(const uint8_t *sense, size_t len, storm_sense *out);

/**
 * Reads the block size from a READ CAPACITY 10 (8 bytes) or 16 (≥ 12 bytes)
 * response.  @return 0 and sets @p block_size, or STORM_ERR_FORMAT.
 */
STORM_EXTERN int storm_read_capacity_block_size(uint8_t cdb_opcode, const uint8_t *data,
						size_t len, uint32_t *block_size);

/**
 * Counts the complete block descriptors of an UNMAP parameter list of
 * @p len bytes (SBC-3 §5.28.2): header length fields are checked against @p len.
 * @return the count (0 or more), or STORM_ERR_FORMAT.
 */
STORM_EXTERN int storm_unmap_count(const uint8_t *param, size_t len);

/**
 * Reads descriptor @p i of an UNMAP parameter list already checked by
 * storm_unmap_count().  @return 0, or -ENOENT past the end.
 */
STORM_EXTERN int storm_unmap_range(const uint8_t *param, size_t len, unsigned i,
				   uint64_t *lba, uint32_t *blocks);

/**
 * Decodes the first level of an 8-byte LUN field (SAM-5 §4.7): peripheral
 * device addressing on bus 0 and flat space addressing give the LUN number;
 * other methods return @p raw unchanged.
 */
STORM_EXTERN uint64_t storm_lun_decode(uint64_t raw);

#ifdef __cplusplus
}
#endif
#endif
