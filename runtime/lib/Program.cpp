//===- Program.cpp - Calling compiled ST programs -------------------------===//

#include "st/Runtime/Program.h"

#include "st/Runtime/Rng.h"
#include "st/Runtime/Safetensors.h"

#include <cassert>

using namespace st::rt;

void ArgumentPack::add(void *data, const std::vector<int64_t> &shape) {
  std::vector<int64_t> d;
  d.push_back(reinterpret_cast<int64_t>(data)); // allocated
  d.push_back(reinterpret_cast<int64_t>(data)); // aligned
  d.push_back(0);                               // offset
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t i = shape.size(); i > 1; --i)
    strides[i - 2] = strides[i - 1] * shape[i - 1];
  d.insert(d.end(), shape.begin(), shape.end());
  d.insert(d.end(), strides.begin(), strides.end());
  descriptors.push_back(std::move(d));
}

void **ArgumentPack::data() {
  descriptorPtrs.clear();
  for (std::vector<int64_t> &d : descriptors)
    descriptorPtrs.push_back(d.data());
  argPtrs.clear();
  for (void *&p : descriptorPtrs)
    argPtrs.push_back(&p);
  return argPtrs.data();
}

int64_t ParamSpec::numElements() const {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

ParamStore::ParamStore(std::vector<ParamSpec> s) : specs(std::move(s)) {
  for (const ParamSpec &p : specs)
    values.emplace_back(p.numElements(), 0.0f);
}

int64_t ParamStore::numParameters() const {
  int64_t n = 0;
  for (const ParamSpec &p : specs)
    n += p.numElements();
  return n;
}

void ParamStore::initialize(uint64_t seed) {
  for (size_t i = 0; i < specs.size(); ++i) {
    const ParamSpec &p = specs[i];
    std::vector<float> &v = values[i];
    switch (p.init) {
    case InitKind::Zeros:
      std::fill(v.begin(), v.end(), 0.0f);
      break;
    case InitKind::Ones:
      std::fill(v.begin(), v.end(), 1.0f);
      break;
    case InitKind::Normal: {
      uint64_t nameHash = fnv1a64(
          reinterpret_cast<const uint8_t *>(p.name.data()), p.name.size());
      Philox rng(mixKey(seed, nameHash));
      for (size_t e = 0; e < v.size(); e += 2) {
        std::pair<float, float> z = normalPair(rng.nextU32(), rng.nextU32());
        v[e] = static_cast<float>(z.first * p.std);
        if (e + 1 < v.size())
          v[e + 1] = static_cast<float>(z.second * p.std);
      }
      break;
    }
    }
  }
}

Status ParamStore::load(const std::string &path) {
  Expected<SafetensorsFile> file = readSafetensors(path);
  if (!file)
    return file.status();
  return load(*file);
}

Status ParamStore::load(const SafetensorsFile &file) {
  for (size_t i = 0; i < specs.size(); ++i) {
    Expected<const float *> data = file.getF32(specs[i].name, specs[i].shape);
    if (!data)
      return data.status();
    std::copy(*data, *data + values[i].size(), values[i].begin());
  }
  return Status::success();
}

void ParamStore::addTo(ArgumentPack &pack) {
  for (size_t i = 0; i < specs.size(); ++i)
    pack.add(values[i].data(), specs[i].shape);
}
