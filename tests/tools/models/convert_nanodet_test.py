#!/usr/bin/python3
"""Tests tools/models/convert_nanodet.py without the 145 MB package: builds a small TF.js graph
model shaped like NanoDet's (NCHW edges, NHWC around Conv2D / MaxPool / ResizeBilinear, Pad and
PadV2(-inf), bias Adds, ConcatV2, SplitV, Sigmoid, Reshape on folded shape constants, fp16 weights
in the manifest), converts it, runs the ONNX file with OpenCV's dnn and compares with a numpy
evaluation of the TF graph.

    convert_nanodet_test.py        (exit 0 when every test passes; unittest output)
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CONVERTER = os.path.join(HERE, "..", "..", "..", "tools", "models", "convert_nanodet.py")
NHWC, NCHW = [0, 2, 3, 1], [0, 3, 1, 2]


def b64(s):
    return base64.b64encode(s.encode()).decode()


class GraphBuilder:
    """Writes model.json + weights.bin in the TF.js graph-model format."""

    def __init__(self):
        self.nodes, self.weights, self.blobs, self.values = [], [], [], {}

    def const(self, name, arr, fp16=False):
        arr = np.asarray(arr)
        entry = {"name": name, "shape": list(arr.shape)}
        if arr.dtype.kind == "f":
            arr16 = arr.astype(np.float16)
            if fp16:
                entry.update(dtype="float32", quantization={"dtype": "float16",
                                                           "original_dtype": "float32"})
                self.blobs.append(arr16.tobytes())
            else:
                entry["dtype"] = "float32"
                self.blobs.append(arr16.astype(np.float32).tobytes())
            arr = arr16.astype(np.float32)  # what the converter will see
        else:
            entry["dtype"] = "int32"
            self.blobs.append(arr.astype(np.int32).tobytes())
        self.weights.append(entry)
        self.nodes.append({"name": name, "op": "Const", "attr": {"value": {"tensor": {}}}})
        self.values[name] = arr
        return name

    def inline_perm(self, name, perm):
        """A Const written in the graph itself (intVal), not in the shards."""
        self.nodes.append({"name": name, "op": "Const", "attr": {"value": {"tensor": {
            "dtype": "DT_INT32", "tensorShape": {"dim": [{"size": str(len(perm))}]},
            "intVal": [int(p) for p in perm]}}}})
        return name

    def op(self, name, op, inputs, **attr):
        self.nodes.append({"name": name, "op": op, "input": inputs, "attr": attr})
        return name

    def save(self, directory, input_shape, outputs):
        self.nodes.insert(0, {"name": "input_1", "op": "Placeholder", "attr": {"shape": {"shape": {
            "dim": [{"size": str(d)} for d in input_shape]}}}})
        model = {
            "format": "graph-model",
            "signature": {"outputs": {o + ":0": {"name": o + ":0"} for o in outputs}},
            "modelTopology": {"node": self.nodes},
            "weightsManifest": [{"paths": ["weights.bin"], "weights": self.weights}],
        }
        with open(os.path.join(directory, "model.json"), "w") as f:
            json.dump(model, f)
        with open(os.path.join(directory, "weights.bin"), "wb") as f:
            f.write(b"".join(self.blobs))


def conv_attrs(stride):
    return {"padding": {"s": b64("VALID")}, "data_format": {"s": b64("NHWC")},
            "strides": {"list": {"i": ["1", str(stride), str(stride), "1"]}},
            "dilations": {"list": {"i": ["1", "1", "1", "1"]}}}


# numpy references, TF semantics (NHWC where TF computes NHWC).
def np_conv(x, w, stride):
    kh, kw = w.shape[:2]
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    return np.einsum("nhwcij,ijco->nhwo", win, w)


def np_maxpool(x, k, stride):
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))[:, ::stride, ::stride]
    return win.max(axis=(-2, -1))


def np_resize_half_pixel(x, size):
    def axis_weights(n_in, n_out):
        src = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
        lo = np.floor(src)
        frac = src - lo
        lo_i = np.clip(lo, 0, n_in - 1).astype(int)
        hi_i = np.clip(lo + 1, 0, n_in - 1).astype(int)
        return lo_i, hi_i, frac.astype(np.float32)

    y0, y1, fy = axis_weights(x.shape[1], size[0])
    x0, x1, fx = axis_weights(x.shape[2], size[1])
    top = x[:, y0][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y0][:, :, x1] * fx[None, None, :, None]
    bot = x[:, y1][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y1][:, :, x1] * fx[None, None, :, None]
    return top * (1 - fy)[None, :, None, None] + bot * fy[None, :, None, None]


def leaky(x, a=0.1):
    return np.where(x > 0, x, a * x)


class ConvertNanoDetTest(unittest.TestCase):
    def build(self, directory, rng):
        g = GraphBuilder()
        g.const("pad0", np.array([[0, 0], [0, 0], [1, 1], [1, 1]]))
        g.op("Pad", "Pad", ["input_1", "pad0"])
        g.op("t1", "Transpose", ["Pad", g.inline_perm("t1/perm", NHWC)])
        w1 = g.const("w1", rng.standard_normal((3, 3, 3, 8)) * 0.3, fp16=True)
        g.op("conv1", "Conv2D", ["t1", w1], **conv_attrs(2))
        g.op("Add1", "Add", ["conv1", g.const("b1", rng.standard_normal(8) * 0.1, fp16=True)])
        g.op("t2", "Transpose", ["Add1", g.inline_perm("t2/perm", NCHW)])
        g.op("leaky1", "LeakyRelu", ["t2"], alpha={"f": 0.1})
        g.const("pad1", np.array([[0, 0], [0, 0], [1, 1], [1, 1]]))
        g.const("ninf", np.array(-np.inf, np.float32), fp16=True)
        g.op("PadV2", "PadV2", ["leaky1", "pad1", "ninf"])
        g.op("t3", "Transpose", ["PadV2", g.inline_perm("t3/perm", NHWC)])
        g.op("pool", "MaxPool", ["t3"], ksize={"list": {"i": ["1", "3", "3", "1"]}},
             **{k: v for k, v in conv_attrs(2).items() if k != "dilations"})
        w2 = g.const("w2", rng.standard_normal((1, 1, 8, 8)) * 0.3, fp16=True)
        g.op("conv2", "Conv2D", ["pool", w2], **conv_attrs(1))
        g.op("Add2", "Add", ["conv2", g.const("b2", rng.standard_normal(8) * 0.1, fp16=True)])
        g.const("size", np.array([8, 8]))
        g.op("resize", "ResizeBilinear", ["Add2", "size"], half_pixel_centers={"b": True},
             align_corners={"b": False})
        g.op("t4", "Transpose", ["resize", g.inline_perm("t4/perm", NCHW)])
        g.op("sum", "Add", ["leaky1", "t4"])
        g.const("axis1", np.array(1))
        g.op("cat", "ConcatV2", ["sum", "leaky1", "axis1"], N={"i": "2"})
        g.op("t5", "Transpose", ["cat", g.inline_perm("t5/perm", NHWC)])
        w3 = g.const("w3", rng.standard_normal((1, 1, 16, 12)) * 0.3, fp16=True)
        g.op("conv3", "Conv2D", ["t5", w3], **conv_attrs(1))
        g.op("Add3", "Add", ["conv3", g.const("b3", rng.standard_normal(12) * 0.1, fp16=True)])
        g.op("t6", "Transpose", ["Add3", g.inline_perm("t6/perm", NCHW)])
        g.const("sizes", np.array([4, 8]))
        g.op("split", "SplitV", ["t6", "sizes", "axis1"], num_split={"i": "2"})
        g.op("sig", "Sigmoid", ["split"])
        # Shape constants as the real graph has them: AddV2(const, SparseToDense(empty)).
        for k, ch in (("a", 4), ("b", 8)):
            g.const("base_" + k, np.array([1, ch, -1]))
            g.const("where_" + k, np.zeros((0, 1), np.int64))
            g.const("dshape_" + k, np.array([3]))
            g.const("vals_" + k, np.zeros((0,), np.int64))
            g.const("zero_" + k, np.array(0))
            g.op("s2d_" + k, "SparseToDense", ["where_" + k, "dshape_" + k, "vals_" + k,
                                                "zero_" + k])
            g.op("shape_" + k, "AddV2", ["base_" + k, "s2d_" + k])
        g.op("r_a", "Reshape", ["sig", "shape_a"])
        g.op("r_b", "Reshape", ["split:1", "shape_b"])
        g.op("tr_a", "Transpose", ["r_a", g.inline_perm("tr_a/perm", [0, 2, 1])])
        g.op("tr_b", "Transpose", ["r_b", g.inline_perm("tr_b/perm", [0, 2, 1])])
        g.op("Identity", "Identity", ["tr_a"])
        g.op("Identity_1", "Identity", ["tr_b"])
        g.save(directory, [1, 3, 16, 16], ["Identity", "Identity_1"])
        return g.values

    def reference(self, v, x):
        t = np.pad(x, [(0, 0), (0, 0), (1, 1), (1, 1)]).transpose(NHWC)
        leaky1 = leaky(np_conv(t, v["w1"], 2) + v["b1"]).transpose(NCHW)  # [1, 8, 8, 8]
        p = np.pad(leaky1, [(0, 0), (0, 0), (1, 1), (1, 1)], constant_values=-np.inf)
        pool = np_maxpool(p.transpose(NHWC), 3, 2)  # NHWC [1, 4, 4, 8]
        up = np_resize_half_pixel(np_conv(pool, v["w2"], 1) + v["b2"], (8, 8))
        cat = np.concatenate([leaky1 + up.transpose(NCHW), leaky1], axis=1)
        head = (np_conv(cat.transpose(NHWC), v["w3"], 1) + v["b3"]).transpose(NCHW)
        a = 1 / (1 + np.exp(-head[:, :4]))
        return {"Identity": a.reshape(1, 4, -1).transpose(0, 2, 1),
                "Identity_1": head[:, 4:].reshape(1, 8, -1).transpose(0, 2, 1)}

    def test_converted_graph_matches_numpy_evaluation(self):
        import cv2

        rng = np.random.default_rng(7)
        with tempfile.TemporaryDirectory() as d:
            values = self.build(d, rng)
            out = os.path.join(d, "model.onnx")
            r = subprocess.run([sys.executable, CONVERTER, os.path.join(d, "model.json"), out],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            import onnx

            ops = [n.op_type for n in onnx.load(out).graph.node]
            # TF's NHWC<->NCHW Transposes cost nothing: only the two head Transposes remain,
            # and every bias folded into its Conv.
            self.assertEqual(ops.count("Transpose"), 2, ops)
            self.assertEqual(ops.count("Add"), 1, ops)
            net = cv2.dnn.readNetFromONNX(out)
            for batch in (1, 2):
                x = rng.standard_normal((batch, 3, 16, 16)).astype(np.float32)
                net.setInput(x)
                names = net.getUnconnectedOutLayersNames()
                got = dict(zip(names, net.forward(names)))
                self.assertEqual(sorted(got), ["Identity", "Identity_1"])
                for b in range(batch):
                    want = self.reference(values, x[b:b + 1].astype(np.float64))
                    for name, w in want.items():
                        self.assertEqual(got[name].shape, (batch,) + w.shape[1:])
                        np.testing.assert_allclose(got[name][b], w[0], atol=1e-4, rtol=0,
                                                   err_msg="%s batch %d/%d" % (name, b, batch))

    def test_unsupported_op_names_the_node(self):
        with tempfile.TemporaryDirectory() as d:
            g = GraphBuilder()
            g.op("weird", "Cumsum", ["input_1"])
            g.op("Identity", "Identity", ["weird"])
            g.save(d, [1, 3, 8, 8], ["Identity"])
            r = subprocess.run([sys.executable, CONVERTER, os.path.join(d, "model.json"),
                                os.path.join(d, "out.onnx")], capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn("weird: op Cumsum is not supported", r.stderr)


if __name__ == "__main__":
    unittest.main()
