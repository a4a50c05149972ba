//===- Safetensors.h - Checkpoints in the safetensors format ----*- C++ -*-===//
//
// Checkpoints are safetensors files
// (https://github.com/huggingface/safetensors):
//
//   [8 bytes]  N, little-endian uint64: the header length
//   [N bytes]  JSON header, padded with spaces to a multiple of 8:
//              {"__metadata__": {"key": "value", ...},
//               "<tensor name>": {"dtype": "F32", "shape": [2, 3],
//                                 "data_offsets": [begin, end]}, ...}
//   [rest]     the data buffer; [begin, end) is relative to its start
//
// Tensors are stored row-major, little-endian, contiguous, with no holes
// between them. Files written here add two metadata keys:
//  - "st.format_version": "1";
//  - "st.checksum": FNV-1a 64 (offset basis 0xcbf29ce484222325, prime
//    0x100000001b3) of the whole data buffer, as 16 lowercase hex digits.
// The reader verifies the checksum whenever the key is present, so files from
// other writers (which lack it) load too, without that protection.
//
// Writes are atomic: the file is written to "<path>.tmp.<pid>", fsync'ed,
// renamed over <path>, and the directory is fsync'ed. A crash at any point
// leaves either the old or the new file at <path>, never a mix (at worst a
// stale temp file next to it).
//
// The reader validates everything before returning, never crashes on any
// input, and reports the first problem in one line starting with the path.
//
//===----------------------------------------------------------------------===//

#ifndef ST_RUNTIME_SAFETENSORS_H
#define ST_RUNTIME_SAFETENSORS_H

#include "st/Runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace st {
namespace rt {

/// Element types supported here (a subset of the format's).
enum class DType { F32, F16, BF16, I32, I64, U8 };

/// The format's spelling: "F32", "F16", "BF16", "I32", "I64", "U8".
const char *dtypeName(DType dtype);
/// Bytes per element.
size_t dtypeSize(DType dtype);
/// The inverse of dtypeName; nullopt for anything else.
std::optional<DType> parseDType(const std::string &name);

/// Renders a shape as "[2, 3]" for messages.
std::string shapeToString(const std::vector<int64_t> &shape);

/// The data buffer's checksum as stored in "st.checksum": FNV-1a 64.
uint64_t fnv1a64(const uint8_t *data, size_t size);

/// A tensor to write: raw little-endian bytes of shape `shape`.
/// `numBytes` must equal dtypeSize(dtype) * product(shape).
struct TensorData {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void *data = nullptr;
  size_t numBytes = 0;
};

/// A tensor inside a loaded file; `data` points into the file's data buffer,
/// which starts 8-byte aligned, so tensors laid out as writeSafetensors (and
/// the reference implementation) does are aligned to their element size.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  size_t numBytes = 0;

  int64_t numElements() const {
    return static_cast<int64_t>(numBytes / dtypeSize(dtype));
  }
};

/// A loaded, fully validated safetensors file, held in memory. Move-only:
/// TensorView pointers refer to the object's own buffer, whose heap block a
/// move keeps in place and a copy would not.
class SafetensorsFile {
public:
  const std::string &path() const { return filePath; }
  const std::map<std::string, std::string> &metadata() const { return meta; }
  /// Tensors in data-buffer order.
  const std::vector<TensorView> &tensors() const { return views; }

  /// The tensor called `name`, or nullptr.
  const TensorView *find(const std::string &name) const;

  /// The tensor called `name` after checking that it exists and has exactly
  /// `dtype` and `shape`; otherwise a one-line error naming the file, the
  /// tensor, and what was expected versus found.
  Expected<const TensorView *> get(const std::string &name, DType dtype,
                                   const std::vector<int64_t> &shape) const;

  /// get(name, DType::F32, shape) as a float pointer; also an error if the
  /// data is not 4-byte aligned (only possible in files from other writers).
  Expected<const float *> getF32(const std::string &name,
                                 const std::vector<int64_t> &shape) const;

  SafetensorsFile(SafetensorsFile &&) = default;
  SafetensorsFile &operator=(SafetensorsFile &&) = default;
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

private:
  SafetensorsFile() = default;
  friend Expected<SafetensorsFile> readSafetensors(const std::string &path);

  std::string filePath;
  /// The data buffer; uint64_t elements make it 8-byte aligned.
  std::vector<uint64_t> buffer;
  std::map<std::string, std::string> meta;
  std::vector<TensorView> views;
};

/// Reads and validates the file at `path`. Errors: file shorter than 8
/// bytes; header length larger than the file; header not valid JSON or not
/// an object; a missing or ill-typed field; an unknown dtype; data_offsets
/// reversed, overlapping, leaving a gap, running past the data buffer
/// (truncated file), or not matching dtype size x shape product; trailing
/// bytes after the last tensor; "st.checksum" present and not matching
/// ("checksum mismatch: file is corrupted"); "st.format_version" other
/// than "1".
Expected<SafetensorsFile> readSafetensors(const std::string &path);

/// Writes `tensors` and `metadata` to `path` atomically (see the file
/// comment). Tensors are laid out by element size, largest first, then by
/// name -- the reference implementation's order, which aligns every tensor to
/// its element size -- so equal inputs give byte-identical files. Keys
/// "st.checksum" and "st.format_version" of `metadata` are replaced. Errors
/// on duplicate or reserved ("__metadata__") names, a byte count not
/// matching dtype and shape, or any I/O failure; then the temp file is
/// removed and a previous file at `path` is untouched.
Status writeSafetensors(const std::string &path,
                        const std::vector<TensorData> &tensors,
                        const std::map<std::string, std::string> &metadata);

} // namespace rt
} // namespace st

#endif // ST_RUNTIME_SAFETENSORS_H
