"""The HTML report: one self-contained file with every figure embedded, rendered by a browser."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from test_decide import CurvePredictor, simulated_run

from codbayes.data.simulate import simulate_ladder, small_config
from codbayes.errors import InputError
from codbayes.methods import get_method
from codbayes.report import build_report, default_thresholds, write_report
from codbayes.store import save_fit

IMG = '<img src="data:image/png;base64,'


@pytest.fixture(scope="module")
def sim():
    return simulate_ladder(small_config(), seed=0)


@pytest.fixture(scope="module")
def cod_point(sim):
    return get_method("cod-point").fit(sim.ladder)


@pytest.fixture(scope="module")
def report_file(sim, cod_point, tmp_path_factory):
    target = sim.sample_model(1e24, seed=3, name="target-1e24")
    checkpoints = pd.concat(
        [simulated_run(sim, 0.0, "on-track"), simulated_run(sim, -0.5, "behind")]
    )
    out = tmp_path_factory.mktemp("report") / "out"
    path = write_report(
        cod_point, out, actual=target.ladder, title="Sim <report> & co", checkpoints=checkpoints
    )
    return path


def _external_urls(text: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']?(?!data:|#)[a-z]+://""", text) + re.findall(
        r"https?://", text
    )


def test_report_is_self_contained(report_file):
    assert report_file.name == "index.html" and report_file.exists()
    text = report_file.read_text(encoding="utf-8")
    # 2 fan charts, probability curves, 2 cluster-curve panels, 2 mappings, monitoring
    assert text.count(IMG) == 8
    assert text.count("<img ") == 8
    assert _external_urls(text) == []
    assert "<title>Sim &lt;report&gt; &amp; co</title>" in text
    for section in ("Predictions", "Compute planning", "Clusters and mappings", "Diagnostics",
                    "Training monitoring", "Against the actual scores"):  # fmt: skip
        assert section in text
    assert "target-1e24" in text
    assert not list(report_file.parent.glob(".*.tmp"))


def test_report_images_decode_as_png(report_file):
    import base64

    text = report_file.read_text(encoding="utf-8")
    payloads = re.findall(r'data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(payloads) == 8
    for data in payloads:
        raw = base64.b64decode(data)
        assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 5000


def test_report_from_saved_fit_and_rewrite(cod_point, tmp_path):
    fit = save_fit(cod_point, tmp_path / "fit.nc")
    out = tmp_path / "rep"
    first = write_report(fit, out, target_flops=1e24, thresholds={"easy": [0.8], "hard": [0.5]})
    text = first.read_text(encoding="utf-8")
    assert text.count(IMG) == 7  # no monitoring, no actual
    assert "fit.nc" in text and "data hash" in text
    second = write_report(fit, out, target_flops=[1e24, 1e25], title="again")
    assert second == first and "<title>again</title>" in second.read_text(encoding="utf-8")


def test_report_of_a_method_without_clusters(tmp_path):
    report = build_report(CurvePredictor(n_draws=50), target_flops=1e24, thresholds=[0.5])
    html_text = report.to_html()
    assert report.n_figures == html_text.count(IMG) == 3  # 2 fans + probability curves
    assert "Clusters and mappings" not in html_text
    assert "no sampler diagnostics" in html_text


def test_report_errors(cod_point, tmp_path):
    with pytest.raises(InputError, match="parent folder does not exist"):
        write_report(cod_point, tmp_path / "a" / "b")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        write_report(cod_point, tmp_path / "file")
    with pytest.raises(InputError, match="give target_flops"):
        build_report(CurvePredictor(n_draws=5))


def test_default_thresholds_are_round_and_near_the_median():
    pred = CurvePredictor(n_draws=200).predict([1e23])
    table = default_thresholds(pred)
    for b, bench in enumerate(pred.benchmarks):
        median = np.median(pred.draws[b, 0])
        assert len(table[bench]) >= 2
        assert min(abs(np.array(table[bench]) - median)) <= 0.05
        assert all(round(v * 20) == v * 20 for v in table[bench])


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_report_renders_in_headless_chromium(report_file, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "shot.png"
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        "--window-size=1200,2400", f"--screenshot={shot}", report_file.resolve().as_uri(),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1200)
    non_white = (pixels < 0.95).any(axis=-1).mean()
    assert non_white > 0.05  # text, tables and figures, not a blank page
    colourful = (pixels.max(axis=-1) - pixels.min(axis=-1) > 0.2).mean()
    assert colourful > 0.005  # the embedded plots (bands, lines) were decoded and drawn


@pytest.mark.slow
def test_real_cod_bayes_save_plan_monitor_report(sim, tmp_path):
    """A small real fit end to end: saved and loaded, planned, monitored, reported."""
    import warnings

    from codbayes.decide import monitor, plan_compute
    from codbayes.store import load_fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = get_method("cod-bayes", draws=150, tune=150, chains=2, progressbar=False)
        fitted.fit(sim.ladder)
    loaded = load_fit(save_fit(fitted, tmp_path / "bayes.nc"))
    targets = [1e23, 1e24]
    np.testing.assert_array_equal(fitted.predict(targets).draws, loaded.predict(targets).draws)

    plan = plan_compute(loaded, "easy", 0.75, 0.9, grid=41)
    assert plan.status == "reached"
    p_at_answer = loaded.predict([plan.grid_flops]).prob_at_least(0.75, "easy")
    assert p_at_answer >= 0.85  # re-predicted independently at the grid answer
    assert 1.4e23 < plan.flops < 1.4e26

    runs = pd.concat([simulated_run(sim, 0.0, "on-track"), simulated_run(sim, -0.6, "behind")])
    table = monitor(loaded, runs)
    mean_pct = table.groupby("run")["percentile"].mean()
    assert mean_pct["behind"] < 0.15 < mean_pct["on-track"]
    assert (table.loc[table["run"] == "behind", "status"] != "above").all()

    text = write_report(loaded, tmp_path / "rep", target_flops=1e24).read_text(encoding="utf-8")
    assert text.count(IMG) == 8  # fans, probability, clusters, mappings, diagnostics
    assert "Parameters with the smallest ESS" in text
