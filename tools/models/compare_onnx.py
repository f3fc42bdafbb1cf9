#!/usr/bin/python3
"""Runs two ONNX models with OpenCV's dnn on the same random input and compares every output.

    compare_onnx.py A.onnx B.onnx [--size 416] [--tolerance 1e-4]

Outputs are matched by name. Prints the largest absolute difference; exits 1 if it exceeds the
tolerance or the models' outputs differ in names or shapes.
"""
import argparse
import sys

import cv2
import numpy as np


def run(path, x):
    net = cv2.dnn.readNetFromONNX(path)
    net.setInput(x)
    names = net.getUnconnectedOutLayersNames()
    return dict(zip(names, net.forward(names)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--size", type=int, default=416)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    # Inputs like NanoDet's normalised pixels: roughly zero mean, unit spread.
    x = np.random.default_rng(args.seed).standard_normal((1, 3, args.size, args.size))
    a, b = run(args.a, x.astype(np.float32)), run(args.b, x.astype(np.float32))
    if sorted(a) != sorted(b):
        print("compare_onnx: outputs differ: %s vs %s" % (sorted(a), sorted(b)), file=sys.stderr)
        return 1
    worst = 0.0
    for name in sorted(a):
        if a[name].shape != b[name].shape:
            print("compare_onnx: %s: shape %s vs %s" % (name, a[name].shape, b[name].shape),
                  file=sys.stderr)
            return 1
        worst = max(worst, float(np.abs(a[name] - b[name]).max()))
    ok = worst <= args.tolerance
    print("compare_onnx: %d outputs, max abs diff %.3g (tolerance %g): %s" % (
        len(a), worst, args.tolerance, "match" if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
