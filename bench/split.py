#!/usr/bin/env python3
"""Splits a proxy's CPU profile into the work any TCP proxy must do and the proxy's own overhead.

Reads `perf script -F ip,sym` of a `perf record -e cpu-clock -g` run (stdin or a file) and
classifies every sample by its call chain, first match wins:
  conn   TCP connection work: socket, connect, accept, shutdown, close (incl. the loopback
         handshake and FIN processing that runs in the caller's context)
  data   TCP data work: sending and receiving the bytes (sendmsg, recvmsg, splice to or from a
         socket), the loopback delivery and ACK processing they trigger, freeing the skbs
  wait   sleeping and waking up (schedule): the price of having nothing to do
  mech   the rest of the kernel: the event mechanism itself (io_uring submission, completion,
         poll arming, task work; epoll), system call entry and exit, pipes
  user   user space (the proxy's own code and its libraries)
The first two are the work every proxy asks of the kernel for the same traffic; whatever a
proxy does better or worse than another shows in the last three. Prints one line:
  conn=0.123 data=0.456 wait=0.050 mech=0.300 user=0.071 samples=12345
(fractions of all samples). With `--leaves N` it then lists, for mech, wait and user, the N
most frequent call-chain ends (leaf <- caller <- caller) with their share of all samples: what
the proxy's own overhead is made of.

Caveat: on these VMs cpu-clock charges time spent with interrupts off to the instruction that
re-enables them (`pvm_irq_enable`); the call chain is still the right one, so the split holds.
"""
import sys
from collections import Counter

CONN = {
    "__sys_socket", "__sys_socket_file", "__sys_connect", "io_connect", "__inet_stream_connect",
    "inet_stream_connect", "tcp_v4_connect", "tcp_v6_connect", "do_accept", "inet_accept",
    "__sys_accept4", "io_accept", "__sys_shutdown", "inet_shutdown", "sock_close", "__sock_release",
    "inet_release", "tcp_close", "tcp_rcv_state_process", "tcp_child_process",
    "tcp_conn_request", "tcp_v4_syn_recv_sock", "inet_csk_accept", "tcp_fin", "tcp_time_wait",
    "__sys_setsockopt", "do_sock_setsockopt", "__sys_getpeername", "__sys_getsockname",
}
DATA = {
    "tcp_sendmsg", "tcp_recvmsg", "tcp_splice_read", "splice_to_socket", "tcp_write_xmit",
    "__tcp_transmit_skb", "net_rx_action", "tcp_v4_rcv", "tcp_v6_rcv", "tcp_rcv_established",
    "tcp_ack", "skb_defer_free_flush", "tcp_release_cb", "tcp_delack_timer", "tcp_write_timer",
    "__kfree_skb", "napi_consume_skb", "tcp_cleanup_rbuf",
}
WAIT = {"schedule", "__schedule", "schedule_hrtimeout_range", "schedule_hrtimeout_range_clock"}


def classify(chain):
    if not chain:
        return None
    names = {sym for _, sym in chain}
    if names & CONN:
        return "conn"
    if names & DATA:
        return "data"
    if names & WAIT:
        return "wait"
    leaf_ip = chain[0][0]
    return "mech" if leaf_ip.startswith("ffff") else "user"


def main():
    args = sys.argv[1:]
    leaves = 0
    if len(args) >= 2 and args[0] == "--leaves":
        leaves = int(args[1])
        args = args[2:]
    src = open(args[0]) if args else sys.stdin
    counts = {"conn": 0, "data": 0, "wait": 0, "mech": 0, "user": 0}
    ends = {kind: Counter() for kind in counts}
    chain = []

    def flush():
        kind = classify(chain)
        if kind:
            counts[kind] += 1
            if leaves:
                ends[kind][" <- ".join(sym for _, sym in chain[:3])] += 1
        chain.clear()

    for line in src:
        parts = line.split()
        if not parts:
            flush()
            continue
        if len(parts) >= 2:
            sym = parts[1].split("+")[0]
            chain.append((parts[0], sym))
    flush()
    total = sum(counts.values()) or 1
    print(" ".join(f"{k}={v / total:.3f}" for k, v in counts.items()) + f" samples={total}")
    for kind in ("mech", "wait", "user") if leaves else ():
        print(f"{kind}:")
        for end, n in ends[kind].most_common(leaves):
            print(f"  {n / total * 100:5.2f}% {end}")


if __name__ == "__main__":
    main()
