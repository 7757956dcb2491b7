#pragma once
// aimrun report DIR --html OUT.html: one self-contained page (docs/results-python.md, "The
// HTML report"). The numbers are the ones `--format csv` prints, handed to
// scripts/report_html.py with the runs found here; the script adds plots and per-run
// details from the result files and writes OUT.html atomically.
#include <string>
#include <vector>

#include "results/report.h"

namespace aim::cli {

// Where the page generator is: $AIMRUN_SCRIPTS/report_html.py, else
// <aimrun>/../share/aimrun/report_html.py (an installed aimrun), else the source tree's
// scripts/report_html.py. Throws aim::Error naming the places looked at.
std::string find_report_script();
// The Python to run it with: $AIMRUN_PYTHON, else /usr/bin/python3, else python3 on PATH.
std::string find_python();

// Writes the page (`out_html` checked by the caller: check_output_file); returns true when
// the report is complete (as write_report does).
bool write_html_report(const std::string& dir, const std::vector<results::FoundRun>& runs,
                       results::ReportOptions options, const std::string& out_html);

}  // namespace aim::cli
