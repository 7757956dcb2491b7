#pragma once
// One table as Markdown (aligned columns), LaTeX (booktabs tabular) or CSV (a header row,
// then one line per row; cells holding a comma or quote are quoted).
#include <ostream>
#include <string>
#include <vector>

namespace aim::results {

using TableRows = std::vector<std::vector<std::string>>;

void write_table(const std::vector<std::string>& header, const TableRows& rows, const std::string& format,
                 std::ostream& out);

// `text` broken at spaces into lines of at most `width` code points (a longer word keeps its
// own line), each starting with `lead`; joined by '\n', no newline at the end. The prose
// under a table in a terminal.
std::string wrap_text(const std::string& text, size_t width, const std::string& lead = "");

}  // namespace aim::results
