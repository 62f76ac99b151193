#include <doctest/doctest.h>

#include <cctype>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/train/metrics_log.hpp"
#include "r1/train/plot.hpp"
#include "scratch_dir.hpp"

namespace {

// A small XML checker: every tag closes in order, attributes are name="value",
// text and values hold no raw '<' and only the five predefined entities; one
// root element. Returns "" when well-formed.
std::string xml_error(const std::string& document) {
  std::size_t at = 0;
  if (document.rfind("<?xml", 0) == 0) {
    at = document.find("?>");
    if (at == std::string::npos) return "unterminated prolog";
    at += 2;
  }
  const auto entity_ok = [&](std::size_t amp) {
    for (const char* entity : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"}) {
      if (document.compare(amp, std::char_traits<char>::length(entity), entity) == 0) return true;
    }
    return false;
  };
  const auto is_name_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':'; };
  std::vector<std::string> open;
  int roots = 0;
  while (at < document.size()) {
    if (document[at] != '<') {
      if (document[at] == '&' && !entity_ok(at)) return "bad entity in text at " + std::to_string(at);
      if (document[at] == '>') return "raw '>' in text at " + std::to_string(at);
      if (open.empty() && !std::isspace(static_cast<unsigned char>(document[at]))) return "text outside the root";
      ++at;
      continue;
    }
    ++at;
    const bool closing = at < document.size() && document[at] == '/';
    if (closing) ++at;
    const std::size_t name_start = at;
    while (at < document.size() && is_name_char(document[at])) ++at;
    const std::string name = document.substr(name_start, at - name_start);
    if (name.empty()) return "empty tag name at " + std::to_string(name_start);
    if (closing) {
      if (open.empty() || open.back() != name) return "</" + name + "> does not close the open element";
      open.pop_back();
      if (at >= document.size() || document[at] != '>') return "bad closing tag " + name;
      ++at;
      continue;
    }
    bool self_closing = false;
    while (true) {
      while (at < document.size() && std::isspace(static_cast<unsigned char>(document[at]))) ++at;
      if (at >= document.size()) return "unterminated tag " + name;
      if (document[at] == '>') {
        ++at;
        break;
      }
      if (document[at] == '/') {
        if (at + 1 >= document.size() || document[at + 1] != '>') return "bad '/' in tag " + name;
        at += 2;
        self_closing = true;
        break;
      }
      const std::size_t attribute_start = at;
      while (at < document.size() && is_name_char(document[at])) ++at;
      if (at == attribute_start) return "bad attribute in tag " + name + " at " + std::to_string(at);
      if (document.compare(at, 2, "=\"") != 0) return "attribute without =\"value\" in tag " + name;
      at += 2;
      while (at < document.size() && document[at] != '"') {
        if (document[at] == '<') return "raw '<' in an attribute of " + name;
        if (document[at] == '&' && !entity_ok(at)) return "bad entity in an attribute of " + name;
        ++at;
      }
      if (at >= document.size()) return "unterminated attribute in " + name;
      ++at;
    }
    if (open.empty()) ++roots;
    if (!self_closing) open.push_back(name);
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  if (roots != 1) return "expected one root element, found " + std::to_string(roots);
  return "";
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

}  // namespace

TEST_CASE("the XML checker itself rejects malformed documents") {
  CHECK(xml_error("<svg><g></g></svg>") == "");
  CHECK(xml_error("<svg><g></svg>") != "");
  CHECK(xml_error("<svg a=\"1\"/><svg/>") != "");
  CHECK(xml_error("<svg>a & b</svg>") != "");
  CHECK(xml_error("<svg a=\"<\"/>") != "");
  CHECK(xml_error("<svg a=1/>") != "");
}

TEST_CASE("nice axes (Heckbert 1990), worked by hand") {
  // [0, 0.87]: range nicenum(0.87, loose) = 1; step nicenum(1/4 = 0.25, round) = 0.2; 0..1.
  const auto unit = r1::nice_axis(0.0, 0.87, 5);
  CHECK(unit.step == doctest::Approx(0.2));
  CHECK(unit.min == 0.0);
  CHECK(unit.max == doctest::Approx(1.0));
  CHECK(unit.ticks.size() == 6);
  // [3, 117]: range nicenum(114) = 200; step nicenum(50) = 50; floor(3/50)*50 = 0, ceil(117/50)*50 = 150.
  const auto lengths = r1::nice_axis(3.0, 117.0, 5);
  CHECK(lengths.step == 50.0);
  CHECK(lengths.min == 0.0);
  CHECK(lengths.max == 150.0);
  CHECK(lengths.ticks == std::vector<double>{0.0, 50.0, 100.0, 150.0});
  // One value 5: window [4.5, 5.5]; range 1, step nicenum(0.25) = 0.2; 4.4..5.6, 7 ticks.
  const auto flat = r1::nice_axis(5.0, 5.0, 5);
  CHECK(flat.step == doctest::Approx(0.2));
  CHECK(flat.min == doctest::Approx(4.4));
  CHECK(flat.max == doctest::Approx(5.6));
  CHECK(flat.ticks.size() == 7);
  CHECK(r1::tick_label(0.4, 0.2) == "0.4");
  CHECK(r1::tick_label(100.0, 50.0) == "100");
  CHECK(r1::tick_label(0.05, 0.05) == "0.05");
  CHECK_THROWS_AS(r1::nice_axis(2.0, 1.0), r1::Error);
  CHECK_THROWS_AS(r1::nice_axis(0.0, std::numeric_limits<double>::infinity()), r1::Error);
}

TEST_CASE("SVG plot: well-formed, every series drawn where expected, gaps and names handled") {
  r1::PlotSeries line{"reward", {0.0, 50.0, 100.0}, {0.0, 0.5, 1.0}};
  r1::PlotSeries gapped{"a<b & \"c\"", {0, 10, 20, 30, 40, 50}, {0.1, 0.2, std::nan(""), 0.4, 0.5, 0.6}};
  r1::PlotSeries lone{"eval", {60.0}, {0.7}};
  r1::PlotPanel top{"reward", "score", {line, gapped, lone}, 0.0, std::nullopt};
  r1::PlotPanel bottom{"length", "tokens", {{"mean length", {0, 100}, {3, 117}}}, std::nullopt, std::nullopt};
  r1::PlotPanel empty{"nothing yet", "", {}, std::nullopt, std::nullopt};
  const std::string svg = r1::render_svg_plot({top, bottom, empty}, {});

  INFO(svg);
  CHECK(xml_error(svg) == "");
  CHECK(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"840\"") != std::string::npos);
  // Geometry by hand (no title): plot area x 70..730 (900 - 70 - 170 = 660 wide), first panel
  // y 30..235 (280 - 30 - 45 = 205 high); x axis 0..100, y axis 0..1 (nice_axis(0, 1)).
  // (0,0) -> (70, 235); (50, 0.5) -> (70 + 330, 235 - 102.5); (100, 1) -> (730, 30).
  CHECK(svg.find("points=\"70.00,235.00 400.00,132.50 730.00,30.00\"") != std::string::npos);
  // The NaN splits the gapped series in two polylines (2 and 3 points); the lone point is a dot.
  CHECK(count_of(svg, "<polyline") == 4);
  CHECK(count_of(svg, "<circle") == 1);
  CHECK(svg.find("data-name=\"a&lt;b &amp; &quot;c&quot;\"") != std::string::npos);
  CHECK(svg.find(">a&lt;b &amp; &quot;c&quot;</text>") != std::string::npos);  // legend
  for (const char* name : {">reward</text>", ">eval</text>", ">mean length</text>", ">tokens</text>", ">step</text>",
                           ">no data</text>", ">150</text>"}) {
    CHECK(svg.find(name) != std::string::npos);
  }

  r1::PlotPanel mismatched{"bad", "", {{"x", {1, 2}, {1}}}, std::nullopt, std::nullopt};
  CHECK_THROWS_WITH_AS(r1::render_svg_plot({mismatched}), doctest::Contains("series 'x' has 2 x values and 1 y values"),
                       r1::Error);
  CHECK_THROWS_AS(r1::render_svg_plot({}), r1::Error);
}

TEST_CASE("training plot from a metrics log") {
  r1::test::ScratchDir dir{"plot"};
  std::vector<r1::StepMetrics> steps;
  for (int step = 1; step <= 20; ++step) {
    r1::StepMetrics metrics;
    metrics.step = step;
    metrics.reward = 0.05 * step;
    metrics.accuracy = 0.04 * step;
    metrics.completions_mean_length = 10.0 + step;
    if (step % 10 == 0) metrics.extra = {{"eval/pass@1", 0.03 * step}};
    steps.push_back(metrics);
  }
  const auto panels = r1::training_plot_panels(steps);
  REQUIRE(panels.size() == 2);
  REQUIRE(panels[0].series.size() == 3);  // reward, accuracy, eval/pass@1
  CHECK(panels[0].series[2].name == "eval/pass@1");
  CHECK(panels[0].series[2].x == std::vector<double>{10.0, 20.0});  // only the steps that evaluated
  CHECK(panels[1].series.size() == 1);  // no max length logged: not drawn
  CHECK(panels[1].series[0].y.back() == 30.0);

  const auto path = dir.file("curves.svg");
  r1::write_training_plot(path, steps, "toy run");
  const auto svg = r1::test::read_file_bytes(path);
  CHECK(xml_error(svg) == "");
  CHECK(svg.find(">toy run</text>") != std::string::npos);
  CHECK(count_of(svg, "<polyline") == 4);  // reward, accuracy, eval (2 points), mean length
}
