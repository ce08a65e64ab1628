"""Export of a trained U-Net to ONNX (dynamic batch and size, opset >= 17) and static INT8 quantisation.

The ONNX graph has one input ``input`` (B, 1, H, W) float32 and one output ``logits`` (B, 2, H, W);
H and W must be multiples of the stride recorded in the model metadata (key ``spec``, JSON).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .model import ModelSpec, UNet

log = logging.getLogger(__name__)

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
MIN_OPSET = 17


def export_onnx(model: UNet, path: Path, opset: int = MIN_OPSET) -> Path:
    """Write ``model`` as ONNX with dynamic batch/height/width axes and its spec as metadata."""
    import onnx
    import torch

    if opset < MIN_OPSET:
        raise ValueError(f"opset must be >= {MIN_OPSET}, not {opset}")
    m = model.spec.multiple
    dummy = torch.zeros(1, 1, 4 * m, 4 * m)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    axes = {0: "batch", 2: "height", 3: "width"}
    with torch.no_grad():
        torch.onnx.export(
            model,
            dummy,
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes},
            opset_version=opset,
            dynamo=False,
        )
    proto = onnx.load(str(path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "spec", json.dumps(model.spec.as_dict())
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return path


def onnx_spec(path: Path) -> ModelSpec:
    """Return the ModelSpec stored in an exported model's metadata."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    for entry in proto.metadata_props:
        if entry.key == "spec":
            return ModelSpec(**json.loads(entry.value))
    raise ValueError(f"{path} has no 'spec' metadata; export it with nanolive export")


def quantize_int8(fp32_path: Path, out_path: Path, calibration: Iterable[np.ndarray]) -> Path:
    """Write a static INT8 QDQ model (U8 activations, S8 per-channel weights) calibrated on inputs.

    ``calibration`` yields network inputs (B, 1, H, W) float32 (already normalised and padded).
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self, batches: Iterable[np.ndarray]) -> None:
            self.it = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self.it, None)
            return None if x is None else {INPUT_NAME: x.astype(np.float32)}

    pre = out_path.with_suffix(".pre.onnx")
    quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
    quantize_static(
        str(pre),
        str(out_path),
        Reader(calibration),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
    )
    pre.unlink(missing_ok=True)
    spec = onnx_spec(fp32_path)
    proto = onnx.load(str(out_path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "spec", json.dumps(spec.as_dict())
    onnx.save(proto, str(out_path))
    return out_path
