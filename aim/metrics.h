#pragma once
// Metrics computed from tensors: the Energy Pointing Game and the mask confidence.
#include <ATen/core/Tensor.h>

#include <vector>

namespace aim::model {

// Energy Pointing Game (Wang et al. 2020, Score-CAM), per sample: the attribution map is
// resized to the ground truth's size (bilinear, half-pixel centres: align_corners=False),
// its positive part taken, and EPG = energy inside the region / total energy; 0 when the
// total is below `eps` (an empty map points nowhere).
//   maps: [B,h,w] float, any resolution; regions: [B,H,W], nonzero = inside. Returns [B] double.
at::Tensor energy_pointing_game(const at::Tensor& maps, const at::Tensor& regions, double eps = 1e-12);

// How far the keep/drop probabilities are from a coin flip, per sample: the mean over every
// location of every mask of |2 p_keep - 1|, in [0, 1] (1: every decision certain).
//   mask_logits: [B,2,h,w] per masked stage. Returns [B] float.
at::Tensor mask_margin(const std::vector<at::Tensor>& mask_logits);

// Intersection over union of two binary masks per sample ([B,...]); 1 when both are empty.
at::Tensor mask_iou(const at::Tensor& a, const at::Tensor& b);

}  // namespace aim::model
