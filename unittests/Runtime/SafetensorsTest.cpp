//===- SafetensorsTest.cpp - Tests of checkpoint reading and writing ------===//

#include "st/Runtime/Safetensors.h"

#include "st/Runtime/Rng.h"

#include "TempDir.h"

#include "gtest/gtest.h"

#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace st::rt;
using st::test::contains;
using st::test::readBytes;
using st::test::TempDir;
using st::test::writeBytes;

namespace {

/// A file with a hand-made header: length prefix, `header` as given, `data`.
std::vector<uint8_t> rawFile(const std::string &header,
                             const std::vector<uint8_t> &data) {
  std::vector<uint8_t> bytes(8);
  for (int i = 0; i < 8; ++i)
    bytes[i] =
        static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

/// Owns the bytes of a tensor to write.
struct OwnedTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  TensorData data() const {
    return {name, dtype, shape, bytes.data(), bytes.size()};
  }
};

/// A tensor of random bytes of the right size.
OwnedTensor randomTensor(const std::string &name, DType dtype,
                         std::vector<int64_t> shape, uint64_t seed) {
  size_t count = dtypeSize(dtype);
  for (int64_t dim : shape)
    count *= static_cast<size_t>(dim);
  OwnedTensor tensor{name, dtype, std::move(shape),
                     std::vector<uint8_t>(count)};
  Philox rng(seed);
  for (uint8_t &byte : tensor.bytes)
    byte = static_cast<uint8_t>(rng.nextU32());
  return tensor;
}

std::vector<TensorData> views(const std::vector<OwnedTensor> &tensors) {
  std::vector<TensorData> result;
  for (const OwnedTensor &tensor : tensors)
    result.push_back(tensor.data());
  return result;
}

/// One tensor of every dtype, including a scalar and an empty tensor, with
/// sizes that would misalign wider types if the layout did not sort them.
std::vector<OwnedTensor> everyDType(uint64_t seed) {
  return {randomTensor("u8.odd", DType::U8, {3, 5}, seed + 1),
          randomTensor("f16", DType::F16, {7}, seed + 2),
          randomTensor("f32.matrix", DType::F32, {4, 6}, seed + 3),
          randomTensor("bf16", DType::BF16, {3, 3}, seed + 4),
          randomTensor("i32.scalar", DType::I32, {}, seed + 5),
          randomTensor("i64", DType::I64, {2, 1, 3}, seed + 6),
          randomTensor("f32.empty", DType::F32, {0, 3}, seed + 7)};
}

/// A small valid checkpoint with one F32 tensor "w" of shape [4] = v.
std::vector<OwnedTensor> smallCheckpoint(float v) {
  OwnedTensor w{"w", DType::F32, {4}, std::vector<uint8_t>(16)};
  float values[4] = {v, v + 1, v + 2, v + 3};
  std::memcpy(w.bytes.data(), values, 16);
  return {w};
}

/// Expects `path` to hold smallCheckpoint(v).
void expectSmallCheckpoint(const std::string &path, float v) {
  auto file = readSafetensors(path);
  ASSERT_TRUE(file) << file.message();
  auto w = file->getF32("w", {4});
  ASSERT_TRUE(w) << w.message();
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ((*w)[i], v + i);
}

TEST(SafetensorsTest, RoundTripEveryDType) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("all.safetensors");
  std::vector<OwnedTensor> tensors = everyDType(1);
  std::map<std::string, std::string> metadata = {
      {"model", "sparse-transformer"},
      {"step", "1200"},
      {"unicode", "\u03bb\u2192\u221e"}};
  ASSERT_TRUE(writeSafetensors(path, views(tensors), metadata).isOk());

  auto file = readSafetensors(path);
  ASSERT_TRUE(file) << file.message();
  EXPECT_EQ(file->path(), path);
  ASSERT_EQ(file->tensors().size(), tensors.size());
  for (const OwnedTensor &tensor : tensors) {
    const TensorView *view = file->find(tensor.name);
    ASSERT_NE(view, nullptr) << tensor.name;
    EXPECT_EQ(view->dtype, tensor.dtype);
    EXPECT_EQ(view->shape, tensor.shape);
    ASSERT_EQ(view->numBytes, tensor.bytes.size());
    if (view->numBytes != 0) {
      EXPECT_EQ(std::memcmp(view->data, tensor.bytes.data(), view->numBytes), 0)
          << tensor.name;
    }
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view->data) % dtypeSize(view->dtype),
              0u)
        << tensor.name << " is misaligned";
  }
  // User metadata comes back, plus the two keys the writer adds.
  for (const auto &[key, value] : metadata)
    EXPECT_EQ(file->metadata().at(key), value);
  EXPECT_EQ(file->metadata().at("st.format_version"), "1");
  ASSERT_EQ(file->metadata().count("st.checksum"), 1u);
  EXPECT_EQ(file->metadata().size(), metadata.size() + 2);
}

TEST(SafetensorsTest, FileLayout) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("layout.safetensors");
  std::vector<OwnedTensor> tensors = everyDType(2);
  ASSERT_TRUE(writeSafetensors(path, views(tensors), {}).isOk());
  std::vector<uint8_t> bytes = readBytes(path);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | bytes[i];
  EXPECT_EQ(headerSize % 8, 0u);
  ASSERT_LE(8 + headerSize, bytes.size());
  std::string header(bytes.begin() + 8, bytes.begin() + 8 + headerSize);
  auto json = nlohmann::json::parse(header, nullptr, false);
  ASSERT_FALSE(json.is_discarded());
  // Offsets are relative to the buffer and tile it; the checksum is FNV-1a
  // 64 of the buffer as 16 lowercase hex digits.
  const uint8_t *buffer = bytes.data() + 8 + headerSize;
  size_t bufferSize = bytes.size() - 8 - headerSize;
  EXPECT_EQ(json["i64"]["data_offsets"][0], 0);
  EXPECT_EQ(json["i64"]["dtype"], "I64");
  char expected[17];
  std::snprintf(expected, sizeof(expected), "%016llx",
                static_cast<unsigned long long>(fnv1a64(buffer, bufferSize)));
  EXPECT_EQ(json["__metadata__"]["st.checksum"], expected);
  // FNV-1a 64 reference values.
  EXPECT_EQ(fnv1a64(nullptr, 0), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64(reinterpret_cast<const uint8_t *>("a"), 1),
            0xaf63dc4c8601ec8cull);
}

TEST(SafetensorsTest, WritesAreDeterministic) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::vector<OwnedTensor> tensors = everyDType(3);
  std::vector<OwnedTensor> reversed(tensors.rbegin(), tensors.rend());
  ASSERT_TRUE(
      writeSafetensors(dir.path("a"), views(tensors), {{"k", "v"}}).isOk());
  ASSERT_TRUE(
      writeSafetensors(dir.path("b"), views(reversed), {{"k", "v"}}).isOk());
  EXPECT_EQ(readBytes(dir.path("a")), readBytes(dir.path("b")));
}

TEST(SafetensorsTest, TypedLookups) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("ckpt.safetensors");
  std::vector<OwnedTensor> tensors = everyDType(4);
  ASSERT_TRUE(writeSafetensors(path, views(tensors), {}).isOk());
  auto file = readSafetensors(path);
  ASSERT_TRUE(file) << file.message();
  EXPECT_TRUE(file->getF32("f32.matrix", {4, 6}));
  auto wrongShape = file->getF32("f32.matrix", {6, 4});
  ASSERT_FALSE(wrongShape);
  EXPECT_EQ(wrongShape.message(),
            path + ": tensor 'f32.matrix' is F32 [4, 6], expected F32 [6, 4]");
  auto wrongType = file->getF32("i64", {2, 1, 3});
  ASSERT_FALSE(wrongType);
  EXPECT_EQ(wrongType.message(),
            path + ": tensor 'i64' is I64 [2, 1, 3], expected F32 [2, 1, 3]");
  auto missing = file->getF32("nope", {1});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.message(), path + ": no tensor named 'nope'");
  EXPECT_TRUE(file->get("bf16", DType::BF16, {3, 3}));
}

TEST(SafetensorsTest, ReadsFilesWithoutOurMetadata) {
  // Other writers add no st.* keys; such files load, unverified.
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("foreign.safetensors");
  writeBytes(path, rawFile(R"({"a":{"dtype":"U8","shape":[2],)"
                           R"("data_offsets":[0,2]}})",
                           {7, 9}));
  auto file = readSafetensors(path);
  ASSERT_TRUE(file) << file.message();
  EXPECT_TRUE(file->metadata().empty());
  EXPECT_EQ(file->find("a")->data[1], 9);
}

TEST(SafetensorsTest, TruncatedFiles) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string good = dir.path("good.safetensors");
  std::vector<OwnedTensor> tensors = everyDType(5);
  ASSERT_TRUE(writeSafetensors(good, views(tensors), {}).isOk());
  std::vector<uint8_t> bytes = readBytes(good);
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | bytes[i];

  // A fresh name per cut: rewriting one file in place is slow on ext4,
  // which flushes a file truncated and rewritten (auto_da_alloc).
  auto readCut = [&](size_t size) {
    std::string path = dir.path("cut" + std::to_string(size));
    writeBytes(path, std::vector<uint8_t>(bytes.begin(), bytes.begin() + size));
    auto file = readSafetensors(path);
    ::unlink(path.c_str());
    return file;
  };
  // Every cut fails, with a one-line message naming the file.
  for (size_t size = 0; size < bytes.size(); ++size) {
    auto file = readCut(size);
    ASSERT_FALSE(file) << "cut at " << size;
    EXPECT_EQ(
        file.message().rfind(dir.path("cut" + std::to_string(size)) + ": ", 0),
        0u);
    EXPECT_EQ(file.message().find('\n'), std::string::npos);
  }
  for (size_t size : {0, 1, 7})
    EXPECT_TRUE(contains(readCut(size).message(), "file is too short"));
  for (size_t size : {8ul, 9ul, 8 + headerSize - 1})
    EXPECT_TRUE(contains(readCut(size).message(),
                         "header length " + std::to_string(headerSize) +
                             " larger than the file"));
  for (size_t size : {8 + headerSize, 8 + headerSize + 5, bytes.size() - 1})
    EXPECT_TRUE(contains(readCut(size).message(), "(truncated file?)"))
        << readCut(size).message();
}

TEST(SafetensorsTest, FlippedDataByte) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("flip.safetensors");
  std::vector<OwnedTensor> tensors = everyDType(6);
  ASSERT_TRUE(writeSafetensors(path, views(tensors), {}).isOk());
  std::vector<uint8_t> bytes = readBytes(path);
  for (size_t position : {bytes.size() - 1, bytes.size() - 40}) {
    std::vector<uint8_t> corrupt = bytes;
    corrupt[position] ^= 0x10;
    writeBytes(path, corrupt);
    auto file = readSafetensors(path);
    ASSERT_FALSE(file);
    EXPECT_EQ(file.message(), path + ": checksum mismatch: file is corrupted");
  }
}

TEST(SafetensorsTest, MalformedHeaders) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("bad.safetensors");
  std::vector<uint8_t> data(16, 0);
  struct Case {
    std::string header;
    std::string expected;
  };
  std::vector<Case> cases = {
      {R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]})",
       "header is not valid JSON"},
      {"\xff\xfe{}", "header is not valid JSON"},
      {"", "header is not valid JSON"},
      {R"([1, 2])", "header is not a JSON object"},
      {R"({"__metadata__":[]})", "'__metadata__' is not an object"},
      {R"({"__metadata__":{"k":1}})", "metadata 'k' is not a string"},
      {R"({"w":5})", "tensor 'w': entry is not an object"},
      {R"({"w":{"shape":[4],"data_offsets":[0,16]}})",
       "tensor 'w': missing 'dtype'"},
      {R"({"w":{"dtype":3,"shape":[4],"data_offsets":[0,16]}})",
       "tensor 'w': 'dtype' is not a string"},
      {R"({"w":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}})",
       "tensor 'w': unknown dtype 'F64'"},
      {R"({"w":{"dtype":"F32","data_offsets":[0,16]}})",
       "tensor 'w': missing 'shape'"},
      {R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})",
       "tensor 'w': 'shape' is not an array of non-negative integers"},
      {R"({"w":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}})",
       "tensor 'w': 'shape' is not an array of non-negative integers"},
      {R"({"w":{"dtype":"F32","shape":4,"data_offsets":[0,16]}})",
       "tensor 'w': 'shape' is not an array of non-negative integers"},
      {R"({"w":{"dtype":"F32","shape":[4]}})",
       "tensor 'w': missing 'data_offsets'"},
      {R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16,32]}})",
       "tensor 'w': 'data_offsets' is not a pair of non-negative integers"},
      {R"({"w":{"dtype":"F32","shape":[4],"data_offsets":["0","16"]}})",
       "tensor 'w': 'data_offsets' is not a pair of non-negative integers"},
      {R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],)"
       R"("data_offsets":[0,16]}})",
       "tensor 'w': shape [4294967296, 4294967296] overflows 64 bits"},
      {R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}})",
       "tensor 'w': data_offsets [16, 0] are reversed"},
      {R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})",
       "tensor 'w': data_offsets [0, 16] span 16 bytes but F32 [3] needs 12"},
      {R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
       "tensor 'w': data_offsets [8, 24] run past the end of the 16-byte data "
       "buffer (truncated file?)"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
       R"("b":{"dtype":"F32","shape":[3],"data_offsets":[4,16]}})",
       "tensors 'a' and 'b' overlap in the data buffer"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})",
       "the data buffer has a gap of 4 bytes at offset 8"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
       "data buffer is 16 bytes but the tensors cover 8"},
      {R"({"__metadata__":{"st.format_version":"2"},)"
       R"("w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
       "unsupported st.format_version '2' (expected '1')"},
      {R"({"__metadata__":{"st.checksum":"0000000000000000"},)"
       R"("w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
       "checksum mismatch: file is corrupted"},
  };
  for (const Case &c : cases) {
    writeBytes(path, rawFile(c.header, data));
    auto file = readSafetensors(path);
    ASSERT_FALSE(file) << c.header;
    EXPECT_EQ(file.message(), path + ": " + c.expected) << c.header;
  }
  // A header length far beyond the file.
  std::vector<uint8_t> huge = rawFile("{}", {});
  huge[7] = 0x7f;
  writeBytes(path, huge);
  auto file = readSafetensors(path);
  ASSERT_FALSE(file);
  EXPECT_TRUE(contains(file.message(), "larger than the file (10 bytes)"));
}

TEST(SafetensorsTest, RandomCorruptionNeverCrashes) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string good = dir.path("good.safetensors");
  std::vector<OwnedTensor> tensors = everyDType(7);
  ASSERT_TRUE(writeSafetensors(good, views(tensors), {{"k", "v"}}).isOk());
  std::vector<uint8_t> bytes = readBytes(good);
  Philox rng(99);
  int loaded = 0;
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<uint8_t> corrupt = bytes;
    int flips = 1 + rng.nextU32() % 4;
    for (int i = 0; i < flips; ++i)
      corrupt[rng.nextU32() % corrupt.size()] ^= 1 + rng.nextU32() % 255;
    std::string path = dir.path("fuzz" + std::to_string(trial));
    writeBytes(path, corrupt);
    // Any outcome but a crash is acceptable. Some corruptions do load: the
    // checksum covers the data buffer only, so a changed letter of a tensor
    // name or metadata value, or of JSON whitespace, goes unnoticed.
    auto file = readSafetensors(path);
    if (file) {
      ++loaded;
      EXPECT_EQ(file->tensors().size(), tensors.size());
    }
    ::unlink(path.c_str());
  }
  // Most flips hit the data buffer or break the header (with this seed, 10
  // of the 500 files load).
  EXPECT_LT(loaded, 100);
}

TEST(SafetensorsTest, WriterRejectsBadInput) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("ckpt.safetensors");
  ASSERT_TRUE(writeSafetensors(path, views(smallCheckpoint(1)), {}).isOk());
  std::vector<uint8_t> four(4);
  std::vector<std::pair<std::vector<TensorData>, std::string>> cases = {
      {{{"a", DType::U8, {4}, four.data(), 4},
        {"a", DType::U8, {4}, four.data(), 4}},
       "duplicate tensor name 'a'"},
      {{{"__metadata__", DType::U8, {4}, four.data(), 4}},
       "invalid tensor name '__metadata__'"},
      {{{"a", DType::F32, {2}, four.data(), 4}},
       "tensor 'a': 4 bytes given but F32 [2] needs 8"},
      {{{"a", DType::U8, {-4}, four.data(), 4}},
       "tensor 'a': invalid shape [-4]"},
      {{{"\xc3", DType::U8, {4}, four.data(), 4}},
       "tensor name is not valid UTF-8"},
  };
  for (const auto &[tensors, expected] : cases) {
    Status status = writeSafetensors(path, tensors, {});
    ASSERT_TRUE(status.isError()) << expected;
    EXPECT_EQ(status.message(), path + ": " + expected);
  }
  // The previous checkpoint is untouched, and no temp file is left behind.
  expectSmallCheckpoint(path, 1);
  EXPECT_NE(
      ::access((path + ".tmp." + std::to_string(::getpid())).c_str(), F_OK), 0);
}

TEST(SafetensorsTest, IOFailuresLeaveNoTempFile) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  // The directory does not exist: the temp file cannot even be created.
  Status missingDir = writeSafetensors(dir.path("no/such/dir.safetensors"),
                                       views(smallCheckpoint(1)), {});
  ASSERT_TRUE(missingDir.isError());
  EXPECT_TRUE(contains(missingDir.message(), "cannot create"));
  // The target is a directory: the rename fails after a complete write.
  std::string target = dir.path("occupied");
  ASSERT_TRUE(std::filesystem::create_directory(target));
  Status renameFailed = writeSafetensors(target, views(smallCheckpoint(1)), {});
  ASSERT_TRUE(renameFailed.isError());
  EXPECT_TRUE(contains(renameFailed.message(), "cannot rename"));
  EXPECT_NE(
      ::access((target + ".tmp." + std::to_string(::getpid())).c_str(), F_OK),
      0);
  EXPECT_TRUE(std::filesystem::is_directory(target));
}

TEST(SafetensorsTest, StaleTempFileIsHarmless) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("ckpt.safetensors");
  ASSERT_TRUE(writeSafetensors(path, views(smallCheckpoint(1)), {}).isOk());
  // Leftovers of crashed writers: one with our pid (a recycled pid), one
  // with another.
  std::string ours = path + ".tmp." + std::to_string(::getpid());
  std::string theirs = path + ".tmp.999999999";
  writeBytes(ours, std::vector<uint8_t>(100000, 0xab));
  writeBytes(theirs, {1, 2, 3});
  expectSmallCheckpoint(path, 1);
  ASSERT_TRUE(writeSafetensors(path, views(smallCheckpoint(2)), {}).isOk());
  expectSmallCheckpoint(path, 2);
  EXPECT_NE(::access(ours.c_str(), F_OK), 0);
}

/// The size at which the killed writer's file writes stop.
constexpr rlim_t kWriteLimit = 64 * 1024;

void killSelf(int) { ::kill(::getpid(), SIGKILL); }

TEST(SafetensorsTest, CrashMidWriteKeepsPreviousCheckpoint) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("ckpt.safetensors");
  ASSERT_TRUE(writeSafetensors(path, views(smallCheckpoint(1)), {}).isOk());
  std::vector<OwnedTensor> big = {
      randomTensor("big", DType::F32, {256, 1024}, 8)};

  // The child writes a 1 MiB checkpoint under a 64 KiB file-size limit; the
  // write that crosses the limit raises SIGXFSZ, whose handler SIGKILLs the
  // process: a hard crash at a known point in the middle of the data,
  // without timing games.
  fflush(nullptr);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    struct rlimit limit = {kWriteLimit, kWriteLimit};
    ::signal(SIGXFSZ, killSelf);
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0)
      ::_exit(2);
    (void)writeSafetensors(path, views(big), {});
    ::_exit(3); // Not reached: the write must have crossed the limit.
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exit status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  // The crash left a partial temp file ...
  std::string temp = path + ".tmp." + std::to_string(child);
  struct stat info;
  ASSERT_EQ(::stat(temp.c_str(), &info), 0);
  EXPECT_EQ(static_cast<rlim_t>(info.st_size), kWriteLimit);
  EXPECT_FALSE(readSafetensors(temp));
  // ... and the previous checkpoint intact.
  expectSmallCheckpoint(path, 1);
  // The next save succeeds regardless of the debris.
  ASSERT_TRUE(writeSafetensors(path, views(big), {}).isOk());
  auto file = readSafetensors(path);
  ASSERT_TRUE(file) << file.message();
  EXPECT_EQ(std::memcmp(file->find("big")->data, big[0].bytes.data(),
                        big[0].bytes.size()),
            0);
}

TEST(SafetensorsTest, FailedWriteKeepsPreviousCheckpoint) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string path = dir.path("ckpt.safetensors");
  ASSERT_TRUE(writeSafetensors(path, views(smallCheckpoint(1)), {}).isOk());
  std::vector<OwnedTensor> big = {
      randomTensor("big", DType::F32, {256, 1024}, 9)};

  // Same limit, but SIGXFSZ ignored: write() fails with EFBIG and the
  // writer must clean up and report. Checked in a child so that the limit
  // does not outlive the test; the exit code says which check failed.
  fflush(nullptr);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    struct rlimit limit = {kWriteLimit, kWriteLimit};
    ::signal(SIGXFSZ, SIG_IGN);
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0)
      ::_exit(2);
    Status status = writeSafetensors(path, views(big), {});
    if (status.isOk())
      ::_exit(3);
    if (!contains(status.message(), "cannot write"))
      ::_exit(4);
    std::string temp = path + ".tmp." + std::to_string(::getpid());
    if (::access(temp.c_str(), F_OK) == 0)
      ::_exit(5);
    auto file = readSafetensors(path);
    if (!file || !file->getF32("w", {4}) || (*file->getF32("w", {4}))[0] != 1)
      ::_exit(6);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "child status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  expectSmallCheckpoint(path, 1);
}

} // namespace
