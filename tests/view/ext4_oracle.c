/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ext4_oracle.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tool_mkfs[256], tool_debugfs[256], tool_dumpe2fs[256], tool_e2fsck[256];

static bool find_tool(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", d, name);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

bool oracle_tools(void)
{
	return find_tool("mkfs.ext4", tool_mkfs, sizeof(tool_mkfs)) &&
	       find_tool("debugfs", tool_debugfs, sizeof(tool_debugfs)) &&
	       find_tool("dumpe2fs", tool_dumpe2fs, sizeof(tool_dumpe2fs)) &&
	       find_tool("e2fsck", tool_e2fsck, sizeof(tool_e2fsck));
}

int oracle_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static char *capture(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);

	cr_assert(p && out, "cannot run %s", cmd);
	for (;;) {
		size_t n = fread(out + len, 1, cap - len - 1, p);

		len += n;
		if (n == 0)
			break;
		if (cap - len < 4096) {
			cap *= 2;
			out = realloc(out, cap);
			cr_assert(out);
		}
	}
	out[len] = '\0';
	pclose(p);
	return out;
}

void image_make(struct image *im, const char *opts, const char *size)
{
	strcpy(im->dir, "/tmp/storm-view-XXXXXX");
	cr_assert(mkdtemp(im->dir), "mkdtemp");
	snprintf(im->path, sizeof(im->path), "%s/img", im->dir);
	cr_assert_eq(oracle_sh("'%s' -q -F %s '%s' %s", tool_mkfs, opts, im->path, size), 0,
		     "mkfs.ext4 %s failed", opts);
}

void image_remove(struct image *im)
{
	if (im->dir[0])
		oracle_sh("rm -rf '%s'", im->dir);
}

char *oracle_debugfs(const struct image *im, const char *script)
{
	char sp[128], cmd[512];
	FILE *f;

	snprintf(sp, sizeof(sp), "%s/cmds", im->dir);
	f = fopen(sp, "w");
	cr_assert(f);
	fputs(script, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s' -f '%s' '%s' 2>/dev/null", tool_debugfs, sp, im->path);
	return capture(cmd);
}

char *oracle_dumpe2fs(const struct image *im)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "'%s' '%s' 2>/dev/null", tool_dumpe2fs, im->path);
	return capture(cmd);
}

void oracle_debugfs_w(const char *path, const char *script)
{
	char sp[160], cmd[512];
	FILE *f;
	char *out;

	snprintf(sp, sizeof(sp), "%s.cmds", path);
	f = fopen(sp, "w");
	cr_assert(f);
	fputs(script, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s' -w -f '%s' '%s' 2>&1 >/dev/null", tool_debugfs, sp, path);
	out = capture(cmd);
	cr_assert(strstr(out, "debugfs") && !strstr(out, "rror") && !strstr(out, "No free space") &&
			  !strstr(out, "not found") && !strstr(out, "File exists"),
		  "debugfs -w failed: %s", out);
	free(out);
}

const char *const oracle_tree_files[] = {
	"/f1", "/d1/d2/nested", "/big", "/frag", "/many", "/d1", "/", NULL,
};

/* A file of @p len bytes of a pattern seeded by @p seed, or, with a @p stride,
 * 4 KiB chunks every @p stride bytes with holes between (many extents). */
static void write_source(const char *path, size_t len, unsigned seed, size_t stride)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	uint8_t buf[4096];

	cr_assert(fd >= 0);
	for (size_t off = 0; off < len; off += stride ? stride : sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)(seed + off / 4096 * 7 + i * 13 + 1);
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);

		cr_assert_eq(pwrite(fd, buf, n, (off_t)off), (ssize_t)n);
	}
	cr_assert_eq(ftruncate(fd, (off_t)len), 0);
	close(fd);
}

void oracle_source(const char *path, size_t len, unsigned seed)
{
	write_source(path, len, seed, 0);
}

void image_populate(struct image *im)
{
	char src[160], *script, *out;
	size_t cap = 1 << 20, len = 0;
	char target[201];

	script = malloc(cap);
	cr_assert(script);
	snprintf(src, sizeof(src), "%s/mid.src", im->dir);
	write_source(src, 20000, 1, 0);
	snprintf(src, sizeof(src), "%s/big.src", im->dir);
	write_source(src, 9u << 20, 2, 0);
	snprintf(src, sizeof(src), "%s/frag.src", im->dir);
	write_source(src, 400 * 16384, 3, 16384);
	snprintf(src, sizeof(src), "%s/small.src", im->dir);
	write_source(src, 100, 4, 0);
	memset(target, 'a', 200);
	target[0] = '/';
	target[200] = '\0';
#define ADD(...) (len += (size_t)snprintf(script + len, cap - len, __VA_ARGS__))
	ADD("write %s/mid.src f1\n", im->dir);
	ADD("mkdir d1\nmkdir d1/d2\n");
	ADD("write %s/mid.src d1/d2/nested\n", im->dir);
	ADD("write %s/big.src big\n", im->dir);
	ADD("write %s/frag.src frag\n", im->dir);
	ADD("symlink sl /etc/services\n");
	ADD("symlink d1/longsl %s\n", target);
	ADD("ln f1 d1/hard\n");
	ADD("mkdir many\n");
	for (int i = 0; i < ORACLE_MANY; i++)
		ADD("write %s/small.src many/file-with-a-longish-name-%04d\n", im->dir, i);
#undef ADD
	cr_assert(len < cap);
	{
		char sp[128], cmd[512];
		FILE *f;

		snprintf(sp, sizeof(sp), "%s/populate", im->dir);
		f = fopen(sp, "w");
		cr_assert(f);
		fputs(script, f);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "'%s' -w -f '%s' '%s' 2>&1 >/dev/null", tool_debugfs, sp,
			 im->path);
		out = capture(cmd);
		/* debugfs prints its banner on stderr; anything else is a failure. */
		cr_assert(strstr(out, "debugfs") && !strstr(out, "rror") && !strstr(out, "No free space"),
			  "populating the image failed: %s", out);
		free(out);
	}
	free(script);
	/* debugfs only appends to linear directories; e2fsck -D rebuilds the
	 * large one as an htree (index blocks) and fixes the hard link's count.
	 * Exit status 1 means "file system modified". */
	int st = oracle_sh("'%s' -fyD '%s' >/dev/null 2>&1", tool_e2fsck, im->path);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) <= 1, "e2fsck -fyD failed: %d", st);
}
