"""Registering a pair is one call; plain pytest then certifies it (serially and under xdist)."""
import textwrap

CONFTEST = textwrap.dedent('''
    from hypothesis import strategies as st
    import layers_np as L
    import layers_theano as LT
    from harness import register_pair
    from harness.strategies import kwargs_and_shapes, shapes

    class MyTwin(L.DenseLayer):
        pass

    class MyBrokenTwin(L.DenseLayer):
        def get_output_for(self, input, **kwargs):
            return super().get_output_for(input, **kwargs) * 1.01

    draws = kwargs_and_shapes({"num_units": st.integers(1, 4), "nonlinearity": st.none()},
                              shapes(min_ndim=2, max_ndim=2))
    register_pair("MyDense", LT.DenseLayer, MyTwin, draws)
    register_pair("MyBrokenDense", LT.DenseLayer, MyBrokenTwin, draws)
''')


def _outcomes(result):
    lines = [l for l in result.outlines if l.startswith(("PASSED", "FAILED")) or " PASSED" in l or " FAILED" in l]
    return sorted(l.split(" - ")[0].replace("[gw0] ", "").replace("[gw1] ", "") for l in lines)


def test_registered_pairs_are_certified_by_plain_pytest(pytester):
    pytester.makeconftest(CONFTEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--twins-profile=ci", "-rA")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*MyBrokenDense[[]float32[]] DISCREPANCY*"])
    serial = {l for l in result.outlines if l.startswith(("PASSED ::certify", "FAILED ::certify"))}
    xdist = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--twins-profile=ci", "-rA", "-n", "2")
    xdist.assert_outcomes(passed=2, failed=2)
    parallel = {l for l in xdist.outlines if l.startswith(("PASSED ::certify", "FAILED ::certify"))}
    assert serial == parallel and len(serial) == 4


def test_certification_is_off_when_paths_are_given(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_x="def test_x():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_x.py")
    result.assert_outcomes(passed=1)
    forced = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--twins-profile=ci", "--twins=on", "test_x.py",
                                           "-k", "MyDense")
    forced.assert_outcomes(passed=2, deselected=3)
