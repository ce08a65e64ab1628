"""The TensorRT engine (optional, NVIDIA GPU): a plan built from the shipped ONNX, cached on disk.

TensorRT 10+ APIs only: explicit-batch network (``create_network(0)``; on TensorRT 11, where precision
flags are gone, a strongly typed network), ``OnnxParser``, FP16 where the builder still has the flag
(TensorRT 10), one optimization profile for batch 1..max_batch and sides up to ``MAX_SIDE_PX``,
``build_serialized_network``, and execution with ``set_input_shape`` / ``set_tensor_address`` /
``execute_async_v3`` on a CUDA stream (cuda-python's runtime bindings). Plans are cached under a key of
the ONNX hash, the TensorRT version, the GPU name and compute capability and the profile, because plans
are not portable across any of these. Importing this module needs neither TensorRT nor CUDA.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from .base import EngineConfig
from .export import INPUT_NAME, OUTPUT_NAME, onnx_spec
from .neural import NeuralSegmenter, resolve_weights

log = logging.getLogger(__name__)

#: Largest frame side (px) the optimization profile admits; 512 is the profile's optimum.
MAX_SIDE_PX = 2048
OPT_SIDE_PX = 512


def default_cache_dir() -> Path:
    """Return the folder of cached TensorRT plans (~/.cache/nanolive/tensorrt)."""
    return Path.home() / ".cache" / "nanolive" / "tensorrt"


def _check(result):
    """Return the payload of a cuda-python call, raising RuntimeError on a CUDA error."""
    err, *rest = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise RuntimeError(f"CUDA error {err}")
    return rest[0] if len(rest) == 1 else rest


def plan_key(onnx_bytes: bytes, trt_version: str, gpu: str, profile: tuple, fp16: bool) -> str:
    """Return the cache key (hex) of a plan: ONNX hash + TensorRT version + GPU + profile + precision."""
    h = hashlib.sha256(onnx_bytes)
    h.update(f"|{trt_version}|{gpu}|{profile}|fp16={fp16}".encode())
    return h.hexdigest()[:32]


class TensorRTEngine:
    """Engine running the U-Net as a TensorRT plan on the first CUDA device."""

    name = "tensorrt"

    def __init__(self, config: EngineConfig | None = None, cache_dir: Path | None = None) -> None:
        try:
            import tensorrt as trt
            from cuda.bindings import runtime as cudart
        except ImportError as exc:
            raise RuntimeError(
                "the tensorrt engine needs TensorRT >= 10 and cuda-python "
                "(pip install 'nanolive[tensorrt]') and an NVIDIA GPU"
            ) from exc
        self.trt, self.cudart = trt, cudart
        self.config = config or EngineConfig(name="tensorrt")
        onnx_path = resolve_weights(self.config, ".onnx")
        count = _check(cudart.cudaGetDeviceCount())
        if count < 1:
            raise RuntimeError("the tensorrt engine needs a CUDA device; none found")
        props = _check(cudart.cudaGetDeviceProperties(0))
        name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
        self.gpu = f"{name.strip(chr(0))} sm{props.major}{props.minor}"
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.multiple = onnx_spec(onnx_path).multiple
        plan = self._load_or_build(onnx_path, cache_dir or default_cache_dir())
        runtime = trt.Runtime(self.logger)
        self.engine = runtime.deserialize_cuda_engine(plan)
        if self.engine is None:
            raise RuntimeError("TensorRT could not deserialize the plan")
        self.context = self.engine.create_execution_context()
        self.stream = _check(cudart.cudaStreamCreateWithFlags(cudart.cudaStreamNonBlocking))
        self._buffers: dict[str, tuple[int, int]] = {}  # name -> (device pointer, bytes)
        self._segmenter = NeuralSegmenter(self._run, self.multiple, self.config)

    @property
    def profile(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """Return the (min, opt, max) input shapes of the optimization profile."""
        m, b = self.multiple, self.config.max_batch
        return (1, 1, m, m), (1, 1, OPT_SIDE_PX, OPT_SIDE_PX), (b, 1, MAX_SIDE_PX, MAX_SIDE_PX)

    def _load_or_build(self, onnx_path: Path, cache_dir: Path) -> bytes:
        trt = self.trt
        onnx_bytes = onnx_path.read_bytes()
        fp16 = hasattr(trt.BuilderFlag, "FP16")
        key = plan_key(onnx_bytes, trt.__version__, self.gpu, self.profile, fp16)
        cached = cache_dir / f"{key}.plan"
        if cached.is_file():
            plan = cached.read_bytes()
            if trt.Runtime(self.logger).deserialize_cuda_engine(plan) is not None:
                return plan
            log.warning("cached plan %s is unusable; rebuilding", cached)
        builder = trt.Builder(self.logger)
        if fp16:  # TensorRT 10: explicit batch is the default, precision by builder flag
            network = builder.create_network(0)
        else:  # TensorRT 11: strongly typed only; the fp32 ONNX gives an fp32 plan
            flag = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
            network = builder.create_network(flag)
            log.warning(
                "TensorRT %s has no FP16 builder flag; building an fp32 plan", trt.__version__
            )
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse(onnx_bytes):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
        cfg = builder.create_builder_config()
        cfg.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 30)
        if fp16:
            cfg.set_flag(trt.BuilderFlag.FP16)
        profile = builder.create_optimization_profile()
        profile.set_shape(INPUT_NAME, *self.profile)
        cfg.add_optimization_profile(profile)
        serialized = builder.build_serialized_network(network, cfg)
        if serialized is None:
            raise RuntimeError("TensorRT failed to build the engine")
        plan = bytes(serialized)
        cache_dir.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(plan)
        log.info("built TensorRT plan %s for %s", cached, self.gpu)
        return plan

    def _device_buffer(self, name: str, nbytes: int) -> int:
        ptr, size = self._buffers.get(name, (0, 0))
        if size < nbytes:
            if ptr:
                _check(self.cudart.cudaFree(ptr))
            ptr = int(_check(self.cudart.cudaMalloc(nbytes)))
            self._buffers[name] = (ptr, nbytes)
        return ptr

    def _run(self, x: np.ndarray) -> np.ndarray:
        cudart = self.cudart
        b, _, h, w = x.shape
        if b > self.config.max_batch or max(h, w) > MAX_SIDE_PX:
            raise ValueError(
                f"input {x.shape} exceeds the TensorRT profile (batch <= {self.config.max_batch}, "
                f"sides <= {MAX_SIDE_PX} px)"
            )
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.empty((b, 2, h, w), dtype=np.float32)
        d_in = self._device_buffer(INPUT_NAME, x.nbytes)
        d_out = self._device_buffer(OUTPUT_NAME, out.nbytes)
        self.context.set_input_shape(INPUT_NAME, tuple(x.shape))
        self.context.set_tensor_address(INPUT_NAME, d_in)
        self.context.set_tensor_address(OUTPUT_NAME, d_out)
        h2d = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        d2h = cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        _check(cudart.cudaMemcpyAsync(d_in, x.ctypes.data, x.nbytes, h2d, self.stream))
        if not self.context.execute_async_v3(int(self.stream)):
            raise RuntimeError("TensorRT execute_async_v3 failed")
        _check(cudart.cudaMemcpyAsync(out.ctypes.data, d_out, out.nbytes, d2h, self.stream))
        _check(cudart.cudaStreamSynchronize(self.stream))
        return out

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Return float32 logits (B, 2, H, W) of frames (B, H, W)."""
        return self._segmenter.logits(batch)

    def segment(self, batch: np.ndarray) -> np.ndarray:
        """Return int32 instance labels (B, H, W) of float32 frames (B, H, W)."""
        return self._segmenter.segment(batch)

    def close(self) -> None:
        """Free the device buffers and the stream."""
        for ptr, _ in self._buffers.values():
            self.cudart.cudaFree(ptr)
        self._buffers.clear()
        if self.stream is not None:
            self.cudart.cudaStreamDestroy(self.stream)
            self.stream = None
