#include "data/readers/ilsvrc_xml.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"

namespace aim::data::readers {

namespace {

// The text between <tag> and </tag> at or after `from` within [from, end), or npos. The
// files are machine-written VOC XML without attributes on these tags, so a tag search is
// exact enough and avoids an XML library dependency.
bool element(const std::string& xml, const std::string& tag, size_t from, size_t end, std::string& text,
             size_t& after) {
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  const size_t a = xml.find(open, from);
  if (a == std::string::npos || a >= end) return false;
  const size_t b = xml.find(close, a + open.size());
  if (b == std::string::npos || b > end) return false;
  text = xml.substr(a + open.size(), b - a - open.size());
  after = b + close.size();
  return true;
}

double number(const std::string& path, const std::string& tag, const std::string& text) {
  try {
    size_t used = 0;
    const std::string t = trim(text);
    const double v = std::stod(t, &used);
    if (used == t.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  throw DataError(path + ": expected a number in <" + tag + ">, got '" + text + "'");
}

}  // namespace

XmlBoxes read_ilsvrc_xml(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": file is missing or cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string xml = ss.str();
  if (xml.find("<annotation") == std::string::npos) throw DataError(path + ": not a VOC annotation (no <annotation>)");
  XmlBoxes out;
  std::string text;
  size_t after = 0;
  if (element(xml, "size", 0, xml.size(), text, after)) {
    std::string v;
    size_t a2;
    if (!element(text, "width", 0, text.size(), v, a2)) throw DataError(path + ": <size> without <width>");
    out.width = number(path, "width", v);
    if (!element(text, "height", 0, text.size(), v, a2)) throw DataError(path + ": <size> without <height>");
    out.height = number(path, "height", v);
  }
  size_t pos = 0;
  int k = 0;
  while (element(xml, "object", pos, xml.size(), text, after)) {
    pos = after;
    ++k;
    std::string box;
    size_t a2;
    if (!element(text, "bndbox", 0, text.size(), box, a2)) continue;  // an object without a box
    double v[4];
    const char* tags[4] = {"xmin", "ymin", "xmax", "ymax"};
    for (int i = 0; i < 4; ++i) {
      std::string t;
      size_t a3;
      if (!element(box, tags[i], 0, box.size(), t, a3))
        throw DataError(path + ": object " + std::to_string(k) + ": <bndbox> without <" + tags[i] + ">");
      v[i] = number(path, tags[i], t);
    }
    if (v[2] < v[0] || v[3] < v[1])
      throw DataError(path + ": object " + std::to_string(k) + ": xmax < xmin or ymax < ymin");
    // ILSVRC coordinates are pixel indices, both ends inclusive.
    out.boxes.push_back({v[0], v[1], v[2] - v[0] + 1, v[3] - v[1] + 1});
  }
  return out;
}

}  // namespace aim::data::readers
