/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file storm/storm.h
 * @brief libstorm: the umbrella header.  Include this one.
 */
#ifndef STORM_STORM_H
#define STORM_STORM_H

#include <storm/common.h>
#include <storm/version.h>
#include <storm/iscsi.h>
#include <storm/scsi.h>
#include <storm/session.h>
#include <storm/tcp.h>
#include <storm/pcap.h>
#include <storm/relay.h>
#include <storm/view.h>

#endif
