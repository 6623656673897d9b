"""README's model-zoo walk-through ("Importing a Python-2 model pickle") runs as written.

The section's fenced blocks are taken from README.md itself: the ``bash`` block (a stand-in for
the Recipes' ``vgg_cnn_s.pkl`` written by ``tests/py2_pickle.py``, then ``twins import-pickle``)
runs in a shell in a temporary directory, as a user runs it in the clone's root; the ``python``
block (the numpy-only prediction) runs on the file it wrote. Its prediction is then certified
against the Theano network holding the pickle's values, on the block's own input.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import numpy as np

import layers_theano as LT
from harness.network import certify_network
from layers_np.safe_pickle import read_model_pickle
from layers_theano.recipes import reduced

ROOT = Path(__file__).resolve().parents[1]
SECTION = "### Importing a Python-2 model pickle"


def section_blocks(text: str, heading: str) -> List[Tuple[str, str]]:
    """(language, code) of every fenced block between ``heading`` and the next heading (a ``#``
    line inside a block is a shell comment, not a heading)."""
    blocks: List[Tuple[str, str]] = []
    inside, fence, lang, code = False, False, "", []
    for line in text.splitlines(keepends=True):
        if not inside:
            inside = line.rstrip("\n") == heading
        elif line.startswith("```"):
            if fence:
                blocks.append((lang, "".join(code)))
            fence, lang, code = not fence, line[3:].strip(), []
        elif fence:
            code.append(line)
        elif line.startswith("#"):
            break
    return blocks


def test_section_has_one_shell_and_one_python_block():
    # the test below runs exactly these two; a new block in the section must be added to it
    langs = [lang for lang, _ in section_blocks((ROOT / "README.md").read_text(encoding="utf-8"), SECTION)]
    assert langs == ["bash", "python"]


def test_model_zoo_walkthrough_runs_as_written(tmp_path, monkeypatch, capsys):
    blocks = dict(section_blocks((ROOT / "README.md").read_text(encoding="utf-8"), SECTION))
    shell, prediction = blocks["bash"], blocks["python"]
    # the clone's root as the user's working directory: tests/py2_pickle.py reachable, outputs in tmp_path
    (tmp_path / "tests").symlink_to(ROOT / "tests", target_is_directory=True)
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", shell], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    wrote = re.search(r"^certified: wrote (\S+) \((\d+) layers, (\d+) parameters, (\w+)\)$", done.stdout, re.M)
    assert wrote, done.stdout
    # the README's comment line quotes what the command prints
    assert f"# ... {wrote.group(0)}" in shell, wrote.group(0)

    # the prediction block imports numpy and layers_np only
    imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(prediction))
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(ast.parse(prediction))
                 if isinstance(node, ast.ImportFrom)}
    assert imported == {"numpy", "layers_np"}
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(prediction, "README.md (walk-through)", "exec"), ns)
    printed = capsys.readouterr().out.splitlines()
    net, x, prob, meta = ns["net"], ns["x"], ns["prob"], ns["meta"]
    assert x.shape == (1, 3, 31, 31) and x.dtype == np.float32
    assert meta["pickle_layout"] == "dict['values']" and meta["pickle_file"] == "vgg_cnn_s.pkl"
    assert len(meta["class_names"]) == 1000 and meta["mean_image"].shape == (3, 31, 31)
    top5 = np.argsort(prob)[::-1][:5]
    assert [line.split(None, 1)[1] for line in printed] == [meta["class_names"][i] for i in top5]
    assert np.array_equal(prob, net(x)[0])

    # Theano with the pickle's values (what the Recipes notebook does with set_all_param_values)
    # computes the same prediction on the block's input, every layer within the gate's tolerance
    theano_net = reduced.vgg_cnn_s()
    LT.set_all_param_values(theano_net, read_model_pickle(tmp_path / "vgg_cnn_s.pkl").values)
    report = certify_network(theano_net, inputs=x, twin=net)
    assert report.ok, report.message() + "\n" + report.table()
    assert report.rows[-1].name == "prob" and report.rows[-1].size == prob.size
