#pragma once
// Private to config/: the declarative part of the loader. A section of the document is a table of
// keys, each with whether it is required and a store function (read one value with a Values.h
// reader, assign it to the target). readMap() walks a YAML map against such a table and owns
// every structural rule once: "expected a map", unknown keys, duplicate keys, required keys.
#include <yaml-cpp/yaml.h>

#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "Diagnostics.h"
#include "Values.h"

namespace ringlb::config::detail {

enum class Presence { Optional, Required };

template <class Target>
struct Key {
  std::string_view name;
  Presence presence;
  // Reads field.node and stores it into target; reports its own errors. Never throws.
  void (*store)(const Field& field, Target& target, Diagnostics& diags);
};

// Walks field.node (a YAML map) against `keys`. Each known key's store runs once, in document
// order; unknown and repeated keys are errors at the key's own path; a missing required key is an
// error at the path it should have had, on the line where the map starts.
template <class Target>
void readMap(const Field& field, std::span<const Key<Target>> keys, Target& target,
             Diagnostics& diags) {
  const YAML::Node& node = field.node;
  const std::string& path = field.path;
  if (!node.IsMap()) {
    diags.error(path, "expected a map, got " + describe(node), field.line);
    return;
  }
  std::unordered_map<std::string, int> seen;  // key -> line of its first occurrence
  for (const auto& entry : node) {
    const YAML::Node& keyNode = entry.first;
    const int line = lineOf(keyNode);
    if (!keyNode.IsScalar()) {
      diags.error(path, "expected a key name, got " + describe(keyNode), line);
      continue;
    }
    const std::string& name = keyNode.Scalar();
    std::string childPath = keyPath(path, name);
    // yaml-cpp keeps both entries of a repeated key; silently taking one would hide a mistake.
    const auto [first, inserted] = seen.emplace(name, line);
    if (!inserted) {
      diags.error(std::move(childPath),
                  "duplicate key: first set on line " + std::to_string(first->second), line);
      continue;
    }
    const Key<Target>* key = nullptr;
    for (const Key<Target>& candidate : keys) {
      if (candidate.name == name) key = &candidate;
    }
    if (key == nullptr) {
      // yaml-cpp 0.7 does not expand YAML 1.1 merge keys; say so rather than "unknown key".
      diags.error(std::move(childPath),
                  name == "<<" ? "YAML merge keys are not supported; write the keys out"
                               : "unknown key",
                  line);
      continue;
    }
    key->store(Field{entry.second, std::move(childPath), line}, target, diags);
  }
  for (const Key<Target>& key : keys) {
    if (key.presence == Presence::Required && !seen.contains(std::string(key.name))) {
      diags.error(keyPath(path, key.name), "required key is missing", lineOf(node));
    }
  }
}

// A section that may be left empty: "global:" with every key commented out is null in YAML and
// means "all defaults", not an error.
template <class Target>
void readOptionalMap(const Field& field, std::span<const Key<Target>> keys, Target& target,
                     Diagnostics& diags) {
  if (field.node.IsNull()) return;
  readMap(field, keys, target, diags);
}

// Calls visit(itemField) for each item of a YAML list; reports "expected a list" and returns
// false when the field is not one. An item's line is its own, except for an empty item ("-"
// alone): yaml-cpp marks a null at the token after it, often another item or the end of the
// file, so it gets the list's line and its index says which one it is.
template <class Visit>
bool forEachItem(const Field& field, Visit&& visit, Diagnostics& diags) {
  if (!field.node.IsSequence()) {
    diags.error(field.path, "expected a list, got " + describe(field.node), field.line);
    return false;
  }
  std::size_t index = 0;
  for (const YAML::Node& item : field.node) {
    visit(Field{item, indexPath(field.path, index), item.IsNull() ? field.line : lineOf(item)});
    ++index;
  }
  return true;
}

}  // namespace ringlb::config::detail
