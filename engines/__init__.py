"""nanolive.engines: segmentation engines (frames -> instance labels) and the neural model's life cycle.

Use ``registry.create_engine(EngineConfig(...))``; "onnx" (default, the shipped U-Net on onnxruntime),
"torch", "tensorrt" and "classical" share the ``Engine`` interface of ``base.py``. Model: ``model.py``;
data: ``data.py`` (simulator + real sets, held-out split in ``splits.json``); training: ``augment.py``,
``targets.py``, ``train.py``; export: ``export.py``; scoring: ``metrics.py``, ``evaluate.py``; commands:
``cli.py`` (``nanolive train | evaluate | export``). See docs/model_card.md and docs/architectures.md.
"""
