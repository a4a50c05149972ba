//===- Files.cpp - Whole-file reads, atomic writes, gzip ------------------===//

#include "st/Runtime/Files.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace st::rt;

Expected<std::vector<uint8_t>> st::rt::readFile(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    if (error == ENOENT)
      return Status::error(path + ": no such file");
    return Status::error(path + ": cannot open: " + std::strerror(error));
  }
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    int error = errno;
    ::close(fd);
    return Status::error(path + ": cannot read: " + std::strerror(error));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return Status::error(
        path + ": cannot read: " +
        (S_ISDIR(info.st_mode) ? "is a directory" : "not a regular file"));
  }
  std::vector<uint8_t> bytes;
  bytes.resize(static_cast<size_t>(info.st_size));
  size_t filled = 0;
  // Loop to the end of file rather than trusting st_size: the file may
  // change size while we read it, and read() may return short counts.
  while (true) {
    if (filled == bytes.size())
      bytes.resize(bytes.size() + (bytes.size() / 2) + 4096);
    ssize_t got = ::read(fd, bytes.data() + filled, bytes.size() - filled);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      int error = errno;
      ::close(fd);
      return Status::error(path + ": cannot read: " + std::strerror(error));
    }
    if (got == 0)
      break;
    filled += static_cast<size_t>(got);
  }
  ::close(fd);
  bytes.resize(filled);
  return bytes;
}

Status st::rt::writeFile(const std::string &path, const void *data,
                         size_t size) {
  std::string temp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return Status::error(path + ": cannot create: " + std::strerror(errno));
  const auto *cursor = static_cast<const uint8_t *>(data);
  while (size > 0) {
    ssize_t put = ::write(fd, cursor, size);
    if (put < 0 && errno == EINTR)
      continue;
    if (put <= 0) {
      std::string reason = std::strerror(errno);
      ::close(fd);
      ::unlink(temp.c_str());
      return Status::error(path + ": cannot write: " + reason);
    }
    cursor += put;
    size -= static_cast<size_t>(put);
  }
  if (::close(fd) != 0 || ::rename(temp.c_str(), path.c_str()) != 0) {
    std::string reason = std::strerror(errno);
    ::unlink(temp.c_str());
    return Status::error(path + ": cannot write: " + reason);
  }
  return Status::success();
}

bool st::rt::isGzip(const std::vector<uint8_t> &bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

Expected<std::vector<uint8_t>> st::rt::gunzip(const std::vector<uint8_t> &bytes,
                                              const std::string &name) {
  std::vector<uint8_t> out;
  out.resize(bytes.size() * 4 + 4096);
  z_stream stream;
  std::memset(&stream, 0, sizeof(stream));
  // 16 + MAX_WBITS: gzip wrapper only.
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK)
    return Status::error(name + ": cannot start gzip decompression");
  size_t in = 0, filled = 0;
  while (true) {
    stream.next_in = const_cast<Bytef *>(bytes.data() + in);
    stream.avail_in =
        static_cast<uInt>(std::min<size_t>(bytes.size() - in, 1u << 30));
    if (filled == out.size())
      out.resize(out.size() * 2);
    stream.next_out = out.data() + filled;
    stream.avail_out =
        static_cast<uInt>(std::min<size_t>(out.size() - filled, 1u << 30));
    uInt availIn = stream.avail_in, availOut = stream.avail_out;
    int result = inflate(&stream, Z_NO_FLUSH);
    in += availIn - stream.avail_in;
    filled += availOut - stream.avail_out;
    if (result == Z_STREAM_END) {
      // Another member may follow (concatenated .gz files); trailing zero
      // padding is tolerated as gzip -d does.
      size_t rest = in;
      while (rest < bytes.size() && bytes[rest] == 0)
        ++rest;
      if (rest == bytes.size())
        break;
      if (inflateReset(&stream) != Z_OK)
        break;
      continue;
    }
    if (result == Z_OK)
      continue;
    if (result == Z_BUF_ERROR && in == bytes.size() && stream.avail_out != 0) {
      inflateEnd(&stream);
      return Status::error(name + ": truncated gzip data (" +
                           std::to_string(filled) +
                           " bytes decompressed before the end)");
    }
    if (result == Z_BUF_ERROR)
      continue;
    std::string reason =
        stream.msg ? stream.msg : "error " + std::to_string(result);
    inflateEnd(&stream);
    return Status::error(name + ": corrupt gzip data: " + reason);
  }
  inflateEnd(&stream);
  out.resize(filled);
  return out;
}

std::vector<uint8_t> st::rt::gzip(const std::vector<uint8_t> &bytes,
                                  int level) {
  z_stream stream;
  std::memset(&stream, 0, sizeof(stream));
  std::vector<uint8_t> out;
  // 16 + MAX_WBITS: a gzip wrapper; memory level 9 for the best ratio.
  if (deflateInit2(&stream, level, Z_DEFLATED, 16 + MAX_WBITS, 9,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return out;
  out.resize(deflateBound(&stream, static_cast<uLong>(bytes.size())) + 64);
  stream.next_in = const_cast<Bytef *>(bytes.data());
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::string st::rt::extensionOf(const std::string &path) {
  std::string name = path;
  size_t slash = name.find_last_of('/');
  if (slash != std::string::npos)
    name = name.substr(slash + 1);
  for (char &c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0)
    name.resize(name.size() - 3);
  size_t dot = name.find_last_of('.');
  if (dot == std::string::npos || dot == 0)
    return "";
  return name.substr(dot);
}
