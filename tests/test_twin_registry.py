"""The one registry of twin correspondences (layers_theano.twins), as to_numpy and the harness use it."""
import pytest
import layers_np as L
import layers_theano as LT


def test_register_pair_records_the_twin_for_to_numpy():
    """One registry of correspondences: a pair registered for a user's Theano layer class makes
    to_numpy convert it; a broken candidate paired with a built-in class leaves to_numpy alone;
    unregistering the pair forgets the correspondence it recorded."""
    from broken_twins import MissingBiasDense
    from harness import register_pair
    from harness.catalogue.dense import dense_draws
    from harness.registry import unregister_pair

    class UserDense(LT.DenseLayer):
        """A user's Theano layer (no layers_np class has its name)."""

    class UserDenseTwin(L.DenseLayer):
        pass

    net = UserDense(LT.InputLayer((None, 3)), 2)
    with pytest.raises(TypeError, match="no numpy twin for UserDense"):
        LT.to_numpy(net)
    register_pair("RegistryUserDense", UserDense, UserDenseTwin, dense_draws())
    register_pair("RegistryBrokenDense", LT.DenseLayer, MissingBiasDense, dense_draws())
    try:
        assert type(LT.to_numpy(net)) is UserDenseTwin
        assert type(LT.to_numpy(LT.DenseLayer(LT.InputLayer((None, 3)), 2))) is L.DenseLayer
    finally:
        unregister_pair("RegistryUserDense")
        unregister_pair("RegistryBrokenDense")
    with pytest.raises(TypeError, match="no numpy twin for UserDense"):
        LT.to_numpy(net)


def test_named_functions_share_the_registry():
    """harness Fn names resolve through layers_theano.twins; naming a wrong twin for a built-in
    function does not change what to_numpy converts it to."""
    import numpy as np
    from harness.strategies import Fn, register_function, resolve
    from layers_theano.twins import twin_of

    def wrong_tanh(x):
        return np.tanh(x) + 1

    register_function("registry_wrong_tanh", LT.nonlinearities.tanh, wrong_tanh)
    assert resolve(Fn("registry_wrong_tanh"), "numpy") is wrong_tanh
    assert resolve(Fn("registry_wrong_tanh"), "theano") is LT.nonlinearities.tanh
    assert twin_of(LT.nonlinearities.tanh) is L.nonlinearities.tanh
    assert twin_of(LT.DenseLayer) is L.DenseLayer and twin_of(object()) is None


def test_catalogue_pairs_keep_their_source_when_a_user_module_imports_the_catalogue():
    """A user's pairs module that imports a catalogue helper (as tests/broken_pairs_cli.py does)
    triggers the catalogue's registrations; those pairs are still the catalogue's, so a reproducer
    of a built-in pair does not name the user's module and tests filtering built-in pairs see them."""
    import json
    import pathlib
    import subprocess
    import sys

    tests_dir = pathlib.Path(__file__).resolve().parent
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(tests_dir)!r})\n"
        "from harness import registry\n"
        "registry.load_pairs(['broken_pairs_cli'])\n"
        "print(json.dumps({p.name: p.source for p in registry.all_pairs()}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=tests_dir.parent, check=True).stdout
    sources = json.loads(out.splitlines()[-1])
    assert sources["DenseLayer"] == "harness.catalogue", sources["DenseLayer"]
    assert sources["BrokenSignDense"] == "broken_pairs_cli", sources["BrokenSignDense"]
