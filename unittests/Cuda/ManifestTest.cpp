//===- ManifestTest.cpp - Kernel library manifests, on the CPU ------------===//
//
// Parsing and validation of manifest.json, size expressions, scratch layout,
// launch shapes and the exact kernel parameter arrays (the ABI of
// docs/gpu-kernel-abi.md). No GPU is needed.
//
//===----------------------------------------------------------------------===//

#include "st/cuda/Manifest.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <climits>
#include <functional>

using namespace st::cuda;
using json = nlohmann::json;

namespace {

Sizes sizes(int64_t b, int64_t h, int64_t n) { return Sizes{b, h, n}; }

int64_t eval(const char *text, Sizes s = Sizes{2, 3, 1000}) {
  Expected<Expr> expr = Expr::parse(text);
  EXPECT_TRUE(expr.isOk()) << expr.message();
  if (!expr)
    return INT64_MIN;
  Expected<int64_t> value = expr->evaluate(s);
  EXPECT_TRUE(value.isOk()) << value.message();
  return value ? *value : INT64_MIN;
}

std::string parseError(const char *text) {
  Expected<Expr> expr = Expr::parse(text, "grid[0]");
  EXPECT_FALSE(expr.isOk()) << text;
  return expr ? "" : expr.message();
}

std::string evalError(const char *text, Sizes s) {
  Expected<Expr> expr = Expr::parse(text);
  EXPECT_TRUE(expr.isOk()) << expr.message();
  Expected<int64_t> value = expr->evaluate(s);
  EXPECT_FALSE(value.isOk()) << text;
  return value ? "" : value.message();
}

TEST(CudaExpr, IntegersAndVariables) {
  EXPECT_EQ(eval("7"), 7);
  EXPECT_EQ(eval("-3"), -3);
  EXPECT_EQ(eval("\"N\""), 1000);
  EXPECT_EQ(eval("\"B\""), 2);
  EXPECT_EQ(eval("\"H\""), 3);
  EXPECT_EQ(eval("\"BH\""), 6);
}

TEST(CudaExpr, Operations) {
  EXPECT_EQ(eval(R"({"op": "add", "args": ["N", 24]})"), 1024);
  EXPECT_EQ(eval(R"({"op": "sub", "args": ["N", 1024]})"), -24);
  EXPECT_EQ(eval(R"({"op": "mul", "args": ["BH", "N"]})"), 6000);
  EXPECT_EQ(eval(R"({"op": "min", "args": ["N", 64]})"), 64);
  EXPECT_EQ(eval(R"({"op": "max", "args": ["N", 64]})"), 1000);
  // The usual grid: ceildiv(N, 128) query tiles per (batch, head).
  EXPECT_EQ(eval(R"({"op": "ceildiv", "args": ["N", 128]})"), 8);
  EXPECT_EQ(eval(R"({"op": "ceildiv", "args": [1024, 128]})"), 8);
  EXPECT_EQ(eval(R"({"op": "ceildiv", "args": [1025, 128]})"), 9);
  EXPECT_EQ(eval(R"({"op": "ceildiv", "args": [0, 128]})"), 0);
  // Towards +infinity for negative operands too.
  EXPECT_EQ(eval(R"({"op": "ceildiv", "args": [-7, 2]})"), -3);
  EXPECT_EQ(eval(R"({"op": "ceildiv", "args": [7, -2]})"), -3);
  EXPECT_EQ(eval(R"({"op": "ceildiv", "args": [-7, -2]})"), 4);
  // Nested: ceildiv(B * H * N * 64, 256).
  EXPECT_EQ(eval(R"({"op": "ceildiv", "args": [{"op": "mul", "args": [
               {"op": "mul", "args": ["BH", "N"]}, 64]}, 256]})"),
            1500);
}

// The gate that st-gpu-kernels puts on a split forward and its unsplit
// twin (split-forward-min-n, AttentionToGpu.cpp; the text as
// split-forward-gate.mlir checks it): at every N exactly one grid is
// non-empty, the split's (128 rows a block) from N = 16384 on.
TEST(CudaExpr, SequenceLengthGate) {
  const char *split =
      R"({"op": "mul", "args": [{"op": "ceildiv", "args": ["N", 128]},
          {"op": "min", "args": [1, {"op": "max", "args": [0,
            {"op": "sub", "args": ["N", 16383]}]}]}]})";
  const char *unsplit =
      R"({"op": "mul", "args": [{"op": "ceildiv", "args": ["N", 64]},
          {"op": "min", "args": [1, {"op": "max", "args": [0,
            {"op": "sub", "args": [16384, "N"]}]}]}]})";
  for (int64_t n : {1, 100, 4096, 16383, 16384, 16385, 65536, 1 << 20}) {
    int64_t a = eval(split, sizes(1, 8, n));
    int64_t b = eval(unsplit, sizes(1, 8, n));
    EXPECT_EQ(a, n >= 16384 ? (n + 127) / 128 : 0) << "N = " << n;
    EXPECT_EQ(b, n < 16384 ? (n + 63) / 64 : 0) << "N = " << n;
  }
}

TEST(CudaExpr, PrintsInfix) {
  Expected<Expr> expr = Expr::parse(
      R"({"op": "ceildiv", "args": [{"op": "sub", "args": ["N", 1]}, 128]})");
  ASSERT_TRUE(expr.isOk()) << expr.message();
  EXPECT_EQ(expr->str(), "ceildiv((N - 1), 128)");
  EXPECT_FALSE(expr->isConstant());
  EXPECT_TRUE(Expr::parse("42")->isConstant());
}

TEST(CudaExpr, BadExpressionsAreReported) {
  EXPECT_EQ(parseError("\"n\""),
            "grid[0]: unknown variable 'n' (expected N, B, H or BH)");
  EXPECT_EQ(parseError(R"({"op": "div", "args": [1, 2]})"),
            "grid[0]: unknown op 'div' (expected add, sub, mul, ceildiv, min "
            "or max)");
  EXPECT_EQ(parseError(R"({"op": "add", "args": [1]})"),
            "grid[0]: op 'add' needs 'args' with exactly two expressions");
  EXPECT_EQ(parseError(R"({"args": [1, 2]})"),
            "grid[0]: expression {\"args\":[1,2]} needs a string 'op'");
  EXPECT_EQ(parseError(R"({"op": "add", "args": [1, 2], "x": 0})"),
            "grid[0]: unknown key 'x' in an expression (expected 'op' and "
            "'args')");
  EXPECT_EQ(parseError("1.5"),
            "grid[0]: 1.5 is not an integer in the int64 range");
  EXPECT_EQ(parseError("9223372036854775808"),
            "grid[0]: 9223372036854775808 is not an integer in the int64 "
            "range");
  EXPECT_EQ(parseError(R"({"op": "add", "args": [1, "M"]})"),
            "grid[0].add[1]: unknown variable 'M' (expected N, B, H or BH)");
  EXPECT_NE(parseError("[1, 2]").find("is not an expression"),
            std::string::npos);
  EXPECT_EQ(parseError("{"), "grid[0]: not valid JSON");

  std::string deep = "1";
  for (int i = 0; i < 100; ++i)
    deep = R"({"op": "add", "args": [)" + deep + ", 1]}";
  EXPECT_NE(parseError(deep.c_str()).find("nested deeper than 64 levels"),
            std::string::npos);
}

TEST(CudaExpr, EvaluationErrors) {
  EXPECT_EQ(evalError(R"({"op": "mul", "args": ["N", "N"]})",
                      sizes(1, 1, INT64_C(1) << 32)),
            "integer overflow in (N * N)");
  EXPECT_EQ(evalError(R"({"op": "ceildiv", "args": ["N", {"op": "sub",
                         "args": ["H", 3]}]})",
                      sizes(2, 3, 10)),
            "division by zero in ceildiv(N, (H - 3))");
  EXPECT_EQ(evalError("\"BH\"", sizes(INT64_C(1) << 40, INT64_C(1) << 40, 1)),
            "integer overflow in BH");
}

//===----------------------------------------------------------------------===//
// Manifests
//===----------------------------------------------------------------------===//

/// A valid manifest in the shape of docs/gpu-kernel-abi.md's example.
json exampleManifest() {
  return json::parse(R"({
    "format": "st-attention-kernels",
    "version": 1,
    "entries": [
      {
        "layout": "#st.strided<stride = 128>",
        "head_dim": 64,
        "dtype": "bf16",
        "module": "strided_128_d64_bf16.cubin",
        "scratch": [
          {"name": "o_acc",
           "bytes": {"op": "mul", "args": [{"op": "mul", "args": ["BH", "N"]}, 256]}},
          {"name": "m", "bytes": {"op": "mul", "args": ["BH", "N"]},
           "element_bytes": 1, "zeroed": true}
        ],
        "forward": [
          {"kernel": "st_fwd_band",
           "grid": [{"op": "ceildiv", "args": ["N", 128]}, "BH", 1],
           "block": [128, 1, 1], "shared_bytes": 0,
           "args": ["q", "k", "v", "o_acc", "lse", "N", "H"]},
          {"kernel": "st_fwd_merge",
           "grid": [{"op": "ceildiv", "args": ["N", 64]}, "BH", 1],
           "block": [64, 2, 1],
           "args": ["o_acc", "m", "o", "lse", "B", "BH"]}
        ],
        "backward": [
          {"kernel": "st_bwd",
           "grid": [{"op": "ceildiv", "args": ["N", 128]}, "BH", 1],
           "block": [256, 1, 1],
           "shared_bytes": {"op": "mul", "args": [2, 32768]},
           "args": ["q", "k", "v", "o", "lse", "dout", "dq", "dk", "dv", "N"]}
        ]
      },
      {
        "layout": "#st.dense_causal",
        "head_dim": 128,
        "dtype": "f32",
        "module": "dense.ptx",
        "forward": [
          {"kernel": "fwd", "grid": [1, 1, 1], "block": [32, 1, 1],
           "args": ["q", "k", "v", "o", "lse"]}
        ],
        "backward": [
          {"kernel": "bwd", "grid": [1, 1, 1], "block": [32, 1, 1],
           "args": ["q", "k", "v", "o", "lse", "dout", "dq", "dk", "dv"]}
        ]
      }
    ]
  })");
}

Manifest parseOk(const json &manifest) {
  Expected<Manifest> parsed =
      Manifest::parse(manifest.dump(), "lib/manifest.json");
  EXPECT_TRUE(parsed.isOk()) << parsed.message();
  return parsed ? parsed.take() : Manifest();
}

TEST(CudaManifest, ParsesTheExample) {
  Manifest manifest = parseOk(exampleManifest());
  ASSERT_EQ(manifest.getEntries().size(), 2u);
  const Entry &entry = manifest.getEntries()[0];
  EXPECT_EQ(entry.layout, "#st.strided<stride = 128>");
  EXPECT_EQ(entry.headDim, 64);
  EXPECT_EQ(entry.dtype, DType::BF16);
  EXPECT_EQ(entry.module, "strided_128_d64_bf16.cubin");
  ASSERT_EQ(entry.scratch.size(), 2u);
  EXPECT_EQ(entry.scratch[0].name, "o_acc");
  EXPECT_EQ(entry.scratch[0].elementBytes, 4);
  EXPECT_EQ(entry.scratch[1].elementBytes, 1);
  EXPECT_FALSE(entry.scratch[0].zeroed);
  EXPECT_TRUE(entry.scratch[1].zeroed);
  ASSERT_EQ(entry.forward.size(), 2u);
  ASSERT_EQ(entry.backward.size(), 1u);
  const Launch &band = entry.forward[0];
  EXPECT_EQ(band.kernel, "st_fwd_band");
  EXPECT_EQ(band.grid[0].str(), "ceildiv(N, 128)");
  EXPECT_EQ(band.grid[1].str(), "BH");
  EXPECT_EQ(band.grid[2].str(), "1");
  EXPECT_EQ(band.block, (std::array<int64_t, 3>{128, 1, 1}));
  EXPECT_EQ(band.sharedBytes.str(), "0");
  ASSERT_EQ(band.args.size(), 7u);
  EXPECT_EQ(band.args[0].kind, ArgKind::Q);
  EXPECT_EQ(band.args[3].kind, ArgKind::Scratch);
  EXPECT_EQ(band.args[3].scratch, 0);
  EXPECT_EQ(band.args[5].kind, ArgKind::N);
  EXPECT_EQ(band.args[6].kind, ArgKind::H);
  EXPECT_EQ(entry.forward[1].args[1].scratch, 1);
  EXPECT_EQ(entry.backward[0].sharedBytes.str(), "(2 * 32768)");
  EXPECT_EQ(manifest.getEntries()[1].dtype, DType::F32);
  EXPECT_TRUE(manifest.getEntries()[1].scratch.empty());
}

TEST(CudaManifest, StreamsAndWaits) {
  json manifest = exampleManifest();
  EXPECT_EQ(parseOk(manifest).getEntries()[0].forward[1].stream, 0)
      << "the caller's stream by default";
  manifest["entries"][0]["forward"][0]["stream"] = 1;
  manifest["entries"][0]["forward"][1]["waits"] = json::array({0});
  Manifest parsed = parseOk(manifest);
  const std::vector<Launch> &forward = parsed.getEntries()[0].forward;
  EXPECT_EQ(forward[0].stream, 1);
  EXPECT_TRUE(forward[0].waits.empty());
  EXPECT_EQ(forward[1].stream, 0);
  EXPECT_EQ(forward[1].waits, std::vector<int32_t>{0});
}

TEST(CudaManifest, EarlyLaunch) {
  json manifest = exampleManifest();
  EXPECT_FALSE(parseOk(manifest).getEntries()[0].forward[1].earlyLaunch)
      << "ordinary launches by default";
  manifest["entries"][0]["forward"][1]["early_launch"] = true;
  manifest["entries"][0]["forward"][0]["early_launch"] = false;
  Manifest parsed = parseOk(manifest);
  EXPECT_FALSE(parsed.getEntries()[0].forward[0].earlyLaunch);
  EXPECT_TRUE(parsed.getEntries()[0].forward[1].earlyLaunch);
}

TEST(CudaManifest, LookupMatchesLayoutExactly) {
  Manifest manifest = parseOk(exampleManifest());
  Expected<const Entry *> found =
      manifest.lookup("#st.strided<stride = 128>", 64, DType::BF16);
  ASSERT_TRUE(found.isOk()) << found.message();
  EXPECT_EQ((*found)->module, "strided_128_d64_bf16.cubin");
  EXPECT_EQ(manifest.lookup("#st.dense_causal", 128, DType::F32).isOk(), true);

  Expected<const Entry *> missing =
      manifest.lookup("#st.strided<stride=128>", 64, DType::BF16);
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.message(),
            "lib/manifest.json: no entry for (#st.strided<stride=128>, "
            "head_dim 64, bf16); the library has (#st.strided<stride = 128>, "
            "head_dim 64, bf16), (#st.dense_causal, head_dim 128, f32)");
  EXPECT_FALSE(
      manifest.lookup("#st.strided<stride = 128>", 64, DType::F16).isOk());
  EXPECT_FALSE(
      manifest.lookup("#st.strided<stride = 128>", 32, DType::BF16).isOk());
}

struct BadManifest {
  const char *what;
  std::function<void(json &)> mutate;
  const char *message;
};

TEST(CudaManifest, BadManifestsAreReportedInOneLine) {
  auto launch0 = [](json &m) -> json & {
    return m["entries"][0]["forward"][0];
  };
  const BadManifest cases[] = {
      {"wrong format", [](json &m) { m["format"] = "other"; },
       "lib/manifest.json: 'format' is 'other', expected "
       "'st-attention-kernels'"},
      {"newer version", [](json &m) { m["version"] = 2; },
       "lib/manifest.json: manifest version 2 is not supported (this runtime "
       "reads version 1)"},
      {"unknown top-level key", [](json &m) { m["entry"] = json::array(); },
       "lib/manifest.json: unknown key 'entry' (expected format, version, "
       "entries, info)"},
      {"entries not an array", [](json &m) { m["entries"] = 1; },
       "lib/manifest.json: 'entries' must be an array"},
      {"missing layout", [](json &m) { m["entries"][0].erase("layout"); },
       "lib/manifest.json: entries[0]: missing 'layout'"},
      {"bad dtype", [](json &m) { m["entries"][0]["dtype"] = "fp16"; },
       "lib/manifest.json: entries[0]: unknown dtype 'fp16' (expected bf16, "
       "f16 or f32)"},
      {"zero head_dim", [](json &m) { m["entries"][0]["head_dim"] = 0; },
       "lib/manifest.json: entries[0]: 'head_dim' must be positive, got 0"},
      {"module outside the library",
       [](json &m) { m["entries"][0]["module"] = "../x.cubin"; },
       "lib/manifest.json: entries[0]: 'module' must be a file name inside "
       "the library directory, got '../x.cubin'"},
      {"missing kernel name", [&](json &m) { launch0(m).erase("kernel"); },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[0]: missing 'kernel'"},
      {"misspelt key", [&](json &m) { launch0(m)["shared"] = 0; },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[0]: unknown key 'shared' (expected kernel, grid, "
       "block, shared_bytes, args, stream, waits, early_launch, info)"},
      {"two grid dimensions",
       [&](json &m) {
         launch0(m)["grid"] = json::array({1, 1});
       },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[0] (kernel 'st_fwd_band'): 'grid' must be an array "
       "of three expressions"},
      {"bad grid expression", [&](json &m) { launch0(m)["grid"][1] = "HB"; },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[0] (kernel 'st_fwd_band'): grid[1]: unknown "
       "variable 'HB' (expected N, B, H or BH)"},
      {"zero block",
       [&](json &m) {
         launch0(m)["block"] = json::array({0, 1, 1});
       },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[0] (kernel 'st_fwd_band'): block[0] must be an "
       "integer in [1, 1024], got 0"},
      {"too many threads",
       [&](json &m) {
         launch0(m)["block"] = json::array({512, 4, 1});
       },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[0] (kernel 'st_fwd_band'): block 512x4x1 exceeds "
       "CUDA's limits (1024 threads, z <= 64)"},
      {"unknown argument", [&](json &m) { launch0(m)["args"][0] = "query"; },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[0] (kernel 'st_fwd_band'): args[0]: unknown "
       "argument 'query' (expected q, k, v, o, lse, dout, dq, dk, dv, N, B, "
       "H, BH or a scratch name: o_acc, m)"},
      {"backward buffer in the forward pass",
       [&](json &m) { launch0(m)["args"].push_back("dout"); },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[0] (kernel 'st_fwd_band'): args[7]: 'dout' exists "
       "only in the backward pass"},
      {"argument not a string", [&](json &m) { launch0(m)["args"][0] = 3; },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[0] (kernel 'st_fwd_band'): args[0]: 3 is not an "
       "argument name"},
      {"output never passed",
       [](json &m) {
         m["entries"][0]["forward"][1]["args"] =
             json::array({"o_acc", "m", "o", "B", "BH"});
         m["entries"][0]["forward"][0]["args"] =
             json::array({"q", "k", "v", "o_acc", "N", "H"});
       },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): no forward launch takes 'lse', so nothing would write it"},
      {"gradient never passed",
       [](json &m) {
         m["entries"][0]["backward"][0]["args"] =
             json::array({"q", "k", "v", "o", "lse", "dout", "dq", "dv"});
       },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): no backward launch takes 'dk', so nothing would write it"},
      {"missing backward", [](json &m) { m["entries"][0].erase("backward"); },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): missing 'backward'"},
      {"empty forward",
       [](json &m) { m["entries"][0]["forward"] = json::array(); },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): 'forward' must be a non-empty array of launches"},
      {"scratch named like a tensor",
       [](json &m) { m["entries"][0]["scratch"][0]["name"] = "lse"; },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): scratch[0]: scratch name 'lse' is reserved for a user "
       "buffer or size"},
      {"duplicate scratch",
       [](json &m) { m["entries"][0]["scratch"][1]["name"] = "o_acc"; },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): scratch[1]: duplicate scratch name 'o_acc'"},
      {"odd element size",
       [](json &m) { m["entries"][0]["scratch"][1]["element_bytes"] = 3; },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): scratch[1]: 'element_bytes' must be 1, 2, 4 or 8, got 3"},
      {"zeroed not a boolean",
       [](json &m) { m["entries"][0]["scratch"][1]["zeroed"] = 1; },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): scratch[1]: 'zeroed' must be true or false, got 1"},
      {"bad scratch size",
       [](json &m) {
         m["entries"][0]["scratch"][0]["bytes"] =
             json::parse(R"({"op": "pow", "args": [2, 3]})");
       },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): scratch[0].bytes: unknown op 'pow' (expected add, sub, "
       "mul, ceildiv, min or max)"},
      {"third stream", [&](json &m) { launch0(m)["stream"] = 2; },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[0] (kernel 'st_fwd_band'): 'stream' must be 0 or "
       "1, got 2"},
      {"early_launch not a boolean",
       [&](json &m) { launch0(m)["early_launch"] = 1; },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[0] (kernel 'st_fwd_band'): 'early_launch' must be "
       "true or false, got 1"},
      {"waits not an array", [&](json &m) { launch0(m)["waits"] = 0; },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[0] (kernel 'st_fwd_band'): 'waits' must be an "
       "array of launch indices"},
      {"negative wait",
       [&](json &m) { launch0(m)["waits"] = json::array({-1}); },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[0] (kernel 'st_fwd_band'): 'waits' holds -1, not "
       "a launch index"},
      {"waits for a later launch",
       [](json &m) {
         m["entries"][0]["forward"][1]["stream"] = 1;
         m["entries"][0]["forward"][1]["waits"] = json::array({1});
       },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[1] (kernel 'st_fwd_merge'): 'waits' names launch "
       "1, which is not before it"},
      {"waits on its own stream",
       [](json &m) {
         m["entries"][0]["forward"][1]["waits"] = json::array({0});
       },
       "lib/manifest.json: entries[0] (#st.strided<stride = 128>, head_dim "
       "64, bf16): forward[1] (kernel 'st_fwd_merge'): 'waits' names launch "
       "0, which is on the same stream (those run in order)"},
      {"duplicate entry",
       [](json &m) { m["entries"].push_back(m["entries"][0]); },
       "lib/manifest.json: entries[2]: duplicate entry "
       "(#st.strided<stride = 128>, head_dim 64, bf16)"},
  };
  for (const BadManifest &bad : cases) {
    json manifest = exampleManifest();
    bad.mutate(manifest);
    Expected<Manifest> parsed =
        Manifest::parse(manifest.dump(), "lib/manifest.json");
    ASSERT_FALSE(parsed.isOk()) << bad.what;
    EXPECT_EQ(parsed.message(), bad.message) << bad.what;
    EXPECT_EQ(parsed.message().find('\n'), std::string::npos) << bad.what;
  }
}

TEST(CudaManifest, NotJsonAndMissingFiles) {
  Expected<Manifest> text = Manifest::parse("{\"format\": ", "m.json");
  ASSERT_FALSE(text.isOk());
  EXPECT_EQ(text.message(), "m.json: not valid JSON");
  Expected<Manifest> array = Manifest::parse("[]", "m.json");
  ASSERT_FALSE(array.isOk());
  EXPECT_EQ(array.message(), "m.json: the manifest must be a JSON object");
  Expected<Manifest> missing = Manifest::load("/nonexistent/st-library");
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.message(), "/nonexistent/st-library/manifest.json: cannot "
                               "open: No such file or directory");
}

//===----------------------------------------------------------------------===//
// Launch preparation
//===----------------------------------------------------------------------===//

TEST(CudaLaunch, PacksTheExactParameterArray) {
  Manifest manifest = parseOk(exampleManifest());
  const Entry &entry = manifest.getEntries()[0];
  Sizes s = sizes(2, 3, 5); // BH = 6, rows 30, elements 30 * 64 = 1920
  Buffers buffers;
  buffers.q = 0x1000;
  buffers.k = 0x2000;
  buffers.v = 0x3000;
  buffers.o = 0x4000;
  buffers.lse = 0x5000;
  buffers.scratch = {0x6000, 0x7000};
  // st_fwd_band(q, k, v, o_acc, lse, N, H): five values per buffer, one per
  // size. o_acc has 6 * 5 * 256 bytes of 4-byte elements: 1920.
  Expected<std::vector<uint64_t>> band =
      packArguments(entry, entry.forward[0], s, buffers);
  ASSERT_TRUE(band.isOk()) << band.message();
  std::vector<uint64_t> expected = {
      0x1000, 0x1000, 0, 1920, 1, // q
      0x2000, 0x2000, 0, 1920, 1, // k
      0x3000, 0x3000, 0, 1920, 1, // v
      0x6000, 0x6000, 0, 1920, 1, // o_acc
      0x5000, 0x5000, 0, 30,   1, // lse
      5,                          // N
      3,                          // H
  };
  EXPECT_EQ(*band, expected);

  // st_fwd_merge(o_acc, m, o, lse, B, BH): m has BH * N one-byte elements.
  Expected<std::vector<uint64_t>> merge =
      packArguments(entry, entry.forward[1], s, buffers);
  ASSERT_TRUE(merge.isOk()) << merge.message();
  expected = {
      0x6000, 0x6000, 0, 1920, 1, // o_acc
      0x7000, 0x7000, 0, 30,   1, // m
      0x4000, 0x4000, 0, 1920, 1, // o
      0x5000, 0x5000, 0, 30,   1, // lse
      2,                          // B
      6,                          // BH
  };
  EXPECT_EQ(*merge, expected);
}

TEST(CudaLaunch, NullBufferIsAnError) {
  Manifest manifest = parseOk(exampleManifest());
  const Entry &entry = manifest.getEntries()[0];
  Buffers buffers; // everything null
  buffers.scratch = {0x6000, 0x7000};
  Expected<std::vector<uint64_t>> params =
      packArguments(entry, entry.backward[0], sizes(1, 1, 8), buffers);
  ASSERT_FALSE(params.isOk());
  EXPECT_EQ(params.message(), "kernel 'st_bwd' takes 'q', but it is null");
}

TEST(CudaLaunch, ScratchSizesAndLayout) {
  Manifest manifest = parseOk(exampleManifest());
  const Entry &entry = manifest.getEntries()[0];
  Expected<std::vector<int64_t>> bytes = scratchBytes(entry, sizes(2, 3, 5));
  ASSERT_TRUE(bytes.isOk()) << bytes.message();
  EXPECT_EQ(*bytes, (std::vector<int64_t>{7680, 30}));
  Expected<ScratchLayout> layout = layoutScratch(*bytes);
  ASSERT_TRUE(layout.isOk()) << layout.message();
  // 7680 is a multiple of 256; 30 rounds up to 256.
  EXPECT_EQ(layout->offsets, (std::vector<int64_t>{0, 7680}));
  EXPECT_EQ(layout->totalBytes, 7936);
  layout = layoutScratch({1, 0, 257});
  ASSERT_TRUE(layout.isOk());
  EXPECT_EQ(layout->offsets, (std::vector<int64_t>{0, 256, 256}));
  EXPECT_EQ(layout->totalBytes, 768);

  json bad = exampleManifest();
  bad["entries"][0]["scratch"][0]["bytes"] =
      json::parse(R"({"op": "sub", "args": [100, "N"]})");
  Manifest negative = parseOk(bad);
  Expected<std::vector<int64_t>> negativeBytes =
      scratchBytes(negative.getEntries()[0], sizes(1, 1, 200));
  ASSERT_FALSE(negativeBytes.isOk());
  EXPECT_EQ(negativeBytes.message(),
            "scratch 'o_acc' bytes (100 - N) = -100 is negative");
  bad["entries"][0]["scratch"][0]["bytes"] = 6;
  Manifest odd = parseOk(bad);
  Expected<std::vector<int64_t>> oddBytes =
      scratchBytes(odd.getEntries()[0], sizes(1, 1, 200));
  ASSERT_FALSE(oddBytes.isOk());
  EXPECT_EQ(oddBytes.message(), "scratch 'o_acc' bytes 6 is not a multiple of "
                                "its element size 4");
}

TEST(CudaLaunch, ZeroByteScratchHasANullDescriptor) {
  json manifest = exampleManifest();
  manifest["entries"][0]["scratch"][0]["bytes"] = 0;
  Manifest parsed = parseOk(manifest);
  const Entry &entry = parsed.getEntries()[0];
  Buffers buffers;
  buffers.q = buffers.k = buffers.v = buffers.lse = 0x1000;
  buffers.scratch = {0, 0x7000};
  Expected<std::vector<uint64_t>> params =
      packArguments(entry, entry.forward[0], sizes(1, 1, 4), buffers);
  ASSERT_TRUE(params.isOk()) << params.message();
  EXPECT_EQ(std::vector<uint64_t>(params->begin() + 15, params->begin() + 20),
            (std::vector<uint64_t>{0, 0, 0, 0, 1}));
}

TEST(CudaLaunch, ShapesAreEvaluatedAndChecked) {
  Manifest manifest = parseOk(exampleManifest());
  const Entry &entry = manifest.getEntries()[0];
  Expected<LaunchShape> shape =
      evaluateShape(entry.backward[0], sizes(4, 8, 1000));
  ASSERT_TRUE(shape.isOk()) << shape.message();
  EXPECT_EQ(shape->grid, (std::array<int64_t, 3>{8, 32, 1}));
  EXPECT_EQ(shape->block, (std::array<int64_t, 3>{256, 1, 1}));
  EXPECT_EQ(shape->sharedBytes, 65536);
  EXPECT_FALSE(shape->isEmpty());

  // grid.y = BH = 70000 exceeds CUDA's 65535.
  Expected<LaunchShape> tooMany =
      evaluateShape(entry.forward[0], sizes(7, 10000, 128));
  ASSERT_FALSE(tooMany.isOk());
  EXPECT_EQ(tooMany.message(), "kernel 'st_fwd_band' grid[1] BH = 70000 "
                               "exceeds CUDA's limit 65535");

  // A grid that evaluates to <= 0 means "nothing to do" and is not checked
  // against limits.
  json manifestJson = exampleManifest();
  manifestJson["entries"][0]["forward"][0]["grid"][0] =
      json::parse(R"({"op": "sub", "args": ["N", 128]})");
  Manifest skipping = parseOk(manifestJson);
  Expected<LaunchShape> empty =
      evaluateShape(skipping.getEntries()[0].forward[0], sizes(1, 100000, 100));
  ASSERT_TRUE(empty.isOk()) << empty.message();
  EXPECT_TRUE(empty->isEmpty());
}

TEST(CudaLaunch, SizesAreChecked) {
  Manifest manifest = parseOk(exampleManifest());
  const Entry &entry = manifest.getEntries()[0];
  EXPECT_TRUE(checkSizes(entry, sizes(1, 1, 1)).isOk());
  Status zero = checkSizes(entry, sizes(1, 0, 16));
  ASSERT_TRUE(zero.isError());
  EXPECT_EQ(zero.message(), "sizes must be positive, got B=1 H=0 N=16");
  Status huge = checkSizes(entry, sizes(INT64_C(1) << 20, 1 << 20, 1 << 20));
  ASSERT_TRUE(huge.isError());
  EXPECT_EQ(huge.message(), "sizes B=1048576 H=1048576 N=1048576 overflow "
                            "the element count");
  // One head's N * D elements take 32-bit offsets in the kernels.
  EXPECT_TRUE(checkSizes(entry, sizes(1, 1, (1 << 25) - 1)).isOk());
  Status longHead = checkSizes(entry, sizes(1, 1, 1 << 25));
  ASSERT_TRUE(longHead.isError());
  EXPECT_EQ(longHead.message(), "N=33554432 at head dim 64: one head's N * D "
                                "elements must fit 32-bit offsets (N * D < "
                                "2^31)");
}

} // namespace
