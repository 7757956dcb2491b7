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

}  // namespace aim::results
