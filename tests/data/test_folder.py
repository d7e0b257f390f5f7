import numpy as np
import pytest
from PIL import Image

from advlab.data.domains import load_domain
from advlab.data.folder import read_image_folder, read_npz
from advlab.errors import DataError


def make_folder(root, classes=("0", "1", "2"), per_class=2, mode="L"):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for c in classes:
            (root / split / c).mkdir(parents=True)
            for i in range(per_class):
                shape = (28, 28) if mode == "L" else (28, 28, 3)
                Image.fromarray(rng.integers(0, 256, shape).astype(np.uint8), mode).save(root / split / c / f"{i}.png")
    return root


def test_image_folder_grey(tmp_path):
    splits = read_image_folder(make_folder(tmp_path / "d"))
    x, y = splits["train"]
    assert x.shape == (6, 1, 28, 28) and sorted(y.tolist()) == [0, 0, 1, 1, 2, 2]


def test_image_folder_colour_as_domain(tmp_path):
    domain = load_domain(str(make_folder(tmp_path / "d", mode="RGB")))
    assert domain.train.x.shape == (6, 3, 28, 28) and domain.num_classes == 3


def test_image_folder_missing_split(tmp_path):
    (tmp_path / "d" / "train" / "0").mkdir(parents=True)
    with pytest.raises(DataError, match="missing folder test/"):
        read_image_folder(tmp_path / "d")


def test_npz_layouts(tmp_path):
    x = np.zeros((4, 28, 28, 3), np.uint8)
    np.savez(tmp_path / "d.npz", x_train=x, y_train=np.arange(4), x_test=x[:2], y_test=np.arange(2))
    splits = read_npz(tmp_path / "d.npz")
    assert splits["train"][0].shape == (4, 3, 28, 28)


def test_npz_missing_key_and_bad_dtype(tmp_path):
    np.savez(tmp_path / "a.npz", x_train=np.zeros((2, 28, 28), np.uint8), y_train=np.zeros(2, int))
    with pytest.raises(DataError, match="missing x_test"):
        read_npz(tmp_path / "a.npz")
    np.savez(
        tmp_path / "b.npz",
        x_train=np.zeros((2, 28, 28)),
        y_train=np.zeros(2, int),
        x_test=np.zeros((2, 28, 28)),
        y_test=np.zeros(2, int),
    )
    with pytest.raises(DataError, match="uint8"):
        read_npz(tmp_path / "b.npz")


def test_corrupt_npz(tmp_path):
    (tmp_path / "c.npz").write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match="corrupt"):
        read_npz(tmp_path / "c.npz")


def test_unknown_domain_name():
    with pytest.raises(DataError, match="unknown data set 'svhn'"):
        load_domain("svhn")


@pytest.mark.parametrize("shape", [(0, 28, 28), (5, 0, 28)])
def test_npz_without_images_is_one_line(tmp_path, shape):
    path = tmp_path / "empty.npz"
    np.savez(
        path,
        x_train=np.zeros(shape, np.uint8),
        y_train=np.zeros(shape[0], np.int64),
        x_test=np.zeros(shape, np.uint8),
        y_test=np.zeros(shape[0], np.int64),
    )
    with pytest.raises(DataError, match="holds no images"):
        load_domain(str(path))


def test_a_huge_label_is_refused_before_building_a_huge_classifier(tmp_path):
    path = tmp_path / "big.npz"
    y = np.array([0, 1, 10**9], np.int64)
    np.savez(path, x_train=np.zeros((3, 28, 28), np.uint8), y_train=y, x_test=np.zeros((3, 28, 28), np.uint8), y_test=y)
    with pytest.raises(DataError, match="at most 1000 classes"):
        load_domain(str(path))


def test_empty_class_folder_is_an_error_not_a_smaller_model(tmp_path):
    for split in ("train", "test"):
        for c in ("0", "1", "2"):
            (tmp_path / split / c).mkdir(parents=True)
            if c != "2" or split == "test":
                Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / split / c / "a.png")
    with pytest.raises(DataError, match="2: class folder holds no images"):
        read_image_folder(tmp_path)


def test_a_decompression_bomb_and_garbage_are_one_line(tmp_path, monkeypatch):
    from advlab.data.images import decode_image

    monkeypatch.setattr(
        Image, "MAX_IMAGE_PIXELS", 1000
    )  # Pillow's limit scaled down: a 100 x 100 image plays the 20000 x 20000 bomb
    bomb = tmp_path / "bomb.png"
    Image.new("L", (100, 100)).save(bomb)
    with pytest.raises(DataError, match="too many pixels"):
        decode_image(bomb.read_bytes(), "bomb.png")
    Image.new("L", (40, 40)).save(bomb)  # over the limit but under twice it: Pillow only warns, advlab refuses
    with pytest.raises(DataError, match="too many pixels"):
        decode_image(bomb.read_bytes(), "bomb.png")
    with pytest.raises(DataError) as caught:
        decode_image(b"not a png at all", "junk.png")
    assert "BytesIO" not in str(caught.value) and "not an image file" in str(caught.value)


def test_a_text_file_named_npz_gets_no_pickle_hint(tmp_path):
    path = tmp_path / "fake.npz"
    path.write_text("hello\n")
    with pytest.raises(DataError) as caught:
        read_npz(path)
    assert "allow_pickle" not in str(caught.value) and "not an .npz archive" in str(caught.value)
