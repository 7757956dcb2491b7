#include "data/builtin/places.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <stdexcept>

namespace aim::data {

namespace {

const std::array<std::string, kNumPlaceFamilies> kNames = {
    "meadow", "sea",    "brick",  "desert", "forest", "sky",    "checker", "dots", "concrete",
    "rings",  "stripes", "marble", "gravel", "plaid",  "snow",   "zigzag",  "lava", "grid"};

cv::Vec3f jitter(Rng& rng, cv::Vec3f c, float amount) {
  for (int i = 0; i < 3; ++i) c[i] = std::clamp(c[i] + float(rng.uniform(-amount, amount)), 0.f, 255.f);
  return c;
}

// Smooth noise in [0,1]: a coarse random grid upsampled bicubically.
cv::Mat smooth_noise(Rng& rng, int h, int w, int cells) {
  cv::Mat grid(cells, cells, CV_32F);
  for (int y = 0; y < cells; ++y)
    for (int x = 0; x < cells; ++x) grid.at<float>(y, x) = float(rng.uniform());
  cv::Mat out;
  cv::resize(grid, out, cv::Size(w, h), 0, 0, cv::INTER_CUBIC);
  return out;
}

void fill(cv::Mat& out, const std::function<cv::Vec3f(int, int)>& colour) {
  for (int y = 0; y < out.rows; ++y) {
    auto* row = out.ptr<cv::Vec3b>(y);
    for (int x = 0; x < out.cols; ++x) {
      cv::Vec3f c = colour(y, x);
      for (int i = 0; i < 3; ++i) row[x][i] = cv::saturate_cast<uint8_t>(c[i]);
    }
  }
}

}  // namespace

const std::string& place_name(int family) {
  if (family < 0 || family >= kNumPlaceFamilies) throw std::out_of_range("place family");
  return kNames[family];
}

namespace {

// meadow: green with darker and yellower patches
void draw_meadow(Rng& rng, cv::Mat& out, int h, int w, float /*s*/) {
  cv::Vec3f base = jitter(rng, {70, 150, 55}, 15);
  cv::Mat blobs = smooth_noise(rng, h, w, 5);
  cv::Mat grain = smooth_noise(rng, h, w, std::max(8, w / 3));
  fill(out, [&](int y, int x) {
    float b = blobs.at<float>(y, x), g = grain.at<float>(y, x);
    return cv::Vec3f(base[0] + 50 * (b - 0.5f), base[1] + 40 * (b - 0.5f) + 25 * (g - 0.5f), base[2] - 20 * (b - 0.5f));
  });
}

// sea: blue horizontal waves
void draw_sea(Rng& rng, cv::Mat& out, int /*h*/, int /*w*/, float s) {
  cv::Vec3f base = jitter(rng, {35, 85, 175}, 15);
  float period = float(rng.uniform(7, 13)) * s, phase = float(rng.uniform(0, 2 * M_PI));
  float wobble = float(rng.uniform(0.5, 2.0)), wperiod = float(rng.uniform(20, 40)) * s;
  fill(out, [&](int y, int x) {
    float v = std::sin(2 * float(M_PI) * y / period + phase + wobble * std::sin(2 * float(M_PI) * x / wperiod));
    return cv::Vec3f(base[0] + 20 * v, base[1] + 30 * v, base[2] + 40 * v);
  });
}

// brick: red-brown bricks with light mortar
void draw_brick(Rng& rng, cv::Mat& out, int /*h*/, int /*w*/, float s) {
  cv::Vec3f brick = jitter(rng, {165, 70, 45}, 20), mortar = jitter(rng, {200, 190, 175}, 15);
  int bh = int(rng.uniform(6, 10) * s), bw = int(rng.uniform(12, 20) * s);
  int ox = int(rng.below(bw)), oy = int(rng.below(bh));
  fill(out, [&](int y, int x) {
    int row = (y + oy) / bh;
    int xx = x + ox + (row % 2) * bw / 2;
    bool m = (y + oy) % bh == 0 || xx % bw == 0;
    return m ? mortar : brick;
  });
}

// desert: sand with diagonal ripples
void draw_desert(Rng& rng, cv::Mat& out, int h, int w, float s) {
  cv::Vec3f base = jitter(rng, {215, 185, 125}, 15);
  float period = float(rng.uniform(5, 9)) * s, phase = float(rng.uniform(0, 2 * M_PI));
  float slope = float(rng.uniform(0.3, 1.0));
  cv::Mat grain = smooth_noise(rng, h, w, std::max(8, w / 2));
  fill(out, [&](int y, int x) {
    float v = std::sin(2 * float(M_PI) * (x + slope * y) / period + phase);
    float g = grain.at<float>(y, x) - 0.5f;
    return cv::Vec3f(base[0] + 20 * v + 15 * g, base[1] + 18 * v + 15 * g, base[2] + 10 * v);
  });
}

// forest: dark green with vertical brown trunks
void draw_forest(Rng& rng, cv::Mat& out, int h, int w, float s) {
  cv::Vec3f leaf = jitter(rng, {25, 80, 35}, 12), trunk = jitter(rng, {95, 65, 35}, 15);
  cv::Mat shade = smooth_noise(rng, h, w, 6);
  std::vector<std::pair<int, int>> trunks;
  int n = 3 + int(rng.below(4));
  for (int i = 0; i < n; ++i) trunks.push_back({int(rng.below(w)), int((2 + rng.below(4)) * s)});
  fill(out, [&](int y, int x) {
    for (auto [tx, tw] : trunks)
      if (x >= tx && x < tx + tw) return trunk;
    float v = shade.at<float>(y, x) - 0.5f;
    return cv::Vec3f(leaf[0] + 30 * v, leaf[1] + 50 * v, leaf[2] + 30 * v);
  });
}

// sky: light blue gradient with white clouds
void draw_sky(Rng& rng, cv::Mat& out, int h, int w, float /*s*/) {
  cv::Vec3f top = jitter(rng, {110, 165, 235}, 15), bottom = jitter(rng, {200, 225, 250}, 10);
  cv::Mat clouds = smooth_noise(rng, h, w, 4);
  float thresh = float(rng.uniform(0.55, 0.7));
  fill(out, [&](int y, int x) {
    float t = float(y) / std::max(1, h - 1);
    cv::Vec3f c = top * (1 - t) + bottom * t;
    float cl = clouds.at<float>(y, x);
    if (cl > thresh) c = c * 0.3f + cv::Vec3f(250, 250, 250) * 0.7f;
    return c;
  });
}

// checker: purple and grey squares
void draw_checker(Rng& rng, cv::Mat& out, int /*h*/, int /*w*/, float s) {
  cv::Vec3f a = jitter(rng, {120, 60, 150}, 20), b = jitter(rng, {175, 170, 185}, 15);
  int cell = int(rng.uniform(5, 11) * s);
  int ox = int(rng.below(cell)), oy = int(rng.below(cell));
  fill(out, [&](int y, int x) { return (((x + ox) / cell + (y + oy) / cell) % 2) ? a : b; });
}

// dots: orange with dark polka dots
void draw_dots(Rng& rng, cv::Mat& out, int /*h*/, int /*w*/, float s) {
  cv::Vec3f base = jitter(rng, {235, 140, 40}, 15), dot = jitter(rng, {120, 50, 20}, 15);
  float spacing = float(rng.uniform(8, 13)) * s, radius = spacing * float(rng.uniform(0.2, 0.35));
  float ox = float(rng.uniform(0, spacing)), oy = float(rng.uniform(0, spacing));
  fill(out, [&](int y, int x) {
    float dx = std::fmod(x + ox, spacing) - spacing / 2, dy = std::fmod(y + oy, spacing) - spacing / 2;
    return dx * dx + dy * dy < radius * radius ? dot : base;
  });
}

// concrete: grey with fine grain and dark cracks
void draw_concrete(Rng& rng, cv::Mat& out, int h, int w, float s) {
  float grey = float(rng.uniform(110, 150));
  cv::Mat grain = smooth_noise(rng, h, w, std::max(16, w / 2));
  fill(out, [&](int y, int x) {
    float g = grey + 60 * (grain.at<float>(y, x) - 0.5f);
    return cv::Vec3f(g, g, g * 1.02f);
  });
  int cracks = 1 + int(rng.below(3));
  for (int i = 0; i < cracks; ++i) {
    cv::Point p0(int(rng.below(w)), int(rng.below(h))), p1(int(rng.below(w)), int(rng.below(h)));
    cv::line(out, p0, p1, cv::Scalar(60, 60, 60), std::max(1, int(s)));
  }
}

// rings: teal concentric circles
void draw_rings(Rng& rng, cv::Mat& out, int h, int w, float s) {
  cv::Vec3f a = jitter(rng, {30, 150, 150}, 15), b = jitter(rng, {180, 230, 220}, 15);
  float cx = float(rng.uniform(0, w)), cy = float(rng.uniform(0, h));
  float period = float(rng.uniform(6, 11)) * s;
  fill(out, [&](int y, int x) {
    float r = std::hypot(x - cx, y - cy);
    float v = 0.5f + 0.5f * std::sin(2 * float(M_PI) * r / period);
    return a * v + b * (1 - v);
  });
}

// stripes: yellow and navy diagonal stripes
void draw_stripes(Rng& rng, cv::Mat& out, int /*h*/, int w, float s) {
  cv::Vec3f a = jitter(rng, {225, 200, 60}, 15), b = jitter(rng, {40, 45, 100}, 15);
  float period = float(rng.uniform(8, 14)) * s, phase = float(rng.uniform(0, period));
  float dir = rng.bernoulli(0.5) ? 1.f : -1.f;
  fill(out, [&](int y, int x) { return std::fmod(x + dir * y + phase + 4 * w, period) < period / 2 ? a : b; });
}

// marble: white with grey veins
void draw_marble(Rng& rng, cv::Mat& out, int h, int w, float s) {
  cv::Vec3f base = jitter(rng, {230, 228, 220}, 10);
  cv::Mat noise = smooth_noise(rng, h, w, 4);
  float freq = float(rng.uniform(0.08, 0.16)) / s, turb = float(rng.uniform(6, 10));
  fill(out, [&](int y, int x) {
    float v = std::abs(std::sin(freq * (x + y) + turb * noise.at<float>(y, x)));
    float d = 120 * std::pow(1 - v, 6.f);
    return cv::Vec3f(base[0] - d, base[1] - d, base[2] - 0.9f * d);
  });
}

// gravel: brown-grey pebbles on dark soil
void draw_gravel(Rng& rng, cv::Mat& out, int h, int w, float s) {
  cv::Vec3f soil = jitter(rng, {70, 60, 50}, 10);
  out.setTo(cv::Scalar(soil[0], soil[1], soil[2]));
  int n = int(w * h / (30 * s * s)) + int(rng.below(20));
  for (int i = 0; i < n; ++i) {
    cv::Vec3f c = jitter(rng, {150, 135, 115}, 35);
    int r = std::max(1, int(rng.uniform(1.5, 3.5) * s));
    cv::circle(out, cv::Point(int(rng.below(w)), int(rng.below(h))), r, cv::Scalar(c[0], c[1], c[2]), cv::FILLED);
  }
}

// plaid: red tartan with dark green bands
void draw_plaid(Rng& rng, cv::Mat& out, int /*h*/, int /*w*/, float s) {
  cv::Vec3f base = jitter(rng, {175, 35, 40}, 15), band = jitter(rng, {25, 75, 40}, 12);
  int period = std::max(4, int(rng.uniform(12, 20) * s)), width = std::max(2, period / 3);
  int ox = int(rng.below(period)), oy = int(rng.below(period));
  fill(out, [&](int y, int x) {
    bool bx = (x + ox) % period < width, by = (y + oy) % period < width;
    return bx && by ? band * 0.7f : (bx || by ? base * 0.5f + band * 0.5f : base);
  });
}

// snow: white with blue-grey speckles
void draw_snow(Rng& rng, cv::Mat& out, int h, int w, float /*s*/) {
  float t = float(rng.uniform(230, 250));
  cv::Mat drift = smooth_noise(rng, h, w, 5), speck = smooth_noise(rng, h, w, std::max(16, w));
  fill(out, [&](int y, int x) {
    float d = 25 * drift.at<float>(y, x), sp = speck.at<float>(y, x) > 0.8f ? 60.f : 0.f;
    return cv::Vec3f(t - d - sp, t - d - 0.8f * sp, t - 0.3f * d - 0.3f * sp);
  });
}

// zigzag: pink and white chevrons
void draw_zigzag(Rng& rng, cv::Mat& out, int /*h*/, int /*w*/, float s) {
  cv::Vec3f a = jitter(rng, {230, 110, 170}, 15), b = jitter(rng, {245, 235, 240}, 8);
  float period = float(rng.uniform(8, 13)) * s, tooth = float(rng.uniform(6, 12)) * s;
  float oy = float(rng.uniform(0, period));
  fill(out, [&](int y, int x) {
    float zig = std::abs(std::fmod(float(x), 2 * tooth) - tooth);
    return std::fmod(y + zig + oy, period) < period / 2 ? a : b;
  });
}

// lava: dark red crust with glowing orange cracks
void draw_lava(Rng& rng, cv::Mat& out, int h, int w, float /*s*/) {
  cv::Vec3f crust = jitter(rng, {70, 20, 15}, 10), glow = jitter(rng, {255, 150, 30}, 15);
  cv::Mat noise = smooth_noise(rng, h, w, 6);
  float level = float(rng.uniform(0.4, 0.6));
  fill(out, [&](int y, int x) {
    float v = std::max(0.f, 1 - std::abs(noise.at<float>(y, x) - level) * 12);
    return crust * (1 - v) + glow * v;
  });
}

// grid: thin cyan lines on black
void draw_grid(Rng& rng, cv::Mat& out, int /*h*/, int /*w*/, float s) {
  cv::Vec3f line = jitter(rng, {40, 220, 230}, 15);
  float dark = float(rng.uniform(5, 30));
  int cell = std::max(3, int(rng.uniform(6, 10) * s));
  int ox = int(rng.below(cell)), oy = int(rng.below(cell));
  fill(out, [&](int y, int x) {
    return (x + ox) % cell == 0 || (y + oy) % cell == 0 ? line : cv::Vec3f(dark, dark, dark + 10);
  });
}

using DrawPlace = void (*)(Rng&, cv::Mat&, int, int, float);
const std::array<DrawPlace, kNumPlaceFamilies> kDraw = {
    draw_meadow, draw_sea,     draw_brick,  draw_desert, draw_forest, draw_sky,  draw_checker, draw_dots, draw_concrete,
    draw_rings,  draw_stripes, draw_marble, draw_gravel, draw_plaid,  draw_snow, draw_zigzag,  draw_lava, draw_grid,
};

}  // namespace

void draw_place(int family, Rng& rng, cv::Mat& out) {
  if (family < 0 || family >= kNumPlaceFamilies) throw std::out_of_range("place family " + std::to_string(family));
  const int h = out.rows, w = out.cols;
  const float s = float(std::max(h, w)) / 64.f;  // pattern sizes scale with the canvas
  kDraw[family](rng, out, h, w, s);
}

}  // namespace aim::data
