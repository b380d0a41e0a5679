#include "dashboard_queries.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include "alerting_files.h"
#include "monitoring_stack.h"

namespace stx::alerting {

std::string substitute_dashboard_variables(std::string expr,
                                           const std::map<std::string, std::string>& vars) {
  std::map<std::string, std::string> all = vars;
  all["$__rate_interval"] = "4s";
  all["$__interval"] = "1s";
  all["$__range"] = "60s";
  for (const auto& [from, to] : all) {
    for (auto pos = expr.find(from); pos != std::string::npos;
         pos = expr.find(from, pos + to.size())) {
      expr.replace(pos, from.size(), to);
    }
  }
  if (expr.find('$') != std::string::npos)
    throw std::runtime_error("unsubstituted variable in: " + expr);
  return expr;
}

void run_dashboard_queries(const ApiGet& api, const std::string& file,
                           const std::map<std::string, std::string>& vars, bool want_data,
                           const std::set<std::string>& may_be_empty) {
  SCOPED_TRACE(file + " with $job=" + vars.at("$job") + " $instance=" + vars.at("$instance") +
               " $target=" + vars.at("$target") + " $carrier=" + vars.at("$carrier") +
               " $site=" + vars.at("$site"));
  json d = load_json(dashboards_dir() / file);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  int queries = 0;

  for (const auto& v : d.at("templating").at("list")) {
    if (v.at("type") != "query") continue;
    // label_values(SELECTOR, LABEL) is Grafana's call of the label-values API.
    std::string q = v.at("query");
    auto open = q.find('('), comma = q.rfind(','), close = q.rfind(')');
    std::string selector =
        substitute_dashboard_variables(q.substr(open + 1, comma - open - 1), vars);
    std::string label = q.substr(comma + 1, close - comma - 1);
    label.erase(0, label.find_first_not_of(' '));
    json body = api("label/" + label + "/values?match[]=" + url_encode(selector));
    ++queries;
    EXPECT_EQ(body.value("status", ""), "success")
        << "variable " << v.at("name") << ": " << body.dump();
    bool optional = false;
    for (const auto& prefix : may_be_empty) {
      optional = optional || selector.find(prefix) != std::string::npos;
    }
    if (want_data && !optional) {
      EXPECT_FALSE(body["data"].empty()) << "variable " << v.at("name") << " lists nothing";
    }
  }

  for (const auto& panel : d.at("panels")) {
    std::string title = panel.at("title");
    for (const auto& t : panel.at("targets")) {
      std::string expr = substitute_dashboard_variables(t.at("expr"), vars);
      SCOPED_TRACE(title + " / " + t.at("refId").get<std::string>() + ": " + expr);
      std::string call = t.value("instant", false)
                             ? "query?query=" + url_encode(expr) + "&time=" + std::to_string(now)
                             : "query_range?query=" + url_encode(expr) +
                                   "&start=" + std::to_string(now - 30) +
                                   "&end=" + std::to_string(now) + "&step=1";
      json body = api(call);
      ++queries;
      ASSERT_EQ(body.value("status", ""), "success") << body.dump();
      EXPECT_FALSE(body.contains("warnings")) << body.dump();
      bool optional = false;
      for (const auto& prefix : may_be_empty) {
        optional = optional || expr.find(prefix) != std::string::npos;
      }
      if (want_data && !optional) {
        EXPECT_FALSE(body["data"]["result"].empty()) << "no data";
      }
    }
  }
  EXPECT_GT(queries, 10);
}

}  // namespace stx::alerting
