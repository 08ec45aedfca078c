"""The conversion steps on a small graph shaped like Moonshine's decoder: int8 weights
de-quantised at the top, read by both branches of an ``If`` (the real model is tested in
tests/integration/test_stt_moonshine.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from sayso.stt import moonshine_convert as mc


def _model(w_int8: np.ndarray, scale: float) -> onnx.ModelProto:
    def branch(name: str) -> onnx.GraphProto:  # like the logits: a transposed embedding
        nodes = [helper.make_node("Transpose", ["W"], ["Wt"], perm=[1, 0]),
                 helper.make_node("MatMul", ["x", "Wt"], [f"y_{name}"])]
        return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info(f"y_{name}", TensorProto.FLOAT, None)])

    top = [
        helper.make_node("Cast", ["Wq"], ["Wc"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["Wc", "s"], ["W"]),
        helper.make_node("If", ["cond"], ["y"], then_branch=branch("then"),
                         else_branch=branch("else")),
    ]
    graph = helper.make_graph(
        top, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64]),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w_int8, "Wq"), numpy_helper.from_array(np.array(scale, np.float32), "s")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def test_dequantisation_is_folded_and_requantised_once_for_both_branches(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, size=(64, 64), dtype=np.int8)
    model = _model(w, 0.01)
    # Cast and Mul at the top, the Transpose in each branch: nothing left to redo per run
    assert mc.fold_constants(model) == 4
    assert [n.op_type for n in model.graph.node] == ["If"]
    assert all(n.op_type == "MatMul" for a in model.graph.node[0].attribute for n in a.g.node)
    mc.localise_weights(model)
    src, out = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    onnx.save(model, str(src))
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(src, out, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                     extra_options={"EnableSubgraph": True})
    quantized = onnx.load(str(out))
    assert mc.hoist_shared(quantized) >= 1  # the int8 weight is stored once, at the top
    top = {t.name: t for t in quantized.graph.initializer}
    assert any(t.data_type == TensorProto.INT8 for t in top.values())
    onnx.save(quantized, str(out))
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = rng.standard_normal((1, 64)).astype(np.float32)
    want = x @ (w.astype(np.float32) * 0.01).T
    for cond in (True, False):
        got = sess.run(None, {"x": x, "cond": np.array([cond])})[0]
        assert np.allclose(got, want, atol=0.05 * np.abs(want).max())
