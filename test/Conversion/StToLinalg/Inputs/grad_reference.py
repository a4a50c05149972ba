#!/usr/bin/env python3
"""Finite-difference references for convert-st-to-linalg-grad-run.mlir.

Each gradient is computed independently of the lowering: central finite
differences, in double precision, of the forward op's definition (st.embed,
st.pos_embed, st.layer_norm, st.linear, st.gelu, st.cross_entropy) applied to
the scalar L = sum(forward(...) * dy) (for the loss, L = dnats * nats +
dbits * bits). No numpy: plain Python floats are IEEE doubles.

  grad_reference.py            prints the references, 6 significant digits
  grad_reference.py OUT        also compares OUT (the test's mlir-runner
                               output) with them and exits 1 on a mismatch
  grad_reference.py --checks OUT
                               prints FileCheck lines for the test: OUT's
                               layout with each number replaced by the
                               printed forms of the reference (see check_of)

Tolerance of the comparison: |got - ref| <= 1e-4 |ref| + 1e-6 max|ref| per
tensor. The f32 lowering rounds each of its few dozen operations to 2^-24
relative, so it is within ~1e-6 of the exact gradient, relative to the
tensor's scale; the central difference with step h = 1e-5 max(1, |x|) has
truncation error O(h^2 f''') ~ 1e-10 and rounding error ~1e-16 / h ~ 1e-11.
A wrong formula (a missing term, a transposition, a wrong scale) is off by
O(1) relative, far outside the tolerance.
"""

import math
import os
import re
import sys

# The inputs of the test's @main.
TOKENS = [[0, 2, -5, 99], [2, 2, 1, 0]]
EMBED_DY = [[[1.0, 2.0], [0.5, -1.0], [0.25, 4.0], [-2.0, 0.125]],
            [[8.0, -0.5], [1.5, 3.0], [-4.0, 0.75], [2.0, 1.0]]]
VOCAB, WIDTH = 3, 2
POS_DY = [[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0]],
          [[0.5, 0.25], [-1.0, -2.0], [0.125, 64.0], [-8.0, 16.0],
           [32.0, -0.5]]]
POS_ROWS = [2, 3]
NORM_X = [[[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 10.0, 100.0]]]
NORM_W = [1.0, 0.5, 2.0, -1.0]
NORM_B = [0.0, 0.0, 0.0, 0.0]  # dbias does not depend on the bias
NORM_DY = [[[0.3, -0.2, 0.5, 1.0], [1.0, 2.0, -1.5, 0.25]]]
NORM_EPS = 1e-5
LIN_X = [[[1.0, 2.0, 3.0], [-2.0, 0.5, 0.25]],
         [[2.0, -2.0, 1.0], [0.0, 1.0, -0.5]]]
LIN_W = [[0.5, -1.0, 2.0], [1.5, 0.75, -0.75]]
LIN_B = [0.0, 0.0]
LIN_DY = [[[1.0, -1.0], [0.5, 2.0]], [[-0.25, 1.5], [3.0, -1.5]]]
GELU_X = [[-100.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 10.0]]
GELU_DY = [[1.0, 1.0, 2.0, -1.0, 1.0, 0.5, 1.0, -2.0, 1.0]]
LOGITS = [[[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]],
          [[-1.0, 0.5, 2.0], [4.0, -2.0, 0.0]]]
TARGETS = [[0, 7], [-1, 1]]
DNATS, DBITS = 0.7, 0.3



def f32(v):
    """v rounded to the nearest f32 (round half to even)."""
    if v == 0.0 or math.isinf(v) or math.isnan(v):
        return v
    m, e = math.frexp(v)
    scaled = m * 2.0**24
    r = round(scaled)
    return math.ldexp(r, e - 24)


def mapf(fn, t):
    return [mapf(fn, x) for x in t] if isinstance(t, list) else fn(t)


def flat(t):
    return [y for x in t for y in flat(x)] if isinstance(t, list) else [t]


def shape(t):
    return [len(t)] + shape(t[0]) if isinstance(t, list) else []


def unflat(values, dims):
    if not dims:
        return values[0]
    step = len(values) // dims[0]
    return [unflat(values[i * step:(i + 1) * step], dims[1:])
            for i in range(dims[0])]


def dot(a, b):
    return sum(x * y for x, y in zip(flat(a), flat(b)))


def fd_grad(loss, arg):
    """Central differences of loss(arg) with respect to each element of
    arg."""
    dims = shape(arg)
    values = flat(arg)
    grads = []
    for i, v in enumerate(values):
        h = 1e-5 * max(1.0, abs(v))
        plus = values[:i] + [v + h] + values[i + 1:]
        minus = values[:i] + [v - h] + values[i + 1:]
        grads.append((loss(unflat(plus, dims)) - loss(unflat(minus, dims))) /
                     (2 * h))
    return unflat(grads, dims)


# Forward definitions (the st ops' documented semantics).
def clamp(i, hi):
    return min(max(i, 0), hi)


def embed(tokens, table):
    return [[table[clamp(t, len(table) - 1)] for t in row] for row in tokens]


def pos_embed(x, tables):
    out = []
    for xb in x:
        rows = []
        for n, xn in enumerate(xb):
            vals = list(xn)
            stride = 1
            strides = []
            for t in reversed(tables):
                strides.append(stride)
                stride *= len(t)
            strides.reverse()
            for t, s in zip(tables, strides):
                r = (n // s) % len(t)
                vals = [v + w for v, w in zip(vals, t[r])]
            rows.append(vals)
        out.append(rows)
    return out


def layer_norm_row(x, w, b, eps):
    d = len(x)
    mean = sum(x) / d
    var = sum((v - mean)**2 for v in x) / d
    return [(v - mean) / math.sqrt(var + eps) * wi + bi
            for v, wi, bi in zip(x, w, b)]


def layer_norm(x, w, b, eps):
    return [[layer_norm_row(r, w, b, eps) for r in xb] for xb in x]


def linear(x, w, b):
    return [[[sum(wi * xi for wi, xi in zip(wo, r)) + bo
              for wo, bo in zip(w, b)] for r in xb] for xb in x]


def gelu(v):
    return v * 0.5 * (1.0 + math.erf(v / math.sqrt(2.0)))


def gelu_approx(v):
    z = 1.702 * v
    if z < -700:
        return 0.0
    return v / (1.0 + math.exp(-z))


def cross_entropy(logits, targets):
    total, count = 0.0, 0
    for lb, tb in zip(logits, targets):
        for l, t in zip(lb, tb):
            m = max(l)
            lse = m + math.log(sum(math.exp(v - m) for v in l))
            total += lse - l[clamp(t, len(l) - 1)]
            count += 1
    nats = total / count
    return nats, nats / math.log(2.0)


# Ops whose f32 arithmetic is exact on the inputs above.
EXACT = ("embed_grad", "pos_embed_grad", "linear_grad")


def references():
    """(name, reference tensor) in the order the test prints them."""
    table = [[0.0] * WIDTH for _ in range(VOCAB)]
    tables = [[[0.0] * WIDTH for _ in range(r)] for r in POS_ROWS]
    zeros = [[[0.0] * WIDTH for _ in range(5)] for _ in range(2)]
    # The test's inputs are f32 constants: use their f32 values (the other
    # inputs are exact in f32 already).
    norm_dy = mapf(f32, NORM_DY)
    lin_dy = LIN_DY
    refs = [
        ("embed_grad dtable",
         fd_grad(lambda t: dot(embed(TOKENS, t), EMBED_DY), table)),
        ("pos_embed_grad dtables[0]",
         fd_grad(lambda t: dot(pos_embed(zeros, [t, tables[1]]), POS_DY),
                 tables[0])),
        ("pos_embed_grad dtables[1]",
         fd_grad(lambda t: dot(pos_embed(zeros, [tables[0], t]), POS_DY),
                 tables[1])),
        ("layer_norm_grad dx",
         fd_grad(lambda x: dot(layer_norm(x, NORM_W, NORM_B, NORM_EPS),
                               norm_dy), NORM_X)),
        ("layer_norm_grad dweight",
         fd_grad(lambda w: dot(layer_norm(NORM_X, w, NORM_B, NORM_EPS),
                               norm_dy), NORM_W)),
        ("layer_norm_grad dbias",
         fd_grad(lambda b: dot(layer_norm(NORM_X, NORM_W, b, NORM_EPS),
                               norm_dy), NORM_B)),
        ("linear_grad dx",
         fd_grad(lambda x: dot(linear(x, LIN_W, LIN_B), lin_dy), LIN_X)),
        ("linear_grad dweight",
         fd_grad(lambda w: dot(linear(LIN_X, w, LIN_B), lin_dy), LIN_W)),
        ("linear_grad dbias",
         fd_grad(lambda b: dot(linear(LIN_X, LIN_W, b), lin_dy), LIN_B)),
        ("gelu_grad",
         fd_grad(lambda x: dot(mapf(gelu, x), GELU_DY), GELU_X)),
        ("gelu_grad approximate",
         fd_grad(lambda x: dot(mapf(gelu_approx, x), GELU_DY), GELU_X)),
    ]
    dnats, dbits = f32(DNATS), f32(DBITS)

    def loss(l):
        nats, bits = cross_entropy(l, TARGETS)
        return dnats * nats + dbits * bits

    refs.append(("cross_entropy_grad", fd_grad(loss, LOGITS)))
    return refs


def parse_runner_output(text):
    """The data of each printMemrefF32 call, flattened, in order."""
    blocks = re.split(r"Unranked Memref.*data = \n", text)[1:]
    number = r"-?(?:\d+(?:\.\d*)?(?:e[-+]?\d+)?|inf|nan)"
    return [[float(v) for v in re.findall(number, b)] for b in blocks]


def check_of(ref, scale, exact):
    """A FileCheck pattern for the printed f32 gradient element whose
    reference is `ref` (`scale` is the tensor's max |ref|).

    `exact`: the f32 arithmetic is exact for these inputs (sums of products
    of short dyadic numbers), so the printed form (%.6g, as printMemrefF32
    prints) of the reference itself is matched.

    Otherwise any f32 within tol = 2e-6 |ref| + 2e-7 scale of the reference
    is accepted, three times the worst error measured here (6.5e-7 relative,
    3.2e-7 of the scale), which leaves room for another libm's exp or erf.
    Each printed form of a value in that interval is kept down to the
    decimal place 10^floor(log10(1e-4 |ref| + 1e-6 scale)) and matched as a
    prefix, so the pattern pins the value as tightly as the development
    comparison does; forms with no digit below that place match exactly."""
    if exact or ref == 0.0:
        return "%.6g" % ref
    tol = 2e-6 * abs(ref) + 2e-7 * scale
    lo, hi = ref - tol, ref + tol
    samples = [lo + (hi - lo) * i / 4000 for i in range(4001)] + [ref]
    forms = {"%.6g" % f32(v) for v in samples}
    place = math.floor(math.log10(1e-4 * abs(ref) + 1e-6 * scale))
    stems = {}  # stem -> whether more digits may follow
    for form in forms:
        point = form.find(".")
        keep = -1 if place >= 0 or point < 0 or "e" in form else \
            point + 1 - place
        if keep < 0 or len(form) <= keep:
            stems.setdefault(form, False)
        else:
            stems[form[:keep]] = True
    if len(stems) == 1:
        stem, open_ = stems.popitem()
        return stem + ("{{[0-9]*}}" if open_ else "")
    # The common prefix of the alternatives is written outside the regex,
    # unless that would leave an empty alternative.
    common = os.path.commonprefix(list(stems))
    if common in stems:
        common = ""
    rest = sorted(re.sub(r"([.+])", r"\\\1", stem[len(common):]) +
                  ("[0-9]*" if open_ else "") for stem, open_ in stems.items())
    return common + "{{" + "|".join(rest) + "}}"


def checks(text, refs):
    """FileCheck lines for the runner output `text`."""
    lines = []
    blocks = re.split(r"Unranked Memref.*data = \n", text)[1:]
    headers = re.findall(r"Unranked Memref.*(sizes = \[[0-9, ]*\])", text)
    number = r"-?(?:\d+(?:\.\d*)?(?:e[-+]?\d+)?|inf|nan)"
    for (name, ref), header, block in zip(refs, headers, blocks):
        ref = flat(ref)
        scale = max(abs(v) for v in ref)
        exact = name.split()[0] in EXACT
        lines.append("// " + name + ".")
        lines.append("// CHECK: " + header)
        pending = iter(ref)
        for row in block.strip().splitlines():
            row = re.sub(r"\s+", " ", row.strip())
            row = re.sub(number, lambda m: "\0" + check_of(next(pending),
                                                            scale, exact), row)
            row = re.sub(r"\[\[+", lambda m: "{{" + "\\[" * len(m.group(0)) +
                         "}}", row)
            lines.append("// CHECK-NEXT: " + row.replace("\0", ""))
    return "\n".join(lines)


def main():
    refs = references()
    if len(sys.argv) == 3 and sys.argv[1] == "--checks":
        with open(sys.argv[2]) as f:
            print(checks(f.read(), refs))
        return 0
    for name, ref in refs:
        print(name, shape(ref))
        print("  ", ["%.6g" % v for v in flat(ref)])
    if len(sys.argv) < 2:
        return 0
    with open(sys.argv[1]) as f:
        got = parse_runner_output(f.read())
    if len(got) != len(refs):
        print("expected %d printed tensors, got %d" % (len(refs), len(got)))
        return 1
    failed = False
    for (name, ref), values in zip(refs, got):
        ref = flat(ref)
        scale = max(abs(v) for v in ref)
        worst = 0.0
        for r, g in zip(ref, values):
            tol = 1e-4 * abs(r) + 1e-6 * scale
            worst = max(worst, abs(g - r) / tol if tol else abs(g - r))
            if abs(g - r) > tol:
                print("MISMATCH %s: got %r, reference %r" % (name, g, r))
                failed = True
        print("%-28s max |err| / tolerance = %.3g" % (name, worst))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
