// aimrun config: every configuration key with its type, default and meaning.
#include <iostream>

#include "runner/cli/command_list.h"
#include "runner/cli/commands.h"
#include "runner/schema.h"

namespace aim::cli {

namespace {

void print_keys(bool markdown) {
  const auto& schema = full_schema();
  if (markdown) {
    std::cout << "| key | type | default | description |\n|---|---|---|---|\n";
  }
  for (const auto& s : schema.specs()) {
    std::string type = to_string(s.type);
    if (!s.choices.empty()) {
      type = "one of:";
      for (const auto& c : s.choices) type += " " + c;
    }
    if (auto domain = domain_text(s); !domain.empty()) type += ", " + domain;
    std::string help = s.help + (s.identity ? "" : " (not part of the run identity)");
    if (markdown)
      std::cout << "| `" << s.key << "` | " << type << " | `" << s.default_yaml << "` | " << help << " |\n";
    else
      std::cout << s.key << " = " << s.default_yaml << "    # " << type << "; " << help << "\n";
  }
}

}  // namespace

void add_config_command(CLI::App& app) {
  auto markdown = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("config", command_help("config"));
  cmd->add_flag("--markdown", *markdown, "as a Markdown table (docs/config-reference.md is made with it)");
  cmd->callback([markdown] { print_keys(*markdown); });
}

}  // namespace aim::cli
