"""layers_np is what users deploy: importing it must pull in numpy and nothing heavy."""
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
