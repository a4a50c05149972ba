"""Writes random parameters of an st.transformer as a plain safetensors file.

The file is what another safetensors writer (PyTorch's, say) would produce
for the model: F32 tensors under the PyTorch names of ExpandModel.cpp, no
st.* metadata and so no checksum. Usage:

  write_checkpoint.py OUT --width D --layers L --ff-mult F --position 4,4
"""
import argparse
import json
import random
import struct


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--vocab", type=int, default=256)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--layers", type=int, required=True)
    parser.add_argument("--ff-mult", type=int, required=True)
    parser.add_argument("--position", required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    d, ff = args.width, args.ff_mult * args.width
    axes = [int(a) for a in args.position.split(",")]
    names = ["row", "col", "chan"] if len(axes) <= 3 else None
    shapes = [("tok_emb.weight", [args.vocab, d])]
    for a, size in enumerate(axes):
        axis = names[a] if names else "axis%d" % a
        shapes.append(("pos_emb.%s.weight" % axis, [size, d]))
    for layer in range(args.layers):
        b = "blocks.%d." % layer
        shapes += [(b + "ln1.weight", [d]), (b + "ln1.bias", [d]),
                   (b + "attn.qkv.weight", [3 * d, d]),
                   (b + "attn.qkv.bias", [3 * d]),
                   (b + "attn.proj.weight", [d, d]),
                   (b + "attn.proj.bias", [d]),
                   (b + "ln2.weight", [d]), (b + "ln2.bias", [d]),
                   (b + "mlp.fc1.weight", [ff, d]),
                   (b + "mlp.fc1.bias", [ff]),
                   (b + "mlp.fc2.weight", [d, ff]),
                   (b + "mlp.fc2.bias", [d])]
    shapes += [("ln_f.weight", [d]), ("ln_f.bias", [d]),
               ("head.weight", [args.vocab, d])]

    rng = random.Random(args.seed)
    header = {"__metadata__": {"format": "pt"}}
    data = bytearray()
    for name, shape in shapes:
        count = 1
        for s in shape:
            count *= s
        begin = len(data)
        data += struct.pack("<%df" % count,
                            *(rng.gauss(0.0, 1.0) for _ in range(count)))
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [begin, len(data)]}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(args.out, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(data)


if __name__ == "__main__":
    main()
