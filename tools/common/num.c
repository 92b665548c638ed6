/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "num.h"

#include <errno.h>
#include <stdlib.h>

int tool_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (*end != '\0' || errno || x > max)
		return -1;
	*out = x;
	return 0;
}
