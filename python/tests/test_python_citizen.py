"""A good Python library: errors are Python exceptions with the library's messages, the GIL is
released during a fit, Ctrl-C interrupts a long fit, and the package ships type hints."""

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import credence

LONG = {"training": {"epochs": 10000000, "patience": 10000000, "validation_fraction": 0.0}}


def test_bad_input_is_a_value_error_with_the_librarys_message(regression_data):
    X, y, _, _ = regression_data
    with pytest.raises(ValueError, match="unknown method 'magic'; expected one of: mle, map"):
        credence.BayesianRegressor(method="magic", verbose=False).fit(X, y)
    with pytest.raises(ValueError, match="unknown likelihood"):
        credence.BayesianRegressor(likelihood="lognormal", verbose=False).fit(X, y)
    with pytest.raises(ValueError, match="training.learning_rate must be positive"):
        credence.BayesianRegressor(config={"training": {"learning_rate": -1.0}}, verbose=False).fit(X, y)
    with pytest.raises(ValueError, match="unknown field"):
        credence.BayesianRegressor(config={"training": {"epoch": 3}}, verbose=False).fit(X, y)


def test_a_missing_config_file_is_file_not_found(regression_data):
    X, y, _, _ = regression_data
    with pytest.raises(FileNotFoundError):
        credence.BayesianRegressor(config="/nonexistent/c.toml", verbose=False).fit(X, y)


def test_the_gil_is_released_during_a_fit(regression_data):
    X, y, _, _ = regression_data
    # The fit must last long enough to mean something on any machine: double the epochs until it
    # takes over 0.2 s (machines differ by 10x), then judge the counter from that run.
    epochs = 15000
    for _ in range(8):
        r = credence.BayesianRegressor(hidden=[32], config={"training": {"epochs": epochs, "patience": epochs, "validation_fraction": 0.0}}, verbose=False)
        counter = [0]
        done = threading.Event()

        def count():
            while not done.is_set():
                counter[0] += 1

        t = threading.Thread(target=count)
        t.start()
        start = time.perf_counter()
        try:
            r.fit(X, y)
        finally:
            done.set()
            t.join()
        elapsed = time.perf_counter() - start
        if elapsed > 0.2:
            break
        epochs *= 2
    assert elapsed > 0.2, "the fit should take a while for this test to mean something"
    # A pure-Python loop gets millions of iterations per second when it has the GIL; with the
    # GIL held by the fit it would get none until the fit ended.
    assert counter[0] > 10000 * elapsed


def test_ctrl_c_interrupts_a_long_fit(regression_data, tmp_path):
    X, y, _, _ = regression_data
    r = credence.BayesianRegressor(hidden=[64], config=LONG, verbose=False)
    # A process started in the background by a non-interactive shell inherits SIGINT as ignored,
    # and Python then installs no KeyboardInterrupt handler: install it, as a terminal has.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    start = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            r.fit(X, y)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert time.perf_counter() - start < 10
    assert not hasattr(r, "model_"), "nothing half-fitted is kept"
    # The estimator still works afterwards.
    r.set_params(config={"training": {"epochs": 20}})
    r.fit(X, y)
    assert hasattr(r, "model_")


def test_type_hints_ship_with_the_package():
    pkg = Path(credence.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_credence.pyi").exists()


def test_public_items_have_docstrings():
    for name in credence.__all__:
        obj = getattr(credence, name)
        if callable(obj):
            assert obj.__doc__, f"credence.{name} has no docstring"
