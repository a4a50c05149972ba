//===- TempDir.h - A scratch folder for runtime tests -----------*- C++ -*-===//

#ifndef ST_UNITTESTS_RUNTIME_TEMPDIR_H
#define ST_UNITTESTS_RUNTIME_TEMPDIR_H

#include "gtest/gtest.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace st {
namespace test {

/// A fresh mkdtemp directory, removed with its contents on destruction.
class TempDir {
public:
  TempDir() {
    const char *base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base && *base ? base : "/tmp") + "/st-test-XXXXXX";
    if (char *made = ::mkdtemp(pattern.data()))
      dir = made;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!dir.empty())
      std::filesystem::remove_all(dir, ignored);
  }
  bool ok() const { return !dir.empty(); }
  std::string path(const std::string &name) const { return dir + "/" + name; }

private:
  std::string dir;
};

inline void writeBytes(const std::string &path,
                       const std::vector<uint8_t> &bytes) {
  FILE *file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  // fwrite's buffer may not be null, which an empty vector's data() can be.
  if (!bytes.empty()) {
    EXPECT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), file), bytes.size());
  }
  std::fclose(file);
}

inline std::vector<uint8_t> readBytes(const std::string &path) {
  std::vector<uint8_t> bytes;
  FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return bytes;
  uint8_t chunk[65536];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof(chunk), file)) > 0)
    bytes.insert(bytes.end(), chunk, chunk + got);
  std::fclose(file);
  return bytes;
}

inline bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

} // namespace test
} // namespace st

#endif // ST_UNITTESTS_RUNTIME_TEMPDIR_H
