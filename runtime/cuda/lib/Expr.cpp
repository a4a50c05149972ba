//===- Expr.cpp - Size expressions of kernel library manifests ------------===//
//
// Expr (st/cuda/Manifest.h): the integer expressions over N, B, H and BH
// that a manifest gives for grids, shared memory and scratch sizes, parsed
// from JSON, evaluated with overflow checks and printed for messages.
//
//===----------------------------------------------------------------------===//

#include "Json.h"

#include <limits>

using namespace st::cuda;
using json = nlohmann::json;
using detail::asInt64;
using detail::brief;
using detail::parseExprJson;

namespace {
/// Deeper expressions are rejected: no compiler needs them and a recursive
/// evaluator must not overflow the stack on a hostile file.
constexpr int kMaxExprDepth = 64;

struct OpName {
  Expr::Op op;
  const char *name;
};
constexpr OpName kOpNames[] = {
    {Expr::Op::Add, "add"}, {Expr::Op::Sub, "sub"},
    {Expr::Op::Mul, "mul"}, {Expr::Op::CeilDiv, "ceildiv"},
    {Expr::Op::Min, "min"}, {Expr::Op::Max, "max"},
};

const char *opName(Expr::Op op) {
  for (const OpName &entry : kOpNames)
    if (entry.op == op)
      return entry.name;
  return "?";
}

const char *varName(Expr::Var var) {
  switch (var) {
  case Expr::Var::N:
    return "N";
  case Expr::Var::B:
    return "B";
  case Expr::Var::H:
    return "H";
  case Expr::Var::BH:
    return "BH";
  }
  return "?";
}

std::optional<Expr::Var> parseVar(std::string_view name) {
  if (name == "N")
    return Expr::Var::N;
  if (name == "B")
    return Expr::Var::B;
  if (name == "H")
    return Expr::Var::H;
  if (name == "BH")
    return Expr::Var::BH;
  return std::nullopt;
}

} // namespace

std::string detail::brief(const json &value) {
  std::string text = value.dump(-1, ' ', /*ensure_ascii=*/true,
                                json::error_handler_t::replace);
  if (text.size() > 60)
    text = text.substr(0, 57) + "...";
  return text;
}

std::optional<int64_t> detail::asInt64(const json &value) {
  if (value.is_number_unsigned()) {
    uint64_t u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (value.is_number_integer())
    return value.get<int64_t>();
  return std::nullopt;
}

Expected<Expr> detail::parseExprJson(const json &value,
                                     const std::string &where, int depth) {
  if (depth > kMaxExprDepth)
    return Status::error(where + ": expression nested deeper than " +
                         std::to_string(kMaxExprDepth) + " levels");
  if (value.is_number()) {
    std::optional<int64_t> integer = asInt64(value);
    if (!integer)
      return Status::error(where + ": " + brief(value) +
                           " is not an integer in the int64 range");
    return Expr::constant(*integer);
  }
  if (value.is_string()) {
    const std::string &name = value.get_ref<const std::string &>();
    std::optional<Expr::Var> var = parseVar(name);
    if (!var)
      return Status::error(where + ": unknown variable '" + name +
                           "' (expected N, B, H or BH)");
    return Expr::variable(*var);
  }
  if (!value.is_object())
    return Status::error(where + ": " + brief(value) +
                         " is not an expression (expected an integer, N, B, "
                         "H, BH or {\"op\": ..., \"args\": [a, b]})");
  for (auto it = value.begin(); it != value.end(); ++it)
    if (it.key() != "op" && it.key() != "args")
      return Status::error(where + ": unknown key '" + it.key() +
                           "' in an expression (expected 'op' and 'args')");
  auto opIt = value.find("op");
  if (opIt == value.end() || !opIt->is_string())
    return Status::error(where + ": expression " + brief(value) +
                         " needs a string 'op'");
  const std::string &name = opIt->get_ref<const std::string &>();
  std::optional<Expr::Op> op;
  for (const OpName &entry : kOpNames)
    if (name == entry.name)
      op = entry.op;
  if (!op)
    return Status::error(where + ": unknown op '" + name +
                         "' (expected add, sub, mul, ceildiv, min or max)");
  auto argsIt = value.find("args");
  if (argsIt == value.end() || !argsIt->is_array() || argsIt->size() != 2)
    return Status::error(where + ": op '" + name +
                         "' needs 'args' with exactly two expressions");
  Expected<Expr> lhs =
      parseExprJson((*argsIt)[0], where + "." + name + "[0]", depth + 1);
  if (!lhs)
    return lhs.status();
  Expected<Expr> rhs =
      parseExprJson((*argsIt)[1], where + "." + name + "[1]", depth + 1);
  if (!rhs)
    return rhs.status();
  return Expr::binary(*op, lhs.take(), rhs.take());
}

Expr Expr::constant(int64_t value) {
  Expr expr;
  expr.nodes.push_back({Op::Constant, value, -1, -1});
  return expr;
}

Expr Expr::variable(Var var) {
  Expr expr;
  expr.nodes.push_back({Op::Variable, static_cast<int64_t>(var), -1, -1});
  return expr;
}

Expr Expr::binary(Op op, Expr lhs, Expr rhs) {
  assert(op != Op::Constant && op != Op::Variable && "not a binary op");
  Expr expr;
  expr.nodes = std::move(lhs.nodes);
  int32_t lhsRoot = static_cast<int32_t>(expr.nodes.size()) - 1;
  int32_t shift = static_cast<int32_t>(expr.nodes.size());
  for (Node node : rhs.nodes) {
    if (node.lhs >= 0)
      node.lhs += shift;
    if (node.rhs >= 0)
      node.rhs += shift;
    expr.nodes.push_back(node);
  }
  int32_t rhsRoot = static_cast<int32_t>(expr.nodes.size()) - 1;
  expr.nodes.push_back({op, 0, lhsRoot, rhsRoot});
  return expr;
}

Expected<Expr> Expr::parse(std::string_view jsonText,
                           const std::string &where) {
  json value = json::parse(jsonText, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded())
    return Status::error(where + ": not valid JSON");
  return parseExprJson(value, where, 0);
}

bool Expr::isConstant() const {
  for (const Node &node : nodes)
    if (node.op == Op::Variable)
      return false;
  return true;
}

Expected<int64_t> Expr::evaluate(const Sizes &sizes) const {
  if (nodes.empty())
    return Status::error("empty expression");
  return evaluateNode(static_cast<int32_t>(nodes.size()) - 1, sizes);
}

Expected<int64_t> Expr::evaluateNode(int32_t index, const Sizes &sizes) const {
  const Node &node = nodes[index];
  auto overflow = [&]() {
    return Status::error("integer overflow in " + strNode(index));
  };
  switch (node.op) {
  case Op::Constant:
    return node.value;
  case Op::Variable:
    switch (static_cast<Var>(node.value)) {
    case Var::N:
      return sizes.length;
    case Var::B:
      return sizes.batch;
    case Var::H:
      return sizes.heads;
    case Var::BH: {
      int64_t bh;
      if (__builtin_mul_overflow(sizes.batch, sizes.heads, &bh))
        return overflow();
      return bh;
    }
    }
    return Status::error("bad variable in expression");
  default:
    break;
  }
  Expected<int64_t> lhs = evaluateNode(node.lhs, sizes);
  if (!lhs)
    return lhs;
  Expected<int64_t> rhs = evaluateNode(node.rhs, sizes);
  if (!rhs)
    return rhs;
  int64_t a = *lhs, b = *rhs, result = 0;
  switch (node.op) {
  case Op::Add:
    if (__builtin_add_overflow(a, b, &result))
      return overflow();
    return result;
  case Op::Sub:
    if (__builtin_sub_overflow(a, b, &result))
      return overflow();
    return result;
  case Op::Mul:
    if (__builtin_mul_overflow(a, b, &result))
      return overflow();
    return result;
  case Op::CeilDiv: {
    if (b == 0)
      return Status::error("division by zero in " + strNode(index));
    if (a == std::numeric_limits<int64_t>::min() && b == -1)
      return overflow();
    // Rounds towards +infinity for every sign combination.
    int64_t quotient = a / b;
    if ((a % b != 0) && ((a > 0) == (b > 0)))
      ++quotient;
    return quotient;
  }
  case Op::Min:
    return a < b ? a : b;
  case Op::Max:
    return a > b ? a : b;
  default:
    return Status::error("bad operation in expression");
  }
}

std::string Expr::str() const {
  if (nodes.empty())
    return "<empty>";
  return strNode(static_cast<int32_t>(nodes.size()) - 1);
}

std::string Expr::strNode(int32_t index) const {
  const Node &node = nodes[index];
  switch (node.op) {
  case Op::Constant:
    return std::to_string(node.value);
  case Op::Variable:
    return varName(static_cast<Var>(node.value));
  case Op::Add:
    return "(" + strNode(node.lhs) + " + " + strNode(node.rhs) + ")";
  case Op::Sub:
    return "(" + strNode(node.lhs) + " - " + strNode(node.rhs) + ")";
  case Op::Mul:
    return "(" + strNode(node.lhs) + " * " + strNode(node.rhs) + ")";
  default:
    return std::string(opName(node.op)) + "(" + strNode(node.lhs) + ", " +
           strNode(node.rhs) + ")";
  }
}
