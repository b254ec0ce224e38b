#pragma once
// Private to config/: the two stages of a load after YAML parsing. Both report into `diags` and
// carry on after errors; the loader returns a Config only if neither reported anything.
#include <yaml-cpp/yaml.h>

#include "Diagnostics.h"
#include "Draft.h"

namespace ringlb::config::detail {

// Schema.cc: walks the document against the key tables (types, ranges, unknown/missing keys).
DocumentDraft readDocument(const YAML::Node& root, Diagnostics& diags);

// Resolve.cc: cross-references (unique names, backend references, listen addresses used twice),
// whether the receive buffers fit in `machine`'s memory, and inheritance from `defaults`. The
// result is meaningful only if diags stays empty.
Config resolve(DocumentDraft draft, const Machine& machine, Diagnostics& diags);

// Warnings.cc: on a resolved Config, the settings that are valid but have no effect as written.
std::vector<ConfigError> ineffectiveSettings(const Config& config);

}  // namespace ringlb::config::detail
