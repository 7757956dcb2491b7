#!/usr/bin/python3
"""One self-contained HTML page of a folder of runs: what `aimrun report DIR --html OUT.html`
writes (docs/results-python.md, "The HTML report").

    aimrun report DIR --html OUT.html        (the usual way: aimrun runs this script)
    /usr/bin/python3 scripts/report_html.py DIR --table TABLE.csv --runs RUNS.jsonl --out OUT.html

TABLE.csv is what `aimrun report DIR --format csv` prints (the page shows exactly its cells,
whatever columns it has); RUNS.jsonl has one JSON object per run aimrun found (path, state,
detail, cause, run_id, nonfinite: what went NaN or inf in a complete run). Everything else is read from the result files through aimresults.py;
plots are drawn by plots.py's figure functions. Images are embedded as data: URIs and the
little JavaScript (sorting, the split switch) is inline: the page needs no network and no
other file. The page is written to a temporary name and renamed over OUT.html.

The page has a fixed budget whatever the sweep's size (issue 33: 1000 runs make a page of
about 2 MB that renders in under a second): pictures of at most PICTURED_RUNS runs,
downscaled; the curves from at most PLOT_RUNS_PER_GROUP runs per group; the runs table as
JSON, drawn a page at a time by the inline script; the other runs named with the `aimrun
pictures` command that draws theirs.
"""
import argparse
import base64
import csv
import datetime
import html
import io
import json
import os
import sys
import warnings

try:
    import matplotlib
    import numpy as np
    import pandas  # noqa: F401 (aimresults and plots need it)
    import h5py  # noqa: F401
except ImportError as err:
    print(f"report_html.py: needs the Python module {err.name} (Debian: apt-get install "
          f"python3-{err.name}); {sys.executable} cannot import it", file=sys.stderr)
    sys.exit(2)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aimresults  # noqa: E402
import plots  # noqa: E402

E = html.escape
LEAST_CONFIDENT = 5
MAPS_PER_RUN = 4
# The page's fixed budget (issue 33: a sweep of 1000 runs must stay a page): pictures of at
# most PICTURED_RUNS runs (first the run nearest its group's median test accuracy, per group;
# then, while the budget lasts, the runs next nearest), each picture grid downscaled to
# PICTURE_WIDTH pixels; the curves drawn from at most PLOT_RUNS_PER_GROUP runs per group;
# the runs table paged (RUNS_PER_PAGE rows) by the page's JavaScript from one JSON block.
PICTURED_RUNS = 12
PICTURE_WIDTH = 800
PLOT_RUNS_PER_GROUP = 8
RUNS_PER_PAGE = 50

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#eee;cursor:pointer;user-select:none}
th.asc::after{content:" \\25B2"} th.desc::after{content:" \\25BC"}
td.t,th.t{text-align:left}
.pager{font-size:13px;margin:.3em 0} .pager button{margin:0 .3em}
code.cmd{font-size:12px}
img{max-width:100%} pre{background:#f6f6f6;padding:.5em;font-size:12px;overflow:auto}
details{margin:.3em 0;border:1px solid #ddd;padding:.3em .6em}
summary{cursor:pointer;font-weight:600}
.bad{color:#a00}
"""

SCRIPT = """
function cellValue(tr, i) {
  var t = tr.children[i].textContent.trim();
  var v = parseFloat(t);
  return {t: t, v: isNaN(v) ? null : v};
}
function sortBy(th) {
  var table = th.closest('table'), body = table.tBodies[0];
  var i = Array.prototype.indexOf.call(th.parentNode.children, th);
  var desc = th.classList.contains('asc');
  table.querySelectorAll('th').forEach(function (h) { h.classList.remove('asc', 'desc'); });
  th.classList.add(desc ? 'desc' : 'asc');
  var rows = Array.prototype.slice.call(body.rows);
  rows.sort(function (a, b) {
    var x = cellValue(a, i), y = cellValue(b, i), c;
    if (x.v !== null && y.v !== null) c = x.v - y.v;
    else if (x.v !== null) return -1;  /* numbers before '-' and text, in both directions */
    else if (y.v !== null) return 1;
    else c = x.t < y.t ? -1 : x.t > y.t ? 1 : 0;
    return desc ? -c : c;
  });
  rows.forEach(function (r) { body.appendChild(r); });
}
function showSplit(split) {
  document.querySelectorAll('[data-split]').forEach(function (e) {
    e.style.display = e.getAttribute('data-split') === split ? '' : 'none';
  });
}
/* A table drawn from a JSON block, one page of rows at a time: sorting (as sortBy) and the
   split switch work on all rows, only the shown page is in the DOM. */
function pagedTable(id) {
  var data = JSON.parse(document.getElementById(id + '-data').textContent);
  var table = document.getElementById(id), body = table.tBodies[0];
  var ths = table.tHead.rows[0].children;
  var nums = data.rows.map(function (r) {
    return r.map(function (t) { var v = parseFloat(t); return isNaN(v) ? null : v; });
  });
  var order = data.rows.map(function (r, i) { return i; });
  var st = {page: 0, col: -1, desc: false, split: null};
  function shown() {
    if (st.split === null || data.split_col < 0) return order;
    return order.filter(function (i) { return data.rows[i][data.split_col] === st.split; });
  }
  function render() {
    var rows = shown(), size = data.page_size;
    var pages = Math.max(1, Math.ceil(rows.length / size));
    st.page = Math.min(Math.max(st.page, 0), pages - 1);
    var first = st.page * size, part = rows.slice(first, first + size);
    var frag = document.createDocumentFragment();
    part.forEach(function (i) {
      var tr = document.createElement('tr');
      data.rows[i].forEach(function (t, c) {
        var td = document.createElement('td');
        if (data.text[c]) td.className = 't';
        if (data.links && data.links[i] && c === 0) {
          var a = document.createElement('a'); a.href = '#run-' + t; a.textContent = t; td.appendChild(a);
        } else td.textContent = t;
        tr.appendChild(td);
      });
      frag.appendChild(tr);
    });
    body.textContent = '';
    body.appendChild(frag);
    document.getElementById(id + '-info').textContent = rows.length ?
      'rows ' + (first + 1) + '-' + (first + part.length) + ' of ' + rows.length + ' (page ' + (st.page + 1) +
      ' of ' + pages + ')' : 'no rows';
  }
  Array.prototype.forEach.call(ths, function (th, c) {
    th.addEventListener('click', function () {
      st.desc = st.col === c && !st.desc;
      st.col = c;
      Array.prototype.forEach.call(ths, function (h) { h.classList.remove('asc', 'desc'); });
      th.classList.add(st.desc ? 'desc' : 'asc');
      order.sort(function (a, b) {
        var x = nums[a][c], y = nums[b][c], cmp;
        if (x !== null && y !== null) cmp = x - y;
        else if (x !== null) return -1;  /* numbers before '-' and text, in both directions */
        else if (y !== null) return 1;
        else { var s = data.rows[a][c], t = data.rows[b][c]; cmp = s < t ? -1 : s > t ? 1 : 0; }
        if (cmp === 0) return a - b;
        return st.desc ? -cmp : cmp;
      });
      st.page = 0;
      render();
    });
  });
  document.getElementById(id + '-prev').addEventListener('click', function () { st.page--; render(); });
  document.getElementById(id + '-next').addEventListener('click', function () { st.page++; render(); });
  return function (split) { st.split = split; st.page = 0; render(); };
}
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('table.sortable th').forEach(function (th) {
    th.addEventListener('click', function () { sortBy(th); });
  });
  var setSplit = [];
  document.querySelectorAll('table.paged').forEach(function (t) { setSplit.push(pagedTable(t.id)); });
  var sel = document.getElementById('split');
  function switchTo(split) {
    showSplit(split);
    setSplit.forEach(function (f) { f(split); });
  }
  if (sel) {
    sel.addEventListener('change', function () { switchTo(sel.value); });
    switchTo(sel.value);
  } else {
    setSplit.forEach(function (f) { f(null); });
  }
});
"""


# --------------------------------------------------------------------------- inputs

def read_table(path):
    """The header and rows of aimrun's CSV table, every cell as the text aimrun wrote."""
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return [], []
    header, body = rows[0], rows[1:]
    for n, row in enumerate(body, 2):
        if len(row) != len(header):
            raise SystemExit(f"report_html.py: {path}:{n}: {len(row)} cells, the header has {len(header)}")
    return header, body


def read_runs(path):
    """The runs aimrun found: dicts with path, state, detail, cause, run_id."""
    runs = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    runs.append(json.loads(line))
                except ValueError as err:
                    raise SystemExit(f"report_html.py: {path}:{n}: {err}") from None
    return runs


# --------------------------------------------------------------------------- pieces

def figure_uri(fig, dpi=80):
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def file_uri(path):
    with open(path, "rb") as fh:
        return "data:image/png;base64," + base64.b64encode(fh.read()).decode()


def picture_uri(path, width=PICTURE_WIDTH):
    """A picture grid aimrun wrote, at most `width` pixels wide, as a JPEG data: URI (a grid
    as aimrun writes it is a few MB at full size; PIL comes with matplotlib)."""
    from PIL import Image
    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.width > width:
            im = im.resize((width, max(1, round(im.height * width / im.width))), Image.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=80, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def img(uri, alt, split=None):
    attr = f' data-split="{E(split)}"' if split else ""
    return f'<p{attr}><img src="{uri}" alt="{E(alt)}"></p>'


def _is_text(column, rows):
    return not any(_number(r[column]) is not None for r in rows)


def _number(text):
    try:
        return float(text.split()[0])
    except (ValueError, IndexError):
        return None


def _attr(name, value):
    return f' {name}="{E(str(value))}"' if value else ""


def table_html(header, rows, table_id=None, column_split=None, row_split=None):
    """A sortable table; column_split(i) / row_split(r) give the split a column / row
    belongs to (None: every split)."""
    text_cols = {i for i in range(len(header)) if _is_text(i, rows)}
    col_split = [column_split(i) if column_split else None for i in range(len(header))]

    def cell(tag, i, text):
        return f"<{tag}{_attr('class', 't' if i in text_cols else None)}{_attr('data-split', col_split[i])}>" \
               f"{E(str(text))}</{tag}>"
    out = [f'<table class="sortable"{_attr("id", table_id)}><thead><tr>']
    out += [cell("th", i, h) for i, h in enumerate(header)]
    out.append("</tr></thead><tbody>")
    for r in rows:
        out.append(f"<tr{_attr('data-split', row_split(r) if row_split else None)}>")
        out += [cell("td", i, c) for i, c in enumerate(r)]
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _fmt(v):
    if isinstance(v, (float, np.floating)):
        return "-" if v != v else f"{float(v):.4f}"
    if isinstance(v, (np.integer, np.bool_)):
        return str(v.item())
    return str(v)


def maps_figure(maps):
    """The kept maps of a run: one row per sample, image | ground truth | mask | each
    attribution method (as aimrun's picture grids, from result.h5)."""
    images = maps["images"]
    names = ["region"] + [n for n in ("mask",) if n in maps]
    names += sorted(n for n in maps if n not in ("index", "images", "region", "mask"))
    fig, axes = plt.subplots(len(images), 1 + len(names), figsize=(1.6 * (1 + len(names)), 1.6 * len(images)),
                             squeeze=False)
    for row, image in enumerate(images):
        axes[row][0].imshow(np.transpose(image, (1, 2, 0)))
        axes[row][0].set_title(f"sample {int(maps['index'][row])}", fontsize=7)
        for col, name in enumerate(names, 1):
            data = np.asarray(maps[name][row], dtype=np.float32)
            axes[row][col].imshow(data, cmap="gray" if name == "region" else "magma",
                                  vmin=0 if name != "ixg" else -1, vmax=1, interpolation="nearest")
            axes[row][col].set_title(name, fontsize=7)
    for ax in axes.flat:
        ax.set_axis_off()
    return fig


# --------------------------------------------------------------------------- sections

def results_section(header, rows, splits):
    def column_split(i):  # the first word that names a split: "test acc", "Δ val acc", ...
        return next((w for w in header[i].split() if w in splits), None)
    if not header:
        return "<h2>Results</h2><p>No table: no complete runs.</p>"
    return ("<h2>Results</h2><p>The table of <code>aimrun report --format csv</code> (cells as it prints "
            "them: in %, means over seeds; n = runs per row). Click a column to sort.</p>"
            + table_html(header, rows, "results", column_split))


def differences_section(header, rows, splits):
    """The paired differences of the CSV (columns "<metric> - <baseline>" with lo, hi, p, n,
    test; docs/report.md) as one row per method, metric: "+2.6 [-25.6, +30.7]", p, n."""
    if "baseline" not in header or "n" not in header:
        return ""
    col = {h: i for i, h in enumerate(header)}
    group_cols = [h for h in header[:col["n"]] if h != "method"]
    out_header = group_cols + ["comparison", "metric", "difference [95% CI]", "p", "n", "test"]
    verdict_metrics = [h[len("verdict "):] for h in header if h.startswith("verdict ")]
    out_rows = []
    for r in rows:
        base = r[col["baseline"]]
        if base in ("", "-"):
            continue
        for h in header:
            metric = h[:-len(" - " + base)] if h.endswith(" - " + base) else None
            if metric is None or r[col[h]] in ("", "-"):
                continue
            def part(suffix):
                return r[col[h + " " + suffix]] if h + " " + suffix in col else "-"
            d, lo, hi = _number(r[col[h]]), _number(part("lo")), _number(part("hi"))
            text = f"{d:+.1f}" if lo is None or hi is None else f"{d:+.1f} [{lo:+.1f}, {hi:+.1f}]"
            out_rows.append([r[col[g]] for g in group_cols] +
                            [f"{r[col['method']]} − {base}", metric, text, part("p"), part("n"), part("test")])
    if not out_rows:
        return ""
    def column_split(i):
        return None
    def row_split(row):
        return next((w for w in row[len(group_cols) + 1].split() if w in splits), None)
    note = ("<p>Each method against the baseline with the same other settings, in points: the mean difference "
            "and its 95% confidence interval (t distribution), the two-sided p-value, n runs; paired by seed "
            "where every seed pairs, Welch otherwise (docs/report.md). The same cells as the CSV's "
            "<code>&lt;metric&gt; - " + E(next(r[col["baseline"]] for r in rows if r[col["baseline"]] not in ("", "-")))
            + "</code> columns.")
    if verdict_metrics:
        note += " Verdicts against the reference numbers are in the results table's <code>verdict</code> columns."
    return ("<h2>Differences from the baseline</h2>" + note + "</p>"
            + table_html(out_header, out_rows, "differences", column_split, row_split))


def plot_runs(runs, per_group=PLOT_RUNS_PER_GROUP):
    """At most `per_group` runs of each group (those nearest the group's median test
    accuracy): the curves read every run's result.h5, too slow for a sweep of 1000 runs."""
    key = _median_distance(runs)
    return (runs.assign(_d=key).sort_values(["group", "_d", "run_id"]).groupby("group", sort=False)
            .head(per_group).drop(columns="_d"))


def plots_section(runs, df, colors, splits):
    out = ["<h2>Plots</h2>"]
    sample = plot_runs(runs)
    if len(sample) < len(runs):
        out.append(f"<p>The training curves and mask areas are means over at most {PLOT_RUNS_PER_GROUP} runs "
                   f"per group (those nearest their group's median test accuracy; {len(sample)} of "
                   f"{len(runs)} runs); the EPG plot has every run.</p>")
    runs = sample
    fig = plots.curves_figure(runs, colors)
    if fig:
        out.append(img(figure_uri(fig), "training curves"))
    fig = plots.mask_area_by_group_figure(runs, colors)
    if fig:
        out.append(img(figure_uri(fig), "mask area per method"))
    for split in splits:
        fig = plots.epg_vs_wga_figure(df[df["split"] == split], colors)
        if fig:
            out.append(img(figure_uri(fig), f"EPG vs worst-group accuracy ({split})", split))
    return "\n".join(out)


def pictures_command(run):
    """The command that draws a run's pictures (runner/cli/cmd_pictures.cpp)."""
    return f"aimrun pictures --run {os.path.dirname(run['path'])} --least-confident {LEAST_CONFIDENT}"


def run_table_section(df, pictured):
    """Every run and split, paged: the rows are a JSON block the page's script draws a page
    of at a time (a 1000-run sweep is 3000 rows). Runs pictured on the page link to their
    section; the others carry the command that draws their pictures."""
    cols = ["run_id", "split", "group", "seed", "accuracy", "worst_group_accuracy"]
    cols += sorted(c for c in df.columns if c.startswith("epg.") and not c.startswith("epg.mask_stage_"))
    cols += [c for c in ("mask_area", "train_seconds") if c in df.columns]
    cols = [c for c in cols if c in df.columns]
    ordered = df.sort_values(["group", "seed", "run_id", "split"], kind="stable")
    rows = [[_fmt(v) for v in values] for values in ordered[cols].itertuples(index=False, name=None)]
    links = [rid in pictured for rid in ordered["run_id"]]
    rows = [r + ["on this page" if link else pictures_command(run)]
            for r, link, run in zip(rows, links, ordered[["path"]].to_dict("records"))]
    cols = cols + ["pictures"]
    text = [_is_text(i, rows) for i in range(len(cols))]
    data = {"columns": cols, "text": text, "rows": rows, "links": links, "split_col": cols.index("split"),
            "page_size": RUNS_PER_PAGE}
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    head = "".join(f"<th{_attr('class', 't' if text[i] else None)}>{E(h)}</th>" for i, h in enumerate(cols))
    return (f"<h2>Runs</h2><p>{df.run_id.nunique()} runs, one row per run and split, {RUNS_PER_PAGE} rows "
            "a page; a click on a column sorts all of them. Runs not pictured on this page: the last column "
            "is the command that draws their pictures.</p>"
            '<p class="pager"><button id="runs-prev" type="button">&lt; previous</button>'
            '<span id="runs-info"></span><button id="runs-next" type="button">next &gt;</button></p>'
            f'<table class="paged" id="runs"><thead><tr>{head}</tr></thead><tbody></tbody></table>'
            f'<script type="application/json" id="runs-data">{payload}</script>')


def problems_section(found):
    bad = [r for r in found if r.get("state") != "done"]
    if not bad:
        return "<h2>Runs not in the table</h2><p>None: every run is complete.</p>"
    header = ["state", "run", "detail", "last cause (sessions.jsonl)"]
    rows = [[r.get("state", "?"), r.get("path", "?"), r.get("detail", ""), r.get("cause", "")] for r in bad]
    return ("<h2 class=bad>Runs not in the table</h2><p>Failed, incomplete, running or unreadable "
            "runs, with the error of their last attempt (FAILED) and the session ledger's last cause.</p>"
            + table_html(header, rows, "problems"))


def nonfinite_section(found):
    """Complete runs whose weights or training loss went NaN or inf (train.stop_on_nan: false):
    in the table, but flagged, as aimrun report flags them."""
    flagged = [r for r in found if r.get("state") == "done" and r.get("nonfinite")]
    if not flagged:
        return ""
    rows = [[r.get("run_id", "?"), r.get("path", "?"), r.get("nonfinite", "")] for r in flagged]
    return ("<h2 class=bad>Runs that went non-finite</h2><p>Trained with train.stop_on_nan: false, their "
            "weights or training loss became NaN or inf: they are counted in the table (column "
            "<code>non-finite runs</code>), but their numbers are not a trained model's.</p>"
            + table_html(["run", "path", "what was not finite"], rows, "nonfinite"))


def differences(run, group_runs, keys):
    """The settings in which this run differs from the other runs of its group."""
    out = []
    others = group_runs[group_runs["run_id"] != run["run_id"]]
    for k in keys:
        mine = str(run.get(k))
        theirs = sorted({str(v) for v in others[k]}) if k in others else []
        if theirs and theirs != [mine]:
            out.append(f"{k}: {mine} (others: {', '.join(theirs)})")
    return out


def _pictures(folder):
    """The picture grids aimrun wrote into the run folder (<run>/pictures/*.png)."""
    pictures = os.path.join(folder, "pictures")
    if not os.path.isdir(pictures):
        return []
    return [os.path.join(pictures, n) for n in sorted(os.listdir(pictures))
            if n.endswith(".png") and not n.startswith(".")]


def _budget_pictures(folder):
    """The test split's picture grids (every grid when there is no test one): the other
    splits' are drawn by `aimrun pictures --split`."""
    pngs = _pictures(folder)
    test = [p for p in pngs if os.path.basename(p).startswith("test_")]
    return test or pngs


def run_detail(run, group_runs, config_keys):
    rid = run["run_id"]
    folder = os.path.dirname(run["path"])
    out = [f'<details id="run-{E(rid)}"><summary>{E(rid)}: {E(run["group"])}, seed {E(str(run.get("seed")))}'
           "</summary>"]
    diff = differences(run, group_runs, config_keys)
    out.append("<p><b>Differs from its group's other runs:</b> "
               + (E("; ".join(diff)) if diff else "in nothing (or it is alone)") + "</p>")
    try:
        samples = aimresults.load_samples(run["path"], "test")
        if "mask_confidence" in samples:
            cols = [c for c in ("index", "label", "pred", "group_name", "mask_confidence", "mask_margin",
                                "mask_agreement") if c in samples]
            low = samples.sort_values("mask_confidence", kind="stable").head(LEAST_CONFIDENT)
            out.append("<p><b>Least confident masks</b> (test split)</p>")
            out.append(table_html(cols, [[_fmt(r[c]) for c in cols] for _, r in low.iterrows()]))
        pngs = _pictures(folder)
        maps = {} if pngs else aimresults.load_maps(run["path"], "test", MAPS_PER_RUN)
        if maps.get("images") is not None and len(maps["images"]):
            out.append("<p><b>Kept maps</b> (result.h5, test split)</p>" + img(figure_uri(maps_figure(maps), 60), "maps"))
    except aimresults.ResultFileError as err:
        out.append(f"<p class=bad>{E(str(err))}</p>")
    for path in _budget_pictures(folder):
        name = os.path.basename(path)
        try:
            uri = picture_uri(path)
        except Exception as err:  # a damaged PNG: named, not embedded
            out.append(f"<p class=bad>{E(name)}: cannot be read ({E(str(err))})</p>")
            continue
        out.append(f"<p><b>{E(name)}</b> (pictures/, written by aimrun; downscaled)</p>" + img(uri, name))
    config = os.path.join(folder, "config.yaml")
    if os.path.isfile(config):
        with open(config, errors="replace") as fh:
            text = fh.read()
    else:
        text = "\n".join(f"{k}: {run.get(k)}" for k in config_keys)
    out.append("<p><b>Config</b></p><pre>" + E(text) + "</pre></details>")
    return "\n".join(out)


def _median_distance(runs):
    """Per run, how far its test accuracy (else its first split's) is from its group's median."""
    acc = runs.get("test_accuracy")
    if acc is None:
        acc = runs["accuracy"]
    acc = acc.astype(float)
    median = acc.groupby(runs["group"]).transform("median")
    return (acc - median).abs().fillna(float("inf"))


def pictured_runs(runs, budget=PICTURED_RUNS):
    """The run ids with pictures on the page: per group the run nearest its group's median
    test accuracy, then the next nearest of each group in turn while the budget lasts."""
    ranked = runs.assign(_d=_median_distance(runs)).sort_values(["_d", "run_id"])
    ranked["_rank"] = ranked.groupby("group").cumcount()
    ranked = ranked.sort_values(["_rank", "group", "_d", "run_id"])
    return list(ranked["run_id"][:budget])


def runs_section(runs, pictured):
    config_keys = sorted({k for ks in runs["identity_keys"] for k in ks.split()})
    out = ["<h2>Each run</h2>"]
    if len(pictured) < len(runs):
        out.append(f"<p>{len(pictured)} of {len(runs)} runs are pictured here (per group the run nearest its "
                   "group's median test accuracy, then the next nearest while the page's budget lasts). "
                   "The others' pictures: <code class=cmd>aimrun pictures --run RUN_FOLDER --least-confident "
                   f"{LEAST_CONFIDENT}</code> (each run's command is in the runs table's last column; "
                   "<code>--split val</code> for another split).</p>")
    chosen = runs[runs["run_id"].isin(set(pictured))]
    for n, (_, run) in enumerate(chosen.sort_values(["group", "seed"]).iterrows(), 1):
        print(f"report_html: run {n}/{len(chosen)} {run['run_id']}", file=sys.stderr, flush=True)
        out.append(run_detail(run, runs[runs["group"] == run["group"]], config_keys))
    return "\n".join(out)


# --------------------------------------------------------------------------- page

def make_page(folder, table_csv, runs_jsonl):
    header, rows = read_table(table_csv)
    found = read_runs(runs_jsonl)
    with warnings.catch_warnings():  # aimrun report has said which runs lack a valid summary
        warnings.simplefilter("ignore", aimresults.SummaryFallbackWarning)
        warnings.simplefilter("ignore", aimresults.NonFiniteRunWarning)  # nonfinite_section shows them
        df = aimresults.load(folder, [])
    body = [f"<h1>Results of {E(folder)}</h1>",
            f"<p>Written {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} by aimrun report --html; "
            f"{sum(r.get('state') == 'done' for r in found)} complete runs, "
            f"{sum(r.get('state') != 'done' for r in found)} not in the table.</p>"]
    splits = []
    if not df.empty:
        df["group"] = aimresults.group_labels(df)
        splits = sorted(df["split"].unique(), key=lambda s: (s != "test", s))
        body.append('<p>Split: <select id="split">' + "".join(
            f'<option value="{E(s)}">{E(s)}</option>' for s in splits) + "</select></p>")
    body.append(results_section(header, rows, splits))
    body.append(differences_section(header, rows, splits))
    body.append(problems_section(found))
    body.append(nonfinite_section(found))
    if not df.empty:
        runs = df.drop_duplicates("run_id").copy()
        test = df[df["split"] == "test"].drop_duplicates("run_id").set_index("run_id")["accuracy"]
        runs["test_accuracy"] = runs["run_id"].map(test)
        colors = plots.group_colors(df["group"])
        pictured = pictured_runs(runs)
        body.append(plots_section(runs, df, colors, splits))
        body.append(run_table_section(df, set(pictured)))
        body.append(runs_section(runs, pictured))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{E(os.path.basename(os.path.normpath(folder)))}: aimrun report</title>"
            '<link rel="icon" href="data:,">'
            f"<style>{STYLE}</style><script>{SCRIPT}</script></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--table", required=True, help="aimrun report --format csv output")
    parser.add_argument("--runs", required=True, help="the runs aimrun found, JSON lines")
    parser.add_argument("--out", required=True, help="the HTML file to write")
    args = parser.parse_args(argv)
    try:
        aimresults.write_atomically(args.out, make_page(args.folder, args.table, args.runs))
    except OSError as e:
        print(f"report_html.py: {e.filename}: {e.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
