"""Turn a CTranslate2 Whisper ``model.bin`` back into a transformers checkpoint, offline.

The transformers backend needs a ``WhisperForConditionalGeneration`` checkpoint; this machine
cannot download one, but it has CTranslate2 Whisper models (the bundled tiny.en, and base from
its parts). The weights are the same tensors under other names: the fused self-attention
projection splits into q/k/v (transformers' k_proj has no bias), the cross-attention's fused
k/v likewise, and the output projection is tied to the token embeddings. Weights are read with
numpy and written with safetensors; the tokenizer is the CT2 directory's ``tokenizer.json``.
The result is written once to ``<cache_dir>/transformers/<name>`` and reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import struct
import threading
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from sayso.errors import ConfigError

log = logging.getLogger(__name__)

# CTranslate2 DataType ids
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_LOCK = threading.Lock()
STAMP = ".sayso-converted"


def _read(f: BinaryIO, fmt: str) -> tuple[Any, ...]:
    size = struct.calcsize("<" + fmt)
    return struct.unpack("<" + fmt, f.read(size))


def _string(f: BinaryIO) -> str:
    (n,) = _read(f, "H")
    return f.read(n)[:-1].decode("utf-8")


def read_ct2(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """(spec name, variables) of a CTranslate2 ``model.bin`` (format version 4 or later)."""
    variables: dict[str, np.ndarray] = {}
    with path.open("rb") as f:
        (version,) = _read(f, "I")
        if version < 4:
            raise ConfigError(f"{path} uses CTranslate2 format {version}; 4 or later is needed.",
                              code="stt.model_unsupported")
        spec = _string(f)
        _read(f, "I")  # spec revision
        (count,) = _read(f, "I")
        for _ in range(count):
            name = _string(f)
            (rank,) = _read(f, "B")
            dims = _read(f, "I" * rank) if rank else ()
            (dtype_id,) = _read(f, "B")
            (nbytes,) = _read(f, "I")
            dtype = _DTYPES.get(dtype_id)
            if dtype is None:
                raise ConfigError(f"{path}: unsupported tensor type {dtype_id} in {name}.",
                                  code="stt.model_unsupported")
            variables[name] = np.frombuffer(f.read(nbytes), dtype=dtype).reshape(dims)
        (aliases,) = _read(f, "I")
        for _ in range(aliases):
            alias, target = _string(f), _string(f)
            variables[alias] = variables[target]
    return spec, variables


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def to_transformers_weights(v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """CT2 WhisperSpec variable names -> transformers WhisperForConditionalGeneration names."""
    if any(v[k].dtype == np.int8 for k in v if k.endswith("/weight") and v[k].ndim == 2):
        raise ConfigError("This CTranslate2 model is int8-quantized; convert a float16/float32 one.",
                          code="stt.model_unsupported")
    out: dict[str, np.ndarray] = {}

    def lin(dst: str, src: str, *, bias: bool = True) -> None:
        out[f"{dst}.weight"] = _f32(v[f"{src}/weight"])
        if bias:
            out[f"{dst}.bias"] = _f32(v[f"{src}/bias"])

    def norm(dst: str, src: str) -> None:
        out[f"{dst}.weight"] = _f32(v[f"{src}/gamma"])
        out[f"{dst}.bias"] = _f32(v[f"{src}/beta"])

    def split(dst: str, names: tuple[str, ...], src: str) -> None:
        w, b = v[f"{src}/weight"], v[f"{src}/bias"]
        ws, bs = np.split(w, len(names)), np.split(b, len(names))
        for name, wi, bi in zip(names, ws, bs, strict=True):
            out[f"{dst}.{name}.weight"] = _f32(wi)
            if name != "k_proj":  # transformers' k_proj has no bias
                out[f"{dst}.{name}.bias"] = _f32(bi)

    for part in ("conv1", "conv2"):
        out[f"model.encoder.{part}.weight"] = _f32(v[f"encoder/{part}/weight"])
        out[f"model.encoder.{part}.bias"] = _f32(v[f"encoder/{part}/bias"])
    out["model.encoder.embed_positions.weight"] = _f32(v["encoder/position_encodings/encodings"])
    norm("model.encoder.layer_norm", "encoder/layer_norm")
    out["model.decoder.embed_tokens.weight"] = _f32(v["decoder/embeddings/weight"])
    out["model.decoder.embed_positions.weight"] = _f32(v["decoder/position_encodings/encodings"])
    norm("model.decoder.layer_norm", "decoder/layer_norm")
    for side in ("encoder", "decoder"):
        i = 0
        while f"{side}/layer_{i}/ffn/linear_0/weight" in v:
            src, dst = f"{side}/layer_{i}", f"model.{side}.layers.{i}"
            norm(f"{dst}.self_attn_layer_norm", f"{src}/self_attention/layer_norm")
            split(f"{dst}.self_attn", ("q_proj", "k_proj", "v_proj"), f"{src}/self_attention/linear_0")
            lin(f"{dst}.self_attn.out_proj", f"{src}/self_attention/linear_1")
            if side == "decoder":
                norm(f"{dst}.encoder_attn_layer_norm", f"{src}/attention/layer_norm")
                lin(f"{dst}.encoder_attn.q_proj", f"{src}/attention/linear_0")
                split(f"{dst}.encoder_attn", ("k_proj", "v_proj"), f"{src}/attention/linear_1")
                lin(f"{dst}.encoder_attn.out_proj", f"{src}/attention/linear_2")
            norm(f"{dst}.final_layer_norm", f"{src}/ffn/layer_norm")
            lin(f"{dst}.fc1", f"{src}/ffn/linear_0")
            lin(f"{dst}.fc2", f"{src}/ffn/linear_1")
            i += 1
    return out


def _layers(v: dict[str, np.ndarray], side: str) -> int:
    return sum(1 for k in v if k.startswith(f"{side}/layer_") and k.endswith("/ffn/linear_0/weight"))


def _configs(v: dict[str, np.ndarray], ct2_cfg: dict[str, Any], tokens: dict[str, int]) -> tuple[dict, dict]:
    vocab, d_model = v["decoder/embeddings/weight"].shape
    multilingual = vocab >= 51865
    eot, sot = tokens["<|endoftext|>"], tokens["<|startoftranscript|>"]
    no_ts = tokens["<|notimestamps|>"]
    config = {
        "architectures": ["WhisperForConditionalGeneration"], "model_type": "whisper",
        "vocab_size": int(vocab), "num_mel_bins": int(v["encoder/conv1/weight"].shape[1]),
        "d_model": int(d_model),
        "encoder_layers": _layers(v, "encoder"), "decoder_layers": _layers(v, "decoder"),
        "encoder_attention_heads": int(v["encoder/num_heads"]),
        "decoder_attention_heads": int(v["decoder/num_heads"]),
        "encoder_ffn_dim": int(v["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        "decoder_ffn_dim": int(v["decoder/layer_0/ffn/linear_0/weight"].shape[0]),
        "max_source_positions": int(v["encoder/position_encodings/encodings"].shape[0]),
        "max_target_positions": int(v["decoder/position_encodings/encodings"].shape[0]),
        "activation_function": "gelu", "scale_embedding": False, "tie_word_embeddings": True,
        "pad_token_id": eot, "bos_token_id": eot, "eos_token_id": eot,
        "decoder_start_token_id": sot,
        "suppress_tokens": ct2_cfg.get("suppress_ids", []),
        "begin_suppress_tokens": ct2_cfg.get("suppress_ids_begin", [220, eot]),
        "torch_dtype": "float32", "use_cache": True,
    }
    generation = {
        "decoder_start_token_id": sot, "bos_token_id": eot, "eos_token_id": eot,
        "pad_token_id": eot, "max_length": config["max_target_positions"],
        "suppress_tokens": config["suppress_tokens"],
        "begin_suppress_tokens": config["begin_suppress_tokens"],
        "no_timestamps_token_id": no_ts, "prev_sot_token_id": tokens["<|startofprev|>"],
        "alignment_heads": ct2_cfg.get("alignment_heads", []),
        "is_multilingual": multilingual, "return_timestamps": False,
        "max_initial_timestamp_index": 50,
    }
    if multilingual:
        # only multilingual models may carry these (an English-only one comes back empty)
        generation["lang_to_id"] = {k: i for k, i in tokens.items()
                                    if k.startswith("<|") and len(k) <= 9 and i in ct2_cfg.get("lang_ids", [])}
        generation["task_to_id"] = {"transcribe": tokens["<|transcribe|>"],
                                    "translate": tokens["<|translate|>"]}
    else:
        generation["forced_decoder_ids"] = [[1, no_ts]]
    return config, generation


def converted_dir(ct2_dir: Path, cache_dir: Path) -> Path:
    """Where the converted checkpoint of ``ct2_dir`` lives (or will)."""
    model = ct2_dir / "model.bin"
    st = model.stat()
    tag = hashlib.sha256(f"{model.resolve()}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:10]
    return Path(cache_dir) / "transformers" / f"{ct2_dir.name}-{tag}"


def convert(ct2_dir: Path, cache_dir: Path) -> Path:
    """Convert once; later calls return the cached directory."""
    target = converted_dir(ct2_dir, cache_dir)
    if (target / STAMP).is_file():
        return target
    with _LOCK:
        if (target / STAMP).is_file():
            return target
        from safetensors.numpy import save_file

        log.info("converting the CTranslate2 Whisper model in %s for transformers (once)", ct2_dir)
        spec, variables = read_ct2(ct2_dir / "model.bin")
        if spec != "WhisperSpec":
            raise ConfigError(f"{ct2_dir} holds a {spec} model, not Whisper.", code="stt.model_unsupported")
        ct2_cfg = json.loads((ct2_dir / "config.json").read_text(encoding="utf-8"))
        tok = json.loads((ct2_dir / "tokenizer.json").read_text(encoding="utf-8"))
        tokens = {t["content"]: int(t["id"]) for t in tok.get("added_tokens", [])}
        config, generation = _configs(variables, ct2_cfg, tokens)
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file(to_transformers_weights(variables), str(tmp / "model.safetensors"),
                  metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        (tmp / "generation_config.json").write_text(json.dumps(generation, indent=2), encoding="utf-8")
        shutil.copyfile(ct2_dir / "tokenizer.json", tmp / "tokenizer.json")
        (tmp / "tokenizer_config.json").write_text(json.dumps({
            "tokenizer_class": "WhisperTokenizer", "model_max_length": 1024,
            "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
            "pad_token": "<|endoftext|>", "add_prefix_space": False, "errors": "replace",
        }, indent=2), encoding="utf-8")
        (tmp / "preprocessor_config.json").write_text(json.dumps({
            "feature_extractor_type": "WhisperFeatureExtractor", "processor_class": "WhisperProcessor",
            "feature_size": config["num_mel_bins"], "sampling_rate": 16000, "hop_length": 160,
            "chunk_length": 30, "n_fft": 400, "n_samples": 480000, "nb_max_frames": 3000,
            "padding_side": "right", "padding_value": 0.0, "return_attention_mask": False,
        }, indent=2), encoding="utf-8")
        (tmp / STAMP).write_text(f"from {ct2_dir}\n", encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        tmp.replace(target)
    return target
