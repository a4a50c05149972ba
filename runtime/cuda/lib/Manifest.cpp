//===- Manifest.cpp - Kernel library manifests: parse, check, pack --------===//
//
// Reading a kernel library's manifest.json into Entry values (dtypes,
// argument kinds, launches, scratch), checking it, and packing a launch's
// arguments; the size expressions are in Expr.cpp.
//

#include "Json.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

using namespace st::cuda;
using json = nlohmann::json;
using detail::asInt64;
using detail::brief;
using detail::parseExprJson;

//===----------------------------------------------------------------------===//
// DType
//===----------------------------------------------------------------------===//

const char *st::cuda::dtypeName(DType dtype) {
  switch (dtype) {
  case DType::BF16:
    return "bf16";
  case DType::F16:
    return "f16";
  case DType::F32:
    return "f32";
  }
  return "?";
}

int64_t st::cuda::dtypeBytes(DType dtype) {
  return dtype == DType::F32 ? 4 : 2;
}

std::optional<DType> st::cuda::parseDType(std::string_view name) {
  if (name == "bf16")
    return DType::BF16;
  if (name == "f16")
    return DType::F16;
  if (name == "f32")
    return DType::F32;
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Arguments
//===----------------------------------------------------------------------===//

namespace {
struct ArgName {
  ArgKind kind;
  const char *name;
};
constexpr ArgName kArgNames[] = {
    {ArgKind::Q, "q"},   {ArgKind::K, "k"},     {ArgKind::V, "v"},
    {ArgKind::O, "o"},   {ArgKind::Lse, "lse"}, {ArgKind::Dout, "dout"},
    {ArgKind::Dq, "dq"}, {ArgKind::Dk, "dk"},   {ArgKind::Dv, "dv"},
    {ArgKind::N, "N"},   {ArgKind::B, "B"},     {ArgKind::H, "H"},
    {ArgKind::BH, "BH"},
};

std::optional<ArgKind> parseArgKind(std::string_view name) {
  for (const ArgName &entry : kArgNames)
    if (name == entry.name)
      return entry.kind;
  return std::nullopt;
}

bool isBackwardOnly(ArgKind kind) {
  return kind == ArgKind::Dout || kind == ArgKind::Dq || kind == ArgKind::Dk ||
         kind == ArgKind::Dv;
}
} // namespace

const char *st::cuda::argKindName(ArgKind kind) {
  for (const ArgName &entry : kArgNames)
    if (entry.kind == kind)
      return entry.name;
  return "scratch";
}

std::string Entry::describe() const {
  return "(" + layout + ", head_dim " + std::to_string(headDim) + ", " +
         dtypeName(dtype) + ")";
}

//===----------------------------------------------------------------------===//
// Manifest parsing
//===----------------------------------------------------------------------===//

namespace {
constexpr const char *kFormat = "st-attention-kernels";
constexpr int64_t kVersion = 1;

/// Rejects keys outside `allowed` so that a misspelt optional key is an
/// error instead of a silent default.
Status checkKeys(const json &object,
                 std::initializer_list<const char *> allowed,
                 const std::string &where) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool known = false;
    for (const char *key : allowed)
      known |= it.key() == key;
    if (known)
      continue;
    std::string list;
    for (const char *key : allowed)
      list += std::string(list.empty() ? "" : ", ") + key;
    return Status::error(where + ": unknown key '" + it.key() + "' (expected " +
                         list + ")");
  }
  return Status::success();
}

Expected<std::string> getString(const json &object, const char *key,
                                const std::string &where) {
  auto it = object.find(key);
  if (it == object.end())
    return Status::error(where + ": missing '" + key + "'");
  if (!it->is_string() || it->get_ref<const std::string &>().empty())
    return Status::error(where + ": '" + key + "' must be a non-empty string");
  return it->get<std::string>();
}

Expected<int64_t> getInt(const json &object, const char *key,
                         const std::string &where) {
  auto it = object.find(key);
  if (it == object.end())
    return Status::error(where + ": missing '" + key + "'");
  std::optional<int64_t> value = asInt64(*it);
  if (!value)
    return Status::error(where + ": '" + key + "' must be an integer, got " +
                         brief(*it));
  return *value;
}

/// Sets `out` from the optional boolean `key` of `object` (left as it is
/// when absent).
Status getOptionalBool(const json &object, const char *key,
                       const std::string &where, bool &out) {
  auto it = object.find(key);
  if (it == object.end())
    return Status::success();
  if (!it->is_boolean())
    return Status::error(where + ": '" + key + "' must be true or false, got " +
                         brief(*it));
  out = it->get<bool>();
  return Status::success();
}

class Parser {
public:
  explicit Parser(std::string source) : source(std::move(source)) {}

  Expected<Entry> parseEntry(const json &value, const std::string &where);

private:
  std::string source;

  Expected<Launch> parseLaunch(const json &value, const Entry &entry, Pass pass,
                               const std::string &where);
};

Expected<Entry> Parser::parseEntry(const json &value,
                                   const std::string &where) {
  if (!value.is_object())
    return Status::error(where + ": an entry must be an object");
  if (Status s = checkKeys(value,
                           {"layout", "head_dim", "dtype", "module", "scratch",
                            "forward", "backward", "info"},
                           where);
      s.isError())
    return s;
  Entry entry;
  Expected<std::string> layout = getString(value, "layout", where);
  if (!layout)
    return layout.status();
  entry.layout = layout.take();
  Expected<int64_t> headDim = getInt(value, "head_dim", where);
  if (!headDim)
    return headDim.status();
  if (*headDim <= 0)
    return Status::error(where + ": 'head_dim' must be positive, got " +
                         std::to_string(*headDim));
  entry.headDim = *headDim;
  Expected<std::string> dtype = getString(value, "dtype", where);
  if (!dtype)
    return dtype.status();
  std::optional<DType> parsed = parseDType(*dtype);
  if (!parsed)
    return Status::error(where + ": unknown dtype '" + *dtype +
                         "' (expected bf16, f16 or f32)");
  entry.dtype = *parsed;
  Expected<std::string> module = getString(value, "module", where);
  if (!module)
    return module.status();
  entry.module = module.take();
  if (entry.module.find('/') != std::string::npos)
    return Status::error(where +
                         ": 'module' must be a file name inside the "
                         "library directory, got '" +
                         entry.module + "'");

  std::string entryWhere = where + " " + entry.describe();
  if (auto it = value.find("scratch"); it != value.end()) {
    if (!it->is_array())
      return Status::error(entryWhere + ": 'scratch' must be an array");
    std::set<std::string> names;
    for (size_t i = 0; i < it->size(); ++i) {
      const json &item = (*it)[i];
      std::string itemWhere =
          entryWhere + ": scratch[" + std::to_string(i) + "]";
      if (!item.is_object())
        return Status::error(itemWhere + ": must be an object");
      if (Status s = checkKeys(
              item, {"name", "bytes", "element_bytes", "zeroed"}, itemWhere);
          s.isError())
        return s;
      Scratch scratch;
      Expected<std::string> name = getString(item, "name", itemWhere);
      if (!name)
        return name.status();
      scratch.name = name.take();
      if (parseArgKind(scratch.name))
        return Status::error(itemWhere + ": scratch name '" + scratch.name +
                             "' is reserved for a user buffer or size");
      if (!names.insert(scratch.name).second)
        return Status::error(itemWhere + ": duplicate scratch name '" +
                             scratch.name + "'");
      auto bytesIt = item.find("bytes");
      if (bytesIt == item.end())
        return Status::error(itemWhere + ": missing 'bytes'");
      Expected<Expr> bytes = parseExprJson(*bytesIt, itemWhere + ".bytes", 0);
      if (!bytes)
        return bytes.status();
      scratch.bytes = bytes.take();
      if (item.contains("element_bytes")) {
        Expected<int64_t> elementBytes =
            getInt(item, "element_bytes", itemWhere);
        if (!elementBytes)
          return elementBytes.status();
        if (*elementBytes != 1 && *elementBytes != 2 && *elementBytes != 4 &&
            *elementBytes != 8)
          return Status::error(itemWhere +
                               ": 'element_bytes' must be 1, 2, 4 or 8, got " +
                               std::to_string(*elementBytes));
        scratch.elementBytes = *elementBytes;
      }
      if (Status s = getOptionalBool(item, "zeroed", itemWhere, scratch.zeroed);
          s.isError())
        return s;
      entry.scratch.push_back(std::move(scratch));
    }
  }

  for (Pass pass : {Pass::Forward, Pass::Backward}) {
    const char *key = pass == Pass::Forward ? "forward" : "backward";
    auto it = value.find(key);
    if (it == value.end())
      return Status::error(entryWhere + ": missing '" + key + "'");
    if (!it->is_array() || it->empty())
      return Status::error(entryWhere + ": '" + key +
                           "' must be a non-empty array of launches");
    std::vector<Launch> &launches =
        pass == Pass::Forward ? entry.forward : entry.backward;
    for (size_t i = 0; i < it->size(); ++i) {
      Expected<Launch> launch =
          parseLaunch((*it)[i], entry, pass,
                      entryWhere + ": " + key + "[" + std::to_string(i) + "]");
      if (!launch)
        return launch.status();
      // A launch waits for earlier launches of the other stream only.
      for (int32_t w : launch->waits)
        if (static_cast<size_t>(w) >= i || launches[w].stream == launch->stream)
          return Status::error(
              entryWhere + ": " + key + "[" + std::to_string(i) +
              "] (kernel '" + launch->kernel + "'): 'waits' names launch " +
              std::to_string(w) +
              (static_cast<size_t>(w) >= i
                   ? ", which is not before it"
                   : ", which is on the same stream (those run in order)"));
      launches.push_back(launch.take());
    }
    // A pass must hand every output to some kernel, or nothing writes it.
    std::vector<ArgKind> outputs =
        pass == Pass::Forward
            ? std::vector<ArgKind>{ArgKind::O, ArgKind::Lse}
            : std::vector<ArgKind>{ArgKind::Dq, ArgKind::Dk, ArgKind::Dv};
    for (ArgKind output : outputs) {
      bool passed = false;
      for (const Launch &launch : launches)
        for (const Arg &arg : launch.args)
          passed |= arg.kind == output;
      if (!passed)
        return Status::error(entryWhere + ": no " + key + " launch takes '" +
                             argKindName(output) +
                             "', so nothing would write it");
    }
  }
  return entry;
}

Expected<Launch> Parser::parseLaunch(const json &value, const Entry &entry,
                                     Pass pass, const std::string &where) {
  if (!value.is_object())
    return Status::error(where + ": a launch must be an object");
  if (Status s = checkKeys(value,
                           {"kernel", "grid", "block", "shared_bytes", "args",
                            "stream", "waits", "early_launch", "info"},
                           where);
      s.isError())
    return s;
  Launch launch;
  Expected<std::string> kernel = getString(value, "kernel", where);
  if (!kernel)
    return kernel.status();
  launch.kernel = kernel.take();
  std::string launchWhere = where + " (kernel '" + launch.kernel + "')";

  auto gridIt = value.find("grid");
  if (gridIt == value.end() || !gridIt->is_array() || gridIt->size() != 3)
    return Status::error(launchWhere +
                         ": 'grid' must be an array of three expressions");
  for (size_t d = 0; d < 3; ++d) {
    Expected<Expr> dim = parseExprJson(
        (*gridIt)[d], launchWhere + ": grid[" + std::to_string(d) + "]", 0);
    if (!dim)
      return dim.status();
    launch.grid[d] = dim.take();
  }

  auto blockIt = value.find("block");
  if (blockIt == value.end() || !blockIt->is_array() || blockIt->size() != 3)
    return Status::error(launchWhere +
                         ": 'block' must be an array of three integers");
  int64_t threads = 1;
  for (size_t d = 0; d < 3; ++d) {
    std::optional<int64_t> dim = asInt64((*blockIt)[d]);
    if (!dim || *dim <= 0 || *dim > 1024)
      return Status::error(launchWhere + ": block[" + std::to_string(d) +
                           "] must be an integer in [1, 1024], got " +
                           brief((*blockIt)[d]));
    launch.block[d] = *dim;
    threads *= *dim;
  }
  if (threads > 1024 || launch.block[2] > 64)
    return Status::error(launchWhere + ": block " +
                         std::to_string(launch.block[0]) + "x" +
                         std::to_string(launch.block[1]) + "x" +
                         std::to_string(launch.block[2]) +
                         " exceeds CUDA's limits (1024 threads, z <= 64)");

  if (auto it = value.find("shared_bytes"); it != value.end()) {
    Expected<Expr> shared =
        parseExprJson(*it, launchWhere + ": shared_bytes", 0);
    if (!shared)
      return shared.status();
    launch.sharedBytes = shared.take();
  } else {
    launch.sharedBytes = Expr::constant(0);
  }

  auto argsIt = value.find("args");
  if (argsIt == value.end() || !argsIt->is_array())
    return Status::error(launchWhere + ": 'args' must be an array of names");
  for (size_t i = 0; i < argsIt->size(); ++i) {
    const json &name = (*argsIt)[i];
    std::string argWhere = launchWhere + ": args[" + std::to_string(i) + "]";
    if (!name.is_string())
      return Status::error(argWhere + ": " + brief(name) +
                           " is not an argument name");
    const std::string &text = name.get_ref<const std::string &>();
    Arg arg{ArgKind::Scratch, -1};
    if (std::optional<ArgKind> kind = parseArgKind(text)) {
      arg.kind = *kind;
      if (pass == Pass::Forward && isBackwardOnly(*kind))
        return Status::error(argWhere + ": '" + text +
                             "' exists only in the backward pass");
    } else {
      for (size_t s = 0; s < entry.scratch.size(); ++s)
        if (entry.scratch[s].name == text)
          arg.scratch = static_cast<int32_t>(s);
      if (arg.scratch < 0) {
        std::string scratchNames;
        for (const Scratch &scratch : entry.scratch)
          scratchNames += (scratchNames.empty() ? "" : ", ") + scratch.name;
        return Status::error(
            argWhere + ": unknown argument '" + text +
            "' (expected q, k, v, o, lse, dout, dq, dk, dv, N, B, H, BH" +
            (scratchNames.empty()
                 ? std::string(")")
                 : " or a scratch name: " + scratchNames + ")"));
      }
    }
    launch.args.push_back(arg);
  }

  if (auto it = value.find("stream"); it != value.end()) {
    std::optional<int64_t> stream = asInt64(*it);
    if (!stream || (*stream != 0 && *stream != 1))
      return Status::error(launchWhere + ": 'stream' must be 0 or 1, got " +
                           brief(*it));
    launch.stream = static_cast<int32_t>(*stream);
  }
  if (auto it = value.find("waits"); it != value.end()) {
    if (!it->is_array())
      return Status::error(launchWhere +
                           ": 'waits' must be an array of launch indices");
    for (const json &item : *it) {
      std::optional<int64_t> index = asInt64(item);
      if (!index || *index < 0 || *index > std::numeric_limits<int32_t>::max())
        return Status::error(launchWhere + ": 'waits' holds " + brief(item) +
                             ", not a launch index");
      launch.waits.push_back(static_cast<int32_t>(*index));
    }
  }
  if (Status s = getOptionalBool(value, "early_launch", launchWhere,
                                 launch.earlyLaunch);
      s.isError())
    return s;
  return launch;
}
} // namespace

Expected<Manifest> Manifest::parse(std::string_view text, std::string source) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded())
    return Status::error(source + ": not valid JSON");
  if (!root.is_object())
    return Status::error(source + ": the manifest must be a JSON object");
  if (Status s =
          checkKeys(root, {"format", "version", "entries", "info"}, source);
      s.isError())
    return s;
  Expected<std::string> format = getString(root, "format", source);
  if (!format)
    return format.status();
  if (*format != kFormat)
    return Status::error(source + ": 'format' is '" + *format +
                         "', expected '" + kFormat + "'");
  Expected<int64_t> version = getInt(root, "version", source);
  if (!version)
    return version.status();
  if (*version != kVersion)
    return Status::error(source + ": manifest version " +
                         std::to_string(*version) +
                         " is not supported (this runtime reads version " +
                         std::to_string(kVersion) + ")");
  auto entriesIt = root.find("entries");
  if (entriesIt == root.end() || !entriesIt->is_array())
    return Status::error(source + ": 'entries' must be an array");

  Manifest manifest;
  manifest.source = source;
  Parser parser(source);
  for (size_t i = 0; i < entriesIt->size(); ++i) {
    Expected<Entry> entry = parser.parseEntry(
        (*entriesIt)[i], source + ": entries[" + std::to_string(i) + "]");
    if (!entry)
      return entry.status();
    for (const Entry &other : manifest.entries)
      if (other.layout == entry->layout && other.headDim == entry->headDim &&
          other.dtype == entry->dtype)
        return Status::error(source + ": entries[" + std::to_string(i) +
                             "]: duplicate entry " + entry->describe());
    manifest.entries.push_back(entry.take());
  }
  return manifest;
}

Expected<Manifest> Manifest::load(const std::string &libraryDir) {
  std::string path = libraryDir + "/manifest.json";
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return Status::error(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad())
    return Status::error(path + ": cannot read: " + std::strerror(errno));
  return parse(text.str(), path);
}

Expected<const Entry *> Manifest::lookup(std::string_view layout,
                                         int64_t headDim, DType dtype) const {
  for (const Entry &entry : entries)
    if (entry.layout == layout && entry.headDim == headDim &&
        entry.dtype == dtype)
      return &entry;
  std::string have;
  for (const Entry &entry : entries)
    have += (have.empty() ? "" : ", ") + entry.describe();
  return Status::error(source + ": no entry for (" + std::string(layout) +
                       ", head_dim " + std::to_string(headDim) + ", " +
                       dtypeName(dtype) + "); the library has " +
                       (have.empty() ? std::string("no entries") : have));
}

//===----------------------------------------------------------------------===//
// Launch preparation
//===----------------------------------------------------------------------===//

namespace {
/// Element counts of the user tensors ([B, H, N, D]) and of lse ([B, H, N]).
struct Counts {
  int64_t tensor = 0;
  int64_t rows = 0;
};

Expected<Counts> elementCounts(const Entry &entry, const Sizes &sizes) {
  Counts counts;
  if (__builtin_mul_overflow(sizes.batch, sizes.heads, &counts.rows) ||
      __builtin_mul_overflow(counts.rows, sizes.length, &counts.rows) ||
      __builtin_mul_overflow(counts.rows, entry.headDim, &counts.tensor))
    return Status::error("sizes B=" + std::to_string(sizes.batch) +
                         " H=" + std::to_string(sizes.heads) +
                         " N=" + std::to_string(sizes.length) +
                         " overflow the element count");
  return counts;
}
} // namespace

Status st::cuda::checkSizes(const Entry &entry, const Sizes &sizes) {
  if (sizes.batch < 1 || sizes.heads < 1 || sizes.length < 1)
    return Status::error(
        "sizes must be positive, got B=" + std::to_string(sizes.batch) + " H=" +
        std::to_string(sizes.heads) + " N=" + std::to_string(sizes.length));
  // The kernels address the rows of one (batch, head) with 32-bit offsets
  // (lib/Conversion/AttentionToGpu: KernelEmitter::originalRow32).
  if (sizes.length > std::numeric_limits<int32_t>::max() / entry.headDim)
    return Status::error("N=" + std::to_string(sizes.length) + " at head dim " +
                         std::to_string(entry.headDim) +
                         ": one head's N * D elements must fit 32-bit "
                         "offsets (N * D < 2^31)");
  Expected<Counts> counts = elementCounts(entry, sizes);
  if (!counts)
    return counts.status();
  int64_t bytes;
  if (__builtin_mul_overflow(counts->tensor, dtypeBytes(entry.dtype), &bytes))
    return Status::error("a [B, H, N, D] tensor of these sizes overflows the "
                         "byte count");
  return Status::success();
}

Expected<std::vector<int64_t>> st::cuda::scratchBytes(const Entry &entry,
                                                      const Sizes &sizes) {
  std::vector<int64_t> bytes;
  for (const Scratch &scratch : entry.scratch) {
    Expected<int64_t> value = scratch.bytes.evaluate(sizes);
    if (!value)
      return Status::error("scratch '" + scratch.name +
                           "' bytes: " + value.message());
    if (*value < 0)
      return Status::error("scratch '" + scratch.name + "' bytes " +
                           scratch.bytes.str() + " = " +
                           std::to_string(*value) + " is negative");
    if (*value % scratch.elementBytes != 0)
      return Status::error("scratch '" + scratch.name + "' bytes " +
                           std::to_string(*value) +
                           " is not a multiple of its element size " +
                           std::to_string(scratch.elementBytes));
    bytes.push_back(*value);
  }
  return bytes;
}

Expected<ScratchLayout>
st::cuda::layoutScratch(const std::vector<int64_t> &bytes) {
  ScratchLayout layout;
  for (int64_t size : bytes) {
    layout.offsets.push_back(layout.totalBytes);
    int64_t rounded;
    if (__builtin_add_overflow(size, kScratchAlignment - 1, &rounded) ||
        __builtin_add_overflow(layout.totalBytes,
                               rounded / kScratchAlignment * kScratchAlignment,
                               &layout.totalBytes))
      return Status::error("scratch sizes overflow");
  }
  return layout;
}

Expected<LaunchShape> st::cuda::evaluateShape(const Launch &launch,
                                              const Sizes &sizes) {
  LaunchShape shape;
  shape.block = launch.block;
  for (size_t d = 0; d < 3; ++d) {
    Expected<int64_t> dim = launch.grid[d].evaluate(sizes);
    if (!dim)
      return Status::error("kernel '" + launch.kernel + "' grid[" +
                           std::to_string(d) + "]: " + dim.message());
    shape.grid[d] = *dim;
  }
  if (!shape.isEmpty()) {
    const int64_t limits[3] = {INT64_C(2147483647), 65535, 65535};
    for (size_t d = 0; d < 3; ++d)
      if (shape.grid[d] > limits[d])
        return Status::error(
            "kernel '" + launch.kernel + "' grid[" + std::to_string(d) + "] " +
            launch.grid[d].str() + " = " + std::to_string(shape.grid[d]) +
            " exceeds CUDA's limit " + std::to_string(limits[d]));
  }
  Expected<int64_t> shared = launch.sharedBytes.evaluate(sizes);
  if (!shared)
    return Status::error("kernel '" + launch.kernel +
                         "' shared_bytes: " + shared.message());
  if (*shared < 0 || *shared > std::numeric_limits<uint32_t>::max())
    return Status::error("kernel '" + launch.kernel + "' shared_bytes " +
                         launch.sharedBytes.str() + " = " +
                         std::to_string(*shared) + " is out of range");
  shape.sharedBytes = *shared;
  return shape;
}

Expected<std::vector<uint64_t>>
st::cuda::packArguments(const Entry &entry, const Launch &launch,
                        const Sizes &sizes, const Buffers &buffers) {
  Expected<Counts> counts = elementCounts(entry, sizes);
  if (!counts)
    return counts.status();
  std::vector<uint64_t> params;
  auto pushBuffer = [&](uint64_t address, int64_t elements,
                        const char *name) -> Status {
    if (address == 0)
      return Status::error("kernel '" + launch.kernel + "' takes '" + name +
                           "', but it is null");
    params.push_back(address);                         // allocated
    params.push_back(address);                         // aligned
    params.push_back(0);                               // offset
    params.push_back(static_cast<uint64_t>(elements)); // size
    params.push_back(1);                               // stride
    return Status::success();
  };
  for (const Arg &arg : launch.args) {
    Status status;
    switch (arg.kind) {
    case ArgKind::Q:
      status = pushBuffer(buffers.q, counts->tensor, "q");
      break;
    case ArgKind::K:
      status = pushBuffer(buffers.k, counts->tensor, "k");
      break;
    case ArgKind::V:
      status = pushBuffer(buffers.v, counts->tensor, "v");
      break;
    case ArgKind::O:
      status = pushBuffer(buffers.o, counts->tensor, "o");
      break;
    case ArgKind::Lse:
      status = pushBuffer(buffers.lse, counts->rows, "lse");
      break;
    case ArgKind::Dout:
      status = pushBuffer(buffers.dout, counts->tensor, "dout");
      break;
    case ArgKind::Dq:
      status = pushBuffer(buffers.dq, counts->tensor, "dq");
      break;
    case ArgKind::Dk:
      status = pushBuffer(buffers.dk, counts->tensor, "dk");
      break;
    case ArgKind::Dv:
      status = pushBuffer(buffers.dv, counts->tensor, "dv");
      break;
    case ArgKind::Scratch: {
      const Scratch &scratch = entry.scratch[arg.scratch];
      Expected<int64_t> bytes = scratch.bytes.evaluate(sizes);
      if (!bytes)
        return Status::error("scratch '" + scratch.name +
                             "' bytes: " + bytes.message());
      if (static_cast<size_t>(arg.scratch) >= buffers.scratch.size())
        return Status::error("kernel '" + launch.kernel + "' takes scratch '" +
                             scratch.name + "', which was not allocated");
      status = pushBuffer(buffers.scratch[arg.scratch],
                          *bytes / scratch.elementBytes, scratch.name.c_str());
      // An empty scratch buffer may have no address; its kernels read none.
      if (status.isError() && *bytes == 0) {
        status = Status::success();
        params.insert(params.end(), {0, 0, 0, 0, 1});
      }
      break;
    }
    case ArgKind::N:
      params.push_back(static_cast<uint64_t>(sizes.length));
      break;
    case ArgKind::B:
      params.push_back(static_cast<uint64_t>(sizes.batch));
      break;
    case ArgKind::H:
      params.push_back(static_cast<uint64_t>(sizes.heads));
      break;
    case ArgKind::BH:
      params.push_back(static_cast<uint64_t>(sizes.batch * sizes.heads));
      break;
    }
    if (status.isError())
      return status;
  }
  return params;
}
