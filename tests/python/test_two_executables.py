"""aimrun and aimrun-torch (docs/architecture.md, "Two executables").

Run from CTest (python.two_executables) or by hand:

    AIMRUN=build/runner/aimrun /usr/bin/python3 -m unittest -v tests/python/test_two_executables.py

aimrun loads no libtorch, libc10, MPI, CUDA or NCCL (its ELF NEEDED entries, and the
libraries a running `aimrun --version` has mapped); a command that needs them runs in
aimrun-torch, exec'd with the same argv and PID, with its output and exit code; a missing
aimrun-torch is an error naming the path; `aimrun --help` lists what aimrun-torch's does.
A `train` whose config fails the checks train runs first is answered by aimrun itself, with
aimrun-torch's message and exit code, and never execs it; every other train is exec'd as before.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("AIM_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
AIMRUN = os.environ.get("AIMRUN", os.path.join(SOURCE_DIR, "build", "runner", "aimrun"))
TORCH = os.path.join(os.path.dirname(os.path.realpath(AIMRUN)), "aimrun-torch")
HEAVY = re.compile(r"lib(torch|c10|mpi|nccl|cudart|cuda|cublas|cudnn|gomp|open-pal|open-rte)")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)


def needed(path):
    out = run(["readelf", "-d", path]).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


class LightExecutable(unittest.TestCase):
    """What aimrun answers itself, as aimrun-torch (every command) would."""

    def test_needs_no_torch_mpi_cuda_or_nccl(self):
        libs = needed(AIMRUN)
        self.assertIn("libc.so.6", libs)  # readelf read the file
        self.assertEqual([l for l in libs if HEAVY.search(l)], [], libs)
        # The control: aimrun-torch does need libtorch, so the pattern finds what it is for.
        self.assertTrue([l for l in needed(TORCH) if re.match(r"libtorch|libc10", l)], needed(TORCH))

    def test_a_running_aimrun_maps_none_of_them(self):
        # `aimrun sweep --help` would exec aimrun-torch; `collect --help` runs in aimrun.
        # LD_DEBUG=libs lists every library the loader opens, indirect ones included.
        r = run([AIMRUN, "--version"], env=dict(os.environ, LD_DEBUG="libs"))
        self.assertEqual(r.returncode, 0, r.stderr)
        opened = set(re.findall(r"calling init: (\S+)", r.stderr))
        self.assertTrue(any("libc.so" in l for l in opened), r.stderr[-2000:])
        self.assertEqual([l for l in opened if HEAVY.search(os.path.basename(l))], [])

    def test_help_lists_every_command_as_aimrun_torch_does(self):
        light = run([AIMRUN, "--help"])
        # argv[0] "aimrun" for both: the usage line names it.
        torch = run(["bash", "-c", 'exec -a "$0" "$1" --help', AIMRUN, TORCH])
        self.assertEqual(light.returncode, 0, light.stderr)
        self.assertEqual((light.stdout, light.stderr, light.returncode), (torch.stdout, torch.stderr, torch.returncode))
        for command in ["train", "sweep", "report", "collect", "summarize", "evaluate", "predict", "pictures",
                        "model", "config"]:
            self.assertRegex(light.stdout, r"\n\s+" + command + r"\s")

    def test_version_and_misspelt_commands_are_answered_alike(self):
        quickstart = os.path.join(SOURCE_DIR, "experiments", "quickstart.yaml")
        for args in (["--version"], ["tarin", "x.yaml"], [], ["collect"], ["config"], ["config", "--markdown"],
                     ["sweep", "plan", quickstart], ["sweep", "plan", "missing.yaml"], ["sweep", "stauts"],
                     ["report", "--help"], ["sweep", "run", "--help"]):
            light = run([AIMRUN] + args)
            torch = run(["bash", "-c", 'exec -a "$0" "$@"', AIMRUN, TORCH] + args)
            self.assertEqual((light.stdout, light.stderr, light.returncode),
                             (torch.stdout, torch.stderr, torch.returncode), args)
        self.assertIn("did you mean 'train'", run([AIMRUN, "tarin", "x.yaml"]).stderr)


class TorchCommands(unittest.TestCase):
    def test_run_in_aimrun_torch_with_the_same_pid_output_and_exit_code(self):
        with tempfile.TemporaryDirectory() as d:
            missing = os.path.join(d, "missing.yaml")
            for args in (["train", missing], ["train", "--help"], ["model", missing], ["evaluate", "--run", d],
                         ["predict", "--help"], ["pictures", "--run", d]):
                light = run([AIMRUN] + args)
                torch = run(["bash", "-c", 'exec -a "$0" "$@"', AIMRUN, TORCH] + args)
                self.assertEqual((light.stdout, light.stderr, light.returncode),
                                 (torch.stdout, torch.stderr, torch.returncode), args)
            self.assertEqual(run([AIMRUN, "train", missing]).returncode, 2)
            self.assertIn("--run-dir", run([AIMRUN, "train", "--help"]).stdout)  # train's own options

    def test_pid_and_executable_of_a_torch_command(self):
        # A training run stays in the PID it was started with (mpirun, srun and Slurm's
        # signals reach it): its /proc/PID/exe is aimrun-torch once started.
        with tempfile.TemporaryDirectory() as d:
            cfg = os.path.join(d, "c.yaml")
            with open(cfg, "w") as f:
                f.write("dataset: {name: synthetic, train_size: 64, val_size: 16, image_size: 32, num_classes: 2}\n"
                        "train: {epochs: 50, batch_size: 8, log_every: 0}\nthreads: 1\neval: {pictures: 0}\noutput_dir: " + d + "\n")
            # The environment goes along (mpirun's and srun's variables, LD_PRELOAD): before,
            # an exec from .preinit_array passed libc's `environ`, still NULL there.
            env = dict(os.environ, AIMRUN_TWO_EXECUTABLES_MARK="kept-across-exec")
            p = subprocess.Popen([AIMRUN, "train", cfg, "--run-dir", os.path.join(d, "run")], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            exe, environ = "", b""
            for _ in range(400):
                try:
                    exe = os.readlink("/proc/%d/exe" % p.pid)
                    if exe.endswith("aimrun-torch"):
                        with open("/proc/%d/environ" % p.pid, "rb") as f:
                            environ = f.read()
                        break
                except OSError:
                    break
                subprocess.run(["sleep", "0.02"])
            p.send_signal(15)
            err = p.communicate(timeout=120)[1]
            self.assertTrue(exe.endswith("aimrun-torch"), exe)
            self.assertIn(b"AIMRUN_TWO_EXECUTABLES_MARK=kept-across-exec", environ.split(b"\0"))
            self.assertIn(b"PATH=" + os.environ["PATH"].encode(), environ.split(b"\0"))
            self.assertEqual(p.returncode, 75, err)  # a clean stop, as before

    def test_a_missing_aimrun_torch_is_an_error_naming_it(self):
        with tempfile.TemporaryDirectory() as d:
            alone = os.path.join(d, "aimrun")
            shutil.copy(AIMRUN, alone)
            r = run([alone, "train", os.path.join(d, "c.yaml")])
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(os.path.join(os.path.realpath(d), "aimrun-torch"), r.stderr)
            self.assertIn("No such file or directory", r.stderr)
            self.assertEqual(r.stdout, "")
            # What needs no torch still runs there: the schema, the datasets' layouts and the
            # sweeps are in aimrun itself.
            v = run([alone, "--version"])
            self.assertEqual(v.returncode, 0, v.stderr)
            self.assertEqual(v.stdout, run([AIMRUN, "--version"]).stdout)
            quickstart = os.path.join(SOURCE_DIR, "experiments", "quickstart.yaml")
            plan = run([alone, "sweep", "plan", quickstart], cwd=d)
            self.assertEqual(plan.returncode, 0, plan.stderr)
            self.assertIn("sweep quickstart: 6 runs", plan.stdout)
            self.assertEqual(run([alone, "config"]).stdout, run([AIMRUN, "config"]).stdout)


VALID = ("dataset: {name: synthetic, train_size: 64, val_size: 16, image_size: 32, num_classes: 2}\n"
         "train: {epochs: 1, batch_size: 8, log_every: 0}\nthreads: 1\neval: {pictures: 0}\n")

# Config errors of every kind aimrun finds before exec'ing aimrun-torch: (file name, text, the
# overrides, what the message names).
BAD_CONFIGS = [
    ("unknown_key.yaml", VALID + "trian:\n  epochs: 3\n", [], "unknown_key.yaml:6: trian.epochs: unknown key"),
    ("bad_value.yaml", VALID + "seed: -99999999999999999999\n", [], "bad_value.yaml:5: seed"),
    ("bad_boolean.yaml", "train:\n  stop_on_nan: maybe\n", [], "bad_boolean.yaml:2: train.stop_on_nan"),
    ("sweep.yaml", VALID + "sweep:\n  axes: {seed: [1, 2]}\n", [], "this file is a sweep"),
    ("include.yaml", "include: missing_base.yaml\n" + VALID, [], "include.yaml:1: include"),
    ("override.yaml", VALID, ["train.epochs=-3"], "command line (train.epochs=-3)"),
    ("world_size.yaml", VALID + "world_size: 2\n", [], "world_size"),
    ("batch.yaml", VALID, ["train.batch_size=1000"], "train.batch_size"),
    ("options.yaml", VALID + "trian: 1\n", ["--force", "--stop-after-epoch", "2", "--run-dir=run"],
     "options.yaml:5: trian: unknown key"),
]

STAND_IN = """#!/bin/sh
# stands in for aimrun-torch: records that it ran, its PID and its argv, one word a line
{ echo "pid $$"; for a in "$@"; do echo "arg $a"; done; } > "$0.ran"
exit 7
"""


class LightConfigCheck(unittest.TestCase):
    """A config error of `aimrun train` is found without loading libtorch (issue 34)."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = os.path.realpath(self.tmp.name)
        # aimrun beside a stand-in aimrun-torch, which says whether (and how) it was exec'd.
        self.aimrun = os.path.join(self.d, "aimrun")
        shutil.copy(AIMRUN, self.aimrun)
        self.stand_in = os.path.join(self.d, "aimrun-torch")
        with open(self.stand_in, "w") as f:
            f.write(STAND_IN)
        os.chmod(self.stand_in, 0o755)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        path = os.path.join(self.d, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def stand_in_ran(self):
        """The stand-in's record (pid, argv), or None when it was not run; cleared."""
        record = self.stand_in + ".ran"
        if not os.path.exists(record):
            return None
        with open(record) as f:
            lines = f.read().splitlines()
        os.remove(record)
        return int(lines[0].split()[1]), [l[4:] for l in lines[1:]]

    def test_a_config_error_is_aimrun_torchs_message_without_exec(self):
        for name, text, overrides, names in BAD_CONFIGS:
            path = self.write(name, text)
            args = ["train", path] + overrides
            r = run([self.aimrun] + args, cwd=self.d)
            self.assertIsNone(self.stand_in_ran(), (name, "aimrun-torch was exec'd", r.stderr))
            self.assertEqual(r.returncode, 2, (name, r.stderr))
            self.assertIn(names, r.stderr, name)
            self.assertEqual(r.stdout, "", name)
            # Byte for byte what aimrun-torch itself says, and through the built aimrun.
            torch = run(["bash", "-c", 'exec -a "$0" "$@"', AIMRUN, TORCH] + args, cwd=self.d)
            self.assertEqual((r.stdout, r.stderr, r.returncode), (torch.stdout, torch.stderr, torch.returncode), name)
            built = run([AIMRUN] + args, cwd=self.d)
            self.assertEqual((built.stdout, built.stderr, built.returncode), (torch.stdout, torch.stderr, 2), name)

    def test_a_valid_config_is_exec_d_with_the_same_pid_and_argv(self):
        path = self.write("good.yaml", VALID)
        for extra in ([], ["train.epochs=2", "seed=3"], ["--run-dir", os.path.join(self.d, "run"), "--force"],
                      ["--stop-after-epoch=1", "--restart", "eval.pictures=0"]):
            args = ["train", path] + extra
            p = subprocess.Popen([self.aimrun] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 7, (extra, err))  # the stand-in's exit code
            self.assertEqual((out, err), ("", ""), extra)    # aimrun itself said nothing
            self.assertEqual(self.stand_in_ran(), (p.pid, args), extra)

    def test_what_aimrun_cannot_judge_is_left_to_aimrun_torch(self):
        bad = self.write("bad.yaml", VALID + "trian: 1\n")
        cases = [
            (["train", os.path.join(self.d, "missing.yaml")], {}),  # CLI11's error: aimrun-torch's app
            (["train", bad, "--help"], {}),
            (["train", bad, "--no-such-option"], {}),
            (["train", bad, "--stop-after-epoch", "-1"], {}),
            (["train", bad, "evaluate"], {}),  # a command's name: aimrun-torch's app may read it so
            (["train", self.d], {}),           # a folder
            (["train", bad], {"OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0"}),  # one of several ranks
            (["train", bad], {"SLURM_STEP_NUM_TASKS": "2", "SLURM_PROCID": "1"}),
        ]
        for args, env in cases:
            r = run([self.aimrun] + args, env=dict(os.environ, **env))
            self.assertEqual(r.returncode, 7, (args, env, r.stderr))
            ran = self.stand_in_ran()
            self.assertIsNotNone(ran, (args, env))
            self.assertEqual(ran[1], args, (args, env))
        # The control: the same bad config alone is answered by aimrun.
        r = run([self.aimrun, "train", bad])
        self.assertEqual((r.returncode, self.stand_in_ran()), (2, None), r.stderr)
        self.assertIn("bad.yaml:5: trian", r.stderr)


if __name__ == "__main__":
    unittest.main()
