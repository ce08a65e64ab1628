"""nanolive.stream: the live pipeline (ZeroMQ in -> engine -> measure -> track -> metrics -> PUB out).

Public API (import from the modules; this package imports nothing so `nanolive --help` stays fast):
``server.Server`` (start/stop/context manager), ``config.Config`` / ``config.load_config``,
``pipeline.FrameProcessor`` / ``pipeline.process_frames`` (the per-frame core), ``protocol``
(wire protocol v1: ``encode_frame``, ``encode_end``, ``decode_message``), ``acquire.FrameSender``,
``analyze.analyze_paths``, ``files.read_image_file``, ``watch.watch``. See docs/architecture.md.
"""
