//===- Files.h - Whole-file reads, atomic writes, gzip ----------*- C++ -*-===//
//
// The file helpers every data reader and writer shares. Errors are one line
// starting with the path, as everywhere in the runtime.
//
//===----------------------------------------------------------------------===//

#ifndef ST_RUNTIME_FILES_H
#define ST_RUNTIME_FILES_H

#include "st/Runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace st {
namespace rt {

/// Reads the whole regular file at `path`. Errors: missing file, a directory
/// or other non-regular file, a read failure.
Expected<std::vector<uint8_t>> readFile(const std::string &path);

/// Writes `size` bytes to `path` through a temporary file in the same
/// directory renamed over it, so a reader never sees a partial file.
Status writeFile(const std::string &path, const void *data, size_t size);

/// True when `bytes` start with the gzip magic number (1f 8b).
bool isGzip(const std::vector<uint8_t> &bytes);

/// Decompresses gzip data (all members, as `gzip -d` does). `name` prefixes
/// errors: corrupt or truncated data.
Expected<std::vector<uint8_t>> gunzip(const std::vector<uint8_t> &bytes,
                                      const std::string &name);

/// Compresses `bytes` as one gzip member at zlib level `level` (0-9).
std::vector<uint8_t> gzip(const std::vector<uint8_t> &bytes, int level = 9);

/// The file's extension in lower case with the dot ("" if none); a trailing
/// ".gz" is skipped, so "a/t10k-images.IDX3.gz" gives ".idx3".
std::string extensionOf(const std::string &path);

} // namespace rt
} // namespace st

#endif // ST_RUNTIME_FILES_H
