# Writes a C++ file holding every built-in suite as a raw string.
# The script globs IN_DIR itself: a list passed through add_custom_command's
# -D argument loses its semicolons (and with them every file but one).
file(GLOB IN ${IN_DIR}/*.toml)
list(SORT IN)
set(body "#include \"harness/builtin_suites.hpp\"\nnamespace vbench {\nconst std::vector<BuiltinSuite>& builtin_suites() {\n  static const std::vector<BuiltinSuite> s = {\n")
foreach(f ${IN})
  get_filename_component(name ${f} NAME_WE)
  file(READ ${f} text)
  string(APPEND body "    {\"${name}\", R\"vbsuite(${text})vbsuite\"},\n")
endforeach()
string(APPEND body "  };\n  return s;\n}\n}  // namespace vbench\n")
file(WRITE ${OUT}.tmp "${body}")
file(RENAME ${OUT}.tmp ${OUT})
