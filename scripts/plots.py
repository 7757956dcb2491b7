#!/usr/bin/python3
"""Plots of a results folder, with an index page, built on aimresults.py.

    /usr/bin/python3 scripts/plots.py DIR [--out DIR/plots] [--split test]

Writes into the output folder:
  curves.png        training loss, validation accuracy and worst-group accuracy per epoch:
                    one line per run group (method and any other setting that varies,
                    seeds pooled), the mean over seeds with a band of +- one std
  masks_<k>.png     every masking run's mask active area per stage over training (mean over
                    the epoch's samples, band +- std) against the annealed target; 16 runs
                    per page
  epg_vs_wga.png    mean EPG against worst-group accuracy, one point per run, coloured by
                    group, one panel per attribution method
  index.html, index.md
                    every plot, a table of the runs, the picture grids aimrun wrote into each
                    run folder (<run>/pictures/*.png) and the files that were skipped
and prints where the index is. Every file is written to a temporary name, fsync'd and
renamed (aimresults.write_atomically): a full disk leaves each file complete or absent, the
index last, and ends with exit 1 naming the file.
"""
import argparse
import html
import io
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)
import pandas as pd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aimresults  # noqa: E402

RUNS_PER_MASK_PAGE = 16


def group_colors(groups):
    """A fixed colour per run group, the same in every plot."""
    cmap = plt.get_cmap("tab10")
    return {g: cmap(i % 10) for i, g in enumerate(sorted(set(groups)))}


def _mean_band(ax, table, x, y, label, color):
    """Mean of `y` over seeds per `x`, with a +- std band when there are several seeds."""
    stats = table.groupby(x)[y].agg(["mean", "std", "count"]).dropna(subset=["mean"])
    if stats.empty:
        return False
    n = int(stats["count"].max())
    ax.plot(stats.index, stats["mean"], color=color, marker="o", markersize=3,
            label=f"{label} (n={n})")
    if n > 1:
        std = stats["std"].fillna(0)
        ax.fill_between(stats.index, stats["mean"] - std, stats["mean"] + std, color=color,
                        alpha=0.2, linewidth=0)
    return True


def plot_curves(runs, colors, out_dir):
    """curves.png: loss and validation accuracies over epochs, one line per group."""
    fig = curves_figure(runs, colors)
    return _save(fig, out_dir, "curves.png") if fig else None


def curves_figure(runs, colors):
    """The figure of curves.png (None when no run has curves); report_html.py embeds it."""
    curves = aimresults.collect(runs, aimresults.load_curves)
    if curves.empty or curves["epoch"].isna().all():
        return None
    eval_split = next((s for s in ("val", "test") if f"{s}_accuracy" in curves), None)
    panels = [("train_loss", "training loss")]
    if eval_split:
        panels += [(f"{eval_split}_accuracy", f"{eval_split} accuracy"),
                   (f"{eval_split}_worst_group_accuracy", f"{eval_split} worst-group accuracy")]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (column, title) in zip(axes[0], panels):
        for group, table in curves.groupby("group"):
            if column in table:
                _mean_band(ax, table, "epoch", column, group, colors[group])
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Training curves (mean over seeds, band: ± std)")
    return fig


def plot_mask_areas(runs, colors, out_dir):
    """masks_<k>.png: each masking run's active area per stage against the target."""
    return [_save(fig, out_dir, f"masks_{page}.png")
            for page, fig in enumerate(mask_area_figures(runs, colors), 1)]


def mask_area_figures(runs, colors):
    """The figures of masks_<k>.png, one per page of RUNS_PER_MASK_PAGE runs."""
    masks = aimresults.collect(runs, aimresults.load_mask_curves)
    if masks.empty:
        return []
    run_ids = list(dict.fromkeys(masks["run_id"]))
    figures = []
    for start in range(0, len(run_ids), RUNS_PER_MASK_PAGE):
        page_ids = run_ids[start:start + RUNS_PER_MASK_PAGE]
        cols = min(4, len(page_ids))
        rows = math.ceil(len(page_ids) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(max(6, 4 * cols), 3.2 * rows + 0.6),
                                 squeeze=False, sharex=True, sharey=True)
        for ax, run_id in zip(axes.flat, page_ids):
            _plot_one_mask_run(ax, masks[masks["run_id"] == run_id], colors)
        for ax in list(axes.flat)[len(page_ids):]:
            ax.set_visible(False)
        fig.suptitle("Mask active area per stage (solid; band: ± std over samples)\n"
                     "against the annealed target (dashed)", fontsize=10)
        figures.append(fig)
    return figures


def mask_area_by_group_figure(runs, colors):
    """Mask active area per stage over training, one line per run group: the mean over
    seeds (of each run's mean over samples) with a band of +- one std over seeds, and the
    annealed target (dashed). None for sweeps without masking runs."""
    masks = aimresults.collect(runs, aimresults.load_mask_curves)
    if masks.empty:
        return None
    stages = sorted(masks["stage"].unique())
    fig, axes = plt.subplots(1, len(stages), figsize=(4.5 * len(stages), 3.6), squeeze=False,
                             sharey=True)
    for ax, stage in zip(axes[0], stages):
        table = masks[masks["stage"] == stage]
        for group, g in table.groupby("group"):
            _mean_band(ax, g, "epoch", "active_mean", group, colors[group])
            target = g.groupby("epoch")["target"].mean()
            ax.plot(target.index, target.values, color=colors[group], linestyle="--", linewidth=1)
        ax.set_title(f"stage {stage}")
        ax.set_xlabel("epoch")
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("active fraction")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Mask active area per method (mean over seeds, band: ± std; dashed: target)")
    return fig


def _plot_one_mask_run(ax, table, colors):
    first = table.iloc[0]
    stages = sorted(table["stage"].unique())
    cmap = plt.get_cmap("viridis")
    for i, stage in enumerate(stages):
        s = table[table["stage"] == stage]
        color = cmap(i / max(1, len(stages) - 1) * 0.8)
        ax.plot(s["epoch"], s["active_mean"], color=color, marker="o", markersize=3,
                label=f"stage {stage}")
        ax.fill_between(s["epoch"], s["active_mean"] - s["active_std"],
                        s["active_mean"] + s["active_std"], color=color, alpha=0.2, linewidth=0)
        ax.plot(s["epoch"], s["target"], color=color, linestyle="--", linewidth=1.5,
                label=f"stage {stage} target")
    ax.set_title(f"{first['group']}, seed {first['seed']}\n{first['run_id']}", fontsize=9,
                 color=colors.get(first["group"], "black"))
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("epoch")
    ax.set_ylabel("active fraction")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def plot_epg_vs_wga(split_rows, colors, out_dir):
    """epg_vs_wga.png: one point per run, one panel per attribution method."""
    fig = epg_vs_wga_figure(split_rows, colors)
    return _save(fig, out_dir, "epg_vs_wga.png") if fig else None


def epg_vs_wga_figure(split_rows, colors):
    """The figure of epg_vs_wga.png for the rows of one split (None without EPG)."""
    methods = sorted(c for c in split_rows.columns if c.startswith("epg.")
                     and not c.startswith("epg.mask_stage_"))
    methods = [m for m in methods if split_rows[m].notna().any()]
    if not methods or split_rows["worst_group_accuracy"].isna().all():
        return None
    fig, axes = plt.subplots(1, len(methods), figsize=(4.5 * len(methods), 4), squeeze=False,
                             sharey=True)
    for ax, method in zip(axes[0], methods):
        for group, table in split_rows.groupby("group"):
            ax.scatter(table[method], table["worst_group_accuracy"], color=colors[group],
                       label=group, s=30, alpha=0.85)
        ax.set_xlabel(f"mean EPG ({method[4:]})")
        ax.set_ylabel("worst-group accuracy")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    split = split_rows["split"].iloc[0]
    fig.suptitle(f"Energy Pointing Game vs worst-group accuracy, {split} split, one point per run")
    return fig


def _save(fig, out_dir, name):
    path = os.path.join(out_dir, name)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110)
    plt.close(fig)
    aimresults.write_atomically(path, png.getvalue())
    return path


def run_pictures(runs):
    """{run_id: [png paths]}: the picture grids aimrun wrote into each run's pictures/."""
    out = {}
    for _, run in runs.iterrows():
        folder = os.path.join(os.path.dirname(run["path"]), "pictures")
        if os.path.isdir(folder):
            out[run["run_id"]] = [os.path.join(folder, n) for n in sorted(os.listdir(folder))
                                  if n.endswith(".png") and not n.startswith(".")]
    return out


def _run_table(split_rows):
    cols = ["run_id", "group", "seed", "accuracy", "worst_group_accuracy"]
    cols += sorted(c for c in split_rows.columns if c.startswith("epg.")
                   and not c.startswith("epg.mask_stage_"))
    cols += [c for c in ("mask_area",) if c in split_rows]
    return split_rows[cols].sort_values(["group", "seed"])


def write_index(out_dir, folder, split, plots, split_rows, pictures, problems):
    """index.html and index.md linking every plot and every run's pictures."""
    rel = lambda p: os.path.relpath(p, out_dir)  # noqa: E731
    table = _run_table(split_rows)
    md = [f"# Results of {folder}", "", f"{table.run_id.nunique()} runs; metrics on the "
          f"{split} split.", ""]
    md += [f"![{os.path.basename(p)}]({rel(p)})" for p in plots] + [""]
    md += ["## Runs", "", table.to_markdown(index=False, floatfmt=".4f")
           if _has_tabulate() else
           "```\n" + table.to_string(index=False, float_format="{:.4f}".format) + "\n```", ""]
    md += ["## Picture grids (written by aimrun into each run folder)", ""]
    for run_id, pngs in pictures.items():
        md.append(f"- {run_id}: " + ", ".join(f"[{os.path.basename(p)}]({rel(p)})" for p in pngs))
    if problems:
        md += ["", "## Skipped", ""] + [f"- {p}" for p in problems]
    md_path = os.path.join(out_dir, "index.md")
    md_text = "\n".join(md) + "\n"

    e = html.escape
    body = [f"<h1>Results of {e(folder)}</h1>",
            f"<p>{table.run_id.nunique()} runs; metrics on the {e(split)} split.</p>"]
    body += [f'<p><a href="{e(rel(p))}"><img src="{e(rel(p))}" style="max-width:100%"></a></p>'
             for p in plots]
    body += ["<h2>Runs</h2>", table.to_html(index=False, float_format="{:.4f}".format)]
    body += ["<h2>Picture grids (written by aimrun into each run folder)</h2>", "<ul>"]
    for run_id, pngs in pictures.items():
        links = ", ".join(f'<a href="{e(rel(p))}">{e(os.path.basename(p))}</a>' for p in pngs)
        body.append(f"<li>{e(run_id)}: {links}</li>")
    body.append("</ul>")
    if problems:
        body += ["<h2>Skipped</h2>", "<ul>"] + [f"<li>{e(str(p))}</li>" for p in problems]
        body.append("</ul>")
    html_path = os.path.join(out_dir, "index.html")
    aimresults.write_atomically(md_path, md_text)
    aimresults.write_atomically(html_path, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"
                     f"{e(folder)}</title></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
    return html_path, md_path


def _has_tabulate():
    try:
        import tabulate  # noqa: F401 (pandas' to_markdown needs it)
        return True
    except ImportError:
        return False


def make_plots(folder, out_dir=None, split="test"):
    """Every plot and the index for `folder`; returns (index.html path, plots, problems)."""
    if not out_dir:
        base = folder if os.path.isdir(folder) else os.path.dirname(os.path.abspath(folder))
        out_dir = os.path.join(base, "plots")
    os.makedirs(out_dir, exist_ok=True)
    problems = []
    df = aimresults.load(folder, problems)
    if df.empty:
        raise SystemExit(f"no complete runs under {folder}")
    df["group"] = aimresults.group_labels(df)
    colors = group_colors(df["group"])
    if split not in set(df["split"]):
        split = sorted(df["split"].unique())[0]
    split_rows = df[df["split"] == split]
    runs = df.drop_duplicates("run_id")
    plots = [plot_curves(runs, colors, out_dir)]
    plots += plot_mask_areas(runs, colors, out_dir)
    plots.append(plot_epg_vs_wga(split_rows, colors, out_dir))
    plots = [p for p in plots if p]
    index, _ = write_index(out_dir, folder, split, plots, split_rows, run_pictures(runs), problems)
    return index, plots, problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="results folder (e.g. outputs/quickstart)")
    parser.add_argument("--out", help="output folder (default: FOLDER/plots)")
    parser.add_argument("--split", default="test", help="split of the EPG plot and run table")
    args = parser.parse_args(argv)
    try:
        index, plots, problems = make_plots(args.folder, args.out, args.split)
    except OSError as e:
        print(f"plots.py: {e.filename}: {e.strerror}", file=sys.stderr)
        return 1
    for p in problems:
        print(f"skipped {p}", file=sys.stderr)
    print(f"{len(plots)} plots; index: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
