"""Methods and backbones from outside advlab: `register`'s checks, a registered class's flags and run,
a real plugin package installed beside advlab (and a broken one), and `advlab.adapt(backbone=...)`."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import advlab
from advlab import plugins
from advlab.backbones import BACKBONES, Backbone
from advlab.config import option
from advlab.errors import AdvlabError
from advlab.methods import METHODS, Method
from advlab.methods.dann import DANN
from advlab.methods.supervised import SourceOnly
from advlab.train.config import adapt_config
from test_api import arrays
from tests_helpers import assert_one_line_error, run_cli, run_here

QUICK = ["--epochs", "1", "--batch-size", "32", "--val-size", "50", "--validation-size", "50", "--threads", "1"]


class TinyNet(Backbone):
    name = "tiny_net"
    about = "a test's own: one hidden layer on 28x28 grey"
    input_size, input_channels = 28, 1
    options = {"tiny_net_width": (int, option(16, "tiny_net: hidden units"))}

    def __init__(self, num_classes: int = 10, normalization: str = "global", **options):
        super().__init__(num_classes, normalization, **options)
        self.feature_dim = self.settings["tiny_net_width"]
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, self.feature_dim), nn.ReLU())
        self.classifier = self.make_classifier()

    def make_classifier(self) -> nn.Module:
        return nn.Linear(self.feature_dim, self.num_classes)


class TinyEntropy(Method):
    name = "tiny_ent"
    about = "a test's own: source cross-entropy plus the target predictions' entropy"
    options = {"tiny_ent_weight": (float, option(0.1, "tiny_ent: weight of the target entropy"))}

    def loss(self, batch, info):
        cls = F.cross_entropy(self.model(batch.xs), batch.ys)
        p = torch.softmax(self.model(batch.xt), dim=1)
        ent = -(p * torch.log(p + 1e-8)).sum(1).mean()
        return cls + self.cfg.tiny_ent_weight * ent, {"cls": cls, "ent": ent}


@pytest.fixture(autouse=True)
def registries():
    """Each test's registrations end with it: other tests (in this worker) see advlab's own classes."""
    saved = [(registry, dict(registry)) for registry in (METHODS, BACKBONES)]
    yield
    for registry, entries in saved:
        registry.clear()
        registry.update(entries)


def subclass(base: type, **attributes) -> type:
    return type("Made", (base,), {"about": "made by a test", **attributes})


# --- register (unit) ---


@pytest.mark.unit
@pytest.mark.parametrize(
    "cls, error, fragment",
    [
        (int, TypeError, "must be a subclass of advlab.methods.base.Method"),
        (TinyNet, TypeError, "must be a subclass of advlab.methods.base.Method"),
        ("dann", TypeError, "must be a subclass"),
        (subclass(Method), TypeError, "must set `name`"),
        (subclass(Method, name="Tiny"), ValueError, "must be lowercase"),
        (subclass(Method, name="my-method"), ValueError, "must be lowercase"),
        (subclass(Method, name=""), ValueError, "must be lowercase"),
        (subclass(Method, name="mine", about=None), TypeError, "must set `about`"),
        (subclass(SourceOnly), ValueError, "'source_only' of test_plugins.Made is taken"),  # the parent's name
        (subclass(Method, name="dann"), ValueError, "is taken by advlab.methods.dann.DANN"),
        (subclass(Method, name="mine", options={"weight": (float, option(1.0, "h"))}), ValueError, "mine_<"),
        (subclass(Method, name="mine", options={"mine_w": 1.0}), TypeError, "must be (type, advlab.config.option"),
        (subclass(Method, name="mine", options={"mine_w": (float, 1.0)}), TypeError, "must be (type"),
        (subclass(Method, name="mine", options=["mine_w"]), TypeError, "must be a dict"),
        # named after the method, yet already a common option / a backbone's option
        (subclass(Method, name="lr", options={"lr_schedule": (str, option("x", "h"))}), ValueError, "already"),
        (subclass(Method, name="ganin", options={"ganin_bn_noise": (float, option(0.0, "h"))}), ValueError, "already"),
    ],
)
def test_register_refuses_a_bad_method_in_one_sentence(cls, error, fragment):
    with pytest.raises(error) as raised:
        advlab.methods.register(cls)
    assert fragment in str(raised.value) and "\n" not in str(raised.value)
    assert cls not in METHODS.values()


@pytest.mark.unit
@pytest.mark.parametrize(
    "cls, error, fragment",
    [
        (TinyEntropy, TypeError, "must be a subclass of advlab.backbones.base.Backbone"),
        (nn.Linear, TypeError, "must be a subclass of advlab.backbones.base.Backbone"),
        (subclass(Backbone), TypeError, "must set `name`"),
        (subclass(TinyNet, name="TinyNet"), ValueError, "must be lowercase"),
        (subclass(TinyNet, name="lenet"), ValueError, "is taken by advlab.backbones.lenet.LeNet"),
        (subclass(TinyNet, name="tiny2", options={"width": (int, option(3, "h"))}), ValueError, "tiny2_<"),
    ],
)
def test_register_refuses_a_bad_backbone_in_one_sentence(cls, error, fragment):
    with pytest.raises(error) as raised:
        advlab.backbones.register(cls)
    assert fragment in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.unit
def test_register_is_a_decorator_and_registering_the_same_class_again_is_nothing():
    @advlab.methods.register
    class Mine(DANN):
        name = "mine"
        about = "dann under another name"
        options = {"mine_extra": (int, option(3, "mine: unused"))}

    assert METHODS["mine"] is Mine and advlab.methods.register(Mine) is Mine
    assert advlab.backbones.register(TinyNet) is TinyNet and advlab.backbones.register(TinyNet) is TinyNet
    # a registered class's subclass keeps the options it inherits: they are its parent's
    Child = advlab.methods.register(subclass(Mine, name="mine_child"))
    fields = {f.name: f for f in dataclasses.fields(adapt_config())}
    assert fields["mine_extra"].default == 3 and "tiny_net_width" in fields and METHODS["mine_child"] is Child
    assert "mine" in fields["method"].metadata["choices"] and "tiny_net" in fields["backbone"].metadata["choices"]


@pytest.mark.unit  # in this process: a class registered after advlab was imported brings its flags and runs
def test_a_registered_method_and_backbone_are_flags_of_adapt_and_train(tiny_domains, tmp_path):
    advlab.methods.register(TinyEntropy)
    advlab.backbones.register(TinyNet)
    text = run_here("adapt", "--help").stdout
    assert "tiny_ent: a test's own" in text and "--tiny-ent-weight" in text
    assert "tiny_net: a test's own" in text and "--tiny-net-width" in text
    source, target = tiny_domains
    out = tmp_path / "run"
    options = ["--method", "tiny_ent", "--backbone", "tiny_net", "--tiny-ent-weight", "0.2", "--tiny-net-width", "8"]
    args = ["adapt", "--source", str(source), "--target", str(target), "--out", str(out), *QUICK, "--quiet"]
    result = run_here(*args, *options)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == "tiny_ent" and 0 <= summary["target_acc"] <= 1
    config = (out / "config.yaml").read_text()
    assert "tiny_ent_weight: 0.2" in config and "tiny_net_width: 8" in config
    resumed = run_here("adapt", "--out", str(out), "--resume", "--epochs", "2", "--quiet")  # its options read back
    assert resumed.returncode == 0 and json.loads((out / "summary.json").read_text())["epochs"] == 2, resumed.stderr
    assert_one_line_error(run_here(*args, "--method", "dann", "--tiny-ent-weight", "1"), "option of another method")


def write_module(folder: Path, name: str, code: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(code))


@pytest.mark.unit
def test_entry_points_load_once_and_a_broken_one_is_one_warning(tmp_path, monkeypatch, capsys):
    write_module(
        tmp_path,
        "plugin_good_here",
        """
        from advlab.methods.supervised import SourceOnly

        class Good(SourceOnly):
            name = "good_here"
            about = "a plugin's"
        """,
    )
    write_module(tmp_path, "plugin_broken_here", "raise RuntimeError('this plugin is broken on purpose')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = {
        "advlab.backbones": [EntryPoint("wrong", "plugin_good_here:Good", "advlab.backbones")],  # not a backbone
        "advlab.methods": [
            EntryPoint("broken", "plugin_broken_here:Anything", "advlab.methods"),
            EntryPoint("good", "plugin_good_here:Good", "advlab.methods"),
        ],
    }
    calls = []
    monkeypatch.setattr(plugins, "entry_points", lambda group: calls.append(group) or found[group])
    monkeypatch.setattr(plugins, "_loaded", False)
    assert "good_here" in METHODS and METHODS["good_here"].__name__ == "Good"
    assert capsys.readouterr().err.splitlines() == [
        "advlab: warning: plugin wrong = plugin_good_here:Good (advlab.backbones) left out: "
        "TypeError: a backbone must be a subclass of advlab.backbones.base.Backbone, "
        "got <class 'plugin_good_here.Good'>",
        "advlab: warning: plugin broken = plugin_broken_here:Anything (advlab.methods) left out: "
        "RuntimeError: this plugin is broken on purpose",
    ]
    assert list(BACKBONES) and "dann" in METHODS and calls == ["advlab.backbones", "advlab.methods"]  # once


# --- a real plugin package, installed beside advlab (e2e) ---

PLUGIN = """
    import torch
    import torch.nn.functional as F
    from torch import nn

    from advlab.backbones import Backbone
    from advlab.config import option
    from advlab.methods import Method


    class EntropyMin(Method):
        name = "ent_plugin"
        about = "a plugin's: source cross-entropy plus target entropy"
        options = {"ent_plugin_weight": (float, option(0.1, "ent_plugin: weight of the target entropy"))}

        def loss(self, batch, info):
            cls = F.cross_entropy(self.model(batch.xs), batch.ys)
            p = torch.softmax(self.model(batch.xt), dim=1)
            ent = -(p * torch.log(p + 1e-8)).sum(1).mean()
            return cls + self.cfg.ent_plugin_weight * ent, {"cls": cls, "ent": ent}


    class MLP(Backbone):
        name = "mlp_plugin"
        about = "a plugin's: one hidden layer on 28x28 grey"
        input_size, input_channels = 28, 1
        options = {"mlp_plugin_width": (int, option(32, "mlp_plugin: hidden units"))}

        def __init__(self, num_classes=10, normalization="global", **options):
            super().__init__(num_classes, normalization, **options)
            self.feature_dim = self.settings["mlp_plugin_width"]
            self.features = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, self.feature_dim), nn.ReLU())
            self.classifier = self.make_classifier()

        def make_classifier(self):
            return nn.Linear(self.feature_dim, self.num_classes)
"""

PYPROJECT = """
    [build-system]
    requires = ["setuptools>=64"]
    build-backend = "setuptools.build_meta"

    [project]
    name = "{name}"
    version = "0.1.0"

    [tool.setuptools]
    py-modules = [{modules}]
"""


def install(where: Path, name: str, modules: dict[str, str], entry_points: str) -> Path:
    """A package written into `where` and installed for real into `where`/site, as pip installs a plugin."""
    package = where / name
    package.mkdir()
    listed = ", ".join(f'"{m}"' for m in modules)
    (package / "pyproject.toml").write_text(
        textwrap.dedent(PYPROJECT).format(name=name, modules=listed) + textwrap.dedent(entry_points)
    )
    for module, code in modules.items():
        (package / f"{module}.py").write_text(textwrap.dedent(code))
    site = where / f"{name}-site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    done = subprocess.run([*pip, "--target", str(site), str(package)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return site


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[str, Path]:
    """{'good': the site of a working plugin, 'broken': one whose entry points fail to import and to register}."""
    where = tmp_path_factory.mktemp("plugins")
    good = install(
        where,
        "advlab-tiny-plugin",
        {"advlab_tiny_plugin": PLUGIN},
        """
        [project.entry-points."advlab.methods"]
        ent_plugin = "advlab_tiny_plugin:EntropyMin"

        [project.entry-points."advlab.backbones"]
        mlp_plugin = "advlab_tiny_plugin:MLP"
        """,
    )
    broken = install(
        where,
        "advlab-broken-plugin",
        {
            "advlab_broken_plugin": "raise ImportError('needs a library that is not installed')\n",
            "advlab_wrong": "X = 1\n",
        },
        """
        [project.entry-points."advlab.methods"]
        broken = "advlab_broken_plugin:Method"
        wrong = "advlab_wrong:X"
        """,
    )
    return {"good": good, "broken": broken}


def advlab_with(*sites: Path, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    """`advlab ARGS...` in a real process that finds the packages installed in `sites`."""
    path = os.pathsep.join([*map(str, sites), *filter(None, [os.environ.get("PYTHONPATH")])])
    return subprocess.run(
        [sys.executable, "-m", "advlab.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": path},
    )


@pytest.fixture(scope="module")
def plugin_run(sites, tiny_domains, tmp_path_factory) -> Path:
    """A one-epoch run of the plugin's method on the plugin's backbone."""
    source, target = tiny_domains
    out = tmp_path_factory.mktemp("plugin-run") / "run"
    args = ["adapt", "--source", str(source), "--target", str(target), "--out", str(out), *QUICK, "--quiet"]
    done = advlab_with(sites["good"], args=[*args, "--method", "ent_plugin", "--backbone", "mlp_plugin"])
    assert done.returncode == 0 and "done: target accuracy" in done.stdout, done.stderr
    return out


def test_an_installed_plugins_method_and_backbone_are_in_adapt_help(sites):
    done = advlab_with(sites["good"], args=["adapt", "--help"])
    assert done.returncode == 0 and done.stderr == ""
    for said in ("ent_plugin: a plugin's", "--ent-plugin-weight", "mlp_plugin: a plugin's", "--mlp-plugin-width"):
        assert said in done.stdout


def test_a_run_with_a_plugin_trains_and_predicts_and_needs_the_plugin_to_load(plugin_run, tiny_domains, sites):
    summary = json.loads((plugin_run / "summary.json").read_text())
    assert summary["method"] == "ent_plugin" and 0 <= summary["target_acc"] <= 1
    assert "backbone: mlp_plugin" in (plugin_run / "config.yaml").read_text()
    predicted = advlab_with(sites["good"], args=["predict", str(plugin_run), str(tiny_domains[1])])
    assert predicted.returncode == 0, predicted.stderr
    assert len(predicted.stdout.strip().splitlines()) == 1 + 800  # a header, then each of the .npz's images
    # without the package: one line naming what is missing and how to get it
    missing = run_cli("predict", str(plugin_run), str(tiny_domains[1]))
    assert_one_line_error(missing, "unknown method 'ent_plugin': install the package that provides it")


def test_a_broken_plugin_is_one_warning_line_each_and_advlab_goes_on(sites, plugin_run, tiny_domains):
    done = advlab_with(sites["broken"], args=["adapt", "--help"])
    assert done.returncode == 0 and "dann:" in done.stdout
    assert done.stderr.splitlines() == [
        "advlab: warning: plugin broken = advlab_broken_plugin:Method (advlab.methods) left out: "
        "ImportError: needs a library that is not installed",
        "advlab: warning: plugin wrong = advlab_wrong:X (advlab.methods) left out: "
        "TypeError: a method must be a subclass of advlab.methods.base.Method, got 1",
    ]
    # beside a working plugin, which still works
    predicted = advlab_with(sites["broken"], sites["good"], args=["predict", str(plugin_run), str(tiny_domains[1])])
    assert predicted.returncode == 0 and len(predicted.stderr.splitlines()) == 2, predicted.stderr


# --- advlab.adapt(backbone=...) from Python (e2e) ---


@pytest.fixture
def domains(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVLAB_CACHE", str(tmp_path / "cache"))
    return arrays(0, False), arrays(1, True)


API_QUICK = {"epochs": 1, "batch_size": 32, "val_size": 50, "validation_size": 50, "threads": 1}


def test_a_backbone_class_is_registered_on_the_fly_and_its_run_loads(domains, tmp_path):
    source, target = domains
    out = tmp_path / "class"
    summary = advlab.adapt(
        source=source, target=target, method="source_only", backbone=TinyNet, out=str(out), **API_QUICK
    )
    assert summary["method"] == "source_only" and BACKBONES["tiny_net"] is TinyNet
    labels, probs = advlab.load(out).predict(target["x_test"])
    assert labels.shape == (300,) and probs.shape == (300, 10)
    # a process that has not registered the class is told which backbone is missing and how to get it
    BACKBONES.pop("tiny_net")
    with pytest.raises(AdvlabError, match=r"unknown backbone 'tiny_net'.*advlab\.backbones\.register"):
        advlab.load(out)
    advlab.backbones.register(TinyNet)
    assert advlab.load(out).predict(target["x_test"][:3])[0].shape == (3,)


def test_a_backbone_instance_gives_the_runs_initial_weights_and_options(domains, tmp_path):
    source, target = domains
    given = TinyNet(tiny_net_width=8)
    out = tmp_path / "instance"
    # a learning rate of ~0: the run's weights stay the instance's, so the run must have started from them
    advlab.adapt(source=source, target=target, method="dann", backbone=given, out=str(out), lr=1e-12, **API_QUICK)
    config = (out / "config.yaml").read_text()
    assert "backbone: tiny_net" in config and "tiny_net_width: 8" in config and "normalization: global" in config
    model = advlab.load(out)
    assert model.predict(target["x_test"])[1].shape == (300, 10)
    for name, tensor in given.state_dict().items():
        assert torch.allclose(model.module.state_dict()[name], tensor, atol=1e-6), name
    with pytest.raises(AdvlabError, match="normalization='per_image' is not the backbone instance's own"):
        advlab.adapt(source=source, target=target, backbone=given, normalization="per_image", **API_QUICK)
    with pytest.raises(AdvlabError, match=r"the backbone given is a tiny_net \{'num_classes': 5"):
        advlab.adapt(source=source, target=target, backbone=TinyNet(5), out=str(tmp_path / "five"), **API_QUICK)
    with pytest.raises(AdvlabError, match="must be a name, a Backbone subclass or an instance of one"):
        advlab.adapt(source=source, target=target, backbone=nn.Linear(2, 2), **API_QUICK)
    assert np.isfinite(json.loads((out / "summary.json").read_text())["target_acc"])
