"""Layer-2 announcement: ARP and NDP answered from raw AF_PACKET sockets."""
