"""`nanolive analyze`: files in, the contract tables out (same per-frame core as serve)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
from nanolive.stream.cli import main
from nanolive.stream.files import read_image_file

CONTRACT = ("source", "frame", "track_id", "label", "x", "y", "area_px", "diameter_equivalent_px")
AUTHENTIC = Path("/work/shared/data/authentic")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def moving_disks(n_frames: int, shape=(64, 80)) -> np.ndarray:
    """Frames with two disks (radius 5 px): one fixed at (row 20, col 20), one moving 2 px/frame."""
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    stack = np.full((n_frames, *shape), 30, np.uint16)
    for i in range(n_frames):
        for r, c in ((20, 20), (44, 30 + 2 * i)):
            stack[i][(rows - r) ** 2 + (cols - c) ** 2 <= 25] = 400
    return stack


def test_tiff_stack_and_png_give_the_contract_tables_and_labels(tmp_path):
    stack = moving_disks(5)
    tifffile.imwrite(
        tmp_path / "video.tif",
        stack,
        imagej=True,
        resolution=(1 / 0.4, 1 / 0.4),
        metadata={"unit": "nm", "finterval": 0.5, "axes": "TYX"},
    )
    rgb = np.repeat((moving_disks(1)[0] // 2).astype(np.uint8)[..., None], 3, axis=-1)
    iio.imwrite(tmp_path / "still.png", rgb)
    out = tmp_path / "out"
    code = main(["analyze", str(tmp_path / "video.tif"), str(tmp_path / "still.png"),
                 "--out", str(out), "--save-labels", "--no-progress", "--engine", "classical"])  # fmt: skip
    assert code == 0
    particles = read_csv(out / "particles.csv")
    assert set(CONTRACT) <= set(particles[0])
    video = [p for p in particles if p["source"] == "video.tif"]
    still = [p for p in particles if p["source"] == "still.png"]
    assert len(video) == 10 and len(still) == 2
    assert sorted({int(p["frame"]) for p in video}) == [0, 1, 2, 3, 4]
    assert {p["frame"] for p in still} == {"0"}
    # x = column, y = row; the moving disk goes +2 px in x per frame and keeps its track id
    mover = sorted((p for p in video if float(p["y"]) > 30), key=lambda p: int(p["frame"]))
    assert [round(float(p["x"])) for p in mover] == [30, 32, 34, 36, 38]
    assert all(round(float(p["y"])) == 44 for p in mover)
    assert len({p["track_id"] for p in mover}) == 1
    # calibration read from the TIFF: diameter in nm = diameter in px * 0.4
    for p in video:
        assert float(p["diameter_equivalent_nm"]) == pytest.approx(
            0.4 * float(p["diameter_equivalent_px"])
        )
    assert still[0]["diameter_equivalent_nm"] == ""  # the PNG has no calibration
    frames = read_csv(out / "frames.csv")
    assert [(f["source"], f["frame"], f["count"]) for f in frames] == [
        ("video.tif", str(i), "2") for i in range(5)
    ] + [("still.png", "0", "2")]
    assert [float(f["t_s"]) for f in frames[:5]] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert (out / "events.csv").read_text().startswith("source,kind,frame,t_s,parents,children")
    labels = tifffile.imread(out / "labels" / "video.tif")
    assert labels.shape == stack.shape and labels.dtype == np.int32
    for p in video:  # the label image holds each particle's label at its centroid
        f, y, x = int(p["frame"]), round(float(p["y"])), round(float(p["x"]))
        assert labels[f, y, x] == int(p["label"])
        assert (labels[f] == int(p["label"])).sum() == float(p["area_px"])
    assert tifffile.imread(out / "labels" / "still.tif").shape == stack.shape[1:]


def test_pixel_size_flag_overrides_and_npy_and_hspy_are_read(tmp_path):
    from rsciio.hspy import file_writer

    np.save(tmp_path / "frames.npy", moving_disks(2).astype(np.float32))
    axes = [
        {"name": "t", "size": 2, "scale": 0.25, "offset": 0, "units": "s", "navigate": True},
        {"name": "y", "size": 64, "scale": 2.0, "offset": 0, "units": "Å", "navigate": False},
        {"name": "x", "size": 80, "scale": 2.0, "offset": 0, "units": "Å", "navigate": False},
    ]
    signal = {"data": moving_disks(2), "axes": axes, "metadata": {"General": {"title": "t"},
              "Signal": {"signal_type": ""}}, "original_metadata": {}, "attributes": {"_lazy": False},
              "tmp_parameters": {}, "package_info": {"name": "test", "version": "0"},
              "learning_results": {}, "models": {}}  # fmt: skip
    file_writer(str(tmp_path / "scan.hspy"), signal, show_progressbar=False)
    source = read_image_file(tmp_path / "scan.hspy")
    assert source.is_stack and source.frames.shape == (2, 64, 80)
    assert source.pixel_size_nm == pytest.approx(0.2) and source.frame_interval_s == 0.25
    out = tmp_path / "out"
    code = main(["analyze", str(tmp_path / "frames.npy"), "--out", str(out),
                 "--pixel-size-nm", "2", "--no-progress", "--engine", "classical"])  # fmt: skip
    assert code == 0
    rows = read_csv(out / "particles.csv")
    assert len(rows) == 4
    for p in rows:
        assert float(p["diameter_equivalent_nm"]) == pytest.approx(
            2 * float(p["diameter_equivalent_px"])
        )


def test_bad_inputs_fail_with_a_clear_message(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["analyze", str(tmp_path / "notes.txt"), "--out", str(tmp_path / "o")]) == 2
    assert "unsupported file type '.txt'" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "missing.tif"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    np.save(tmp_path / "a.npy", np.zeros((4, 4, 4, 4)))
    assert main(["analyze", str(tmp_path / "a.npy"), "--out", str(tmp_path / "o")]) == 2
    assert "expected a 2-D image or a 3-D stack" in capsys.readouterr().err


@pytest.mark.skipif(not AUTHENTIC.exists(), reason="shared authentic data not on this machine")
def test_authentic_micrographs_are_analysed_in_place(tmp_path):
    colour = sorted((AUTHENTIC / "emps-instances" / "images").glob("*.png"))[:1]  # RGB TEM figure
    insitu = sorted((AUTHENTIC / "insitu-bftem-masks" / "images").glob("*.png"))[:1]  # BF-TEM
    inputs = [str(p) for p in colour + insitu]
    if not inputs:
        pytest.skip("no authentic images found")
    assert (
        main(
            [
                "analyze",
                *inputs,
                "--out",
                str(tmp_path / "o"),
                "--no-progress",
                "--engine",
                "classical",
            ]
        )
        == 0
    )
    frames = read_csv(tmp_path / "o" / "frames.csv")
    assert len(frames) == len(inputs)
    assert all(int(f["count"]) > 0 for f in frames)  # real micrographs hold particles


def write_mrc(path: Path, data: np.ndarray, angstrom_per_px: float) -> None:
    """Write a minimal MRC2014 file (float32 volume, cell size in Å) without any MRC library."""
    nz, ny, nx = data.shape
    head = np.zeros(256, np.int32)
    as_float = head.view(np.float32)
    head[0:4] = [nx, ny, nz, 2]  # mode 2 = float32
    head[7:10] = [nx, ny, nz]
    as_float[10:13] = [nx * angstrom_per_px, ny * angstrom_per_px, nz * 1.0]
    as_float[13:16] = 90.0
    head[16:19] = [1, 2, 3]
    raw = bytearray(head.tobytes())
    raw[208:216] = b"MAP " + bytes([0x44, 0x44, 0, 0])  # map id, little-endian stamp
    path.write_bytes(bytes(raw) + data.astype("<f4").tobytes())


def test_mrc_stack_is_read_with_its_pixel_size(tmp_path):
    data = moving_disks(3).astype(np.float32)
    write_mrc(tmp_path / "tomo.mrc", data, angstrom_per_px=5.0)
    source = read_image_file(tmp_path / "tomo.mrc")
    assert source.is_stack and source.pixel_size_nm == pytest.approx(0.5)
    np.testing.assert_array_equal(source.frames, data)


def write_sequence(folder: Path, stack: np.ndarray, names: list[str]) -> None:
    folder.mkdir()
    for frame, name in zip(stack, names, strict=True):
        iio.imwrite(folder / name, (frame // 2).astype(np.uint8))


def test_a_folder_of_images_is_one_video_in_natural_order(tmp_path):
    stack = moving_disks(11)
    names = [f"frame_{i}.png" for i in range(11)]  # frame_10 sorts after frame_9, not frame_1
    write_sequence(tmp_path / "run1", stack, names)
    (tmp_path / "run1" / "notes.txt").write_text("not an image: ignored")
    source = read_image_file(tmp_path / "run1")
    assert source.is_stack and source.frames.shape == (11, 64, 80)
    assert list(source.frame_files) == names
    np.testing.assert_array_equal(source.frames, stack // 2)
    out = tmp_path / "out"
    code = main(["analyze", str(tmp_path / "run1"), "--out", str(out), "--no-progress",
                 "--engine", "classical", "--frame-interval-s", "0.2"])  # fmt: skip
    assert code == 0
    mover = sorted(
        (p for p in read_csv(out / "particles.csv") if float(p["y"]) > 30),
        key=lambda p: int(p["frame"]),
    )
    # one track across the eleven files, moving +2 px per frame in natural order
    assert [round(float(p["x"])) for p in mover] == [30 + 2 * i for i in range(11)]
    assert len({p["track_id"] for p in mover}) == 1 and {p["source"] for p in mover} == {"run1"}
    assert float(mover[-1]["t_s"]) == pytest.approx(2.0)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sequences"] == {"run1": names} and summary["frames"] == 11


def test_sequence_flag_tracks_listed_files_as_one_video(tmp_path):
    stack = moving_disks(4)
    names = [f"img{i}.png" for i in (3, 2, 1, 0)]  # listed out of order
    write_sequence(tmp_path / "seq", stack[::-1], names)
    out = tmp_path / "out"
    paths = [str(tmp_path / "seq" / n) for n in names]
    code = main(["analyze", *paths, "--sequence", "--out", str(out), "--no-progress",
                 "--engine", "classical"])  # fmt: skip
    assert code == 0
    frames = read_csv(out / "frames.csv")
    assert [(f["source"], f["frame"]) for f in frames] == [("seq", str(i)) for i in range(4)]
    mover = [p for p in read_csv(out / "particles.csv") if float(p["y"]) > 30]
    assert [round(float(p["x"])) for p in mover] == [30, 32, 34, 36]
    assert len({p["track_id"] for p in mover}) == 1


def test_bad_sequences_fail_with_a_clear_message(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["analyze", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "holds no image file" in capsys.readouterr().err
    folder = tmp_path / "stacked"
    folder.mkdir()
    tifffile.imwrite(folder / "a.tif", np.zeros((2, 16, 16), np.uint8))  # the first file decides
    assert main(["analyze", str(folder), "--out", str(tmp_path / "o")]) == 2
    assert "holds 2 frames; an image sequence takes one image per file" in capsys.readouterr().err


def test_a_bad_file_inside_a_sequence_is_a_counted_failure_not_a_stop(tmp_path, caplog):
    """Files are read one frame at a time: a frame whose file is broken, of another shape or a
    stack is skipped with the reason counted; the frames around it are analysed and tracked."""
    stack = moving_disks(6)
    names = [f"f{i}.png" for i in range(6)]
    write_sequence(tmp_path / "seq", stack, names)
    (tmp_path / "seq" / "f2.png").write_bytes(b"not a png")
    iio.imwrite(tmp_path / "seq" / "f4.png", np.zeros((16, 20), np.uint8))
    source = read_image_file(tmp_path / "seq")
    assert len(source.frames) == 6 and source.frames.shape == (6, 64, 80)
    with pytest.raises(ValueError, match="f4.png: frame shape"):
        source.frames[4]
    out = tmp_path / "out"
    code = main(["analyze", str(tmp_path / "seq"), "--out", str(out), "--no-progress",
                 "--engine", "classical"])  # fmt: skip
    assert code == 1  # some frames failed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == 4 and summary["failures"] == {"unreadable_file": 2}
    assert [f["frame"] for f in read_csv(out / "frames.csv")] == ["0", "1", "3", "5"]
    mover = [p for p in read_csv(out / "particles.csv") if float(p["y"]) > 30]
    assert [round(float(p["x"])) for p in mover] == [30, 32, 36, 40]
    assert len({p["track_id"] for p in mover}) == 1  # the tracker coasts over the gaps
    assert "f2.png" in caplog.text and "unreadable_file" in caplog.text


def write_video(path: Path, stack: np.ndarray, fps: int, codec: str) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = stack.shape[1:]
        stream.pix_fmt = "yuv420p" if codec != "ffv1" else "gray"
        for frame in stack:
            image = av.VideoFrame.from_ndarray(frame.astype(np.uint8), format="gray")
            container.mux(stream.encode(image))
        container.mux(stream.encode())


@pytest.mark.parametrize(("name", "codec"), [("clip.mkv", "ffv1"), ("clip.mp4", "mpeg4")])
def test_video_files_are_tracked_with_their_frame_rate(tmp_path, name, codec):
    stack = np.clip(moving_disks(6), 0, 255)
    write_video(tmp_path / name, stack, fps=4, codec=codec)
    source = read_image_file(tmp_path / name)
    assert source.is_stack and source.frames.shape == (6, 64, 80)
    assert source.frame_interval_s == pytest.approx(0.25)
    if codec == "ffv1":  # lossless
        np.testing.assert_array_equal(source.frames, stack)
    out = tmp_path / "out"
    assert main(["analyze", str(tmp_path / name), "--out", str(out), "--no-progress",
                 "--engine", "classical"]) == 0  # fmt: skip
    mover = [p for p in read_csv(out / "particles.csv") if float(p["y"]) > 30]
    assert [round(float(p["x"])) for p in mover] == [30, 32, 34, 36, 38, 40]
    assert len({p["track_id"] for p in mover}) == 1
    assert float(mover[-1]["t_s"]) == pytest.approx(1.25)


def test_video_frames_are_decoded_on_access_in_any_order(tmp_path):
    stack = np.clip(moving_disks(5), 0, 255)
    write_video(tmp_path / "clip.mkv", stack, fps=2, codec="ffv1")
    frames = read_image_file(tmp_path / "clip.mkv").frames
    assert len(frames) == 5 and frames.shape == (5, 64, 80)
    for i in (3, 4, 1, -5, 2):  # backwards access reopens the file and decodes from the start
        np.testing.assert_array_equal(frames[i], stack[i])
    with pytest.raises(IndexError):
        frames[5]


def test_broken_video_and_animated_gif(tmp_path, capsys):
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all")
    assert main(["analyze", str(tmp_path / "broken.mp4"), "--out", str(tmp_path / "o")]) == 2
    assert "cannot decode the video" in capsys.readouterr().err
    stack = (moving_disks(3) // 2).astype(np.uint8)
    iio.imwrite(tmp_path / "anim.gif", stack)
    source = read_image_file(tmp_path / "anim.gif")
    assert source.is_stack and source.frames.shape == (3, 64, 80)
    iio.imwrite(tmp_path / "still.gif", stack[0])
    assert read_image_file(tmp_path / "still.gif").frames.shape == (1, 64, 80)
