// Building the rendezvous table (design and parameters: include/ringlb/lb/RendezvousTable.h).
// Control thread only; the result is immutable.
#include "ringlb/lb/RendezvousTable.h"

#include <algorithm>
#include <cmath>

#include "ringlb/lb/Hash.h"

namespace ringlb::lb {
namespace {

constexpr uint64_t kRowDomain = 0x726f77735f6b6579ULL;  // "rows_key": separates row keys from others

// 52 hash bits to a double strictly inside (0,1): (k + 0.5) / 2^52 is exact for k < 2^52 and
// never 0 or 1, so ln(u) is finite and negative.
double unitInterval(uint64_t h) { return (static_cast<double>(h >> 12) + 0.5) * 0x1p-52; }

struct Scored {
  double score;  // ln(u) / weight: larger is better, always < 0
  uint64_t key;  // serverKey: tie-break independent of config order
  uint32_t server;
};

// Strict "a ranks before b". Total and independent of config order except for servers whose
// names hash identically (then config order decides).
bool before(const Scored& a, const Scored& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.key != b.key) return a.key > b.key;
  return a.server < b.server;
}

}  // namespace

RendezvousTable RendezvousTable::build(const ServerSet& servers, uint64_t seed, unsigned rowBits) {
  RendezvousTable table;
  table.rowBits_ = std::clamp(rowBits, kMinRowBits, kMaxRowBits);
  table.rowSeed_ = mix64(seed ^ kRowDomain);
  for (std::size_t i = 0; i < servers.servers.size(); ++i) {
    const ServerView& server = servers.servers[i];
    if (server.weight == 0) continue;
    table.members_.push_back(static_cast<uint32_t>(i));
    table.memberKeys_.push_back(hashString(server.name, seed));
    table.memberInvWeight_.push_back(1.0 / static_cast<double>(server.weight));
  }
  const std::size_t memberCount = table.members_.size();
  table.depth_ = std::min(kDepth, memberCount);
  table.entries_.resize(table.rows() * table.depth_);
  if (table.depth_ == 0) return table;

  Scored best[kDepth];
  for (std::size_t r = 0; r < table.rows(); ++r) {
    const uint64_t rowKey = table.rowKey(r);
    std::size_t count = 0;
    // The worst score still in `best` once it is full, loosened by a relative 1e-9 so that the
    // cheap bound below can never reject a server that rounding would have let in.
    double reject = 0.0;
    for (std::size_t m = 0; m < memberCount; ++m) {
      const double u = unitInterval(mix64(rowKey ^ table.memberKeys_[m]));
      const double invWeight = table.memberInvWeight_[m];
      // ln(u) <= u - 1, so a server whose bound is already below the row's worst kept score
      // cannot enter it; this skips the logarithm for all but ~depth x ln(N) servers per row.
      if (count == table.depth_ && (u - 1.0) * invWeight < reject) continue;
      const Scored candidate{std::log(u) * invWeight, table.memberKeys_[m], table.members_[m]};
      if (count == table.depth_ && !before(candidate, best[count - 1])) continue;
      std::size_t at = count < table.depth_ ? count++ : count - 1;
      while (at > 0 && before(candidate, best[at - 1])) {
        best[at] = best[at - 1];
        --at;
      }
      best[at] = candidate;
      if (count == table.depth_) reject = best[count - 1].score * (1.0 + 1e-9);
    }
    uint32_t* row = table.entries_.data() + r * table.depth_;
    for (std::size_t i = 0; i < table.depth_; ++i) row[i] = best[i].server;
  }
  return table;
}

uint64_t RendezvousTable::rowKey(std::size_t r) const { return mix64(rowSeed_ + r); }

std::size_t RendezvousTable::fallbackStart(std::size_t r) const {
  return members_.empty() ? 0 : static_cast<std::size_t>(mix64(rowKey(r)) % members_.size());
}

std::vector<uint32_t> RendezvousTable::rankRow(std::size_t r) const {
  std::vector<Scored> all;
  all.reserve(members_.size());
  for (std::size_t m = 0; m < members_.size(); ++m) {
    const double u = unitInterval(mix64(rowKey(r) ^ memberKeys_[m]));
    all.push_back({std::log(u) * memberInvWeight_[m], memberKeys_[m], members_[m]});
  }
  std::sort(all.begin(), all.end(), before);
  std::vector<uint32_t> ranked;
  ranked.reserve(all.size());
  for (const Scored& s : all) ranked.push_back(s.server);
  return ranked;
}

}  // namespace ringlb::lb
