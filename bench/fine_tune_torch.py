"""PyTorch baseline for bench/fine-tune.ts: one training step of torchvision's MobileNetV2 (width 0.35).

Usage: /usr/bin/python3 bench/fine_tune_torch.py [--batch 16] [--threads 2] [--runs 5] [--size 224] [--device cpu|cuda|auto] [--warmup 1] [--serve]
Forward + backward + AdamW update of the whole network with a 2-class linear head on random photos
(speed does not depend on the values), in train mode (batch norm updates its statistics, PyTorch's
default). Prints one JSON object: seconds per step (median of --runs after one warm-up) and photos/s.
With --serve it prints {"ready": ...} after the warm-up, then times one step per line read from
stdin and answers {"seconds": wall, "cpuSeconds": cpu of all threads} for each, so the caller can interleave its own steps with these and
both see the same load on a shared machine.
On CUDA (bench/gpu.ts) every timing waits for the GPU (torch.cuda.synchronize) before and after the step;
--device auto takes CUDA when there is one and says which device ran in "device".
"""
import sys
import argparse
import json
import statistics
import time

import torch
import torchvision

parser = argparse.ArgumentParser()
parser.add_argument("--batch", type=int, default=16)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--runs", type=int, default=5)
parser.add_argument("--size", type=int, default=224)
parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
parser.add_argument("--warmup", type=int, default=1)
parser.add_argument("--serve", action="store_true")
args = parser.parse_args()

torch.manual_seed(0)
torch.set_num_threads(args.threads)
device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu")
model = torchvision.models.mobilenet_v2(width_mult=0.35, num_classes=2).to(device)
model.train()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
loss_fn = torch.nn.CrossEntropyLoss()
x = (torch.rand(args.batch, 3, args.size, args.size) * 2 - 1).to(device)
y = (torch.arange(args.batch) % 2).to(device)


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize()


def step():
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return float(loss)


for _ in range(max(1, args.warmup)):
    step()  # warm-up: allocations and one-off setup (cuDNN picks its kernels here)
sync()
about = {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads(), "batch": args.batch, "size": args.size,
         "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"}
if args.serve:
    print(json.dumps({"ready": about}), flush=True)
    for line in sys.stdin:
        sync()
        started, cpu = time.perf_counter(), time.process_time()
        step()
        sync()
        # process_time: CPU seconds of all threads, what the step costs whatever else the machine runs.
        print(json.dumps({"seconds": time.perf_counter() - started, "cpuSeconds": time.process_time() - cpu}), flush=True)
    sys.exit(0)
times = []
for _ in range(args.runs):
    sync()
    started = time.perf_counter()
    step()
    sync()
    times.append(time.perf_counter() - started)
seconds = statistics.median(times)
print(json.dumps({
    **about,
    "secondsPerStep": round(seconds, 4),
    "runs": [round(t, 4) for t in times],
    "photosPerSecond": round(args.batch / seconds, 2),
}))
