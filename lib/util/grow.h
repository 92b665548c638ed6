/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Growing an array by doubling.  Internal. */
#ifndef STORM_UTIL_GROW_H
#define STORM_UTIL_GROW_H

#include <stdint.h>
#include <stdlib.h>

/*
 * Makes room for one more element in @p arr (@p n used out of *@p cap, each
 * @p size bytes), doubling the capacity (the first time to @p first).
 * @return the array to use from now on, or NULL (no memory) with @p arr and
 *         *@p cap unchanged.
 */
static inline void *grow(void *arr, size_t *cap, size_t n, size_t size, size_t first)
{
	if (n < *cap)
		return arr;
	size_t c = *cap ? *cap * 2 : first;

	if (c < *cap || c > SIZE_MAX / size)
		return NULL;
	void *q = realloc(arr, c * size);

	if (q)
		*cap = c;
	return q;
}

#endif
