#pragma once
// Parse-back checks of results.csv and samples.csv, shared by the unit and
// the integration tests: the CSV is read with libcsv (an independent RFC 4180
// parser, not our writer's inverse) and every field is compared with what
// results.json says. Numbers must be equal exactly: both files print the
// shortest text that reads back to the same double.
#include <csv.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/sample.hpp"

namespace vbtest {

using CsvRows = std::vector<std::vector<std::string>>;

// Every record of `text`; an error message instead when libcsv rejects it.
inline CsvRows parse_csv(const std::string& text, std::string* error) {
  struct State {
    CsvRows rows;
    std::vector<std::string> row;
  } st;
  csv_parser p;
  if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
    *error = "csv_init failed";
    return {};
  }
  // libcsv trims blanks around unquoted fields by default; RFC 4180 (and
  // pandas) keep them.
  csv_set_space_func(&p, [](unsigned char) { return 0; });
  auto on_field = [](void* s, size_t n, void* d) {
    static_cast<State*>(d)->row.emplace_back(s ? static_cast<const char*>(s) : "", s ? n : 0);
  };
  auto on_row = [](int, void* d) {
    auto* state = static_cast<State*>(d);
    state->rows.push_back(std::move(state->row));
    state->row.clear();
  };
  if (csv_parse(&p, text.data(), text.size(), on_field, on_row, &st) != text.size() ||
      csv_fini(&p, on_field, on_row, &st) != 0) {
    *error = csv_strerror(csv_error(&p));
    csv_free(&p);
    return {};
  }
  csv_free(&p);
  return st.rows;
}

// The records of csv, failing the test when libcsv rejects it or it is empty.
inline CsvRows parse_csv_or_fail(const std::string& csv) {
  std::string error;
  CsvRows rows = parse_csv(csv, &error);
  INFO("libcsv: " << error);
  REQUIRE(error.empty());
  REQUIRE(!rows.empty());
  return rows;
}

// A CSV number field against a JSON number (null: the field must be empty).
inline void check_number(const std::string& field, const nlohmann::json& expected, const std::string& what) {
  INFO(what << ": CSV `" << field << "`, JSON " << expected.dump());
  if (expected.is_null()) {
    CHECK(field.empty());
    return;
  }
  REQUIRE(expected.is_number());
  REQUIRE_FALSE(field.empty());
  char* end = nullptr;
  const double v = std::strtod(field.c_str(), &end);
  CHECK(end == field.c_str() + field.size());
  CHECK(v == expected.get<double>());
}

inline std::string json_text(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// results.csv: one record per summary row of results.json, same order.
inline void check_summary_csv(const std::string& csv, const nlohmann::json& results) {
  const CsvRows rows = parse_csv_or_fail(csv);
  const std::vector<std::string> header = {
      "env",     "workload",     "params", "metric",       "unit",          "better", "n",
      "median",  "mean",         "stddev", "cv",           "min",           "max",    "ci_low",
      "ci_high", "baseline_env", "ratio",  "ratio_ci_low", "ratio_ci_high", "status", "mde"};
  REQUIRE(rows[0] == header);
  const auto& summary = results.at("summary");
  REQUIRE(rows.size() == summary.size() + 1);
  for (size_t i = 0; i < summary.size(); ++i) {
    const auto& r = rows[i + 1];
    const auto& j = summary[i];
    INFO("summary row " << i << ": " << j.dump());
    REQUIRE(r.size() == header.size());
    CHECK(r[0] == json_text(j, "env"));
    CHECK(r[1] == json_text(j, "workload"));
    CHECK(r[2] == json_text(j, "params"));
    CHECK(r[3] == json_text(j, "metric"));
    CHECK(r[4] == json_text(j, "unit"));
    CHECK(r[5] == json_text(j, "better"));
    const auto& st = j.at("stats");
    check_number(r[6], st.at("n"), "n");
    const char* stats[] = {"median", "mean", "stddev", "cv", "min", "max", "ci_low", "ci_high"};
    for (size_t k = 0; k < std::size(stats); ++k) check_number(r[7 + k], st.at(stats[k]), stats[k]);
    CHECK(r[15] == json_text(j, "baseline_env"));
    if (j.contains("ratio")) {
      check_number(r[16], j["ratio"].at("value"), "ratio");
      check_number(r[17], j["ratio"].at("ci_low"), "ratio_ci_low");
      check_number(r[18], j["ratio"].at("ci_high"), "ratio_ci_high");
    } else {
      CHECK((r[16].empty() && r[17].empty() && r[18].empty()));
    }
    CHECK(r[19] == json_text(j, "status"));
    check_number(r[20], j.contains("mde") ? j["mde"] : nlohmann::json(nullptr), "mde");
  }
}

// samples.csv: per sample of results.json (in order) one record per metric,
// environment statistic and counter, or one record with the error.
inline void check_samples_csv(const std::string& csv, const nlohmann::json& results) {
  const CsvRows rows = parse_csv_or_fail(csv);
  REQUIRE(rows[0] == std::vector<std::string>{"env", "workload", "params", "round", "warmup", "ok", "source", "metric",
                                              "unit", "better", "value", "error"});
  size_t at = 1;
  auto next = [&]() -> const std::vector<std::string>& {
    REQUIRE(at < rows.size());
    REQUIRE(rows[at].size() == 12);
    return rows[at++];
  };
  for (const auto& s : results.at("samples")) {
    INFO("sample " << s.at("env") << " " << s.at("workload") << " round " << s.at("round"));
    auto head = [&](const std::vector<std::string>& r) {
      CHECK(r[0] == json_text(s, "env"));
      CHECK(r[1] == json_text(s, "workload"));
      CHECK(r[2] == vbench::params_key(s.at("params")));
      check_number(r[3], s.at("round"), "round");
      CHECK(r[4] == (s.at("warmup").get<bool>() ? "1" : "0"));
      CHECK(r[5] == (s.at("ok").get<bool>() ? "1" : "0"));
    };
    if (!s.at("ok").get<bool>()) {
      const auto& r = next();
      head(r);
      CHECK(r[11] == json_text(s, "error"));
      continue;
    }
    for (const char* list : {"metrics", "env_metrics"}) {
      for (const auto& m : s.at(list)) {
        const auto& r = next();
        head(r);
        CHECK(r[6] == (std::string(list) == "metrics" ? "workload" : "env"));
        CHECK(r[7] == json_text(m, "name"));
        CHECK(r[8] == json_text(m, "unit"));
        CHECK(r[9] == json_text(m, "better"));
        check_number(r[10], m.at("value"), json_text(m, "name"));
      }
    }
    for (const auto& c : s.at("counters")) {
      const auto& r = next();
      head(r);
      const std::string scope = json_text(c, "scope");
      CHECK(r[6] == "counter");
      CHECK(r[7] == (scope == "agent" ? json_text(c, "name") : scope + ":" + json_text(c, "name")));
      check_number(r[10], c.at("value"), json_text(c, "name"));
      if (c.at("value").is_null()) CHECK(r[11] == json_text(c, "status") + ": " + json_text(c, "reason"));
    }
  }
  CHECK(at == rows.size());
}

}  // namespace vbtest
