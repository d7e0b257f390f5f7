"""Turn a finished study directory into report.md, report.html, figures/ and results.json.

Every table is computed from the run directories, and every answer sentence from those
numbers: if a result flips, so does its sentence.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from advlab.gan.compare import compare_runs
from advlab.gan.variants import PRACTICAL, REMEDIES, VARIANTS
from advlab.metrics.spread import fmt, mean_std
from advlab.report.analysis import TestImages, domain_distances, history, summary
from advlab.report.document import Document
from advlab.report.provenance import code_revision, machine, now, software
from advlab.report.selection import figure as selection_figure
from advlab.report.selection import select
from advlab.report.study import (
    COMPARED_METHODS,
    PSEUDO_LABEL_INITS,
    REFINEMENTS,
    TUNE_METHODS,
    Profile,
    plan,
    pseudo_label_name,
    refinement_epochs,
)
from advlab.report.timing import read_timing, totals
from advlab.train.restore import load_run_model
from advlab.train.schedules import learning_rate, reversal_factor
from advlab.viz.adaptation import (
    plot_lambda_sweep,
    plot_method_comparison,
    plot_pseudo_label_rounds,
    plot_training_curves,
)
from advlab.viz.embeddings import plot_embeddings, tsne_2d

PUBLISHED = {  # MNIST -> MNIST-M target accuracy: Ganin & Lempitsky ICML 2015 / JMLR 2016, and arXiv v1
    "source_only": (0.5225, 0.5749),
    "dann": (0.7666, 0.8149),
    "target_only": (0.9596, None),
}
UNSTABLE_SOURCE_DROP = 0.05  # final source accuracy this far below the run's best epoch: training went backwards
UNSTABLE_SOURCE_LOSS = 0.10  # ... or this far below the lambda = 0 run's: the reversal destroyed the label task


class Study:
    """Read access to DIR/runs, with spread over seeds."""

    def __init__(self, root: Path, profile: Profile, device: str = "cpu"):
        self.root, self.profile = root, profile
        self.device = device  # where the analysis embeds test images (t-SNE, PAD)

    def dir(self, name: str) -> Path:
        return self.root / "runs" / name

    def summaries(self, names: list[str]) -> list[dict]:
        return [s for s in (summary(self.dir(n)) for n in names) if s is not None]

    def stat(self, names: list[str], key: str) -> dict | None:
        return mean_std([s.get(key) for s in self.summaries(names)])

    def seeds(self, prefix: str) -> list[str]:
        return [f"{prefix}-s{s}" for s in self.profile.seeds]

    def commands(self, names: list[str], seeds: tuple[int, ...] | None = None) -> str:
        """Where a section's numbers come from: the runs' command lines (seed-0 form)."""
        planned = {r.name: r.command for r in plan(self.profile)}
        shown = "; ".join(f"`advlab {' '.join(planned[n])}`".replace("{runs}", "runs") for n in names if n in planned)
        seeds = self.profile.seeds if seeds is None else seeds
        return (
            f"Runs: {shown}"
            + (f", each for seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else "")
            + "; logs in logs/."
        )


def mean(stat: dict | None) -> float | None:
    return stat["mean"] if stat else None


def relation(a: float, b: float, above: str = "above", below: str = "below") -> str:
    """Words for a vs b that flip with the numbers (equal at the printed precision is 'level with')."""
    return "level with" if round(a, 4) == round(b, 4) else above if a > b else below


def count(n: int, noun: str) -> str:
    """'1 epoch', '3 epochs'."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def signed(x: float) -> str:
    """+0.0123 / -0.0123, and +0.0000 for anything that rounds to zero (never -0.0000)."""
    return f"{round(x, 4) + 0.0:+.4f}"


def points(a: float, b: float) -> str:
    return f"{100 * (a - b):+.1f} points"


def build_report(
    root: Path,
    profile: Profile,
    command: str,
    failures: list[str],
    say: Callable[[str], None] | None = None,
    unfinished: list[str] | None = None,
    launcher: str = "local",
    device: str = "cpu",
) -> tuple[Path, Path]:
    """The report from the study's run directories. `say` hears a line as each section
    starts (the analysis sections take minutes on a full study). The header's wall time
    covers the runs and this build: its paragraph is written last and put back on top.
    `unfinished`: runs still queued or stopped early ("NAME: why"), named at the top, so a
    report built before the study is whole says what it lacks."""
    started = time.perf_counter()
    study = Study(root, profile, device)
    figures = root / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    doc = Document("advlab study: DANN on MNIST → MNIST-M and conditional GANs on MNIST", figures)
    results: dict = {
        "profile": profile.__dict__,
        "command": command,
        "date": now(),
        "machine": machine(),
        "software": software(),
        "revision": code_revision(),
        "failed_runs": failures,
        "unfinished_runs": list(unfinished or []),
        "launcher": launcher,
    }
    timing = read_timing(root)
    results["timing"] = totals(timing) | {"jobs": sorted({i["jobs"] for i in timing["invocations"]})}
    held: dict = {}  # the test images the embeddings section loads, reused by the ablation's
    sections: list[tuple[str, Callable[[], object]]] = [
        ("adaptation table", lambda: _adaptation_table(doc, study, results)),
        ("methods side by side", lambda: _methods(doc, study, results, figures)),
        ("embeddings (t-SNE, proxy A-distance)", lambda: held.update(images=_embeddings(doc, study, results, figures))),
        ("training curves", lambda: _training_curves(doc, study, results, figures)),
        ("the no-reversal ablation", lambda: _no_reversal(doc, study, results, held.get("images"))),
        ("the source's cost", lambda: _source_cost(doc, study, results)),
        ("the λ sweep", lambda: _lambda_sweep(doc, study, results, figures)),
        ("pseudo-labels", lambda: _pseudo_labels(doc, study, results, figures)),
        ("GANs", lambda: _gans(doc, study, results, figures)),
        ("GAN remedies", lambda: _gan_remedies(doc, study, results, figures)),
        ("model selection", lambda: _model_selection(doc, study, results, figures)),
        ("tuning without target labels", lambda: _tuning(doc, study, results, figures)),
        ("run times", lambda: _run_times(doc, study, results)),
    ]
    for number, (label, section) in enumerate(sections, 1):
        if say:
            say(f"report [{number}/{len(sections)}] {label} ({time.perf_counter() - started:.0f}s)")
        section()
    results["timing"]["report_build_seconds"] = round(time.perf_counter() - started, 1)
    results["timing"]["wall_seconds"] += results["timing"]["report_build_seconds"]
    body, doc.blocks = doc.blocks, []
    _provenance(doc, results, profile)
    doc.blocks += body
    (root / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    return doc.write(root)


def _provenance(doc: Document, results: dict, p: Profile) -> None:
    m, sw = results["machine"], results["software"]
    t = results["timing"]
    sittings = f" over {t['invocations']} invocations of it" if t["invocations"] > 1 else ""
    doc.paragraph(
        f"Profile **{p.name}**: {p.about}. Made {results['date']} by `{results['command']}`: "
        f"{t['wall_seconds'] / 60:.1f} minutes "
        f"of wall time{sittings}, {t['run_seconds'] / 60:.1f} minutes of run time ({' or '.join(map(str, t['jobs']))} "
        "runs at a time; "
        f"each run's time is in the last section), advlab {sw['advlab']} (revision {results['revision'] or 'unknown'})."
    )
    doc.paragraph(
        f"Machine: {m['cpu_count']} CPU cores ({m['processor']}), GPU: {m['gpu'] or 'none'}; Python {m['python']}, "
        f"torch {sw['torch']}, numpy {sw['numpy']}, scikit-learn {sw['scikit-learn']}, matplotlib {sw['matplotlib']}."
    )
    subsets = (
        f"first {p.train_subset} training and {p.test_subset} test images per domain"
        if p.train_subset
        else "all training and test images"
    )
    doc.paragraph(
        f"Adaptation runs: {subsets}; seeds {list(p.seeds)}; {count(p.epochs, 'epoch')} (longer schedule "
        f"{p.long_epochs}); "
        f"every accuracy is the final epoch's (no checkpoint is picked with target labels), mean ± std over seeds. "
        f"GANs: {p.gan_epochs} epoch(s), seeds {list(p.gan_seeds)}. Each run's command and log are in runs/ and logs/."
    )
    if results["launcher"] != "local":
        doc.paragraph(
            f"The runs ran as {results['launcher']} jobs (one job per run); the machine above is the one that built "
            "this report."
        )
    if results["failed_runs"]:
        doc.paragraph(
            "Runs that stopped with an error (shown as such below): "
            + "; ".join(f"`{f}`" for f in results["failed_runs"])
            + "."
        )
    if results["unfinished_runs"]:
        doc.paragraph(
            f"**This report is partial**: {count(len(results['unfinished_runs']), 'run')} had not finished when it "
            "was built "
            "(shown as missing below): " + "; ".join(f"`{f}`" for f in results["unfinished_runs"]) + "."
        )


def _adaptation_table(doc: Document, study: Study, results: dict) -> None:
    doc.heading("1. Source only, DANN, and training on the target")
    doc.paragraph(study.commands([f"{m}-s{study.profile.seeds[0]}" for m in ("source_only", "dann", "target_only")]))
    rows, table = [], {}
    for method in ("source_only", "dann", "target_only"):
        names = study.seeds(method)
        table[method] = {k: study.stat(names, k) for k in ("source_acc", "target_acc")}
        icml, arxiv = PUBLISHED[method]
        rows.append(
            [
                f"`{method}`",
                fmt(table[method]["source_acc"]),
                fmt(table[method]["target_acc"]),
                f"{icml:.4f}",
                f"{arxiv:.4f}" if arxiv else "–",
                str(len(study.summaries(names))),
            ]
        )
    doc.table(["method", "source acc", "target acc", "published (ICML/JMLR)", "published (arXiv v1)", "seeds"], rows)
    results["adaptation"] = table
    so, da, to = (mean(table[m]["target_acc"]) for m in ("source_only", "dann", "target_only"))
    if so is None or da is None:
        doc.answer("The comparison is missing runs; see the failed runs above.")
        return
    verdict = f"DANN reaches {da:.4f} target accuracy against {so:.4f} for source only ({points(da, so)})"
    if to is not None and to > so:
        verdict += (
            f", closing {100 * (da - so) / (to - so):.0f}% of the gap to training on labelled target images ({to:.4f})"
        )
    verdict += (
        f"; the published DANN value is {PUBLISHED['dann'][0]:.4f} ({relation(da, PUBLISHED['dann'][0])} it here)."
    )
    doc.answer(verdict)
    low, high = PUBLISHED["source_only"]
    where = "above" if so > high else "below" if so < low else "within"
    doc.paragraph(
        "Both runs use advlab's input pipeline (centre crop, per-image normalisation, random inversion of the "
        "labelled "
        f"source images), which uses no target data; with it source only reaches {so:.4f}, {where} the published "
        f"{low:.2f}–{high:.2f}."
    )


def _methods(doc: Document, study: Study, results: dict, figures: Path) -> None:
    doc.heading("1b. The adaptation methods side by side")
    p = study.profile
    doc.paragraph(
        study.commands([f"{m}-s{p.seeds[0]}" for m in (*COMPARED_METHODS, *REFINEMENTS)])
        + " The baselines and DANN are the runs of section 1; "
        "every method has the same budget (the profile's data, epochs and `advlab adapt` defaults, each method's own "
        f"defaults above them); the two-stage methods ({', '.join(f'`{m}` from `{f}`' for m, f in REFINEMENTS.items())}"
        f", same seed) train {count(refinement_epochs(p), 'epoch')} more on top of their first stage's."
    )
    order = ("source_only", "dann", *COMPARED_METHODS, *REFINEMENTS, "target_only")
    table, accuracies, rows = {}, {}, []
    for method in order:
        names = study.seeds(method)
        epoch_seconds = [
            sum(h["train_seconds"] for h in hist) / len(hist) for hist in (history(study.dir(n)) for n in names) if hist
        ]
        table[method] = {k: study.stat(names, k) for k in ("source_acc", "target_acc")} | {
            "epoch_seconds": mean_std(epoch_seconds)
        }
        accuracies[method] = [s["target_acc"] for s in study.summaries(names)]
    dann_seconds = mean(table["dann"]["epoch_seconds"])
    for method in order:
        seconds = mean(table[method]["epoch_seconds"])
        ratio = f"{seconds / dann_seconds:.2f}×" if seconds and dann_seconds else "–"
        rows.append(
            [
                f"`{method}`",
                fmt(table[method]["target_acc"]),
                fmt(table[method]["source_acc"]),
                ratio,
                str(len(accuracies[method])),
            ]
        )
    doc.table(["method", "target acc", "source acc", "epoch time vs dann", "seeds"], rows)
    results["methods"] = table
    path = plot_method_comparison(
        accuracies,
        ("source_only", "target_only"),
        f"{count(p.epochs, 'epoch')}, seeds {list(p.seeds)} (dots: seeds)",
        figures / "methods.png",
    )
    doc.figure(path, "Final-epoch target accuracy per method: bars at the mean, a dot per seed; grey: the baselines.")
    so, da = mean(table["source_only"]["target_acc"]), mean(table["dann"]["target_acc"])
    compared = (*COMPARED_METHODS, *REFINEMENTS)
    finished = {m: mean(table[m]["target_acc"]) for m in compared if mean(table[m]["target_acc"]) is not None}
    if so is None or da is None or not finished:
        doc.answer("The comparison is missing runs; see the failed runs above.")
        return
    against_so = {m: relation(a, so) for m, a in finished.items()}
    above_dann = [m for m, a in finished.items() if relation(a, da) == "above"]
    best = max(finished, key=finished.get)
    listed = lambda ms: ", ".join(f"`{m}`" for m in ms) or "none"
    group = lambda word: [m for m, r in against_so.items() if r == word]
    text = (
        f"Above source only ({so:.4f}): {len(group('above'))} of {len(finished)} methods ({listed(group('above'))}); "
        f"above DANN ({da:.4f}): {listed(above_dann)}. The best is `{best}` at {finished[best]:.4f}"
    )
    for word in ("level with", "below"):
        if group(word):
            text += f"; {word} source only: {listed(group(word))}"
    doc.answer(text + ".")


def _embeddings(doc: Document, study: Study, results: dict, figures: Path) -> TestImages | None:
    doc.heading("2. Feature spaces: t-SNE and proxy A-distance")
    first = study.dir(f"source_only-s{study.profile.seeds[0]}")
    if summary(first) is None or summary(study.dir(f"dann-s{study.profile.seeds[0]}")) is None:
        doc.paragraph("Missing the source-only or DANN run; no embeddings.")
        return None
    images = TestImages(load_run_model(first)[1], study.profile.embed_samples, study.device)
    pad = {
        m: mean_std(domain_distances([study.dir(n) for n in study.seeds(m) if summary(study.dir(n))], images))
        for m in ("source_only", "dann", "dann_no_grl")
    }
    results["proxy_a_distance"] = pad
    panels = {}
    for method in ("source_only", "dann"):
        model, _ = load_run_model(study.dir(f"{method}-s{study.profile.seeds[0]}"))
        panels[method] = tsne_2d(torch.cat(images.features(model)).numpy(), seed=0)
    notes = {m: f"PAD {fmt(pad[m], 3)}" for m in panels}
    path = plot_embeddings(panels, images.is_target, images.labels, figures / "tsne.png", notes)
    n = len(images.source)
    doc.figure(
        path,
        f"t-SNE of G_f's features for {n} source and {n} target test images, seed {study.profile.seeds[0]}: "
        "coloured by domain (top) and by class (bottom).",
    )
    doc.table(
        ["model", "proxy A-distance (test features)", "seeds"],
        [[f"`{m}`", fmt(pad[m], 3), str(len(pad[m]["values"]) if pad[m] else 0)] for m in pad],
    )
    so, da = pad["source_only"], pad["dann"]
    if so and da:
        words = f"The proxy A-distance of DANN's features is {fmt(da, 3)} against {fmt(so, 3)} for source only: "
        if len(so["values"]) < 2 or len(da["values"]) < 2:
            gap = abs(da["mean"] - so["mean"])
            words += f"{relation(da['mean'], so['mean'], 'higher', 'lower')} by {gap:.3f}, from one seed, "
            words += "so with no spread to judge it by."
        elif da["mean"] + da["std"] < so["mean"] - so["std"]:
            words += "clearly lower (mean ± std do not overlap): reversal made the domains harder to tell apart."
        else:
            words += "not clearly lower (mean ± std overlap, or the order is reversed)."
        doc.answer(words)
    return images


def _training_curves(doc: Document, study: Study, results: dict, figures: Path) -> None:
    doc.heading("3. DANN over training (longer schedule)")
    doc.paragraph(study.commands([f"dann-long-s{study.profile.seeds[0]}"]))
    names = [n for n in study.seeds("dann-long") if summary(study.dir(n))]
    if not names:
        doc.paragraph("No finished run of the longer schedule.")
        return
    _, cfg = load_run_model(study.dir(names[0]))
    path = plot_training_curves(
        [history(study.dir(n)) for n in names],
        lambda p: reversal_factor(cfg.lambda_schedule, p, cfg.gamma, cfg.lambda_max),
        lambda p: learning_rate(cfg.lr_schedule, p, cfg.lr, cfg.lr_alpha, cfg.lr_beta),
        figures / "dann-curves.png",
        f"dann, {count(cfg.epochs, 'epoch')}, {count(len(names), 'seed')}",
    )
    doc.figure(
        path,
        "Source and target accuracy per epoch (faint: each seed; bold: mean), with λ(p) and the learning rate beneath.",
    )
    final = study.stat(names, "target_acc")
    results["dann_long"] = {"epochs": cfg.epochs, "target_acc": final, "source_acc": study.stat(names, "source_acc")}
    doc.answer(
        f"After {count(cfg.epochs, 'epoch')} DANN's final target accuracy is {fmt(final)} over "
        f"{count(len(names), 'seed')}, "
        f"{relation(final['mean'], PUBLISHED['dann'][1])} the first paper version's {PUBLISHED['dann'][1]:.4f}."
    )


def _no_reversal(doc: Document, study: Study, results: dict, images: TestImages | None) -> None:
    doc.heading("Q1. What if the gradient is not reversed?")
    doc.paragraph(
        study.commands([f"dann_no_grl-s{study.profile.seeds[0]}"])
        + " The other rows are the runs of section 1; PAD as in section 2."
    )
    pad = results.get("proxy_a_distance", {})
    rows, q1 = [], {}
    for method in ("source_only", "dann", "dann_no_grl"):
        names = study.seeds(method)
        q1[method] = {
            "target_acc": study.stat(names, "target_acc"),
            "domain_acc": study.stat(names, "domain_acc"),
            "pad": pad.get(method),
        }
        rows.append(
            [f"`{method}`", fmt(q1[method]["target_acc"]), fmt(q1[method]["domain_acc"]), fmt(q1[method]["pad"], 3)]
        )
    doc.table(["method", "target acc", "domain-classifier acc (test)", "proxy A-distance"], rows)
    results["q1_no_reversal"] = q1
    t = {m: mean(q1[m]["target_acc"]) for m in q1}
    d = {m: mean(q1[m]["domain_acc"]) for m in q1}
    if None in (t["dann"], t["dann_no_grl"], t["source_only"]):
        doc.answer("Runs are missing; no answer.")
        return
    words = (
        f"Without reversal the target accuracy is {t['dann_no_grl']:.4f}, against {t['dann']:.4f} with it and "
        f"{t['source_only']:.4f} for source only: "
        f"{relation(t['dann_no_grl'], t['dann'], 'better than', 'worse than')} DANN"
        f" and {relation(t['dann_no_grl'], t['source_only'])} source only."
    )
    if d["dann"] is not None and d["dann_no_grl"] is not None:
        words += (
            f" The domain classifier tells the domains apart with {d['dann_no_grl']:.3f} accuracy when G_f helps it, "
            f"{d['dann']:.3f} when G_f fights it"
        )
        if mean(q1["dann_no_grl"]["pad"]) is not None and mean(q1["dann"]["pad"]) is not None:
            words += f" (PAD {mean(q1['dann_no_grl']['pad']):.2f} vs {mean(q1['dann']['pad']):.2f})"
        words += "."
    doc.answer(words)


def _source_cost(doc: Document, study: Study, results: dict) -> None:
    doc.heading("Q2. Does adaptation cost source accuracy?")
    so, da = study.stat(study.seeds("source_only"), "source_acc"), study.stat(study.seeds("dann"), "source_acc")
    if not so or not da:
        doc.answer("Runs are missing; no answer.")
        return
    drop, spread = so["mean"] - da["mean"], max(so["std"], da["std"])
    results["q2_source_cost"] = {"drop": drop, "spread": spread, "source_only": so, "dann": da}
    doc.table(
        ["", "source acc"],
        [
            ["`source_only`", fmt(so)],
            ["`dann`", fmt(da)],
            ["drop", signed(drop)],
            ["larger std over seeds", f"{spread:.4f}"],
        ],
    )
    if len(so["values"]) < 2:
        doc.answer(
            f"DANN changes source accuracy by {signed(-drop)} ({so['mean']:.4f} → {da['mean']:.4f}); with one seed "
            "there is no spread to weigh it against."
        )
    else:
        doc.answer(
            f"DANN costs {drop:.4f} of source accuracy ({so['mean']:.4f} → {da['mean']:.4f}); the seeds' spread is "
            f"{spread:.4f}, "
            f"so the drop {'exceeds' if abs(drop) > spread else 'does not exceed'} the seed-to-seed variation"
            f"{' (it is a gain, not a cost)' if drop < 0 else ''}."
        )


def _lambda_sweep(doc: Document, study: Study, results: dict, figures: Path) -> None:
    doc.heading("Q3. The reversal factor λ")
    doc.paragraph(
        study.commands(["sweep-lambda0.1", "sweep-gamma2"], seeds=(0,)) + " The other settings change only the value."
    )
    settings = [(f"sweep-lambda{lam:g}", "constant", lam, None) for lam in study.profile.sweep_lambdas]
    settings += [(f"sweep-gamma{g:g}", "ramp", None, g) for g in study.profile.sweep_gammas]
    pts, rows = [], []
    reference = summary(study.dir("sweep-lambda0"))
    for name, schedule, lam, gamma in settings:
        s, h, failed = summary(study.dir(name)), history(study.dir(name)), study.dir(name) / "failed.txt"
        if s is None and not failed.exists():
            continue
        if s is not None:
            fell_back = s["source_acc"] < max(r["source_acc"] for r in h) - UNSTABLE_SOURCE_DROP
            lost = reference is not None and s["source_acc"] < reference["source_acc"] - UNSTABLE_SOURCE_LOSS
            unstable = fell_back or lost
            status = (
                "unstable: source accuracy fell back"
                if fell_back
                else "unstable: lost the label task"
                if lost
                else "stable"
            )
            target, domain, source = s["target_acc"], s["domain_acc"], s["source_acc"]
        else:
            unstable, status = True, "diverged: " + failed.read_text().strip()
            target, domain, source = (
                (h[-1]["target_acc"], h[-1]["domain_acc"], h[-1]["source_acc"]) if h else (0.0, 0.5, 0.0)
            )
        label = f"constant λ = {lam:g}" if schedule == "constant" else f"ramp, γ = {gamma:g}"
        pts.append(
            {
                "name": name,
                "label": label,
                "schedule": schedule,
                "lambda": lam,
                "gamma": gamma,
                "target_acc": target,
                "domain_acc": domain,
                "source_acc": source,
                "unstable": unstable,
                "status": status,
            }
        )
        rows.append([label, f"{target:.4f}", f"{domain:.3f}" if domain is not None else "–", f"{source:.4f}", status])
    results["q3_lambda_sweep"] = pts
    if not pts:
        doc.paragraph("No sweep run finished.")
        return
    doc.table(["setting", "target acc", "domain acc", "source acc", "training"], rows)
    path = plot_lambda_sweep(pts, figures / "lambda-sweep.png")
    doc.figure(
        path,
        f"Final-epoch accuracy against a constant λ ({count(study.profile.sweep_epochs, 'epoch')}, seed 0); dashed "
        "lines: the ramp schedules; circles: unstable.",
    )
    constant = [p for p in pts if p["schedule"] == "constant" and not p["unstable"]]
    ramp = [p for p in pts if p["schedule"] == "ramp"]
    unstable = [p for p in pts if p["unstable"]]
    words = ""
    if constant:
        best = max(constant, key=lambda p: p["target_acc"])
        zero = next((p for p in constant if p["lambda"] == 0), None)
        words += f"Among stable constant settings, λ = {best['lambda']:g} gives the highest target accuracy "
        words += f"({best['target_acc']:.4f})"
        words += f", against {zero['target_acc']:.4f} at λ = 0 (no adaptation)." if zero else "."
    words += (
        (" Training becomes unstable at " + ", ".join(p["label"] for p in unstable) + ".")
        if unstable
        else " No setting was unstable."
    )
    if ramp and constant:
        r = max(ramp, key=lambda p: p["target_acc"])
        words += f" The best ramp (γ = {r['gamma']:g}) reaches {r['target_acc']:.4f}."
    doc.answer(words.strip())


def _pseudo_labels(doc: Document, study: Study, results: dict, figures: Path) -> None:
    p = study.profile
    doc.heading("Q4. Pseudo-labelling (self-training)")
    doc.paragraph(
        f"From each trained model: {p.pl_rounds} round(s) of {p.pl_epochs_per_round} epoch(s). Each round labels the "
        "target "
        f"training images the current model predicts with confidence ≥ {p.pl_threshold:g}, class-balanced (each "
        "predicted class "
        "gives the same share of its most confident images; the share grows to all by the last round), and trains on "
        "source plus "
        "those images. The threshold is fixed in advance; target labels only score the pseudo-labels for this report."
    )
    doc.paragraph(study.commands([pseudo_label_name(i, p.seeds[0], p.pl_threshold, p) for i in PSEUDO_LABEL_INITS]))
    curves, rows, q4 = {}, [], {}
    for init in PSEUDO_LABEL_INITS:
        names = [pseudo_label_name(init, s, p.pl_threshold, p) for s in p.seeds]
        done = [study.summaries([n])[0] for n in names if summary(study.dir(n))]
        if not done:
            continue
        start = study.stat(study.seeds(init), "target_acc")
        rounds = [{"round": 0, "target_acc": start["mean"]}]
        for r in range(p.pl_rounds):
            per_seed = [s["pseudo_label_rounds"][r] for s in done]
            rounds.append(
                {
                    "round": r + 1,
                    **{
                        k: mean_std([x[k] for x in per_seed])
                        for k in ("target_acc", "pl_selected_share", "pl_label_acc")
                    },
                }
            )
        q4[init] = {"start": start, "rounds": rounds[1:]}
        curves[init] = [
            {
                "round": x["round"],
                "target_acc": mean(x["target_acc"]) if r else x["target_acc"],
                "pl_label_acc": mean(x.get("pl_label_acc")),
            }
            for r, x in enumerate(rounds)
        ]
        rows.append([f"`{init}`", "0 (start)", fmt(start), "–", "–"])
        rows += [
            [
                f"`{init}`",
                str(x["round"]),
                fmt(x["target_acc"]),
                fmt(x["pl_selected_share"], 3),
                fmt(x["pl_label_acc"], 4),
            ]
            for x in rounds[1:]
        ]
    sweep = []
    for t in sorted({*p.pl_threshold_sweep, p.pl_threshold}):
        s = summary(study.dir(pseudo_label_name("dann", p.seeds[0], t, p)))
        if s:
            last = s["pseudo_label_rounds"][-1]
            sweep.append(
                {
                    "threshold": t,
                    "target_acc": s["target_acc"],
                    "pl_selected_share": last["pl_selected_share"],
                    "pl_label_acc": last["pl_label_acc"],
                }
            )
    q4["threshold_sweep"] = sweep
    results["q4_pseudo_labels"] = q4
    if not rows:
        doc.answer("No pseudo-labelling run finished.")
        return
    doc.table(["start from", "round", "target acc", "share of target selected", "pseudo-label accuracy"], rows)
    if sweep:
        doc.table(
            ["threshold (from dann, seed 0)", "target acc", "share selected (last round)", "pseudo-label accuracy"],
            [
                [
                    f"{x['threshold']:g}",
                    f"{x['target_acc']:.4f}",
                    f"{x['pl_selected_share']:.3f}",
                    f"{x['pl_label_acc']:.4f}",
                ]
                for x in sweep
            ],
        )
    path = plot_pseudo_label_rounds(curves, sweep, figures / "pseudo-labels.png")
    doc.figure(
        path,
        "Pseudo-labelling: target accuracy and pseudo-label accuracy per round (left), and the threshold sweep "
        "(right).",
    )
    words = []
    for init, v in q4.items():
        if init == "threshold_sweep":
            continue
        end = v["rounds"][-1]["target_acc"]
        words.append(
            f"from `{init}` target accuracy goes {v['start']['mean']:.4f} → {fmt(end)} "
            f"({points(end['mean'], v['start']['mean'])})"
        )
    doc.answer(f"With the threshold fixed at {p.pl_threshold:g}, " + "; ".join(words) + ".")


def _gans(doc: Document, study: Study, results: dict, figures: Path) -> None:
    p = study.profile
    doc.heading("5. Conditional GANs on MNIST")
    names = {v: [f"gan-{v}-s{s}" for s in p.gan_seeds] for v in PRACTICAL}
    doc.paragraph(study.commands([f"gan-{v}-s{p.gan_seeds[0]}" for v in PRACTICAL], seeds=p.gan_seeds))
    keys = (
        "cond_acc",
        "fid_lenet",
        "fid_floor",
        "coverage",
        "inception_score",
        "inception_score_real",
        "seconds_per_epoch",
    )
    table = {v: {k: study.stat(n, k) for k in keys} for v, n in names.items()}
    results["gans"] = table
    rows = [
        [
            f"`{v}`",
            fmt(t["cond_acc"]),
            f"{fmt(t['fid_lenet'], 2)} (floor {fmt(t['fid_floor'], 2)})",
            fmt(t["coverage"], 1),
            f"{fmt(t['inception_score'], 2)} (real {fmt(t['inception_score_real'], 2)})",
            fmt(t["seconds_per_epoch"], 1),
        ]
        for v, t in table.items()
    ]
    doc.table(["variant", "cond_acc", "fid_lenet", "coverage (of 10)", "inception score", "s / epoch"], rows)
    if not p.gan_eval_samples:
        doc.paragraph(
            "This profile skips the GAN quality metrics (they need the LeNet evaluator, `advlab classifier`)."
        )
    first = [study.dir(f"gan-{v}-s{p.gan_seeds[0]}") for v in PRACTICAL]
    if all(summary(r) for r in first):
        losses, samples = compare_runs(first, figures / "gans")
        shown = "; ".join(f"`{v}`, {VARIANTS[v].about}" for v in PRACTICAL)
        doc.figure(
            samples,
            f"Final samples, seed {p.gan_seeds[0]}, left to right: {shown}. Where G sees y, row r asked for class r.",
        )
        doc.figure(
            losses,
            f"Loss dynamics of the {len(PRACTICAL)} variants: D and G losses (faint raw, bold smoothed), and mean "
            "D(x), D(G(z)).",
        )
        zy = study.dir(f"gan-conditional-s{p.gan_seeds[0]}") / "zy_grid.png"
        if zy.exists():
            doc.figure(
                Path(shutil.copy(zy, figures / "gan-zy-grid.png")),
                "cDCGAN z × y grid: each column one fixed z (saved, the same in every run), each row one class.",
            )
    c, n, u = (mean(table[v]["cond_acc"]) for v in ("conditional", "no_label_in_d", "unconditional"))
    if c is not None and n is not None:
        doc.answer(
            f"cDCGAN draws the asked-for class {c:.1%} of the time; when D does not see y it is {n:.1%} "
            + (
                "(chance is 10%): G ignores y when D cannot check it."
                if n <= 0.3
                else "— G still follows y in part without D checking it."
            )
            + (
                f" DCGAN covers {mean(table['unconditional']['coverage']):.1f} of 10 classes."
                if mean(table["unconditional"]["coverage"]) is not None
                else ""
            )
        )


def _gan_remedies(doc: Document, study: Study, results: dict, figures: Path) -> None:
    """The registry's remedies beside the plain variants they fix: packing and spectral norm +
    hinge against DCGAN's missing classes, a projection D against the cDCGAN."""
    p = study.profile
    doc.heading("5b. Remedies for what plain DCGAN gets wrong")
    doc.paragraph(
        study.commands([f"gan-{v}-s{p.gan_seeds[0]}" for v in REMEDIES], seeds=p.gan_seeds)
        + " "
        + "; ".join(f"`{v}`: {VARIANTS[v].about}" for v in REMEDIES)
        + "."
    )
    keys = ("cond_acc", "fid_lenet", "coverage", "kl_uniform", "seconds_per_epoch")
    shown = (
        "unconditional",
        *[v for v in REMEDIES if not VARIANTS[v].g_sees_label],
        "conditional",
        *[v for v in REMEDIES if VARIANTS[v].g_sees_label],
    )
    table = {v: {k: study.stat([f"gan-{v}-s{s}" for s in p.gan_seeds], k) for k in keys} for v in shown}
    results["gan_remedies"] = table
    base = {
        v: mean(table["conditional" if VARIANTS[v].g_sees_label else "unconditional"]["seconds_per_epoch"])
        for v in shown
    }
    rows = [
        [
            f"`{v}`",
            fmt(t["cond_acc"]),
            fmt(t["fid_lenet"], 2),
            fmt(t["coverage"], 1),
            fmt(t["kl_uniform"]),
            fmt(t["seconds_per_epoch"], 1),
            f"{mean(t['seconds_per_epoch']) / base[v]:.2f}×" if mean(t["seconds_per_epoch"]) and base[v] else "–",
        ]
        for v, t in table.items()
    ]
    doc.table(
        ["variant", "cond_acc", "fid_lenet", "coverage (of 10)", "kl_uniform", "s / epoch", "vs its plain variant"],
        rows,
    )
    first = [study.dir(f"gan-{v}-s{p.gan_seeds[0]}") for v in shown]
    if all((r / "samples_final.png").exists() for r in first):
        _, samples = compare_runs(first, figures / "gan-remedies")
        doc.figure(
            samples, f"Final samples, seed {p.gan_seeds[0]}, left to right: " + ", ".join(f"`{v}`" for v in shown) + "."
        )
    plain, cond = mean(table["unconditional"]["coverage"]), mean(table["conditional"]["fid_lenet"])
    words = []
    if plain is not None:
        for v in shown[1:]:
            c = mean(table[v]["coverage"])
            if not VARIANTS[v].g_sees_label and c is not None:
                words.append(
                    f"`{v}` covers {c:.1f} classes ({relation(c, plain, 'more than', 'fewer than')} DCGAN's "
                    f"{plain:.1f})"
                )
    for v in shown:
        f = mean(table[v]["fid_lenet"])
        if VARIANTS[v].g_sees_label and v != "conditional" and f is not None and cond is not None:
            words.append(f"`{v}` reaches a Fréchet distance of {f:.1f} against the cDCGAN's {cond:.1f}")
    if words:
        doc.answer("At this budget " + "; ".join(words) + ".")


def _model_selection(doc: Document, study: Study, results: dict, figures: Path) -> None:
    """Which checkpoint each label-free validator would have kept, over the study's own
    adaptation runs (every method, seed and epoch, and the lambda sweep)."""
    doc.heading("6. Choosing a checkpoint without target labels")
    p = study.profile
    names = [f"{m}-s{s}" for s in p.seeds for m in ("source_only", "dann", "dann_no_grl", *COMPARED_METHODS)]
    names += [f"sweep-lambda{lam:g}" for lam in p.sweep_lambdas] + [f"sweep-gamma{g:g}" for g in p.sweep_gammas]
    dirs = [study.dir(n) for n in names if (study.dir(n) / "summary.json").exists()]
    doc.paragraph(
        "Every adaptation run of sections 1–4 (target_only and pseudo-labelling left out: one reads target labels, "
        "the other "
        "starts from a picked run) scored itself each epoch with the label-free validators (`val_*` in metrics.jsonl). "
        "The same table comes from `advlab select runs/*`. Oracle: the best target test accuracy, analysis only."
    )
    if len(dirs) < 2:
        doc.answer("Too few finished runs to compare the validators.")
        return
    result = select(dirs)
    pooled = result["across_runs"]
    last = pooled["mean_last_target_acc"]
    oracle = float(np.mean([r["oracle_analysis_only"]["target_acc"] for r in result["runs"]]))
    rows, measured = [], {}
    for name, v in pooled["validators"].items():
        if v is None:
            said = "no healthy checkpoint" if pooled["skipped_degenerate"] else "not recorded"
            rows.append([f"`{name}`", said, "–", "–", "–"])
            continue
        measured[name] = v["mean_pick_per_run"]
        rho = v["weighted_spearman"]
        rows.append(
            [
                f"`{name}`",
                f"{v['mean_pick_per_run']:.4f}",
                signed(v["mean_pick_per_run"] - last),
                signed(v["mean_pick_per_run"] - oracle),
                "–" if rho is None or np.isnan(rho) else f"{rho:.3f}",
            ]
        )
    rows.append(["last epoch", f"{last:.4f}", signed(0.0), signed(last - oracle), "–"])
    rows.append(["oracle (analysis only)", f"{oracle:.4f}", signed(oracle - last), signed(0.0), "–"])
    doc.table(
        [
            "rule",
            "mean target acc of its per-run picks",
            "vs last epoch",
            "vs oracle",
            "weighted Spearman (all checkpoints)",
        ],
        rows,
    )
    path = selection_figure(result, dirs, figures / "model-selection.png")
    doc.figure(
        path,
        f"Validator score against target accuracy, every checkpoint of the {len(dirs)} runs (wρ: weighted Spearman).",
    )
    results["model_selection"] = {
        "runs": len(dirs),
        "mean_last": last,
        "mean_oracle": oracle,
        "validators": pooled["validators"],
        "skipped_degenerate": pooled["skipped_degenerate"],
    }
    if pooled["skipped_degenerate"]:
        doc.paragraph(
            f"{pooled['skipped_degenerate']} of the {pooled['checkpoints']} checkpoints were flagged degenerate by "
            "their runs (source task lost, predictions on a few classes, or features collapsed) and no validator "
            "may pick them."
        )
    if not measured:
        doc.answer("No run recorded validator scores.")
        return
    best = max(measured, key=measured.get)
    beats = [n for n, a in measured.items() if relation(a, last) == "above"]
    doc.answer(
        f"Picking each run's checkpoint by `{best}` gives {measured[best]:.4f} on average, "
        f"{relation(measured[best], last)} the last "
        f"epoch's {last:.4f} ({points(measured[best], last)}) and {points(measured[best], oracle)} from the oracle's "
        f"{oracle:.4f}; "
        f"validators above the last epoch: {', '.join(f'`{n}`' for n in beats) or 'none'}."
    )


def _tuning(doc: Document, study: Study, results: dict, figures: Path) -> None:
    """`advlab tune`'s trials, its label-free choice and verdict on adapting, and, for analysis
    only, how the chosen method and source_only ended in this study's own full-budget runs."""
    doc.heading("7. Tuning without target labels")
    p = study.profile
    doc.paragraph(
        f"`advlab tune` searched {', '.join(f'`{m}`' for m in TUNE_METHODS)} and `source_only` (always a candidate, "
        f'so the answer can be "do not adapt") with {count(p.tune_trials, "trial")} of '
        f"{count(p.tune_trial_epochs, 'epoch')} on {p.tune_trial_subset} training images per domain: Optuna's TPE "
        "maximised a validator per trial, trials behind the median were pruned, degenerate ones were pruned and never "
        f"chosen, and the choice among the finished trials is the `--by` rule's. {study.commands(['tune'], (0,))} "
        "The folder (runs/tune) holds best.yaml for `advlab adapt --config`, trials.md and each trial's run."
    )
    said_by_tune = summary(study.dir("tune"))  # written last by advlab tune: the verdict and the trials by state
    if said_by_tune is None:
        failed = study.dir("tune") / "failed.txt"
        why = f": {failed.read_text().strip()}" if failed.exists() else ""
        doc.answer(f"The tune run did not finish{why}; no answer.")
        return
    rows_of_tune = json.loads((study.dir("tune") / "trials.json").read_text())["rows"]
    best = said_by_tune["best"] or {}

    def value(x: float | None) -> str:
        return "–" if x is None else f"{x:.4f}"

    rows = []
    for r in rows_of_tune:
        params = ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["params"].items() if k != "method"
        )
        note = r["degenerate"] or r["pruned"] or r["error"] or ""
        rows.append(
            [
                f"{r['number']}{' (chosen)' if r['number'] == best.get('number') else ''}",
                f"`{r['method']}`" if r["method"] else "–",
                params,
                value(r["score"]),
                value(r["selection_score"]),
                r["state"],
                note,
                value(r["target_acc_analysis_only"]),
            ]
        )
    doc.table(
        [
            "trial",
            "method",
            "setting",
            f"`{said_by_tune['objective']}`",
            f"`{said_by_tune['by']}`",
            "state",
            "degenerate / pruned / error",
            "target acc (analysis only)",
        ],
        rows,
    )
    scores = study.dir("tune") / "scores.png"
    if scores.exists():
        shutil.copyfile(scores, figures / "tune-scores.png")
        doc.figure(
            figures / "tune-scores.png",
            f"`{said_by_tune['objective']}` at each trial's last epoch, a colour per method; x: degenerate, hollow: "
            "pruned behind the others, star: the choice.",
        )
    results["tune"] = said_by_tune
    if not best:
        doc.answer(f"{said_by_tune['verdict']}.")
        return
    said = f"{said_by_tune['verdict']} (the trials' own scores, at the trial budget)."
    chosen, baseline = (
        study.stat(study.seeds(best["method"]), "target_acc"),
        study.stat(study.seeds("source_only"), "target_acc"),
    )
    if chosen and baseline and best["method"] != "source_only":
        results["tune"]["study_runs_analysis_only"] = {"chosen": chosen, "source_only": baseline}
        said += (
            f" For analysis only (target labels): at the study's own budget and default setting, `{best['method']}` "
            f"ended at {chosen['mean']:.4f}, {relation(chosen['mean'], baseline['mean'])} `source_only`'s "
            f"{baseline['mean']:.4f} ({points(chosen['mean'], baseline['mean'])}), so the label-free verdict "
            f"{'agrees' if (chosen['mean'] > baseline['mean']) == bool(said_by_tune['adapt']) else 'disagrees'} "
            "with what the labels say about that method here."
        )
    doc.answer(said)


def _run_times(doc: Document, study: Study, results: dict) -> None:
    doc.heading("Run times")
    per_run = results["timing"]["per_run"]
    rows = [[f"`{r.name}`", f"{per_run[r.name] / 60:.1f}"] for r in plan(study.profile) if r.name in per_run]
    doc.paragraph(
        "Wall time of each run's process (start-up, training and evaluation), summed over the invocations that ran it; "
        "a study stopped with Ctrl-C or SIGTERM counts the runs it stopped, but one killed outright (SIGKILL, power "
        "loss) "
        "loses its runs in flight, so such a study reads low."
    )
    doc.table(["run", "minutes"], rows)
