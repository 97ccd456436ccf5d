// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * The service datapath: one object, so every program shares one set of maps.
 *
 *   progs/pod.h        tc on the host side of each pod's veth: pods
 *                      reaching services (east-west), and the replies
 *   progs/external.h   XDP and tc on the node's external devices: clients
 *                      outside the cluster reaching NodePorts, load-balancer
 *                      and external IPs (north-south), and the replies
 */
#include "progs/external.h"
#include "progs/pod.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
