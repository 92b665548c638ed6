/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storm-monitor: a file-level access log of iSCSI traffic.  Offline: the ext4
 * view of the volume as it was when the capture started, and the block I/O of
 * the capture mapped to files through it. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"

enum { EXIT_USAGE = 1, EXIT_INPUT = 2, EXIT_INTERNAL = 3 };

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: storm-monitor --image BEFORE.img --pcap CAPTURE [OPTIONS]\n"
		"Report the file-level operations in the iSCSI traffic of a capture, as JSON Lines.\n\n"
		"  -i, --image FILE  the ext2/3/4 volume as it was when the capture started\n"
		"                    (an image file or a block device, opened read-only)\n"
		"  -r, --pcap FILE   the capture (pcap or pcapng)\n"
		"  -p, --port N      also decode TCP port N as iSCSI (repeatable; 3260 always)\n"
		"  -l, --lun N       map only the block I/O of LUN N (default: every LUN)\n"
		"      --reads       also report reads of file data\n"
		"  -q, --quiet       no summary on stderr\n"
		"  -h, --help        this text\n"
		"  -V, --version     the libstorm version\n\n"
		"Each completed WRITE (READ with --reads) with GOOD status is split by the\n"
		"file-system blocks it touches (sub-block I/O by byte), and each piece owned\n"
		"by one file is one line:\n"
		"  {\"ts\":S,\"lun\":N,\"op\":\"write\",\"path\":\"/a\",\"inode\":I,\"offset\":O,\"length\":L}\n"
		"Writes to metadata give one line per run of one kind within an I/O:\n"
		"  {\"ts\":S,\"lun\":N,\"op\":\"metadata\",\"kind\":\"inode-table\",\"inode\":I,\"block\":B,\"blocks\":C}\n"
		"Writes to blocks free in the image give\n"
		"  {\"ts\":S,\"lun\":N,\"op\":\"write\",\"path\":null,\"kind\":\"free\",\"block\":B,\"volume_offset\":V,\"length\":L}\n\n"
		"Limitations of this version: the view is a static snapshot of --image.  Data\n"
		"written to newly allocated blocks (new files, appends, delayed allocation)\n"
		"is reported as kind \"free\", and creates, renames, deletes and truncates are\n"
		"not reported yet: following the metadata writes (inode tables, directories,\n"
		"extent trees, the journal) to attribute them is a later version.  The LUN\n"
		"block size is learned from READ CAPACITY in the capture (512 until seen).\n\n"
		"Exit status: 0 success, 1 bad usage, 2 unreadable image or capture, or an\n"
		"unsupported file system (lines already printed stay valid), 3 out of memory.\n");
}

static int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno || x > max)
		return -1;
	*v = x;
	return 0;
}

/* Opens the view of @p image; prints why not.  @return 0 or an exit status. */
static int open_view(const char *image, storm_view **v)
{
	storm_blocksrc_file *f = NULL;
	int rc = storm_blocksrc_file_open(&f, image);
	if (rc == 0) {
		rc = storm_view_open_ext4(v, storm_blocksrc_file_read, f, storm_blocksrc_file_size(f));
		storm_blocksrc_file_close(f);
	}
	if (rc == 0)
		return 0;
	const char *why = storm_strerror(rc);
	if (rc == STORM_ERR_UNSUPPORTED)
		why = "the file system uses a feature this view does not support";
	else if (rc == -EUCLEAN)
		why = "no ext2/3/4 file system, or a corrupt one";
	fprintf(stderr, "storm-monitor: %s: %s\n", image, why);
	return rc == -ENOMEM ? EXIT_INTERNAL : EXIT_INPUT;
}

static void summary(const struct monitor *m)
{
	const struct mon_stats *s = &m->st;
	fprintf(stderr,
		"storm-monitor: %" PRIu64 " writes and %" PRIu64 " reads mapped (%" PRIu64
		" not good, skipped): %" PRIu64 " file lines, %" PRIu64 " free lines, %" PRIu64
		" metadata lines; %" PRIu64 " bytes past the file system\n",
		s->writes, s->reads, s->failed, s->file_lines, s->free_lines, s->meta_lines,
		s->outside_bytes);
}

int main(int argc, char **argv)
{
	enum { OPT_READS = 256 };
	static const struct option longopts[] = {
		{"image", required_argument, NULL, 'i'},
		{"pcap", required_argument, NULL, 'r'},
		{"port", required_argument, NULL, 'p'},
		{"lun", required_argument, NULL, 'l'},
		{"reads", no_argument, NULL, OPT_READS},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct monitor m = {0};
	const char *image = NULL, *pcap = NULL;
	uint16_t ports[64];
	int nports = 0, c;
	bool quiet = false;
	uint64_t v;
	while ((c = getopt_long(argc, argv, "i:r:p:l:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': image = optarg; break;
		case 'r': pcap = optarg; break;
		case 'p':
			if (nports == 63 || parse_u64(optarg, 65535, &v) || v == 0) {
				fprintf(stderr, "storm-monitor: bad or too many ports: %s\n", optarg);
				return EXIT_USAGE;
			}
			ports[nports++] = (uint16_t)v;
			break;
		case 'l':
			if (parse_u64(optarg, UINT64_MAX, &m.opts.lun)) {
				fprintf(stderr, "storm-monitor: bad LUN: %s\n", optarg);
				return EXIT_USAGE;
			}
			m.opts.one_lun = true;
			break;
		case OPT_READS: m.opts.reads = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return EXIT_SUCCESS;
		case 'V': printf("storm-monitor %s\n", storm_version_string()); return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try 'storm-monitor --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc || !image || !pcap) {
		fprintf(stderr, "storm-monitor: %s\nTry 'storm-monitor --help'.\n",
			optind != argc ? "unexpected argument" : "--image and --pcap are required");
		return EXIT_USAGE;
	}

	storm_view *view = NULL;
	int status = open_view(image, &view);
	if (status)
		return status;
	m.view = view;
	m.fs_bs = storm_view_block_size(view);
	m.fs_bytes = storm_view_block_count(view) * m.fs_bs;

	static char outbuf[1 << 20];
	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
	int rc = mon_run_capture(&m, pcap, ports, nports);
	fflush(stdout);
	if (!quiet)
		summary(&m);
	storm_view_del(view);
	if (rc == 0)
		return ferror(stdout) ? EXIT_INTERNAL : EXIT_SUCCESS;
	return rc == -ENOMEM ? EXIT_INTERNAL : EXIT_INPUT;
}
