#pragma once
// ILSVRC localisation annotations (PASCAL VOC XML): the image size and every object's box.
#include <string>
#include <vector>

#include "data/images/sample.h"

namespace aim::data::readers {

struct XmlBoxes {
  double width = 0, height = 0;  // <size>, 0 when absent
  std::vector<Box> boxes;
};

// Parses one annotation file; malformed content is an aim::DataError naming the file.
XmlBoxes read_ilsvrc_xml(const std::string& path);

}  // namespace aim::data::readers
