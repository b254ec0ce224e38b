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

RendezvousTable RendezvousTable::prepare(const ServerSet& servers, uint64_t seed, unsigned rowBits) {
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
  table.depth_ = std::min(kDepth, table.members_.size());
  table.entries_.resize(table.rows() * table.depth_);
  return table;
}

void RendezvousTable::computeRow(std::size_t r) {
  Scored best[kDepth];
  const uint64_t key = rowKey(r);
  const std::size_t memberCount = members_.size();
  std::size_t count = 0;
  // The worst score still in `best` once it is full, loosened by a relative 1e-9 so that the
  // cheap bound below can never reject a server that rounding would have let in.
  double reject = 0.0;
  for (std::size_t m = 0; m < memberCount; ++m) {
    const double u = unitInterval(mix64(key ^ memberKeys_[m]));
    const double invWeight = memberInvWeight_[m];
    // ln(u) <= u - 1, so a server whose bound is already below the row's worst kept score
    // cannot enter it; this skips the logarithm for all but ~depth x ln(N) servers per row.
    if (count == depth_ && (u - 1.0) * invWeight < reject) continue;
    const Scored candidate{std::log(u) * invWeight, memberKeys_[m], members_[m]};
    if (count == depth_ && !before(candidate, best[count - 1])) continue;
    std::size_t at = count < depth_ ? count++ : count - 1;
    while (at > 0 && before(candidate, best[at - 1])) {
      best[at] = best[at - 1];
      --at;
    }
    best[at] = candidate;
    if (count == depth_) reject = best[count - 1].score * (1.0 + 1e-9);
  }
  uint32_t* row = entries_.data() + r * depth_;
  for (std::size_t i = 0; i < depth_; ++i) row[i] = best[i].server;
}

RendezvousTable RendezvousTable::build(const ServerSet& servers, uint64_t seed, unsigned rowBits) {
  RendezvousTable table = prepare(servers, seed, rowBits);
  if (table.depth_ == 0) return table;
  for (std::size_t r = 0; r < table.rows(); ++r) table.computeRow(r);
  return table;
}

RendezvousTable RendezvousTable::rebuild(const RendezvousTable& old, const ServerSet& servers, uint64_t seed) {
  RendezvousTable table = prepare(servers, seed, old.rowBits_);
  if (table.depth_ == 0 || table.rowSeed_ != old.rowSeed_ || table.members_ != old.members_ ||
      table.memberKeys_ != old.memberKeys_ || table.depth_ != old.depth_) {
    return build(servers, seed, old.rowBits_);
  }
  // Changed members, by member position, and by server index for the row test.
  std::vector<std::size_t> changed;
  std::vector<bool> isChanged(servers.servers.size(), false);
  for (std::size_t m = 0; m < table.members_.size(); ++m) {
    if (table.memberInvWeight_[m] != old.memberInvWeight_[m]) {
      changed.push_back(m);
      isChanged[table.members_[m]] = true;
    }
  }
  if (changed.size() * 4 > table.members_.size()) return build(servers, seed, old.rowBits_);
  table.entries_ = old.entries_;
  if (changed.empty()) return table;
  // Member position of each server index, to score a row's entries.
  std::vector<std::size_t> positionOf(servers.servers.size(), 0);
  for (std::size_t m = 0; m < table.members_.size(); ++m) positionOf[table.members_[m]] = m;
  const std::size_t depth = table.depth_;
  Scored best[kDepth + 1];
  for (std::size_t r = 0; r < table.rows(); ++r) {
    uint32_t* row = table.entries_.data() + r * depth;
    bool holdsChanged = false;
    for (std::size_t i = 0; i < depth; ++i) holdsChanged = holdsChanged || isChanged[row[i]];
    if (holdsChanged) {
      table.computeRow(r);  // its order may change and a server outside may now belong
      continue;
    }
    // Every server outside the row ranks below all of its servers, and only the changed ones
    // got new scores: the new row is the best `depth` of its servers and the changed ones.
    const uint64_t key = table.rowKey(r);
    const auto scoreOf = [&](std::size_t m) {
      const double u = unitInterval(mix64(key ^ table.memberKeys_[m]));
      return Scored{std::log(u) * table.memberInvWeight_[m], table.memberKeys_[m], table.members_[m]};
    };
    const Scored worst = scoreOf(positionOf[row[depth - 1]]);
    const double reject = worst.score * (1.0 + 1e-9);
    bool scored = false;
    for (std::size_t m : changed) {
      const double u = unitInterval(mix64(key ^ table.memberKeys_[m]));
      if ((u - 1.0) * table.memberInvWeight_[m] < reject) continue;  // ln(u) <= u - 1: cannot enter
      const Scored candidate = scoreOf(m);
      if (!before(candidate, worst)) continue;
      if (!scored) {
        for (std::size_t i = 0; i < depth; ++i) best[i] = scoreOf(positionOf[row[i]]);
        scored = true;
      }
      // Insert in order; the last falls out.
      std::size_t at = depth - 1;
      if (!before(candidate, best[at])) continue;
      while (at > 0 && before(candidate, best[at - 1])) {
        best[at] = best[at - 1];
        --at;
      }
      best[at] = candidate;
    }
    if (scored) {
      for (std::size_t i = 0; i < depth; ++i) row[i] = best[i].server;
    }
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
