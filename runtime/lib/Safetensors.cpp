//===- Safetensors.cpp - Checkpoint files in the safetensors format -------===//

#include "st/Runtime/Safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace st::rt;
using json = nlohmann::json;

namespace {
constexpr const char *kChecksumKey = "st.checksum";
constexpr const char *kFormatVersionKey = "st.format_version";
constexpr const char *kFormatVersion = "1";
constexpr const char *kMetadataKey = "__metadata__";
/// The reference implementation's cap; it keeps a corrupt length from
/// making us allocate and parse gigabytes.
constexpr uint64_t kMaxHeaderSize = 100'000'000;

constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

uint64_t fnvUpdate(uint64_t hash, const uint8_t *data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    hash ^= data[i];
    hash *= kFnvPrime;
  }
  return hash;
}

std::string hex64(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016" PRIx64, value);
  return text;
}

/// Product of the dimensions times the element size, or nullopt on a
/// negative dimension or overflow.
std::optional<uint64_t> byteSize(DType dtype,
                                 const std::vector<int64_t> &shape) {
  uint64_t total = dtypeSize(dtype);
  for (int64_t dim : shape) {
    if (dim < 0 ||
        __builtin_mul_overflow(total, static_cast<uint64_t>(dim), &total))
      return std::nullopt;
  }
  return total;
}

/// nlohmann::json aborts (we have no exceptions) when asked to dump invalid
/// UTF-8, so names and metadata are checked first.
bool isValidUtf8(const std::string &text) {
  const auto *bytes = reinterpret_cast<const unsigned char *>(text.data());
  size_t size = text.size();
  for (size_t i = 0; i < size;) {
    unsigned char lead = bytes[i];
    size_t length;
    uint32_t codePoint;
    if (lead < 0x80) {
      ++i;
      continue;
    }
    if ((lead & 0xE0) == 0xC0) {
      length = 2;
      codePoint = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      codePoint = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      codePoint = lead & 0x07;
    } else {
      return false;
    }
    if (size - i < length)
      return false;
    for (size_t k = 1; k < length; ++k) {
      if ((bytes[i + k] & 0xC0) != 0x80)
        return false;
      codePoint = (codePoint << 6) | (bytes[i + k] & 0x3F);
    }
    static constexpr uint32_t kMinForLength[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (codePoint < kMinForLength[length] || codePoint > 0x10FFFF ||
        (codePoint >= 0xD800 && codePoint <= 0xDFFF))
      return false;
    i += length;
  }
  return true;
}

/// read() until `size` bytes or end of file; returns the count, or -1 with
/// errno set.
int64_t readFully(int fd, void *out, size_t size) {
  auto *cursor = static_cast<uint8_t *>(out);
  size_t done = 0;
  while (done < size) {
    ssize_t got = ::read(fd, cursor + done, size - done);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (got == 0)
      break;
    done += static_cast<size_t>(got);
  }
  return static_cast<int64_t>(done);
}

bool writeFully(int fd, const void *data, size_t size) {
  const auto *cursor = static_cast<const uint8_t *>(data);
  while (size > 0) {
    ssize_t put = ::write(fd, cursor, size);
    if (put < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    cursor += put;
    size -= static_cast<size_t>(put);
  }
  return true;
}

/// Reads a JSON array of non-negative integers; false on anything else.
bool readIndexArray(const json &value, std::vector<uint64_t> &out) {
  if (!value.is_array())
    return false;
  out.clear();
  for (const json &element : value) {
    // Non-negative integers parse as unsigned; negative ones and floats
    // (including integers too large for 64 bits) do not.
    if (!element.is_number_unsigned())
      return false;
    out.push_back(element.get<uint64_t>());
  }
  return true;
}

/// A name from the file, made safe for a one-line message: control bytes
/// (a JSON string may hold "\n") become '?'.
std::string printable(const std::string &text) {
  std::string result = text;
  for (char &c : result)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = '?';
  return result;
}

std::string directoryOf(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}
} // namespace

//===----------------------------------------------------------------------===//
// DTypes and checksums
//===----------------------------------------------------------------------===//

const char *st::rt::dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "F32";
  case DType::F16:
    return "F16";
  case DType::BF16:
    return "BF16";
  case DType::I32:
    return "I32";
  case DType::I64:
    return "I64";
  case DType::U8:
    return "U8";
  }
  return "?";
}

size_t st::rt::dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F16:
  case DType::BF16:
    return 2;
  case DType::I64:
    return 8;
  case DType::U8:
    return 1;
  }
  return 1;
}

std::optional<DType> st::rt::parseDType(const std::string &name) {
  for (DType dtype :
       {DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8})
    if (name == dtypeName(dtype))
      return dtype;
  return std::nullopt;
}

std::string st::rt::shapeToString(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i != 0)
      text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

uint64_t st::rt::fnv1a64(const uint8_t *data, size_t size) {
  return fnvUpdate(kFnvOffsetBasis, data, size);
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

const TensorView *SafetensorsFile::find(const std::string &name) const {
  for (const TensorView &view : views)
    if (view.name == name)
      return &view;
  return nullptr;
}

Expected<const TensorView *>
SafetensorsFile::get(const std::string &name, DType dtype,
                     const std::vector<int64_t> &shape) const {
  const TensorView *view = find(name);
  if (!view)
    return Status::error(filePath + ": no tensor named '" + name + "'");
  if (view->dtype != dtype || view->shape != shape)
    return Status::error(filePath + ": tensor '" + name + "' is " +
                         dtypeName(view->dtype) + " " +
                         shapeToString(view->shape) + ", expected " +
                         dtypeName(dtype) + " " + shapeToString(shape));
  return view;
}

Expected<const float *>
SafetensorsFile::getF32(const std::string &name,
                        const std::vector<int64_t> &shape) const {
  Expected<const TensorView *> view = get(name, DType::F32, shape);
  if (!view)
    return view.status();
  const uint8_t *data = (*view)->data;
  if (reinterpret_cast<uintptr_t>(data) % alignof(float) != 0)
    return Status::error(filePath + ": tensor '" + name +
                         "' is not 4-byte aligned in the data buffer");
  return reinterpret_cast<const float *>(data);
}

Expected<SafetensorsFile> st::rt::readSafetensors(const std::string &path) {
  auto fail = [&](const std::string &message) {
    return Status::error(path + ": " + message);
  };

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return fail("no such file");
    return fail(std::string("cannot open: ") + std::strerror(errno));
  }
  // Closes fd on every return path below.
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};

  struct stat info;
  if (::fstat(fd, &info) != 0)
    return fail(std::string("cannot read: ") + std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    return fail("cannot read: not a regular file");
  uint64_t fileSize = static_cast<uint64_t>(info.st_size);
  if (fileSize < 8)
    return fail("file is too short (" + std::to_string(fileSize) +
                " bytes) to be safetensors: no 8-byte header length");

  uint8_t lengthBytes[8];
  if (readFully(fd, lengthBytes, 8) != 8)
    return fail("cannot read the header length");
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | lengthBytes[i];
  if (headerSize > fileSize - 8)
    return fail("header length " + std::to_string(headerSize) +
                " larger than the file (" + std::to_string(fileSize) +
                " bytes): truncated or not safetensors");
  if (headerSize > kMaxHeaderSize)
    return fail("header length " + std::to_string(headerSize) +
                " exceeds the limit of " + std::to_string(kMaxHeaderSize));

  std::string headerText(static_cast<size_t>(headerSize), '\0');
  if (readFully(fd, headerText.data(), headerText.size()) !=
      static_cast<int64_t>(headerText.size()))
    return fail("file shrank while reading the header");

  json header = json::parse(headerText, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded())
    return fail("header is not valid JSON");
  if (!header.is_object())
    return fail("header is not a JSON object");

  uint64_t bufferSize = fileSize - 8 - headerSize;
  SafetensorsFile file;
  file.filePath = path;
  file.buffer.resize(static_cast<size_t>((bufferSize + 7) / 8));
  auto *buffer = reinterpret_cast<uint8_t *>(file.buffer.data());
  int64_t got = readFully(fd, buffer, static_cast<size_t>(bufferSize));
  if (got < 0)
    return fail(std::string("cannot read: ") + std::strerror(errno));
  if (static_cast<uint64_t>(got) != bufferSize)
    return fail("file shrank while reading the data buffer");

  for (auto it = header.begin(); it != header.end(); ++it) {
    // Plain references, not structured bindings: C++17 lambdas (tensorFail)
    // cannot capture those.
    const std::string &key = it.key();
    const json &value = it.value();
    if (key == kMetadataKey) {
      if (!value.is_object())
        return fail("'__metadata__' is not an object");
      for (const auto &[metaKey, metaValue] : value.items()) {
        if (!metaValue.is_string())
          return fail("metadata '" + printable(metaKey) + "' is not a string");
        file.meta[metaKey] = metaValue.get<std::string>();
      }
      continue;
    }

    auto tensorFail = [&](const std::string &message) {
      return fail("tensor '" + printable(key) + "': " + message);
    };
    if (!value.is_object())
      return tensorFail("entry is not an object");
    auto dtypeIt = value.find("dtype");
    if (dtypeIt == value.end())
      return tensorFail("missing 'dtype'");
    if (!dtypeIt->is_string())
      return tensorFail("'dtype' is not a string");
    std::optional<DType> dtype = parseDType(dtypeIt->get<std::string>());
    if (!dtype)
      return tensorFail("unknown dtype '" +
                        printable(dtypeIt->get<std::string>()) + "'");

    auto shapeIt = value.find("shape");
    if (shapeIt == value.end())
      return tensorFail("missing 'shape'");
    std::vector<uint64_t> dims;
    if (!readIndexArray(*shapeIt, dims))
      return tensorFail("'shape' is not an array of non-negative integers");

    auto offsetsIt = value.find("data_offsets");
    if (offsetsIt == value.end())
      return tensorFail("missing 'data_offsets'");
    std::vector<uint64_t> offsets;
    if (!readIndexArray(*offsetsIt, offsets) || offsets.size() != 2)
      return tensorFail(
          "'data_offsets' is not a pair of non-negative integers");

    TensorView view;
    view.name = key;
    view.dtype = *dtype;
    for (uint64_t dim : dims) {
      if (dim > static_cast<uint64_t>(INT64_MAX))
        return tensorFail("shape dimension too large");
      view.shape.push_back(static_cast<int64_t>(dim));
    }
    std::optional<uint64_t> expectedBytes = byteSize(*dtype, view.shape);
    if (!expectedBytes)
      return tensorFail("shape " + shapeToString(view.shape) +
                        " overflows 64 bits");
    uint64_t begin = offsets[0], end = offsets[1];
    std::string range =
        "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
    if (begin > end)
      return tensorFail("data_offsets " + range + " are reversed");
    if (end - begin != *expectedBytes)
      return tensorFail("data_offsets " + range + " span " +
                        std::to_string(end - begin) + " bytes but " +
                        dtypeName(*dtype) + " " + shapeToString(view.shape) +
                        " needs " + std::to_string(*expectedBytes));
    if (end > bufferSize)
      return tensorFail("data_offsets " + range + " run past the end of the " +
                        std::to_string(bufferSize) +
                        "-byte data buffer (truncated file?)");
    view.data = buffer + begin;
    view.numBytes = static_cast<size_t>(end - begin);
    file.views.push_back(std::move(view));
  }

  // The format requires the tensors to tile the buffer exactly.
  std::sort(file.views.begin(), file.views.end(),
            [&](const TensorView &a, const TensorView &b) {
              if (a.data != b.data)
                return a.data < b.data;
              if (a.numBytes != b.numBytes)
                return a.numBytes < b.numBytes;
              return a.name < b.name;
            });
  const uint8_t *covered = buffer;
  const TensorView *previous = nullptr;
  for (const TensorView &view : file.views) {
    if (view.data < covered)
      return fail("tensors '" + printable(previous->name) + "' and '" +
                  printable(view.name) + "' overlap in the data buffer");
    if (view.data > covered)
      return fail("the data buffer has a gap of " +
                  std::to_string(view.data - covered) + " bytes at offset " +
                  std::to_string(covered - buffer));
    covered = view.data + view.numBytes;
    previous = &view;
  }
  if (static_cast<uint64_t>(covered - buffer) != bufferSize)
    return fail("data buffer is " + std::to_string(bufferSize) +
                " bytes but the tensors cover " +
                std::to_string(covered - buffer));

  auto versionIt = file.meta.find(kFormatVersionKey);
  if (versionIt != file.meta.end() && versionIt->second != kFormatVersion)
    return fail("unsupported st.format_version '" +
                printable(versionIt->second) + "' (expected '" +
                kFormatVersion + "')");
  auto checksumIt = file.meta.find(kChecksumKey);
  if (checksumIt != file.meta.end()) {
    uint64_t actual = fnv1a64(buffer, static_cast<size_t>(bufferSize));
    if (checksumIt->second != hex64(actual))
      return fail("checksum mismatch: file is corrupted");
  }
  return file;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

Status
st::rt::writeSafetensors(const std::string &path,
                         const std::vector<TensorData> &tensors,
                         const std::map<std::string, std::string> &metadata) {
  auto fail = [&](const std::string &message) {
    return Status::error(path + ": " + message);
  };

  // Validate and order the tensors.
  std::vector<const TensorData *> order;
  for (const TensorData &tensor : tensors) {
    if (tensor.name.empty() || tensor.name == kMetadataKey)
      return fail("invalid tensor name '" + tensor.name + "'");
    if (!isValidUtf8(tensor.name))
      return fail("tensor name is not valid UTF-8");
    std::optional<uint64_t> bytes = byteSize(tensor.dtype, tensor.shape);
    if (!bytes)
      return fail("tensor '" + tensor.name + "': invalid shape " +
                  shapeToString(tensor.shape));
    if (*bytes != tensor.numBytes)
      return fail(
          "tensor '" + tensor.name + "': " + std::to_string(tensor.numBytes) +
          " bytes given but " + dtypeName(tensor.dtype) + " " +
          shapeToString(tensor.shape) + " needs " + std::to_string(*bytes));
    if (tensor.numBytes != 0 && !tensor.data)
      return fail("tensor '" + tensor.name + "': no data");
    order.push_back(&tensor);
  }
  std::sort(order.begin(), order.end(),
            [](const TensorData *a, const TensorData *b) {
              size_t sizeA = dtypeSize(a->dtype), sizeB = dtypeSize(b->dtype);
              if (sizeA != sizeB)
                return sizeA > sizeB;
              return a->name < b->name;
            });
  for (size_t i = 1; i < order.size(); ++i)
    if (order[i]->name == order[i - 1]->name)
      return fail("duplicate tensor name '" + order[i]->name + "'");

  // Build the header.
  json header = json::object();
  json meta = json::object();
  for (const auto &[key, value] : metadata) {
    if (!isValidUtf8(key) || !isValidUtf8(value))
      return fail("metadata '" + key + "' is not valid UTF-8");
    meta[key] = value;
  }
  uint64_t offset = 0;
  uint64_t checksum = kFnvOffsetBasis;
  for (const TensorData *tensor : order) {
    header[tensor->name] = {
        {"dtype", dtypeName(tensor->dtype)},
        {"shape", tensor->shape},
        {"data_offsets", {offset, offset + tensor->numBytes}}};
    offset += tensor->numBytes;
    checksum = fnvUpdate(checksum, static_cast<const uint8_t *>(tensor->data),
                         tensor->numBytes);
  }
  meta[kChecksumKey] = hex64(checksum);
  meta[kFormatVersionKey] = kFormatVersion;
  header[kMetadataKey] = std::move(meta);
  std::string headerText = header.dump();
  // Padding to a multiple of 8 keeps the data buffer 8-byte aligned.
  headerText.append((8 - headerText.size() % 8) % 8, ' ');
  uint8_t lengthBytes[8];
  for (int i = 0; i < 8; ++i)
    lengthBytes[i] = static_cast<uint8_t>(headerText.size() >> (8 * i));

  // Write the temp file, make it durable, then swap it in.
  std::string tempPath = path + ".tmp." + std::to_string(::getpid());
  int fd =
      ::open(tempPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail("cannot create '" + tempPath + "': " + std::strerror(errno));
  auto abandon = [&](const std::string &what) {
    std::string message = what + ": " + std::strerror(errno);
    if (fd >= 0)
      ::close(fd);
    ::unlink(tempPath.c_str());
    return fail(message);
  };
  if (!writeFully(fd, lengthBytes, 8) ||
      !writeFully(fd, headerText.data(), headerText.size()))
    return abandon("cannot write '" + tempPath + "'");
  for (const TensorData *tensor : order)
    if (!writeFully(fd, tensor->data, tensor->numBytes))
      return abandon("cannot write '" + tempPath + "'");
  if (::fsync(fd) != 0)
    return abandon("cannot sync '" + tempPath + "'");
  int closeResult = ::close(fd);
  fd = -1;
  if (closeResult != 0)
    return abandon("cannot close '" + tempPath + "'");
  if (::rename(tempPath.c_str(), path.c_str()) != 0)
    return abandon("cannot rename '" + tempPath + "' over it");

  // The rename is durable only once the directory entry is on disk. The new
  // file is complete either way, so a failure here is still reported: the
  // caller asked for a durable checkpoint.
  std::string directory = directoryOf(path);
  int dirFd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd < 0)
    return fail("cannot open directory '" + directory +
                "' to sync it: " + std::strerror(errno));
  int syncResult = ::fsync(dirFd);
  int syncErrno = errno;
  ::close(dirFd);
  if (syncResult != 0)
    return fail("cannot sync directory '" + directory +
                "': " + std::strerror(syncErrno));
  return Status::success();
}
