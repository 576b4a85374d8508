"""A small, obviously-right NumPy evaluator for the ONNX ops the exported
scoring graph uses (float64 where it computes), so the tests can run the
exported file itself without onnxruntime (not packaged in Debian)."""

import numpy as np
from onnx import numpy_helper

_CAST = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64}


def _attrs(node):
    out = {}
    for a in node.attribute:
        if a.type == a.INT:
            out[a.name] = a.i
        elif a.type == a.INTS:
            out[a.name] = list(a.ints)
        elif a.type == a.FLOAT:
            out[a.name] = a.f
        elif a.type == a.TENSOR:
            out[a.name] = numpy_helper.to_array(a.t)
    return out


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def run(model, feeds):
    g = model.graph
    env = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    env.update(feeds)
    for node in g.node:
        a = _attrs(node)
        x = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Constant":
            y = a["value"]
        elif op == "MatMul":
            y = np.matmul(x[0].astype(np.float64), x[1].astype(np.float64))
        elif op in ("Add", "Sub", "Mul", "Div"):
            f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
            y = f(x[0], x[1])
        elif op == "Sqrt":
            y = np.sqrt(x[0])
        elif op == "Greater":
            y = x[0] > x[1]
        elif op == "Equal":
            y = x[0] == x[1]
        elif op == "Not":
            y = np.logical_not(x[0])
        elif op == "Where":
            y = np.where(x[0], x[1], x[2])
        elif op == "Cast":
            y = x[0].astype(_CAST[a["to"]])
        elif op == "Unsqueeze":
            y = x[0]
            for ax in sorted(int(v) % (x[0].ndim + len(x[1])) for v in x[1]):
                y = np.expand_dims(y, ax)
        elif op == "Concat":
            y = np.concatenate(x, axis=a["axis"])
        elif op == "Reshape":
            shape = [int(s) for s in x[1]]
            shape = [x[0].shape[i] if s == 0 and not a.get("allowzero") else s for i, s in enumerate(shape)]
            y = x[0].reshape(shape)
        elif op == "Shape":
            y = np.array(x[0].shape, dtype=np.int64)
        elif op == "Gather":
            y = np.take(x[0], x[1], axis=a.get("axis", 0))
        elif op == "Transpose":
            y = np.transpose(x[0], a.get("perm"))
        elif op == "Softmax":
            y = _softmax(x[0].astype(np.float64), a.get("axis", -1))
        else:
            raise NotImplementedError(f"onnx_eval: op {op} (node {node.name})")
        env[node.output[0]] = y
    return [env[o.name] for o in g.output]
