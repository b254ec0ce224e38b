#pragma once
// Plain socket system calls the data plane needs outside io_uring: listener creation, options,
// and the abortive close that turns a received reset into a reset sent. Return convention:
// 0 / a valid fd on success, -errno on failure (see docs/principles.md).
#include "ringlb/net/Address.h"

namespace ringlb::net {

// socket + SO_REUSEADDR + SO_REUSEPORT (+ IPV6_V6ONLY for IPv6, so "0.0.0.0:80" and "[::]:80"
// can both be listened on) + bind + listen. Non-blocking, close-on-exec.
int createListener(const Address& address, int backlog);
// The address a bound socket ended up on (resolves port 0).
Address localAddress(int fd);
Address peerAddress(int fd);
// A non-blocking, close-on-exec TCP socket of `family` with TCP_NODELAY set.
int createStreamSocket(int family);
// True if a non-blocking peek finds ordinary bytes queued on `fd` (used to tell a real end of
// stream from splice stopping at a TCP urgent mark).
bool hasPendingData(int fd);
// True if a non-blocking peek would not block: bytes, an end of stream or an error are queued.
bool isReadable(int fd);
// Bytes the kernel still holds in `fd`'s send queue (not yet sent, or sent and not yet
// acknowledged by the peer); -ENOTCONN once the connection is closed (reset); or -errno.
long unsentBytes(int fd);
// Sends at once what a send with MSG_MORE left queued on TCP socket `fd` (setting TCP_NODELAY,
// already on, pushes pending segments out).
void pushPending(int fd);
// On a listening socket (after listen(), which resets it): whether the connections it accepts
// start in delayed-ACK mode (TCP_QUICKACK off, inherited by each accepted socket), so that the
// client's first bytes are acknowledged by the first bytes sent back rather than by a segment of
// their own, or by the delayed-ACK timer (40 ms and up) when none go back sooner. HAProxy's
// tcp-smart-accept. A client that sends twice before it reads, with Nagle on, waits for that
// timer before its second send: which is why it is a choice per frontend.
int setSmartAccept(int listenerFd, bool on);
// On a listening socket: whether the kernel completes a connection for accept() only once the
// client's first bytes arrived (TCP_DEFER_ACCEPT, 1 s; HAProxy's defer-accept). The handshake's
// last ACK is dropped while waiting; after the second the kernel retransmits its SYN-ACK and
// hands the connection over at the client's next ACK, data or not, so a client that never
// speaks first is only delayed, by a second or more. Off writes 0, undoing an earlier on on a
// socket that a reload or an upgrade kept.
int setDeferAccept(int listenerFd, bool on);
// Before connect(): has the kernel hold back the handshake's last ACK so that it rides in the
// first data segment instead of leaving alone (HAProxy's tcp-smart-connect). With TCP_QUICKACK
// off, SYN-SENT schedules that ACK on the delayed-ACK timer (TCP_DELACK_MAX, 200 ms) instead of
// sending it. The server's accept() waits for it: a caller with nothing to send at once must
// call sendHeldAck.
int holdHandshakeAck(int fd);
// Sends an ACK the kernel is holding on `fd` now (TCP_QUICKACK on: a scheduled ACK is pushed)
// and leaves delayed-ACK mode.
int sendHeldAck(int fd);
// Closes with SO_LINGER {on, 0}: the kernel sends RST instead of FIN.
void closeWithReset(int fd);
// Makes listening socket `fd` take no new connections while staying open: a socket filter drops
// every packet it would receive (new SYNs, and the final ACKs of handshakes not yet complete), so
// its accept queue only shrinks and can be emptied before the socket is closed. Closing a
// listener resets the connections still queued on it; this is how a listener leaves without
// doing that. A client that connects meanwhile sees its SYN go unanswered (it retries), then a
// refusal once the socket is closed.
int refuseNewConnections(int fd);
// Whether something already listens on `address` (port != 0): a bind with SO_REUSEADDR but not
// SO_REUSEPORT fails with EADDRINUSE only then (TIME_WAIT connections do not count). 1: in use,
// 0: free, -errno: could not tell.
int listenerExists(const Address& address);

}  // namespace ringlb::net
