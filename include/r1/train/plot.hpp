#pragma once
// A dependency-free SVG line plot of training curves: stacked panels sharing
// the step axis, each with axes, "nice" ticks, tick labels, axis labels and a
// legend. Enough to watch reward, accuracy and completion length of a run.
//
//   auto steps = r1::read_metrics_log("run/metrics.jsonl");
//   r1::write_training_plot("run/curves.svg", steps, "R1-Zero on padded multiplication");
//
// or, for any series:
//   r1::PlotPanel panel{"loss", "nats", {{"train", steps, losses}}};
//   r1::write_svg_plot("loss.svg", {panel});
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "r1/core/error.hpp"
#include "r1/io/atomic_file.hpp"
#include "r1/train/metrics_log.hpp"

namespace r1 {

struct PlotSeries {
  PlotSeries() = default;
  PlotSeries(std::string series_name, std::vector<double> xs, std::vector<double> ys, std::string series_color = "",
             bool is_dashed = false)
      : name(std::move(series_name)), x(std::move(xs)), y(std::move(ys)), color(std::move(series_color)),
        dashed(is_dashed) {}

  std::string name;
  std::vector<double> x;
  std::vector<double> y;  // NaN or infinity leaves a gap in the line
  std::string color;      // any SVG colour; empty = the next colour of the palette
  bool dashed = false;
};

struct PlotPanel {
  PlotPanel() = default;
  PlotPanel(std::string panel_title, std::string panel_y_label, std::vector<PlotSeries> panel_series,
            std::optional<double> fixed_y_min = std::nullopt, std::optional<double> fixed_y_max = std::nullopt)
      : title(std::move(panel_title)), y_label(std::move(panel_y_label)), series(std::move(panel_series)),
        y_min(fixed_y_min), y_max(fixed_y_max) {}

  std::string title;
  std::string y_label;
  std::vector<PlotSeries> series;
  std::optional<double> y_min;  // fixed y range (e.g. 0..1 for accuracy); else from the data
  std::optional<double> y_max;
};

struct PlotOptions {
  std::string title;
  std::string x_label = "step";
  int width = 900;          // pixels
  int panel_height = 280;   // pixels per panel
};

// An axis range widened to "nice" round numbers with ticks every `step`
// (Heckbert, "Nice Numbers for Graph Labels", Graphics Gems, 1990).
struct NiceAxis {
  double min = 0.0;
  double max = 1.0;
  double step = 0.2;
  std::vector<double> ticks;
};

// Heckbert's nicenum: a number of the form {1, 2, 5} x 10^k near `value`;
// `round` picks the nearest, otherwise the smallest not below it.
inline double nice_number(double value, bool round) {
  const double exponent = std::floor(std::log10(value));
  const double scale = std::pow(10.0, exponent);
  const double fraction = value / scale;
  double nice = 10.0;
  if (round) {
    nice = fraction < 1.5 ? 1.0 : fraction < 3.0 ? 2.0 : fraction < 7.0 ? 5.0 : 10.0;
  } else {
    nice = fraction <= 1.0 ? 1.0 : fraction <= 2.0 ? 2.0 : fraction <= 5.0 ? 5.0 : 10.0;
  }
  return nice * scale;
}

// Heckbert's loose labelling of [low, high] with about `target_ticks` ticks.
inline NiceAxis nice_axis(double low, double high, int target_ticks = 5) {
  require(std::isfinite(low) && std::isfinite(high) && low <= high && target_ticks >= 2,
          "nice_axis: expected finite low <= high and at least 2 ticks, got [", low, ", ", high, "], ", target_ticks);
  if (high - low <= std::abs(high) * 1e-12 || high == low) {  // one value: open a window around it
    const double half_width = low == 0.0 ? 1.0 : std::abs(low) * 0.1;
    low -= half_width;
    high += half_width;
  }
  NiceAxis axis;
  const double range = nice_number(high - low, false);
  axis.step = nice_number(range / (target_ticks - 1), true);
  axis.min = std::floor(low / axis.step) * axis.step;
  axis.max = std::ceil(high / axis.step) * axis.step;
  // Half a step of slack so rounding in min + i*step cannot drop the last tick.
  for (double tick = axis.min; tick <= axis.max + axis.step * 0.5; tick += axis.step) {
    axis.ticks.push_back(std::abs(tick) < axis.step * 1e-9 ? 0.0 : tick);
  }
  return axis;
}

// A tick label with as many decimals as the step needs: 0.2 -> "0.2", 50 -> "50".
inline std::string tick_label(double value, double step) {
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", std::min(decimals, 12), value);
  return text;
}

// Text made safe for SVG content and attribute values.
inline std::string xml_escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace detail {
inline std::string svg_number_int(double value) { return std::to_string(std::llround(value)); }
inline std::string svg_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}
// Tableau 10, a palette designed to stay distinguishable.
inline constexpr const char* kPlotPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                               "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
}  // namespace detail

// The plot as an SVG document.
inline std::string render_svg_plot(const std::vector<PlotPanel>& panels, const PlotOptions& options = {}) {
  require(!panels.empty(), "render_svg_plot: no panels");
  require(options.width >= 300 && options.panel_height >= 120, "render_svg_plot: width >= 300 and panel_height >= 120 ",
          "pixels expected, got ", options.width, " x ", options.panel_height);
  constexpr double kLeft = 70, kRight = 170, kTop = 30, kBottom = 45;  // margins around each plot area
  const double title_height = options.title.empty() ? 0.0 : 30.0;
  const double width = options.width;
  const double height = title_height + options.panel_height * static_cast<double>(panels.size());
  const double plot_width = width - kLeft - kRight;
  const double plot_height = options.panel_height - kTop - kBottom;

  // One x range for all panels, so steps line up.
  double x_low = std::numeric_limits<double>::infinity(), x_high = -x_low;
  for (const auto& panel : panels) {
    for (const auto& series : panel.series) {
      require(series.x.size() == series.y.size(), "render_svg_plot: series '", series.name, "' has ", series.x.size(),
              " x values and ", series.y.size(), " y values");
      for (std::size_t i = 0; i < series.x.size(); ++i) {
        if (!std::isfinite(series.x[i]) || !std::isfinite(series.y[i])) continue;
        x_low = std::min(x_low, series.x[i]);
        x_high = std::max(x_high, series.x[i]);
      }
    }
  }
  if (!std::isfinite(x_low)) {
    x_low = 0.0;
    x_high = 1.0;
  }
  const NiceAxis x_axis = nice_axis(x_low, x_high, 8);

  std::string svg;
  svg += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + detail::svg_number_int(width) + "\" height=\"" +
         detail::svg_number_int(height) + "\" viewBox=\"0 0 " + detail::svg_number_int(width) + " " + detail::svg_number_int(height) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect x=\"0\" y=\"0\" width=\"" + detail::svg_number_int(width) + "\" height=\"" + detail::svg_number_int(height) +
         "\" fill=\"white\"/>\n";
  if (!options.title.empty()) {
    svg += "<text x=\"" + detail::svg_number(width / 2) + "\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">" +
           xml_escaped(options.title) + "</text>\n";
  }
  std::size_t palette_index = 0;
  for (std::size_t p = 0; p < panels.size(); ++p) {
    const auto& panel = panels[p];
    const double top = title_height + options.panel_height * static_cast<double>(p) + kTop;
    const double bottom = top + plot_height;
    double y_low = std::numeric_limits<double>::infinity(), y_high = -y_low;
    for (const auto& series : panel.series) {
      for (std::size_t i = 0; i < series.y.size(); ++i) {
        if (!std::isfinite(series.x[i]) || !std::isfinite(series.y[i])) continue;
        y_low = std::min(y_low, series.y[i]);
        y_high = std::max(y_high, series.y[i]);
      }
    }
    const bool has_data = std::isfinite(y_low);
    if (!has_data) {
      y_low = 0.0;
      y_high = 1.0;
    }
    if (panel.y_min) y_low = std::min(y_low, *panel.y_min);
    if (panel.y_max) y_high = std::max(y_high, *panel.y_max);
    const NiceAxis y_axis = nice_axis(y_low, y_high, 5);
    const auto to_x = [&](double x) { return kLeft + (x - x_axis.min) / (x_axis.max - x_axis.min) * plot_width; };
    const auto to_y = [&](double y) { return bottom - (y - y_axis.min) / (y_axis.max - y_axis.min) * plot_height; };

    svg += "<g class=\"panel\">\n";
    svg += "<text x=\"" + detail::svg_number(kLeft) + "\" y=\"" + detail::svg_number(top - 8) +
           "\" font-weight=\"bold\">" + xml_escaped(panel.title) + "</text>\n";
    // Grid lines and tick labels.
    for (const double tick : y_axis.ticks) {
      const std::string y = detail::svg_number(to_y(tick));
      svg += "<line x1=\"" + detail::svg_number(kLeft) + "\" y1=\"" + y + "\" x2=\"" +
             detail::svg_number(kLeft + plot_width) + "\" y2=\"" + y + "\" stroke=\"#e6e6e6\"/>\n";
      svg += "<text class=\"tick\" x=\"" + detail::svg_number(kLeft - 6) + "\" y=\"" + detail::svg_number(to_y(tick) + 4) +
             "\" text-anchor=\"end\">" + tick_label(tick, y_axis.step) + "</text>\n";
    }
    for (const double tick : x_axis.ticks) {
      const std::string x = detail::svg_number(to_x(tick));
      svg += "<line x1=\"" + x + "\" y1=\"" + detail::svg_number(bottom) + "\" x2=\"" + x + "\" y2=\"" +
             detail::svg_number(bottom + 5) + "\" stroke=\"black\"/>\n";
      svg += "<text class=\"tick\" x=\"" + x + "\" y=\"" + detail::svg_number(bottom + 18) +
             "\" text-anchor=\"middle\">" + tick_label(tick, x_axis.step) + "</text>\n";
    }
    // Axes and labels.
    svg += "<rect x=\"" + detail::svg_number(kLeft) + "\" y=\"" + detail::svg_number(top) + "\" width=\"" +
           detail::svg_number(plot_width) + "\" height=\"" + detail::svg_number(plot_height) +
           "\" fill=\"none\" stroke=\"black\"/>\n";
    svg += "<text x=\"" + detail::svg_number(kLeft + plot_width / 2) + "\" y=\"" + detail::svg_number(bottom + 36) +
           "\" text-anchor=\"middle\">" + xml_escaped(options.x_label) + "</text>\n";
    const std::string label_x = detail::svg_number(18), label_y = detail::svg_number(top + plot_height / 2);
    svg += "<text x=\"" + label_x + "\" y=\"" + label_y + "\" text-anchor=\"middle\" transform=\"rotate(-90 " + label_x +
           " " + label_y + ")\">" + xml_escaped(panel.y_label) + "</text>\n";
    if (!has_data) {
      svg += "<text x=\"" + detail::svg_number(kLeft + plot_width / 2) + "\" y=\"" + label_y +
             "\" text-anchor=\"middle\" fill=\"#888888\">no data</text>\n";
    }
    // Series: one polyline per run of finite points; a lone point is a dot.
    for (std::size_t s = 0; s < panel.series.size(); ++s) {
      const auto& series = panel.series[s];
      const std::string color =
          series.color.empty() ? detail::kPlotPalette[palette_index++ % std::size(detail::kPlotPalette)] : series.color;
      const std::string escaped_color = xml_escaped(color);
      svg += "<g class=\"series\" data-name=\"" + xml_escaped(series.name) + "\">\n";
      std::vector<std::string> run;
      const auto flush_run = [&] {
        if (run.size() == 1) {
          const auto comma = run[0].find(',');
          svg += "<circle cx=\"" + run[0].substr(0, comma) + "\" cy=\"" + run[0].substr(comma + 1) +
                 "\" r=\"2.5\" fill=\"" + escaped_color + "\"/>\n";
        } else if (run.size() > 1) {
          svg += "<polyline fill=\"none\" stroke=\"" + escaped_color + "\" stroke-width=\"1.8\"" +
                 (series.dashed ? " stroke-dasharray=\"5 3\"" : "") + " points=\"";
          for (std::size_t i = 0; i < run.size(); ++i) {
            if (i > 0) svg += ' ';
            svg += run[i];
          }
          svg += "\"/>\n";
        }
        run.clear();
      };
      for (std::size_t i = 0; i < series.x.size(); ++i) {
        if (!std::isfinite(series.x[i]) || !std::isfinite(series.y[i])) {
          flush_run();
          continue;
        }
        run.push_back(detail::svg_number(to_x(series.x[i])) + "," + detail::svg_number(to_y(series.y[i])));
      }
      flush_run();
      svg += "</g>\n";
      // Legend entry, right of the plot area.
      const double legend_y = top + 12 + 18 * static_cast<double>(s);
      const double legend_x = kLeft + plot_width + 12;
      svg += "<line x1=\"" + detail::svg_number(legend_x) + "\" y1=\"" + detail::svg_number(legend_y - 4) + "\" x2=\"" +
             detail::svg_number(legend_x + 22) + "\" y2=\"" + detail::svg_number(legend_y - 4) + "\" stroke=\"" +
             escaped_color + "\" stroke-width=\"2.5\"" + (series.dashed ? " stroke-dasharray=\"5 3\"" : "") + "/>\n";
      svg += "<text class=\"legend\" x=\"" + detail::svg_number(legend_x + 28) + "\" y=\"" + detail::svg_number(legend_y) +
             "\">" + xml_escaped(series.name) + "</text>\n";
    }
    svg += "</g>\n";
  }
  svg += "</svg>\n";
  return svg;
}

// Writes the plot to `path` atomically.
inline void write_svg_plot(const std::string& path, const std::vector<PlotPanel>& panels,
                           const PlotOptions& options = {}) {
  write_file_atomically(path, render_svg_plot(panels, options));
}

// The panels of a training run: reward and accuracy (and any "eval/..." metric
// in extra, e.g. "eval/pass@1"), then completion length. A metric missing at a
// step is skipped; a NaN one leaves a gap.
inline std::vector<PlotPanel> training_plot_panels(const std::vector<StepMetrics>& steps) {
  const auto series_of = [&](std::string name, auto value_at) {
    PlotSeries series;
    series.name = std::move(name);
    for (const auto& step : steps) {
      if (const std::optional<double> value = value_at(step)) {
        series.x.push_back(static_cast<double>(step.step));
        series.y.push_back(*value);
      }
    }
    return series;
  };
  PlotPanel reward{"reward and accuracy", "", {}, 0.0, std::nullopt};
  reward.series.push_back(series_of("reward", [](const StepMetrics& s) { return s.reward; }));
  reward.series.push_back(series_of("accuracy", [](const StepMetrics& s) { return s.accuracy; }));
  std::vector<std::string> eval_names;
  for (const auto& step : steps) {
    for (const auto& [name, value] : step.extra) {
      if (name.starts_with("eval/") && std::find(eval_names.begin(), eval_names.end(), name) == eval_names.end()) {
        eval_names.push_back(name);
      }
    }
  }
  for (const auto& eval_name : eval_names) {
    auto series = series_of(eval_name, [&](const StepMetrics& s) -> std::optional<double> {
      for (const auto& [name, value] : s.extra) {
        if (name == eval_name) return value;
      }
      return std::nullopt;
    });
    series.dashed = true;
    reward.series.push_back(std::move(series));
  }
  PlotPanel length{"completion length", "tokens", {}, 0.0, std::nullopt};
  length.series.push_back(series_of("mean length", [](const StepMetrics& s) { return s.completions_mean_length; }));
  auto longest = series_of("max length", [](const StepMetrics& s) { return s.completions_max_length; });
  longest.dashed = true;
  if (!longest.x.empty()) length.series.push_back(std::move(longest));
  return {reward, length};
}

// Reward/accuracy and completion length against step, as SVG.
inline void write_training_plot(const std::string& path, const std::vector<StepMetrics>& steps,
                                const std::string& title = "") {
  PlotOptions options;
  options.title = title;
  write_svg_plot(path, training_plot_panels(steps), options);
}

}  // namespace r1
