#pragma once
// Passing descriptors over a unix stream socket (SCM_RIGHTS), for the binary upgrade: the running
// process hands its listening sockets to the new one over the admin socket.
//
// The kernel never merges bytes sent with descriptors with other bytes into one receive, so a
// receiver that reads with receiveWithDescriptors gets each sender's descriptors in the order they
// were sent, alongside the bytes they came with. Return convention: bytes sent / >= 0 on success,
// -errno on failure (docs/principles.md).
#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace ringlb::net {

// Sends `bytes` (at least one) with `descriptor` attached, non-blocking. The descriptor travels
// with the first byte sent: a short send still delivered it. Returns the bytes sent or -errno.
ssize_t sendWithDescriptor(int socket, std::string_view bytes, int descriptor);

// Reads from blocking-or-not `socket` until `data` contains `terminator` (appended to what `data`
// already holds), the peer closes, or `timeout` passes; every descriptor that came along is
// appended to `descriptors` (the caller owns them). Returns 0 once the terminator is there,
// -ETIMEDOUT, -ECONNRESET (closed before it), or -errno.
int receiveWithDescriptors(int socket, std::string_view terminator, std::chrono::milliseconds timeout,
                           std::string* data, std::vector<int>* descriptors);

}  // namespace ringlb::net
