"""Finding kernel libraries and their entries (pure Python; no torch)."""

import json
import os


class Entry:
    """One (layout, head_dim, dtype) of a kernel library."""

    def __init__(self, library_dir, layout, head_dim, dtype):
        self.library_dir = library_dir
        self.layout = layout
        self.head_dim = head_dim
        self.dtype = dtype

    def __repr__(self):
        return (f"Entry({self.layout!r}, d={self.head_dim}, {self.dtype}, "
                f"{self.library_dir})")


def find_entries(paths):
    """Every entry of the libraries under `paths`. A path is a library (it has
    manifest.json) or a directory whose subdirectories are libraries."""
    dirs = []
    for path in paths:
        if os.path.isfile(os.path.join(path, "manifest.json")):
            dirs.append(path)
            continue
        if not os.path.isdir(path):
            raise FileNotFoundError(f"{path}: no such kernel library "
                                    f"directory")
        subs = sorted(os.path.join(path, s) for s in os.listdir(path))
        found = [s for s in subs
                 if os.path.isfile(os.path.join(s, "manifest.json"))]
        if not found:
            raise FileNotFoundError(f"{path}: no manifest.json in it or in "
                                    f"its subdirectories")
        dirs.extend(found)
    entries = []
    for d in dirs:
        with open(os.path.join(d, "manifest.json")) as f:
            manifest = json.load(f)
        for e in manifest.get("entries", []):
            entries.append(Entry(d, e["layout"], int(e["head_dim"]),
                                 e["dtype"]))
    return entries


def find_entry(entries, layout, head_dim, dtype):
    for e in entries:
        if (e.layout, e.head_dim, e.dtype) == (layout, head_dim, dtype):
            return e
    return None


def kind(layout):
    """The family a layout string belongs to, for coverage reports."""
    if layout.startswith("#st.union"):
        return "union"
    if layout.startswith("#st.per_head"):
        return "per_head"
    if layout.startswith("#st.fixed"):
        return "fixed per_head" if "per_head = true" in layout else "fixed"
    for name in ("dense_causal", "local", "strided", "band", "column",
                 "block", "summary"):
        if layout.startswith("#st." + name):
            return name
    return "other"
