"""Checks a training run's metrics: the first step's loss is above FIRST and
the mean of the last 5 steps' losses is below LAST (nats)."""
import json
import sys

path, first_min, last_max = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
losses = [r["loss"] for r in map(json.loads, open(path)) if "loss" in r]
if len(losses) < 10:
    sys.exit(f"only {len(losses)} training steps in {path}")
last = sum(losses[-5:]) / 5
print(f"first loss {losses[0]:.4f}, mean of last 5 {last:.4f}")
if losses[0] < first_min:
    sys.exit(f"first loss {losses[0]:.4f} below {first_min}: not a fresh model")
if last > last_max:
    sys.exit(f"loss only fell to {last:.4f} (wanted < {last_max})")
