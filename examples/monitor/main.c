/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storm-monitor: a file-level access log of iSCSI traffic.  Offline: the ext4
 * view of the volume as it was when the capture started, following the
 * capture's writes, reports the file operations they amount to. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"
#include "num.h"

enum { EXIT_USAGE = 1, EXIT_INPUT = 2, EXIT_INTERNAL = 3 };

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: storm-monitor --image BEFORE.img --pcap CAPTURE [OPTIONS]\n"
		"       storm-monitor --image NOW.img --listen ADDR:PORT --upstream ADDR:PORT [OPTIONS]\n"
		"Report the file-level operations in the iSCSI traffic of a capture, or live as\n"
		"a relay between initiators and their target, as JSON Lines.\n\n"
		"  -i, --image FILE|URL  the ext2/3/4 volume as it was when the capture started\n"
		"                    (an image file or a block device, opened read-only); live, also\n"
		"                    iscsi://HOST[:PORT]/TARGET-IQN/LUN: the LUN read over a\n"
		"                    read-only iSCSI session of the monitor's own (libiscsi)\n"
		"  -r, --pcap FILE   the capture (pcap or pcapng)\n"
		"      --listen ADDR:PORT    live: accept initiators here ([v6]:port too)\n"
		"      --upstream ADDR:PORT  live: the target; --image is then the volume as it\n"
		"                    is now (before the initiator logs in), e.g. the target's backing file\n"
		"      --watch GLOB  report only operations whose path (or new path) matches\n"
		"                    GLOB (fnmatch(3), '*' crosses '/'); repeatable\n"
		"      --alert       with --watch: report everything, and matching operations\n"
		"                    as alert lines ({\"alert\":GLOB,...})\n"
		"      --deny-write GLOB  live: refuse WRITEs to data of files matching GLOB with\n"
		"                    CHECK CONDITION (DATA PROTECT, WRITE PROTECTED) instead of\n"
		"                    forwarding them; reported as write lines with \"denied\":GLOB.\n"
		"                    The relay renumbers CmdSN/StatSN from then on, so the session\n"
		"                    goes on; data not yet placed (delayed allocation) has no\n"
		"                    owner and cannot be matched\n"
		"  -p, --port N      also decode TCP port N as iSCSI (repeatable; 3260 always)\n"
		"  -l, --lun N       follow LUN N (default: the first LUN doing I/O)\n"
		"      --reads       also report reads of file data\n"
		"  -q, --quiet       no summary on stderr\n"
		"  -h, --help        this text\n"
		"  -V, --version     the libstorm version\n\n"
		"One line per file operation the writes (and, with --reads, the reads) of the\n"
		"capture amount to, as the ext4 view of the volume follows its metadata: the\n"
		"jbd2 journal (a transaction counts when its commit block is written), inode\n"
		"tables, directories (htree too) and extent trees.\n"
		"  {\"ts\":S,\"lun\":N,\"op\":\"create\",\"path\":\"/a\",\"inode\":I}\n"
		"  ops: create mkdir symlink link unlink rmdir rename (with \"to\"), truncate\n"
		"  (with \"size\"), setattr (\"mode\", \"uid\", \"gid\"), write and read (\"offset\",\n"
		"  \"length\" in bytes of the file).\n"
		"Data written to blocks no file owned yet (delayed allocation) is reported when\n"
		"the transaction that allocates the blocks commits, with the write's ts.  What\n"
		"no transaction claimed by the end is reported as a write with \"path\": null,\n"
		"\"inode\": 0 and \"volume_offset\".  Consecutive blocks of one file in one\n"
		"I/O are one line.  The LUN block size is learned from READ CAPACITY in the\n"
		"capture (512 until seen).\n\n"
		"Exit status: 0 success, 1 bad usage, 2 unreadable image or capture, or an\n"
		"unsupported file system (lines already printed stay valid), 3 out of memory.\n");
}

static void summary(const struct monitor *m)
{
	const struct mon_stats *s = &m->st;
	storm_view_stats vs;
	storm_view_stats_get(m->view, &vs);
	fprintf(stderr,
		"storm-monitor: %" PRIu64 " writes (%" PRIu64 " without their bytes) and %" PRIu64
		" reads followed, %" PRIu64 " not good, %" PRIu64 " of other LUNs; %" PRIu64
		" operations printed, %" PRIu64 " writes denied\n"
		"storm-monitor: view: %" PRIu64 " journal transactions (%" PRIu64 " blocks, %" PRIu64
		" skipped), %" PRIu64 " in-place metadata blocks, %" PRIu64 " inode changes, %" PRIu64
		" directory blocks, %" PRIu64 " blocks corrected by bitmaps, %" PRIu64 " malformed, %" PRIu64
		" missed; %" PRIu64 " metadata blocks read from the volume, %" PRIu64 " inode-table reads cached\n",
		s->writes, s->blind, s->reads, s->failed, s->other_lun, s->lines, s->denied,
		vs.transactions,
		vs.journal_blocks, vs.journal_skipped, vs.direct_writes, vs.inodes_changed,
		vs.dir_blocks, vs.bitmap_blocks, vs.malformed, vs.missed, vs.source_reads, vs.source_cached);
}

int main(int argc, char **argv)
{
	enum { OPT_READS = 256, OPT_LISTEN, OPT_UPSTREAM, OPT_WATCH, OPT_ALERT, OPT_DENY };
	static const struct option longopts[] = {
		{"image", required_argument, NULL, 'i'},
		{"pcap", required_argument, NULL, 'r'},
		{"port", required_argument, NULL, 'p'},
		{"lun", required_argument, NULL, 'l'},
		{"reads", no_argument, NULL, OPT_READS},
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"upstream", required_argument, NULL, OPT_UPSTREAM},
		{"watch", required_argument, NULL, OPT_WATCH},
		{"alert", no_argument, NULL, OPT_ALERT},
		{"deny-write", required_argument, NULL, OPT_DENY},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct monitor m = {0};
	const char *image = NULL, *pcap = NULL, *listen = NULL, *upstream = NULL;
	uint16_t ports[64];
	int nports = 0, c;
	bool quiet = false;
	uint64_t v;
	while ((c = getopt_long(argc, argv, "i:r:p:l:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': image = optarg; break;
		case 'r': pcap = optarg; break;
		case 'p':
			if (nports == 63 || tool_parse_u64(optarg, 65535, &v) || v == 0) {
				fprintf(stderr, "storm-monitor: bad or too many ports: %s\n", optarg);
				return EXIT_USAGE;
			}
			ports[nports++] = (uint16_t)v;
			break;
		case 'l':
			if (tool_parse_u64(optarg, UINT64_MAX, &m.opts.lun)) {
				fprintf(stderr, "storm-monitor: bad LUN: %s\n", optarg);
				return EXIT_USAGE;
			}
			m.opts.one_lun = true;
			m.lun_known = true;
			break;
		case OPT_READS: m.opts.reads = true; break;
		case OPT_LISTEN: listen = optarg; break;
		case OPT_UPSTREAM: upstream = optarg; break;
		case OPT_WATCH:
			if (m.opts.nwatch == MON_MAX_WATCH) {
				fprintf(stderr, "storm-monitor: at most %d --watch globs\n", MON_MAX_WATCH);
				return EXIT_USAGE;
			}
			m.opts.watch[m.opts.nwatch++] = optarg;
			break;
		case OPT_ALERT: m.opts.alert = true; break;
		case OPT_DENY:
			if (m.opts.ndeny == MON_MAX_WATCH) {
				fprintf(stderr, "storm-monitor: at most %d --deny-write globs\n", MON_MAX_WATCH);
				return EXIT_USAGE;
			}
			m.opts.deny[m.opts.ndeny++] = optarg;
			break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return EXIT_SUCCESS;
		case 'V': printf("storm-monitor %s\n", storm_version_string()); return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try 'storm-monitor --help'.\n");
			return EXIT_USAGE;
		}
	}
	bool live = listen || upstream;
	const char *why = optind != argc           ? "unexpected argument"
			  : !image                 ? "--image is required"
			  : live && pcap           ? "--pcap or --listen/--upstream, not both"
			  : live && !(listen && upstream) ? "--listen and --upstream go together"
			  : !live && !pcap         ? "--pcap, or --listen and --upstream, is required"
			  : m.opts.alert && !m.opts.nwatch ? "--alert needs --watch"
			  : m.opts.ndeny && !live  ? "--deny-write works live only"
						   : NULL;
	if (why) {
		fprintf(stderr, "storm-monitor: %s\nTry 'storm-monitor --help'.\n", why);
		return EXIT_USAGE;
	}

	struct mon_source src;
	int rc = mon_open_view(&m, image, &src);
	if (rc)
		return rc == -ENOMEM ? EXIT_INTERNAL : EXIT_INPUT;

	static char outbuf[1 << 20];
	/* Live lines are wanted as they happen. */
	setvbuf(stdout, outbuf, live ? _IOLBF : _IOFBF, sizeof outbuf);
	rc = live ? mon_run_live(&m, listen, upstream) : mon_run_capture(&m, pcap, ports, nports);
	if (rc == 0 || rc != -ENOMEM)
		storm_view_flush(m.view);
	fflush(stdout);
	if (!quiet)
		summary(&m);
	storm_view_del(m.view);
	mon_source_close(&src);
	if (rc == 0)
		return ferror(stdout) ? EXIT_INTERNAL : EXIT_SUCCESS;
	return rc == -ENOMEM ? EXIT_INTERNAL : EXIT_INPUT;
}
