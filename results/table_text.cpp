#include "results/table_text.h"

#include <algorithm>

#include "core/strings.h"

namespace aim::results {

namespace {

// Escapes LaTeX's special characters outside $...$ (cells may hold math such as $\pm$).
std::string latex_escape(const std::string& s) {
  std::string o;
  bool math = false;
  for (char c : s) {
    if (c == '$') math = !math;
    bool special = !math && (c == '_' || c == '%' || c == '&' || c == '#');
    o += special ? std::string("\\") + c : std::string(1, c);
  }
  return o;
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

size_t display_width(const std::string& s) {  // UTF-8 code points
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void write_markdown(const std::vector<std::string>& header, const TableRows& rows, std::ostream& out) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = display_width(header[i]);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], display_width(r[i]));
  auto line = [&](const std::vector<std::string>& r) {
    out << "|";
    for (size_t i = 0; i < r.size(); ++i) out << " " << r[i] << std::string(width[i] - display_width(r[i]), ' ') << " |";
    out << "\n";
  };
  line(header);
  out << "|";
  for (size_t i = 0; i < header.size(); ++i) out << std::string(width[i] + 2, '-') << "|";
  out << "\n";
  for (const auto& r : rows) line(r);
}

}  // namespace

void write_table(const std::vector<std::string>& header, const TableRows& rows, const std::string& format,
                 std::ostream& out) {
  if (format == "csv") {
    std::vector<std::string> h;
    for (const auto& x : header) h.push_back(csv_cell(x));
    out << join(h, ",") << "\n";
    for (const auto& r : rows) {
      std::vector<std::string> e;
      for (const auto& x : r) e.push_back(csv_cell(x));
      out << join(e, ",") << "\n";
    }
  } else if (format == "latex") {
    out << "\\begin{tabular}{" << std::string(header.size(), 'l') << "}\n\\toprule\n";
    std::vector<std::string> h;
    for (const auto& x : header) h.push_back(latex_escape(x));
    out << join(h, " & ") << " \\\\\n\\midrule\n";
    for (const auto& r : rows) {
      std::vector<std::string> e;
      for (const auto& x : r) e.push_back(latex_escape(x));
      out << join(e, " & ") << " \\\\\n";
    }
    out << "\\bottomrule\n\\end{tabular}\n";
  } else {
    write_markdown(header, rows, out);
  }
}

std::string wrap_text(const std::string& text, size_t width, const std::string& lead) {
  std::string out, line;
  auto flush = [&] { out += (out.empty() ? "" : "\n") + lead + line; };
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    if (!line.empty() && display_width(lead + line + " " + word) > width) flush(), line.clear();
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty() || out.empty()) flush();
  return out;
}

}  // namespace aim::results
