#include "runner/run_metadata.h"

#include <torch/version.h>

#include <H5public.h>

#include "core/version.h"
#include "runner/init_from.h"

namespace aim {

void describe_run(const Config& cfg, results::RunRecord& rec) {
  rec.run_id = cfg.run_id();
  rec.config_yaml = cfg.to_yaml();
  rec.config = cfg.items();
  rec.text["identity_yaml"] = cfg.to_yaml(true);
  rec.text["name"] = cfg.get_string("name");
  rec.text["dataset"] = cfg.get_string("dataset.name");
  rec.text["method"] = cfg.get_string("method.name");
  rec.text["backbone"] = cfg.get_string("model.backbone");
  rec.text["explain"] = cfg.get_string("eval.explain");
  rec.text["select"] = cfg.get_string("eval.select");
  if (auto up = resolve_init_from(cfg)) {  // the run it started from (model.init_from)
    rec.text["init_from_run"] = up->run_id;
    rec.text["init_from_dir"] = up->folder;
  }
  rec.text["aimrun_version"] = aimrun_version();
  rec.text["torch_version"] = TORCH_VERSION;
  rec.text["hdf5_version"] = H5_VERS_INFO;
}

}  // namespace aim
