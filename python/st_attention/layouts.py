"""Layout strings as MLIR prints them (the key of a kernel library entry).

    >>> strided(128)
    '#st.strided<stride = 128>'
    >>> union(strided(128), local(32))
    '#st.union<[#st.strided<stride = 128>, #st.local<window = 32>]>'
"""


def dense_causal():
    return "#st.dense_causal"


def local(window):
    return f"#st.local<window = {int(window)}>"


def strided(stride):
    return f"#st.strided<stride = {int(stride)}>"


def fixed(stride, summary, per_head=False):
    text = f"#st.fixed<stride = {int(stride)}, summary = {int(summary)}"
    return text + (", per_head = true>" if per_head else ">")


def union(*members):
    return "#st.union<[" + ", ".join(members) + "]>"


def per_head(*members):
    return "#st.per_head<[" + ", ".join(members) + "]>"
