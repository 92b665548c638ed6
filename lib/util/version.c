/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <storm/version.h>

STORM_EXTERN unsigned storm_version(void)
{
	return STORM_VERSION_NUM;
}

STORM_EXTERN const char *storm_version_string(void)
{
	return STORM_VERSION_STRING;
}
