"""Which keys each query attends to, for every ST layout: a reference
written from the layout definitions (README's layout table and
include/st/Layout/Layout.h), independent of the compiler.

`parse(text)` reads a layout string as MLIR prints it and returns a Pattern
whose `mask(h, i, j)` says whether head h's query i attends to key j. The
arguments are Python ints or broadcastable integer torch tensors (the result
is then a bool tensor); only arithmetic, comparisons, `&` and `|` are used,
so the same function serves as a FlexAttention mask_mod.

Sets (l = stride, c = summary width, all with j <= i):
  dense_causal            every j
  local<window = W>       i - W < j
  strided<stride = l>     i - j < l, or (i - j) mod l == 0
  fixed<stride = l, summary = c>
                          j // l == i // l, or j mod l >= l - c
  fixed<..., per_head = true>
                          head h: summary columns j mod l in
                          [l - (h' + 1) c, l - h' c), h' = h mod (l / c)
  union<[a, b, ...]>      any member (each for head h)
  per_head<[a, b, ...]>   member h mod k (for head h)
  band<width = w>         i - j < w
  column<stride = l, from = f>
                          (i - j) mod l == 0 and i - j >= f
  block<size = l>         j // l == i // l
  summary<stride = l, width = c, offset = o, earlier_blocks = e>
                          j mod l in [l - o - c, l - o); with e, only blocks
                          before the query's own
"""

import re


class LayoutError(ValueError):
    pass


class Pattern:
    """A parsed layout. `mask(h, i, j)`; `text` is the layout string."""

    def __init__(self, text, fn):
        self.text = text
        self._fn = fn

    def mask(self, h, i, j):
        return (j <= i) & self._fn(h, i, j)

    def __repr__(self):
        return f"Pattern({self.text!r})"


_TOKEN = re.compile(r"\s*(#st\.[a-z_]+|[<>\[\],=]|-?\d+|true|false|[a-z_]+)")


def _tokens(text):
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise LayoutError(f"layout {text!r}: cannot read at "
                              f"{text[pos:pos + 20]!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text):
        self.text = text
        self.toks = _tokens(text)
        self.pos = 0

    def peek(self):
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self, expected=None):
        tok = self.peek()
        if tok is None or (expected is not None and tok != expected):
            raise LayoutError(f"layout {self.text!r}: expected "
                              f"{expected or 'more'}, got {tok!r}")
        self.pos += 1
        return tok

    def layout(self):
        name = self.take()
        if not name.startswith("#st."):
            raise LayoutError(f"layout {self.text!r}: expected #st.<name>, "
                              f"got {name!r}")
        name = name[4:]
        if name in ("union", "per_head"):
            self.take("<")
            self.take("[")
            members = [self.layout()]
            while self.peek() == ",":
                self.take(",")
                members.append(self.layout())
            self.take("]")
            self.take(">")
            return _compose(name, members)
        params = {}
        if self.peek() == "<":
            self.take("<")
            while True:
                key = self.take()
                self.take("=")
                value = self.take()
                if value in ("true", "false"):
                    params[key] = value == "true"
                elif re.fullmatch(r"-?\d+", value):
                    params[key] = int(value)
                else:
                    raise LayoutError(f"layout {self.text!r}: bad value "
                                      f"{value!r} for {key}")
                if self.peek() == ",":
                    self.take(",")
                    continue
                break
            self.take(">")
        return _simple(self.text, name, params)


def _param(text, name, params, key, default=None):
    if key in params:
        return params.pop(key)
    if default is None:
        raise LayoutError(f"layout {text!r}: #st.{name} needs {key}")
    return default


def _simple(text, name, params):
    p = dict(params)
    if name == "dense_causal":
        fn = lambda h, i, j: j <= i
    elif name in ("local", "band"):
        w = _param(text, name, p, "window" if name == "local" else "width")
        fn = lambda h, i, j: i - j < w
    elif name == "strided":
        l = _param(text, name, p, "stride")
        fn = lambda h, i, j: (i - j < l) | ((i - j) % l == 0)
    elif name == "fixed":
        l = _param(text, name, p, "stride")
        c = _param(text, name, p, "summary")
        ph = _param(text, name, p, "per_head", False)
        if ph:
            if l % c:
                raise LayoutError(f"layout {text!r}: per_head needs the "
                                  f"summary to divide the stride")
            k = l // c
            fn = lambda h, i, j: ((j // l == i // l)
                                  | ((j % l >= l - (h % k + 1) * c)
                                     & (j % l < l - (h % k) * c)))
        else:
            fn = lambda h, i, j: (j // l == i // l) | (j % l >= l - c)
    elif name == "column":
        l = _param(text, name, p, "stride")
        f = _param(text, name, p, "from", 0)
        fn = lambda h, i, j: ((i - j) % l == 0) & (i - j >= f)
    elif name == "block":
        l = _param(text, name, p, "size")
        fn = lambda h, i, j: j // l == i // l
    elif name == "summary":
        l = _param(text, name, p, "stride")
        c = _param(text, name, p, "width")
        o = _param(text, name, p, "offset", 0)
        e = _param(text, name, p, "earlier_blocks", False)
        lo, hi = l - o - c, l - o
        if e:
            fn = lambda h, i, j: ((j % l >= lo) & (j % l < hi)
                                  & (j // l < i // l))
        else:
            fn = lambda h, i, j: (j % l >= lo) & (j % l < hi)
    else:
        raise LayoutError(f"layout {text!r}: unknown layout #st.{name}")
    if p:
        raise LayoutError(f"layout {text!r}: #st.{name} has no parameter "
                          f"{sorted(p)[0]}")
    return Pattern(text, fn)


def _compose(name, members):
    if name == "union":
        def fn(h, i, j):
            out = members[0]._fn(h, i, j)
            for m in members[1:]:
                out = out | m._fn(h, i, j)
            return out
    else:
        k = len(members)

        def fn(h, i, j):
            out = (h % k == 0) & members[0]._fn(h, i, j)
            for idx, m in enumerate(members[1:], start=1):
                out = out | ((h % k == idx) & m._fn(h, i, j))
            return out
    return Pattern(None, fn)


def parse(text):
    """The Pattern of a layout string, e.g. '#st.strided<stride = 128>'."""
    parser = _Parser(text)
    pattern = parser.layout()
    if parser.peek() is not None:
        raise LayoutError(f"layout {text!r}: unexpected {parser.peek()!r}")
    pattern.text = text
    return pattern


def nonzeros(pattern, n, heads):
    """Attended (i, j) pairs over `heads` heads of an n x n matrix, counted
    one position at a time in plain Python (for small n)."""
    total = 0
    for h in range(heads):
        for i in range(n):
            for j in range(i + 1):
                total += bool(pattern.mask(h, i, j))
    return total


def closed_form_nonzeros(text, n):
    """Attended pairs per head of an n x n matrix for the named patterns, in
    closed form (None for others; count those with `mask`):
      dense causal  n (n + 1) / 2
      local W       sum_i min(i + 1, W)
      strided L     sum_i min(i + 1, L) + floor(i / L)
      fixed L, C    sum_i (i mod L) + 1 + floor(i / L) C  (every head)"""
    m = re.fullmatch(r"#st\.(\w+)(?:<(.*)>)?", text.strip())
    if not m:
        return None
    name, body = m.group(1), m.group(2) or ""
    params = dict(re.findall(r"(\w+) = (\w+)", body))

    def band(w):
        w = min(w, n)
        return w * (w + 1) // 2 + (n - w) * w

    if name == "dense_causal":
        return n * (n + 1) // 2
    if name == "local":
        return band(int(params["window"]))
    if name == "strided":
        l = int(params["stride"])
        q, r = divmod(n, l)  # sum_i floor(i / l) = l q (q - 1) / 2 + r q
        return band(l) + l * q * (q - 1) // 2 + r * q
    if name == "fixed":
        l, c = int(params["stride"]), int(params["summary"])
        q, r = divmod(n, l)
        own = q * l * (l + 1) // 2 + r * (r + 1) // 2
        return own + c * (l * q * (q - 1) // 2 + r * q)
    return None
