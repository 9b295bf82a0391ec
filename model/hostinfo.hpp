#pragma once
// What this host offers and what will limit the numbers: the facts `vbench
// doctor` prints and every result carries. Each fact has a hint that says
// what it means for measurements.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vbench {

struct HostFact {
  std::string key;    // stable, for JSON: "cpu_model", "governor", ...
  std::string label;  // for people: "CPU model"
  std::string value;
  std::string level = "ok";  // "ok" | "warn" | "info"
  std::string hint;          // what it means for the numbers, or how to fix
};

struct HostInfo {
  std::vector<HostFact> facts;
  const HostFact* find(const std::string& key) const;
  std::string value(const std::string& key) const;  // "" when unknown
  // Identifies the machine for run-vs-run comparison: hostname, CPU model,
  // CPU count, memory size and kernel.
  std::string fingerprint() const;
  nlohmann::json to_json() const;
  static HostInfo from_json(const nlohmann::json& j);
};

// Reads /proc, /sys and probes (perf_event_open, /dev/kvm, qemu --version).
HostInfo collect_host_info();

// The kind of KVM the host has: "hardware" (kvm_intel/kvm_amd), "paravirtual"
// (kvm_pvm: no VT-x/SVM, cannot boot a stock kernel usefully), "none".
std::string kvm_kind(std::string* detail = nullptr);

}  // namespace vbench
