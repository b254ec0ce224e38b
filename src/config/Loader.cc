// Entry points: read the file, parse YAML, run the stages, and make sure nothing escapes as an
// exception. Every failure, including I/O and syntax, comes back as ConfigErrors.
#include "ringlb/config/Loader.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "Diagnostics.h"
#include "Stages.h"

namespace ringlb::config {
namespace {

using detail::Diagnostics;

// yaml-cpp's own messages are a sentence at most; the limit only guards against a value in one.
constexpr std::size_t kMessageBytes = 256;

LoadResult finish(Diagnostics& diags, std::optional<Config> config) {
  LoadResult result;
  result.errors = diags.take();
  if (result.errors.empty() && config) {
    result.warnings = detail::ineffectiveSettings(*config);
    result.config = std::move(config);
  }
  return result;
}

LoadResult failure(std::string message, int line = 0) {
  LoadResult result;
  result.errors.push_back(ConfigError{"", std::move(message), line});
  return result;
}

int markLine(const YAML::Mark& mark) { return mark.line >= 0 ? mark.line + 1 : 0; }

// Reads a whole file; on failure returns false with the OS reason ("No such file or directory",
// "Is a directory", ...) in *error. Plain POSIX calls because iostreams hide errno.
bool readWholeFile(const std::string& path, std::string* out, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = std::strerror(errno);
    return false;
  }
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      out->append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      *error = std::strerror(errno);
      ::close(fd);
      return false;
    }
  }
  ::close(fd);
  return true;
}

}  // namespace

LoadResult loadFile(const std::string& path, const Machine& machine) {
  std::string text;
  std::string reason;
  if (!readWholeFile(path, &text, &reason)) {
    // A path is shown whole (PATH_MAX bounds it), but escaped: it came from the command line.
    return failure("cannot read " + detail::quoted(path, PATH_MAX) + ": " + reason);
  }
  return loadString(text, path, machine);
}

LoadResult loadString(std::string_view yaml, const std::string& sourceName,
                      const Machine& machine) {
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml));
    if (documents.empty() || documents.front().IsNull()) return failure("empty document");
    // A trailing "---" adds an empty document: harmless. A second real one would be ignored
    // silently by anything reading only the first, so it is refused.
    for (std::size_t i = 1; i < documents.size(); ++i) {
      if (!documents[i].IsNull()) {
        return failure("expected one YAML document, found another", detail::lineOf(documents[i]));
      }
    }
    Diagnostics diags;
    detail::DocumentDraft draft = detail::readDocument(documents.front(), diags);
    Config config = detail::resolve(std::move(draft), machine, diags);
    config.source = sourceName;
    return finish(diags, std::move(config));
  } catch (const YAML::ParserException& e) {
    // yaml-cpp's messages may end in a character of the document ("unknown escape character:
    // " + the byte), so they are shown by the same rules as values.
    return failure("YAML syntax error: " + detail::printable(e.msg, kMessageBytes),
                   markLine(e.mark));
  } catch (const YAML::Exception& e) {
    // Not expected (readers never convert with as<>), but yaml-cpp's contract allows it.
    return failure("YAML error: " + detail::printable(e.msg, kMessageBytes), markLine(e.mark));
  } catch (const std::exception& e) {
    return failure("internal error while loading: " + detail::printable(e.what(), kMessageBytes));
  }
}

}  // namespace ringlb::config
