"""layers_np is what users deploy: importing it must pull in numpy and nothing heavy."""
import re
import subprocess
import sys

FORBIDDEN = ("pytensor", "theano", "hypothesis", "pandas", "harness", "scipy", "layers_theano", "tabulate")


def test_layers_np_imports_numpy_only():
    code = ("import sys, layers_np; bad = sorted({m.split('.')[0] for m in sys.modules} & set(%r)); "
            "print(','.join(bad))" % (FORBIDDEN,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"layers_np imported {out.stdout.strip()}"


def test_every_twin_module_is_importable_alone():
    import layers_np
    import pkgutil
    for info in pkgutil.iter_modules(layers_np.__path__):
        code = f"import sys, layers_np.{info.name}; print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r}))))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "", f"layers_np.{info.name} imported {out.stdout.strip()}"


# a finder that refuses NAME: `import NAME` and find_spec(NAME) raise ModuleNotFoundError, as in
# an environment where NAME is not installed
NUMPY_ONLY = '''
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in %r:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
''' % (("hypothesis", "pytensor", "pandas", "scipy", "tabulate", "tqdm", "layers_theano"),)


def _numpy_only(code):
    return subprocess.run([sys.executable, "-c", NUMPY_ONLY + code], capture_output=True, text=True)


def test_plugin_entry_point_and_help_work_without_the_harness_dependencies():
    """A numpy-only install: the pytest11 entry point imports, `twins --help`/`--version` print,
    and a command that needs the harness names the missing package in one line, exit 2."""
    out = _numpy_only("import harness.pytest_plugin; from harness.cli import main; "
                      "print('HELP', main(['--help'])); print('VERSION', main(['--version'])); "
                      "print('CERTIFY', main(['certify', '--layers', 'DenseLayer']))")
    assert out.returncode == 0, out.stderr
    assert "HELP 0" in out.stdout and "VERSION 0" in out.stdout and "CERTIFY 2" in out.stdout
    # the help column widens with the longest command name, so match the description, not the padding
    assert re.search(r"^  certify +fuzz registered layer pairs", out.stdout, re.M), out.stdout
    assert "twins (theano-twins)" in out.stdout
    err = out.stderr.strip().splitlines()
    assert len(err) == 1 and "needs hypothesis" in err[0] and "theano-twins[theano,harness]" in err[0], err


def test_pytest_runs_a_user_session_without_the_harness_dependencies(tmp_path):
    """With the plugin loaded but hypothesis absent, a user's pytest run works and adds no items
    (hypothesis' own pytest plugin is off: it does not exist where hypothesis is not installed)."""
    (tmp_path / "test_user.py").write_text("import layers_np\ndef test_ok():\n    assert layers_np\n")
    code = ("import pytest, sys; sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '-p', 'no:hypothesispytest', "
            "'--twins=auto', '--rootdir', %r, %r]))" % (str(tmp_path), str(tmp_path)))
    out = _numpy_only(code)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout
