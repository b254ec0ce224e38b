#pragma once
// The two access log line formats (docs/configuration.md, access_log). Pure functions on the
// worker's path: each appends exactly one line, its '\n' included, to `out`, and allocates
// nothing beyond the buffer's own growth (a worker reuses one buffer for every line).
//
// text, close to HAProxy's TCP log, one field per position, '-' for a value that does not exist:
//   2026-12-02T04:40:00.123Z 127.0.0.1:53412 web app/s1 1/530 123 4567 completed 1
//   start client frontend backend/server connect_ms/duration_ms bytes_in bytes_out reason attempts
// Every string field has a space, bytes below 0x20 and 0x7f replaced by '?', and an empty one is
// written '-', so the line always has nine fields.
//
// json, one object per line, keys in this order: time, client, frontend, backend, server (null
// when none), connect_ms (null when none), duration_ms, bytes_in, bytes_out, reason, attempts,
// worker. Strings are escaped per RFC 8259: '"' and '\' with a backslash, bytes below 0x20 and
// 0x7f as \u00xx; every other byte (UTF-8 included) passes through as it is.
//
// Times are UTC with milliseconds, truncated towards the past (floor): 23:59:59.9999 is
// 23:59:59.999, never the next second.
#include <fmt/format.h>

#include "ringlb/log/AccessRecord.h"

namespace ringlb::log {

void formatText(const AccessRecord& record, fmt::memory_buffer& out);
void formatJson(const AccessRecord& record, fmt::memory_buffer& out);

}  // namespace ringlb::log
