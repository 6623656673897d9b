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
    serial = {l for l in result.outlines if l.startswith(("PASSED conftest.py::certify", "FAILED conftest.py::certify"))}
    xdist = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--twins-profile=ci", "-rA", "-n", "2")
    xdist.assert_outcomes(passed=2, failed=2)
    parallel = {l for l in xdist.outlines if l.startswith(("PASSED conftest.py::certify", "FAILED conftest.py::certify"))}
    assert serial == parallel and len(serial) == 4


def test_certification_is_off_when_paths_are_given(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_x="def test_x():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_x.py")
    result.assert_outcomes(passed=1)
    forced = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--twins-profile=ci", "--twins=on", "test_x.py",
                                           "-k", "MyDense")
    forced.assert_outcomes(passed=2, deselected=3)


USER_TESTS = textwrap.dedent('''
    from hypothesis import given, settings, strategies as st

    SEEN = []

    @given(st.integers())
    def test_counts(x):
        SEEN.append(x)

    def test_report():
        print("EXAMPLES", len(SEEN), "PROFILE", settings.get_current_profile_name(),
              "HYPOTHESIS_CI", settings.get_profile("ci").max_examples)
''')
USER_CONFTEST = CONFTEST + textwrap.dedent('''
    from hypothesis import settings as _settings
    _settings.register_profile("mine", max_examples=37)
    _settings.register_profile("thorough", max_examples=41)
    _settings.load_profile("mine")
''')


def _report_line(result):
    line = next(l for l in result.outlines if "EXAMPLES" in l)
    words = line[line.index("EXAMPLES"):].split()
    return int(words[1]), words[3], int(words[5])


def test_plugin_leaves_other_hypothesis_tests_alone(pytester):
    """The user's own profile (loaded in their conftest, or named by --hypothesis-profile) governs
    their tests; hypothesis' built-in `ci` profile is not replaced; certify items still run."""
    pytester.makeconftest(USER_CONFTEST)
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--twins-profile=ci", "--twins=on", "-s",
                                           "-k", "user or MyDense-float32")
    result.assert_outcomes(passed=3)
    assert _report_line(result) == (37, "mine", 100)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--hypothesis-profile=thorough",
                                           "test_user.py")
    result.assert_outcomes(passed=2)
    assert _report_line(result) == (41, "thorough", 100)
    ours = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--hypothesis-profile=twins-ci",
                                         "test_user.py")
    ours.assert_outcomes(passed=2)
    assert _report_line(ours) == (25, "twins-ci", 100)


def test_unknown_hypothesis_profile_is_a_usage_error(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--hypothesis-profile=nosuch", "test_user.py")
    assert result.ret == 4, result.outlines + result.errlines
    assert not any("INTERNALERROR" in l for l in result.outlines + result.errlines)
    result.stderr.fnmatch_lines(["*--hypothesis-profile=nosuch*twins-thorough*"])


def test_certify_ids_rerun_count_and_junit(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_x="def test_x():\n    assert True\n")
    listed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--collect-only", "-q")
    ids = [l for l in listed.outlines if "::" in l]
    assert sorted(i for i in ids if "certify" in i) == [
        f"conftest.py::certify[{n}-{d}]" for n in ("MyBrokenDense", "MyDense") for d in ("float32", "float64")]
    assert len(ids) == 5
    listed.stdout.fnmatch_lines(["5 tests collected*"])
    counted = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--collect-only")
    counted.stdout.fnmatch_lines(["collected 5 items"])
    # the id printed for a failure re-runs that item alone
    rerun = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--twins-profile=ci", "-rA",
                                          "conftest.py::certify[MyBrokenDense-float32]", "--junitxml=out.xml")
    rerun.assert_outcomes(failed=1)
    rerun.stdout.fnmatch_lines(["FAILED conftest.py::certify[[]MyBrokenDense-float32[]]*"])
    import xml.etree.ElementTree as ET
    case = ET.parse(str(pytester.path / "out.xml")).getroot().find(".//testcase")
    assert case.get("classname") == "conftest" and case.get("name") == "certify[MyBrokenDense-float32]"


TWO_BUGS = textwrap.dedent('''
    from hypothesis import strategies as st
    import layers_np as L
    import layers_theano as LT
    from harness import register_pair
    from harness.strategies import kwargs_and_shapes, shapes

    class TwoBugs(L.DenseLayer):
        def get_output_for(self, input, **kwargs):
            if self.num_units == 1:
                raise ValueError("single-unit fast path: not implemented")
            return super().get_output_for(input, **kwargs) * 1.01

    draws = kwargs_and_shapes({"num_units": st.sampled_from([1, 3]), "nonlinearity": st.none()},
                              shapes(min_ndim=2, max_ndim=2, max_side=6))
    register_pair("TwoBugsDense", LT.DenseLayer, TwoBugs, draws, dtypes=("float32",))
''')


def test_two_distinct_failures_in_the_plugin_and_junit(pytester):
    pytester.makeconftest(TWO_BUGS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--twins-profile=ci", "-rA",
                                           "--twins-report-dir=rep", "--junitxml=out.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*TwoBugsDense[[]float32[]] DISCREPANCY after*",
                                 "*2 distinct failures (1 discrepancy, 1 error):*",
                                 "*DISCREPANCY: Twin differs from Theano*", "*ERROR: ValueError: single-unit*"])
    # Count distinct reproducers, not lines: with CI set, pytest's -rA summary repeats the
    # untruncated failure message, so each replay line is printed twice.
    replays = {l.split("twins replay ", 1)[1].split()[0] for l in result.outlines
               if "replay with: twins replay rep/reproducers/" in l}
    assert len(replays) == 2 and all((pytester.path / r).is_file() for r in replays)
    import xml.etree.ElementTree as ET
    case = ET.parse(str(pytester.path / "out.xml")).getroot().find(".//testcase")
    failure = case.find("failure")
    assert "DISCREPANCY: Twin differs" in failure.get("message") and "ValueError: single-unit" in failure.get("message")
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["failure_1"].split(":")[0] in ("DISCREPANCY", "ERROR") and "failure_2" in props
    assert {props["failure_1"].split(":")[0], props["failure_2"].split(":")[0]} == {"DISCREPANCY", "ERROR"}
    assert props["failure_1_replay"] != props["failure_2_replay"]
