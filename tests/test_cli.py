import json
import os

import pandas as pd

from harness.cli import main


def test_certify_writes_reports_and_exits_0(tmp_path, capsys):
    code = main(["certify", "--layers", "DenseLayer", "--profile", "ci", "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "DenseLayer" in out and "examples/s" in out
    for stem in ("discrepancy", "timing"):
        for ext in ("csv", "json", "md"):
            assert (tmp_path / f"{stem}.{ext}").exists()
    frame = pd.read_csv(tmp_path / "discrepancy.csv")
    assert set(frame["dtype"]) == {"float32", "float64"} and (frame["verdict"] == "certified").all()
    assert (frame["examples"] >= 20).all()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["certified"] == 2 and summary["examples_per_second"] > 0


def test_certify_exits_1_with_a_reproducer_on_a_discrepancy(tmp_path, capsys):
    code = main(["certify", "--pairs-module", "broken_pairs_cli", "--no-builtin", "--layers", "BrokenMissingBiasDense",
                 "--dtypes", "float32", "--profile", "ci", "--report-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "replay with: twins replay" in out
    command = out.split("replay with: ")[-1].splitlines()[0].split()
    assert command[3:] == ["--pairs-module", "broken_pairs_cli"], command  # a user's pairs module is named
    assert os.path.exists(command[2])
    assert main(command[1:]) == 1


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["certify", "--layers", "NoSuchLayer", "--report-dir", str(tmp_path)]) == 2
    assert main(["certify", "--profile", "bogus", "--report-dir", str(tmp_path)]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["replay", str(tmp_path / "missing.npz")]) == 2
    err = capsys.readouterr().err
    assert "no registered pair named 'NoSuchLayer'" in err and "unknown profile" in err


def test_unwritable_report_dir_is_exit_2_with_one_line(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    code = main(["certify", "--layers", "DenseLayer", "--dtypes", "float32", "--profile", "dev", "--no-html",
                 "--report-dir", str(tmp_path / "afile")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("twins: error:"), err


def test_unexpected_exception_is_exit_2_with_one_line(capsys, monkeypatch):
    from harness import cli

    def boom(argv):
        raise RuntimeError("something\nbroke")

    monkeypatch.setitem(cli.COMMANDS, "certify", boom)
    monkeypatch.delenv("TWINS_TRACEBACK", raising=False)
    assert main(["certify"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "RuntimeError: something broke" in err[0] and "TWINS_TRACEBACK" in err[0]


USER_PAIRS = '''
import layers_theano as LT
from broken_twins import MissingBiasDense
from harness import register_pair
from harness.catalogue.dense import dense_bound, dense_draws

register_pair("UserMissingBiasDense", LT.DenseLayer, MissingBiasDense, dense_draws(), error_bound=dense_bound)
'''


def test_replay_of_a_user_pair_loads_its_module(tmp_path, capsys, monkeypatch):
    """The replay command certify prints works for a pair registered by the user's module (found in
    the current directory, as ``python -m`` finds it): the reproducer records the module, the printed
    command names it with --pairs-module, and replay imports it only when the command line names it."""
    from harness.registry import get_pair, unregister_pair

    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "user_pairs_replay.py").write_text(USER_PAIRS)
    code = main(["certify", "--pairs-module", "user_pairs_replay", "--no-builtin", "--layers", "UserMissingBiasDense",
                 "--dtypes", "float32", "--profile", "ci", "--report-dir", str(tmp_path / "reports"), "--no-html"])
    out = capsys.readouterr().out
    assert code == 1, out
    command = out.split("replay with: ")[-1].splitlines()[0].split()
    assert command[:2] == ["twins", "replay"] and command[3:] == ["--pairs-module", "user_pairs_replay"], command
    repro = command[2]
    assert get_pair("UserMissingBiasDense").source == "user_pairs_replay"
    # a fresh process: the pair is not registered and its module not imported
    unregister_pair("UserMissingBiasDense")
    monkeypatch.delitem(__import__("sys").modules, "user_pairs_replay")
    try:
        # the file alone never makes replay import a module: one line saying which flag to add
        assert main(["replay", repro]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--pairs-module user_pairs_replay" in err[0], err
        assert "user_pairs_replay" not in __import__("sys").modules
        assert main(command[1:]) == 1  # the printed command, as the user runs it
        assert "UserMissingBiasDense" in capsys.readouterr().out
        assert get_pair("UserMissingBiasDense").source == "user_pairs_replay"
    finally:
        unregister_pair("UserMissingBiasDense")


def test_a_missing_pairs_module_is_not_blamed_on_the_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    monkeypatch.chdir(tmp_path)
    assert main(["certify", "--pairs-module", "no_such_pairs_module", "--no-builtin", "--report-dir",
                 str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no module named 'no_such_pairs_module' in the current directory" in err[0], err
    assert "installed" not in err[0]


def test_a_typo_in_zoo_names_exits_2_before_certifying(tmp_path, capsys):
    code = main(["certify", "--layers", "DenseLayer", "--dtypes", "float32", "--profile", "ci", "--no-html",
                 "--report-dir", str(tmp_path), "--zoo", "mlp", "lenet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "unknown zoo model 'lenet'" in err[0] and "lenet5" in err[0], err
    assert not list(tmp_path.iterdir())  # nothing certified, nothing written


def test_make_clean_keeps_the_tracked_reports_readme(tmp_path):
    import shutil
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shutil.copy(os.path.join(root, "Makefile"), tmp_path / "Makefile")
    reports = tmp_path / "reports"
    (reports / "reproducers").mkdir(parents=True)
    for name in ("README.md", "summary.md", "summary.json", "timing.csv", "report.html", "gate_a.f_verdict.json"):
        (reports / name).write_text("x")
    (tmp_path / ".venv").mkdir()
    out = subprocess.run(["make", "-s", "-C", str(tmp_path), "clean"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in reports.iterdir()) == ["README.md"] and not (tmp_path / ".venv").exists()
