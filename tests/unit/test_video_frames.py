"""Key-frames from real product photos made into small videos (PyAV encodes them), and bad videos."""

from __future__ import annotations

import pytest

from shoplens.preprocess.video import VideoError, key_frames, write_slideshow

from ..conftest import FASHION, fashion_rows


@pytest.fixture(scope="module")
def photos():
    return [FASHION / r["image"] for r in fashion_rows(40)[::10]]  # 4 different products


@pytest.fixture(scope="module")
def clip(tmp_path_factory, photos):
    """12 s at 10 fps: 4 products, 3 s each."""
    return write_slideshow(tmp_path_factory.mktemp("v") / "clip.mp4", photos, seconds_each=3.0, fps=10)


def test_uniform_frames_are_bounded_and_spread_over_the_video(clip):
    kf = key_frames(clip, max_frames=6, sampling="uniform")
    assert kf.decoded == 120 and not kf.truncated
    assert len(kf.frames) == 6 and all(f.mode == "RGB" and f.size == (224, 224) for f in kf.frames)
    assert kf.times == sorted(kf.times) and kf.times[0] < 2.0 and kf.times[-1] > 9.0  # start to end, not the start only
    assert len(key_frames(clip, max_frames=2).frames) == 2


def test_scene_sampling_keeps_one_frame_per_product_shot(clip, tmp_path, photos):
    kf = key_frames(clip, max_frames=8, sampling="scene")
    assert len(kf.frames) == 4  # the 4 cuts; the slow zoom inside a shot is not a new scene
    assert [int(t // 3) for t in kf.times] == [0, 1, 2, 3]
    static = write_slideshow(tmp_path / "one.mp4", photos[:1], seconds_each=2.0)
    assert len(key_frames(static, sampling="scene").frames) == 1


def test_decode_time_bound_stops_early(clip):
    kf = key_frames(clip, max_frames=4, max_decode_s=0.0)
    assert kf.truncated and kf.decoded == 1 and len(kf.frames) == 1


@pytest.mark.parametrize(
    "content, why",
    [(b"", "cannot decode"), (b"\x00\x00\x00\x18ftypmp42" + b"\x17" * 500, "cannot decode")],
)
def test_corrupt_videos_name_the_file(tmp_path, content, why):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(content)
    with pytest.raises(VideoError, match=why) as e:
        key_frames(bad)
    assert str(bad) in str(e.value)


def test_a_photo_is_not_a_video(photos):
    with pytest.raises(VideoError, match="still image") as e:
        key_frames(photos[0], max_frames=2)
    assert e.value.source == str(photos[0])
