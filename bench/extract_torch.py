"""PyTorch baseline for bench/extract.ts: torchvision's MobileNetV2 (width 0.35) trunk on the same photos.

Usage: /usr/bin/python3 bench/extract_torch.py <files.json> [--reps 3] [--inference 640] [--threads 2] [--batch 32]
Prints one JSON object. Random weights: speed does not depend on the weight values.
"""
import argparse
import json
import statistics
import time

import torch
import torchvision
from PIL import Image

SIZE = 224


def load(path):
    """Shorter side to 224 (bilinear), centre crop, RGB uint8 HWC: the same recipe as Foldwise."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    scale = SIZE / min(w, h)
    im = im.resize((max(SIZE, round(w * scale)), max(SIZE, round(h * scale))), Image.BILINEAR)
    w, h = im.size
    left, top = (w - SIZE) // 2, (h - SIZE) // 2
    im = im.crop((left, top, left + SIZE, top + SIZE))
    return torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(SIZE, SIZE, 3)


def to_input(batch):
    return torch.stack(batch).permute(0, 3, 1, 2).float().mul_(1 / 127.5).sub_(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--inference", type=int, default=640, help="photos for the inference-only timing")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    files = json.load(open(args.files))
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2(width_mult=0.35).features.eval()

    def embed(x):
        return model(x).mean((2, 3))  # global average pooling, like the Keras trunk: [N, 1280]

    with torch.inference_mode():
        embed(to_input([load(files[0])]))  # warm-up
        end_to_end = []
        for _ in range(args.reps):
            start = time.perf_counter()
            for i in range(0, len(files), args.batch):
                out = embed(to_input([load(f) for f in files[i : i + args.batch]]))
                assert out.shape[1] == 1280
            end_to_end.append(len(files) / (time.perf_counter() - start))

        subset = files[: args.inference]
        decoded = [load(f) for f in subset]
        inference = []
        for _ in range(args.reps):
            start = time.perf_counter()
            for i in range(0, len(decoded), args.batch):
                embed(to_input(decoded[i : i + args.batch]))
            inference.append(len(decoded) / (time.perf_counter() - start))

    print(json.dumps({
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "threads": args.threads,
        "batch": args.batch,
        "photos": len(files),
        "endToEndImagesPerSecond": {"median": statistics.median(end_to_end), "runs": end_to_end},
        "inferencePhotos": len(subset),
        "inferenceImagesPerSecond": {"median": statistics.median(inference), "runs": inference},
    }))


if __name__ == "__main__":
    main()
