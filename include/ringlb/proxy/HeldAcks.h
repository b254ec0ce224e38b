#pragma once
// Sessions whose server handshake's last ACK the kernel is holding back (tcp_smart_connect, see
// net::holdHandshakeAck and docs/architecture.md "The handshake's last ACK"), each kept until
// one whole loop turn has passed since its connect completed. Only sessions whose frontend
// defers accept are held, so their client has normally spoken already; the release below is for
// those the kernel handed over without a request (its deferral ran out, or SYN cookies).
//
// Why one turn: the relay starts the client side when the connect completes (turn N). In copy
// mode it arms a receive that the next io_uring_enter submits, and a client that already spoke
// has its bytes completed in that same enter, so they are in turn N+1's batch and go out to the
// server carrying the ACK; in splice mode it splices at once in turn N, or arms a poll that
// completes in turn N+1's enter the same way. A
// session that took nothing from its client by the end of turn N+1 has a client waiting for the
// server to speak first (SMTP, MySQL, FTP), and the server cannot accept() before the ACK: the
// worker sends it then. The worker bounds turn N+1's wait (Worker::nextWait) so that this never
// leans on the kernel's 200 ms fallback.
//
// Contract: hold() during a turn; endTurn() once at the end of every turn. endTurn passes
// release(slot, generation) each session held during the turn before the current one; a
// session may have ended or its slot been reused since, which release must check.
#include <cstdint>
#include <utility>
#include <vector>

namespace ringlb::proxy {

class HeldAcks {
 public:
  void hold(uint32_t slot, uint32_t generation) { fresh_.push_back({slot, generation}); }

  // True while some session is to be looked at by the next endTurn (the turn now starting must
  // not sleep long).
  bool due() const { return !due_.empty(); }

  template <class Release>
  void endTurn(Release&& release) {
    for (const Entry& e : due_) release(e.slot, e.generation);
    due_.clear();
    std::swap(due_, fresh_);  // fresh_ keeps the cleared storage: no allocation per turn
  }

 private:
  struct Entry {
    uint32_t slot;
    uint32_t generation;
  };
  std::vector<Entry> fresh_;  // held during the current turn
  std::vector<Entry> due_;    // held during the previous turn: released at this turn's end
};

}  // namespace ringlb::proxy
