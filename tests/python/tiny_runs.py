"""What the Python tests share: where aimrun and the scripts are, and tiny runs trained with it.

AIMRUN and AIM_SOURCE_DIR come from the environment (CTest sets them), else this checkout's
build folder.
"""
import os
import re
import subprocess
import tempfile

SOURCE_DIR = os.path.abspath(os.environ.get(
    "AIM_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")))
AIMRUN = os.environ.get("AIMRUN", os.path.join(SOURCE_DIR, "build", "runner", "aimrun"))
SCRIPTS = os.path.join(SOURCE_DIR, "scripts")


def train(config, out_dir, *overrides):
    """Runs `aimrun train` on one thread and returns the result file it reports."""
    cmd = [AIMRUN, "train", config, f"output_dir={out_dir}", "threads=1", *overrides]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    m = re.search(r"complete: (\S+/result\.h5)", proc.stdout + proc.stderr)
    if not m:
        raise RuntimeError(f"no result path in the output of {' '.join(cmd)}:\n{proc.stdout}{proc.stderr}")
    return m.group(1)


def new_folder(prefix, config_text):
    """A new temporary folder holding `config_text` as tiny.yaml, for runs trained with it:
    (the folder, the config's path, the override that keeps the dataset cache in it)."""
    if not os.access(AIMRUN, os.X_OK):
        raise RuntimeError(f"aimrun binary not found at {AIMRUN} (set AIMRUN)")
    tmp = tempfile.mkdtemp(prefix=prefix)
    config = os.path.join(tmp, "tiny.yaml")
    with open(config, "w") as fh:
        fh.write(config_text)
    return tmp, config, f"dataset.cache_dir={os.path.join(tmp, 'cache')}"
