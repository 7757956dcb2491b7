"""The Python side of tests/fault_log.h: record_fault(name, survived, lost) appends one
hostile case to the suite's fault log (AIM_FAULT_LOG), printed by tests/fault_summary.py."""
import os


def record_fault(name, survived, lost=0):
    path = os.environ.get("AIM_FAULT_LOG")
    if not path:
        return
    name = name.replace("\t", " ").replace("\n", " ")
    with open(path, "a") as f:
        f.write(f"{name}\t{1 if survived else 0}\t{int(lost)}\n")
