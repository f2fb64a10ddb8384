import os

import pytest

from ganedge.errors import OutputError
from ganedge.fsutil import atomic_open, atomic_path, write_text_atomic


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "out.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as handle:
            handle.write("half of the new")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_path_creates_folders(tmp_path):
    target = tmp_path / "a" / "b" / "f.bin"
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"x")
    assert target.read_bytes() == b"x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_folder_is_a_clear_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            write_text_atomic(folder / "f.txt", "x")
    finally:
        folder.chmod(0o700)


def test_atomic_files_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    import ganedge.fsutil as fsutil

    write_text_atomic(tmp_path / "f.txt", "x")
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o666 & ~fsutil._UMASK


def _tree(folder):
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_atomic_dir_commits_a_whole_folder_in_one_rename(tmp_path):
    import ganedge.fsutil as fsutil

    target = tmp_path / "out" / "model"
    with fsutil.atomic_dir(target) as staging:
        assert staging.parent == target.parent and fsutil.is_leftover(staging.name)  # a crash here is recognisable
        (staging / "1").mkdir()
        (staging / "1" / "model.onnx").write_text("weights")
        (staging / "config.pbtxt").write_text("config")
        assert not target.exists()  # nothing under the target's name until the block ends
    assert _tree(target) == {"1/model.onnx": "weights", "config.pbtxt": "config"}
    assert [p.name for p in target.parent.iterdir()] == ["model"]
    assert target.stat().st_mode & 0o777 == 0o777 & ~fsutil._UMASK  # as mkdir would make it, not mkdtemp's 0700


def test_atomic_dir_replaces_only_when_asked_and_a_failure_keeps_the_old_folder(tmp_path):
    from ganedge.fsutil import atomic_dir

    target = tmp_path / "ckpt"
    with atomic_dir(target) as staging:
        (staging / "state.json").write_text("old")
    with pytest.raises(OutputError, match="already exists"):
        with atomic_dir(target) as staging:
            (staging / "state.json").write_text("new")
    with pytest.raises(RuntimeError):
        with atomic_dir(target, replace=True) as staging:
            (staging / "state.json").write_text("half of the new")
            raise RuntimeError("crash mid-write")
    assert _tree(target) == {"state.json": "old"}
    with atomic_dir(target, replace=True, mode=0o755) as staging:
        (staging / "state.json").write_text("new")
    assert _tree(target) == {"state.json": "new"} and target.stat().st_mode & 0o777 == 0o755
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"], "a staging or trash folder was left behind"


def test_remove_tree_renames_out_of_the_way_before_deleting(tmp_path):
    from ganedge.fsutil import remove_tree

    folder = tmp_path / "step-000002"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "f").write_text("x")
    remove_tree(folder)
    assert list(tmp_path.iterdir()) == []
